package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"

	"github.com/bulwark-security/bulwark/internal/api"
	"github.com/bulwark-security/bulwark/internal/secrets"
	"github.com/bulwark-security/bulwark/internal/store"
)

// secretsExtensions are features built on Secrets Manager (rotation). Each
// appends itself from its own wire file's init and is built right after the
// service, with it at hand: it adds its actions to the Secrets Manager table
// with sm.Extend (one service answers X-Amz-Target secretsmanager.*), and
// the parts it returns are merged with the service's.
var secretsExtensions []func(d *deps, sm *secrets.Service) (*parts, error)

// Secrets Manager (JSON 1.1, secretsmanager): secrets, versions, staging
// labels, resource policies, scheduled deletion. Values are envelope-
// encrypted under KMS keys through the server's KMS key manager (kmsKeys).
func init() {
	register("secrets", func(d *deps) (*parts, error) {
		st, ok := d.Store.(interface {
			store.Secrets
			store.KMS
		})
		if !ok {
			return nil, fmt.Errorf("store %T does not implement the Secrets Manager and KMS stores", d.Store)
		}
		keys, err := kmsKeys(d)
		if err != nil {
			return nil, fmt.Errorf("kms for secrets manager: %w", err)
		}
		sm, err := secrets.New(secrets.Config{Store: st, Keys: keys, Authorizer: d.Authorizer,
			Logger: d.Logger.With("service", "secretsmanager")})
		if err != nil {
			return nil, err
		}
		p := &parts{
			Services: []*api.Service{sm.API()},
			Run:      sm.Run,
			AfterReset: func(context.Context) error {
				sm.Forget()
				return nil
			},
		}
		for _, ext := range secretsExtensions {
			ep, err := ext(d, sm)
			if err != nil {
				return nil, err
			}
			if p, err = mergeParts(p, ep); err != nil {
				return nil, err
			}
		}
		return p, nil
	})
}

// mergeParts adds an extension's parts to the service's: background loops
// run side by side, reset hooks one after the other.
func mergeParts(p, e *parts) (*parts, error) {
	if e == nil {
		return p, nil
	}
	p.Services = append(p.Services, e.Services...)
	for pattern, h := range e.Routes {
		if p.Routes == nil {
			p.Routes = make(map[string]http.Handler)
		}
		if _, dup := p.Routes[pattern]; dup {
			return nil, fmt.Errorf("route %q registered twice", pattern)
		}
		p.Routes[pattern] = h
	}
	p.Subscribers = append(p.Subscribers, e.Subscribers...)
	if run1, run2 := p.Run, e.Run; run2 != nil {
		p.Run = func(ctx context.Context) error {
			var wg sync.WaitGroup
			errs := make([]error, 2)
			for i, run := range []func(context.Context) error{run1, run2} {
				if run == nil {
					continue
				}
				wg.Add(1)
				go func() { defer wg.Done(); errs[i] = run(ctx) }()
			}
			wg.Wait()
			return errors.Join(errs...)
		}
	}
	if r1, r2 := p.AfterReset, e.AfterReset; r2 != nil {
		p.AfterReset = func(ctx context.Context) error {
			if r1 != nil {
				if err := r1(ctx); err != nil {
					return err
				}
			}
			return r2(ctx)
		}
	}
	return p, nil
}
