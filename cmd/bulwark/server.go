package main

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/bulwark-security/bulwark/internal/bootstrap"
	"github.com/bulwark-security/bulwark/internal/config"
	"github.com/bulwark-security/bulwark/internal/keyring"
	"github.com/bulwark-security/bulwark/internal/store"
	"github.com/bulwark-security/bulwark/internal/store/postgres"
	"github.com/bulwark-security/bulwark/internal/store/sqlite"
)

func runServer(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer) int {
	cfg, err := config.LoadServer(args, getenv, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "bulwark server: %v\n", err)
		return 2
	}
	logger := newLogger(cfg, stderr)
	if err := serve(ctx, cfg, logger); err != nil {
		logger.Error("server stopped", "err", err)
		return 1
	}
	return 0
}

func newLogger(cfg *config.Server, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.LogLevel))
	opts := &slog.HandlerOptions{Level: level}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

func serve(ctx context.Context, cfg *config.Server, logger *slog.Logger) error {
	started := time.Now()
	if cfg.Dev {
		logger.Warn("DEV MODE: ephemeral in-memory state, well-known root credential (access key test, secret test); never use in production")
	}

	keys, err := openKeyring(cfg)
	if err != nil {
		return err
	}
	st, err := openStore(ctx, cfg, logger)
	if err != nil {
		return err
	}
	defer st.Close()

	scheme := "http"
	if cfg.TLSCert != "" {
		scheme = "https"
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Listen, err)
	}
	endpoint := scheme + "://" + ln.Addr().String()

	a, err := build(ctx, cfg, logger, st, keys, endpoint)
	if err != nil {
		ln.Close()
		return err
	}
	boot, srv := a.boot, a.handler
	if boot.Created {
		logger.Info("bootstrapped a new account", "account", boot.AccountID, "root", boot.RootARN)
	}
	if boot.CredentialsFile != "" {
		logger.Info("root credential written (profile "+bootstrap.Profile+")",
			"credentials_file", boot.CredentialsFile, "config_file", boot.ConfigFile, "access_key_id", boot.RootAccessKeyID)
	}

	hs := &http.Server{
		Handler:           srv,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	if cfg.TLSCert != "" {
		cert, err := tls.LoadX509KeyPair(cfg.TLSCert, cfg.TLSKey)
		if err != nil {
			ln.Close()
			return fmt.Errorf("load TLS key pair: %w", err)
		}
		hs.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}}
		ln = tls.NewListener(ln, hs.TLSConfig)
	}

	// Modules' background loops stop when the server does.
	runCtx, stopRuns := context.WithCancel(context.WithoutCancel(ctx))
	var runsDone sync.WaitGroup
	defer func() { stopRuns(); runsDone.Wait() }()
	for name, run := range a.runs {
		runsDone.Go(func() {
			if err := run(runCtx); err != nil && runCtx.Err() == nil {
				logger.Error("background task stopped", "module", name, "err", err)
			}
		})
	}

	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	logger.Info("bulwark server ready", "endpoint", endpoint, "region", cfg.Region, "account", boot.AccountID,
		"store", redactDSN(cfg.Store), "startup", time.Since(started).Round(time.Microsecond))

	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	logger.Info("shutting down: draining in-flight requests", "timeout", cfg.ShutdownTimeout)
	srv.Drain()
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	logger.Info("shut down cleanly")
	return nil
}

// devSecretKey is the secret of dev mode's well-known root access key.
const devSecretKey = "test"

func openKeyring(cfg *config.Server) (*keyring.Keyring, error) {
	if cfg.Dev {
		root := make([]byte, 32)
		_, _ = rand.Read(root)
		return keyring.New(root)
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("create data directory: %w", err)
	}
	k, err := keyring.Load(cfg.DataDir, cfg.RootKey)
	if err != nil {
		return nil, fmt.Errorf("keyring: %w", err)
	}
	return k, nil
}

func openStore(ctx context.Context, cfg *config.Server, logger *slog.Logger) (store.Store, error) {
	dsn := cfg.Store
	switch {
	case strings.HasPrefix(dsn, "sqlite://"), strings.HasPrefix(dsn, "sqlite:"):
		path := strings.TrimPrefix(strings.TrimPrefix(dsn, "sqlite://"), "sqlite:")
		s, err := sqlite.Open(ctx, path, logger)
		if err != nil {
			return nil, fmt.Errorf("open sqlite store: %w", err)
		}
		return s, nil
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		s, err := postgres.Open(ctx, dsn, logger)
		if err != nil {
			return nil, fmt.Errorf("open postgres store: %w", err)
		}
		return s, nil
	default:
		return nil, fmt.Errorf("store %q: use sqlite:///path, sqlite::memory: or postgres://...", redactDSN(dsn))
	}
}

// redactDSN hides a password in a store DSN before it is logged.
func redactDSN(dsn string) string {
	at := strings.LastIndexByte(dsn, '@')
	scheme := strings.Index(dsn, "://")
	if at < 0 || scheme < 0 || at < scheme {
		return dsn
	}
	userinfo := dsn[scheme+3 : at]
	if i := strings.IndexByte(userinfo, ':'); i >= 0 {
		return dsn[:scheme+3] + userinfo[:i] + ":xxxxx" + dsn[at:]
	}
	return dsn
}
