package main

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/bulwark-security/bulwark/internal/api"
	"github.com/bulwark-security/bulwark/internal/audit"
	"github.com/bulwark-security/bulwark/internal/authz"
	"github.com/bulwark-security/bulwark/internal/config"
	"github.com/bulwark-security/bulwark/internal/credentials"
	"github.com/bulwark-security/bulwark/internal/keyring"
	"github.com/bulwark-security/bulwark/internal/store"
)

// A module is one feature of `bulwark server` beyond the core (IAM, STS):
// a service such as KMS or Secrets Manager, the audit trail's detectors, ...
// Each lives in its own wire_<name>.go file and registers itself from init,
// so adding a feature never edits another feature's wiring.
type module struct {
	name  string
	build func(d *deps) (*parts, error)
}

var modules []module

func register(name string, build func(d *deps) (*parts, error)) {
	modules = append(modules, module{name: name, build: build})
}

// deps is what the core hands every module.
type deps struct {
	Ctx        context.Context
	Config     *config.Server
	Logger     *slog.Logger
	Store      store.Store
	IAM        store.IAM
	Keys       *keyring.Keyring
	Resolver   *credentials.Resolver
	Authorizer *authz.Policies
	Source     *authz.StoreSource
	// Endpoint is the URL clients reach this server at.
	Endpoint string
	// Audit records events a module emits itself, for work no API call
	// carries (automated response actions), in the same trail as the
	// server's own events. It fails until the server is built.
	Audit *moduleAudit
	// Registry holds the core services; modules built before this one have
	// added theirs. Use it to look up another service's table.
	Services []*api.Service

	// instances are the objects several modules share (see shared).
	instances map[string]any
}

// parts is what a module contributes. Every field is optional.
type parts struct {
	// Services are AWS-compatible services to serve.
	Services []*api.Service
	// Routes are extra HTTP routes (ServeMux patterns) on the API listener.
	Routes map[string]http.Handler
	// Subscribers see every audit event after it is recorded.
	Subscribers []audit.Subscriber
	// Collectors are metrics served on /metrics with the server's own.
	Collectors []prometheus.Collector
	// Run, if set, runs in the background until ctx is done (schedulers,
	// delivery workers); the server waits for it to return at shutdown.
	Run func(ctx context.Context) error
	// AfterReset runs after a dev-mode reset has emptied the store and
	// bootstrapped again (re-seed rows, drop caches).
	AfterReset func(ctx context.Context) error
}

// moduleAudit is the server's audit sink as modules see it: bound once
// the sink exists, after every module is built.
type moduleAudit struct {
	mu   sync.RWMutex
	sink audit.Sink
}

// bind makes m record into sink and returns sink.
func (m *moduleAudit) bind(sink audit.Sink) audit.Sink {
	m.mu.Lock()
	m.sink = sink
	m.mu.Unlock()
	return sink
}

// Record implements audit.Sink.
func (m *moduleAudit) Record(ctx context.Context, e *audit.Event) error {
	m.mu.RLock()
	sink := m.sink
	m.mu.RUnlock()
	if sink == nil {
		return errors.New("audit sink not ready")
	}
	return sink.Record(ctx, e)
}

// shared returns the one instance of name for the server being built,
// building it on first use, so modules that need the same object (the
// findings hub, the KMS key manager) share it whichever is built first.
// Modules are built one at a time, so no lock is needed.
func shared[T any](d *deps, name string, build func() (T, error)) (T, error) {
	if v, ok := d.instances[name]; ok {
		return v.(T), nil
	}
	v, err := build()
	if err != nil {
		var zero T
		return zero, err
	}
	if d.instances == nil {
		d.instances = make(map[string]any)
	}
	d.instances[name] = v
	return v, nil
}
