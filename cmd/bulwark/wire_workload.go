package main

import (
	"context"
	"fmt"
	"time"

	"github.com/bulwark-security/bulwark/internal/api"
	"github.com/bulwark-security/bulwark/internal/oidc"
	"github.com/bulwark-security/bulwark/internal/store"
	"github.com/bulwark-security/bulwark/internal/workload"
)

// Workload identity: the bulwark-workloads API (register, list, update,
// revoke, join tokens) and the unsigned calls `bulwark agent` makes to
// attest and fetch role credentials.
func init() {
	register("workload", func(d *deps) (*parts, error) {
		ws, ok := d.Store.(store.Workloads)
		if !ok {
			return nil, fmt.Errorf("store %T does not implement the workload store", d.Store)
		}
		cfg := workload.Config{Store: ws, IAM: d.IAM, Keyring: d.Keys, Authorizer: d.Authorizer,
			OIDC: oidc.NewVerifier(oidc.Config{})}
		if d.Config.Dev {
			// Dev mode only: credentials may live 5 s instead of STS's
			// 900 s minimum, so tests and demos watch them rotate.
			cfg.MinDuration = 5 * time.Second
		}
		admin, agent, err := workload.New(cfg)
		if err != nil {
			return nil, err
		}
		return &parts{
			Services: []*api.Service{admin, agent},
			// Spent and expired tokens are deleted every ten minutes.
			Run: func(ctx context.Context) error {
				t := time.NewTicker(10 * time.Minute)
				defer t.Stop()
				for {
					select {
					case <-ctx.Done():
						return nil
					case now := <-t.C:
						if n, err := ws.DeleteExpiredWorkloadTokens(ctx, now.Add(-time.Hour)); err != nil {
							d.Logger.Warn("delete expired workload tokens", "err", err)
						} else if n > 0 {
							d.Logger.Debug("deleted expired workload tokens", "count", n)
						}
					}
				}
			},
		}, nil
	})
}
