package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"

	"github.com/bulwark-security/bulwark/internal/api"
	"github.com/bulwark-security/bulwark/internal/awsproto"
	"github.com/bulwark-security/bulwark/internal/notify"
	"github.com/bulwark-security/bulwark/internal/respond"
	"github.com/bulwark-security/bulwark/internal/store"
)

// Notifications (the SNS-compatible service, its signing certificate
// route and delivery worker) and automated response (rules on new
// findings, their actions, and the bulwark-response rules API). One module
// builds both, so response rules publish through this server's SNS.
func init() {
	register("notify", func(d *deps) (*parts, error) {
		st, ok := d.Store.(store.SNS)
		if !ok {
			return nil, fmt.Errorf("store %T does not implement the SNS store", d.Store)
		}
		rst, ok := d.Store.(store.Response)
		if !ok {
			return nil, fmt.Errorf("store %T does not implement the response store", d.Store)
		}
		sns, err := notify.New(notify.Config{Store: st, Meta: d.Store, Keys: d.Keys, Authorizer: d.Authorizer,
			Region: d.Config.Region, Endpoint: d.Endpoint, Logger: d.Logger.With("service", "sns")})
		if err != nil {
			return nil, err
		}
		hub, err := findingsHub(d)
		if err != nil {
			return nil, err
		}
		fst, ok := d.Store.(store.Findings)
		if !ok {
			return nil, fmt.Errorf("store %T does not implement the findings store", d.Store)
		}
		eng, err := respond.New(respond.Config{Store: rst, Keys: d.Store, IAM: d.IAM, Findings: fst,
			Forget: d.Resolver.Forget, Invalidate: d.Source.Invalidate, Publisher: snsPublisher{sns},
			Audit: d.Audit, Region: d.Config.Region, Logger: d.Logger.With("component", "respond")})
		if err != nil {
			return nil, err
		}
		unsubscribe := hub.Subscribe(eng.Observe)
		return &parts{
			Services:   []*api.Service{sns.API(), respond.API(respond.APIConfig{Engine: eng, Authorizer: d.Authorizer})},
			Routes:     map[string]http.Handler{notify.CertRoute: sns.CertHandler()},
			Collectors: append(sns.Collectors(), eng.Collectors()...),
			Run: func(ctx context.Context) error {
				defer unsubscribe()
				var wg sync.WaitGroup
				wg.Go(func() { _ = sns.Run(ctx) })
				err := eng.Run(ctx)
				wg.Wait()
				return err
			},
			AfterReset: func(context.Context) error {
				sns.Signer().Forget()
				eng.RulesChanged()
				return nil
			},
		}, nil
	})
}

// snsPublisher lets response rules publish findings through SNS.
type snsPublisher struct{ sns *notify.Service }

func (p snsPublisher) PublishFinding(ctx context.Context, topicARN, subject, message string) error {
	_, err := p.sns.Publish(ctx, notify.PublishInput{TopicARN: topicARN, Subject: &subject, Message: message})
	var ae *awsproto.Error
	if errors.As(err, &ae) && ae.Status < 500 && ae.Status != http.StatusTooManyRequests {
		return respond.Permanent(codeError{ae})
	}
	return err
}

// codeError exposes an SNS error's code to the audit record.
type codeError struct{ e *awsproto.Error }

func (c codeError) Error() string     { return c.e.Code + ": " + c.e.Message }
func (c codeError) ErrorCode() string { return c.e.Code }
