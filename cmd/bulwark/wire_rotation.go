package main

import (
	"fmt"
	"time"

	"github.com/bulwark-security/bulwark/internal/api"
	"github.com/bulwark-security/bulwark/internal/secrets"
	"github.com/bulwark-security/bulwark/internal/secrets/rotation"
	"github.com/bulwark-security/bulwark/internal/store"
)

// rotationScan is how often each server looks for due rotations (the
// store's leases decide which server runs each).
const rotationScan = 30 * time.Second

// Secret rotation: RotateSecret and CancelRotateSecret on Secrets
// Manager's table, the rotation engine and scheduler, the built-in
// PostgreSQL rotators and the rotation webhook registry (service
// "bulwark-rotation").
func init() {
	secretsExtensions = append(secretsExtensions, func(d *deps, sm *secrets.Service) (*parts, error) {
		st, ok := d.Store.(interface {
			store.Secrets
			store.Rotation
		})
		if !ok {
			return nil, fmt.Errorf("store %T does not implement the rotation store", d.Store)
		}
		logger := d.Logger.With("service", "secretsmanager", "feature", "rotation")
		adapter := &rotation.Adapter{Svc: sm, Store: st}
		reg := &rotation.Registry{Store: st, Keys: d.Keys, Client: &rotation.WebhookClient{}, Values: adapter}
		engine, err := rotation.NewEngine(rotation.EngineConfig{Store: st, Secrets: adapter, Rotators: reg, Logger: logger})
		if err != nil {
			return nil, err
		}
		svc, err := rotation.New(rotation.Config{Secrets: sm, Store: st, Keys: d.Keys, Authorizer: d.Authorizer,
			Engine: engine, Rotators: reg, Logger: logger})
		if err != nil {
			return nil, err
		}
		sm.Extend(svc.Actions()...)
		sched := &rotation.Scheduler{Engine: engine, Store: st, Logger: logger, Interval: rotationScan}
		return &parts{Services: []*api.Service{svc.AdminAPI()}, Run: sched.Run}, nil
	})
}
