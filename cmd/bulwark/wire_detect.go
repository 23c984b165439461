package main

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/bulwark-security/bulwark/internal/api"
	"github.com/bulwark-security/bulwark/internal/audit"
	"github.com/bulwark-security/bulwark/internal/detect"
	"github.com/bulwark-security/bulwark/internal/findings"
	"github.com/bulwark-security/bulwark/internal/store"
)

// The findings hub (Security Hub–compatible API) and the detectors that
// feed it from the audit stream. Detector thresholds come from the detect
// setting (--detect, BULWARK_DETECT or YAML: "signature_failures=10,
// signature_window=5m,...", see detect.ParseThresholds); unset means the
// defaults.
func init() {
	register("detect", func(d *deps) (*parts, error) {
		hub, err := findingsHub(d)
		if err != nil {
			return nil, err
		}
		th, err := detect.ParseThresholds(d.Config.Detect)
		if err != nil {
			return nil, fmt.Errorf("detect thresholds: %w", err)
		}
		cfg := detect.Config{Hub: hub, Region: d.Config.Region, AccountID: d.Config.AccountID,
			Logger: d.Logger.With("component", "detect"), Detectors: detect.All(detect.Options{Thresholds: th, Dev: d.Config.Dev, Policies: d.IAM, Keys: d.Store})}
		// Servers sharing a store add up their detectors' windows, so a
		// burst spread over them is seen (dev mode has one server).
		if shared, ok := d.Store.(store.DetectCounts); ok && !d.Config.Dev {
			cfg.Shared, cfg.Server = shared, audit.NewChainID()
		}
		eng, err := detect.New(cfg)
		if err != nil {
			return nil, err
		}
		return &parts{
			Services:    []*api.Service{hub.Service()},
			Subscribers: []audit.Subscriber{eng},
			Run: func(ctx context.Context) error {
				var wg sync.WaitGroup
				wg.Go(func() { _ = hub.Run(ctx) })
				err := eng.Run(ctx)
				wg.Wait()
				return err
			},
			AfterReset: func(ctx context.Context) error {
				rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
				defer cancel()
				if err := eng.Reset(rctx); err != nil {
					return fmt.Errorf("reset detectors: %w", err)
				}
				return nil
			},
		}, nil
	})
}

// findingsHub returns the one findings hub of a server being built, so
// every module that reports or reacts to findings (detectors, automated
// response) shares it, whichever module is built first. Subscribe to it
// for new and updated findings.
func findingsHub(d *deps) (*findings.Hub, error) {
	return shared(d, "findings", func() (*findings.Hub, error) {
		st, ok := d.Store.(store.Findings)
		if !ok {
			return nil, fmt.Errorf("store %T does not implement the findings store", d.Store)
		}
		return findings.New(findings.Config{Store: st, Region: d.Config.Region, Logger: d.Logger.With("component", "findings"),
			SubscribedAt: func(ctx context.Context, account string) (time.Time, error) {
				a, err := d.Store.GetAccount(ctx, account)
				return a.CreatedAt, err
			}})
	})
}
