package main

import (
	"context"
	"fmt"
	"net/http"

	"github.com/bulwark-security/bulwark/internal/api"
	"github.com/bulwark-security/bulwark/internal/notify"
	"github.com/bulwark-security/bulwark/internal/store"
)

func init() {
	register("notify", func(d *deps) (*parts, error) {
		st, ok := d.Store.(store.SNS)
		if !ok {
			return nil, fmt.Errorf("store %T does not implement the SNS store", d.Store)
		}
		svc, err := notify.New(notify.Config{Store: st, Meta: d.Store, Keys: d.Keys, Authorizer: d.Authorizer,
			Region: d.Config.Region, Endpoint: d.Endpoint, Logger: d.Logger.With("service", "sns")})
		if err != nil {
			return nil, err
		}
		return &parts{
			Services: []*api.Service{svc.API()},
			Routes:   map[string]http.Handler{notify.CertRoute: svc.CertHandler()},
			Run:      svc.Run,
			AfterReset: func(context.Context) error {
				svc.Signer().Forget()
				return nil
			},
		}, nil
	})
}
