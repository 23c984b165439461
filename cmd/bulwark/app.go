package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/bulwark-security/bulwark/internal/api"
	"github.com/bulwark-security/bulwark/internal/audit"
	"github.com/bulwark-security/bulwark/internal/authz"
	"github.com/bulwark-security/bulwark/internal/bootstrap"
	"github.com/bulwark-security/bulwark/internal/config"
	"github.com/bulwark-security/bulwark/internal/credentials"
	"github.com/bulwark-security/bulwark/internal/devmode"
	"github.com/bulwark-security/bulwark/internal/iam"
	"github.com/bulwark-security/bulwark/internal/keyring"
	"github.com/bulwark-security/bulwark/internal/oidc"
	"github.com/bulwark-security/bulwark/internal/server"
	"github.com/bulwark-security/bulwark/internal/sigv4"
	"github.com/bulwark-security/bulwark/internal/simulate"
	"github.com/bulwark-security/bulwark/internal/store"
	"github.com/bulwark-security/bulwark/internal/sts"
)

// app is a wired server: the store, the services and the HTTP handler.
type app struct {
	handler *server.Server
	boot    *bootstrap.Result
	// runs are the modules' background loops, started by serve.
	runs map[string]func(ctx context.Context) error
}

// build wires every component of `bulwark server` for cfg. The store must
// already be open; endpoint is the URL clients reach the server at.
func build(ctx context.Context, cfg *config.Server, logger *slog.Logger, st store.Store, keys *keyring.Keyring, endpoint string) (*app, error) {
	iamStore, ok := st.(store.IAM)
	if !ok {
		return nil, fmt.Errorf("store %T does not implement the IAM store", st)
	}
	bcfg := bootstrap.Config{Store: st, Keyring: keys, AccountID: cfg.AccountID, Region: cfg.Region, Endpoint: endpoint}
	if cfg.Dev {
		bcfg.RootAccessKeyID, bcfg.RootSecret = credentials.WellKnownAccessKeyID, []byte(devSecretKey)
	} else {
		bcfg.DataDir = cfg.DataDir
	}
	boot, err := bootstrap.Run(ctx, bcfg)
	if err != nil {
		return nil, fmt.Errorf("bootstrap: %w", err)
	}
	if err := iam.SeedManagedPolicies(ctx, iamStore, time.Now()); err != nil {
		return nil, fmt.Errorf("seed AWS managed policies: %w", err)
	}

	resolver := credentials.NewResolver(credentials.Config{Store: st, Keys: keys, AllowWellKnown: cfg.Dev})
	source := &authz.StoreSource{IAM: iamStore}
	authorizer := &authz.Policies{Source: source}
	iamSvc, err := iam.New(iam.Config{Store: st, IAM: iamStore, Keyring: keys,
		OnAccessKeyChange: func(id string) { resolver.Forget(id) }})
	if err != nil {
		return nil, fmt.Errorf("iam service: %w", err)
	}
	iamSvc.Actions = append(iamSvc.Actions, simulate.Actions(source)...)
	stsSvc := sts.New(sts.Config{Store: st, IAM: iamStore, Keyring: keys, Authorizer: authorizer,
		OIDC: oidc.NewVerifier(oidc.Config{})})
	d := &deps{Ctx: ctx, Config: cfg, Logger: logger, Store: st, IAM: iamStore, Keys: keys,
		Resolver: resolver, Authorizer: authorizer, Source: source, Endpoint: endpoint,
		Services: []*api.Service{stsSvc, iamSvc}, Audit: &moduleAudit{}}
	routes := make(map[string]http.Handler)
	var subscribers []audit.Subscriber
	var collectors []prometheus.Collector
	var afterReset []func(context.Context) error
	runs := make(map[string]func(context.Context) error)
	for _, m := range modules {
		p, err := m.build(d)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", m.name, err)
		}
		d.Services = append(d.Services, p.Services...)
		for pattern, h := range p.Routes {
			if _, dup := routes[pattern]; dup {
				return nil, fmt.Errorf("%s: route %q registered twice", m.name, pattern)
			}
			routes[pattern] = h
		}
		subscribers = append(subscribers, p.Subscribers...)
		collectors = append(collectors, p.Collectors...)
		if p.AfterReset != nil {
			afterReset = append(afterReset, p.AfterReset)
		}
		if p.Run != nil {
			runs[m.name] = p.Run
		}
	}
	registry, err := api.NewRegistry(d.Services...)
	if err != nil {
		return nil, fmt.Errorf("service tables: %w", err)
	}
	verifier, err := sigv4.NewVerifier(sigv4.Config{Credentials: resolver, Region: cfg.Region})
	if err != nil {
		return nil, fmt.Errorf("sigv4 verifier: %w", err)
	}

	extra := devmode.Absent()
	if cfg.Dev {
		var names []string
		for _, s := range registry.Services() {
			names = append(names, s.SigningName)
		}
		extra = devmode.Routes(devmode.Config{
			Logger: logger, Verifier: verifier, Principals: resolver, Token: cfg.DevToken,
			Info: devmode.Info{Version: version, Mode: "dev", AccountID: cfg.AccountID, Region: cfg.Region, Services: names, Endpoint: endpoint},
			Reset: func(ctx context.Context) error {
				if err := st.Reset(ctx); err != nil {
					return fmt.Errorf("reset store: %w", err)
				}
				if _, err := bootstrap.Run(ctx, bcfg); err != nil {
					return fmt.Errorf("bootstrap: %w", err)
				}
				if err := iam.SeedManagedPolicies(ctx, iamStore, time.Now()); err != nil {
					return fmt.Errorf("seed AWS managed policies: %w", err)
				}
				resolver.ForgetAll()
				source.Invalidate()
				for _, f := range afterReset {
					if err := f(ctx); err != nil {
						return err
					}
				}
				return nil
			},
		})
	}
	for pattern, h := range routes {
		if _, dup := extra[pattern]; dup {
			return nil, fmt.Errorf("route %q registered twice", pattern)
		}
		extra[pattern] = h
	}
	srv, err := server.New(server.Config{
		Logger: logger, Registry: registry, Verifier: verifier, Principals: resolver,
		Authorizer: authorizer, Audit: d.Audit.bind(audit.Notify{Sink: auditSink(d), Subscribers: subscribers}), FailureSealer: keys,
		Region: cfg.Region, MaxBodyBytes: cfg.MaxBodyBytes, Ready: st.Ping,
		// Only IAM's writes change what the policy cache holds; the other
		// services' writes (kms:Decrypt counts as one) must not cost the
		// next request a reload. Modules that write IAM state directly
		// (automated response) invalidate themselves.
		AfterWrite: func(c *api.Call) {
			if c.Service.SigningName == iamSvc.SigningName {
				source.Invalidate()
			}
		},
		Extra: extra, Collectors: collectors,
	})
	if err != nil {
		return nil, err
	}
	return &app{handler: srv, boot: boot, runs: runs}, nil
}

var _ http.Handler = (*server.Server)(nil)
