package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/bulwark-security/bulwark/internal/audit"
	"github.com/bulwark-security/bulwark/internal/audit/cloudtrail"
	"github.com/bulwark-security/bulwark/internal/store"
)

// The audit trail: every call's CloudTrail record is hash-chained and
// group-committed (to the audit journal, which an indexer copies to the
// store, or to the store itself with --audit-journal off) before the call
// is answered (app.go's Audit line takes the sink from auditSink); digests
// of the chain are signed every --audit-digest-interval and at shutdown; old records are deleted after
// --audit-retention-days; committed records are exported to JSON-lines
// files, a webhook and a syslog collector; the CloudTrail API serves LookupEvents.
func init() { register("audit", buildAudit) }

// auditSinkInstance names the sink among d's shared instances, for
// app.go's Audit line.
const auditSinkInstance = "audit.sink"

// auditSink is the sink the audit module built for d. Without one every
// call fails: a server that cannot audit answers nothing.
func auditSink(d *deps) audit.Sink {
	if s, ok := d.instances[auditSinkInstance].(audit.Sink); ok {
		return s
	}
	return failSink{}
}

func setAuditSink(d *deps, s audit.Sink) error {
	_, err := shared(d, auditSinkInstance, func() (audit.Sink, error) { return s, nil })
	return err
}

type failSink struct{}

func (failSink) Record(context.Context, *audit.Event) error {
	return errors.New("no audit trail is configured")
}

// publicKeyRoute serves the digest verification key (PEM); it is public.
const publicKeyRoute = "GET /_bulwark/audit/public-key"

func buildAudit(d *deps) (*parts, error) {
	cfg := d.Config
	if cfg.AuditDisableForBenchmark {
		d.Logger.Warn("AUDIT TRAIL DISABLED by BULWARK_AUDIT_DISABLE_FOR_BENCHMARK: calls are not recorded; for benchmark baselines only")
		return &parts{}, setAuditSink(d, audit.LogSink{Logger: d.Logger})
	}
	st, ok := d.Store.(store.Audit)
	if !ok {
		return nil, fmt.Errorf("store %T does not implement the audit store", d.Store)
	}
	signer, err := audit.LoadSigner(d.Ctx, d.Store, d.Keys)
	if err != nil {
		return nil, err
	}
	var exporters []*audit.Exporter
	if cfg.AuditExportDir != "" {
		exporters = append(exporters, audit.NewExporter("files",
			&audit.FileDestination{Dir: cfg.AuditExportDir, RotateBytes: cfg.AuditExportRotate}, d.Logger, 4096))
	}
	if cfg.AuditWebhookURL != "" {
		exporters = append(exporters, audit.NewExporter("webhook",
			&audit.WebhookDestination{URL: cfg.AuditWebhookURL, Client: &http.Client{Timeout: 15 * time.Second}}, d.Logger, 4096))
	}
	if cfg.AuditSyslogURL != "" {
		dest, err := audit.ParseSyslogURL(cfg.AuditSyslogURL, cfg.AuditSyslogCA)
		if err != nil {
			return nil, err
		}
		exporters = append(exporters, audit.NewExporter("syslog", dest, d.Logger, 4096))
	}
	var journal *audit.Journal
	if dir := cfg.AuditJournalDir(); dir != "" {
		if !audit.JournalSupported {
			return nil, errors.New("the audit journal needs advisory file locks, which this system lacks: give --audit-journal off")
		}
		// What a server that stopped without draining its journal left
		// goes to the store before this server writes.
		if _, err := audit.RecoverJournals(d.Ctx, dir, st, d.Logger); err != nil {
			return nil, fmt.Errorf("recover the audit journal in %s (the server refuses to start while records it holds are not stored): %w", dir, err)
		}
		journal, err = audit.OpenJournal(dir, audit.JournalOptions{Sync: cfg.AuditJournalFsync})
		if err != nil {
			return nil, err
		}
	}
	trail, err := audit.NewTrail(audit.TrailConfig{Store: st, Logger: d.Logger, Exporters: exporters, Journal: journal})
	if err != nil {
		if journal != nil {
			_ = journal.Close(true) // nothing was written to it
		}
		return nil, err
	}
	dig := &audit.Digester{Trail: trail, Store: st, Signer: signer}
	if err := setAuditSink(d, trail); err != nil {
		return nil, err
	}
	d.Logger.Info("audit trail", "chain", trail.ChainID(), "digest_interval", cfg.AuditDigestInterval,
		"retention_days", cfg.AuditRetentionDays, "journal", cfg.AuditJournalDir(), "journal_fsync", cfg.AuditJournalFsync)

	run := func(ctx context.Context) error {
		exportCtx, stopExports := context.WithCancel(context.WithoutCancel(ctx))
		var exportsDone sync.WaitGroup
		for _, x := range exporters {
			exportsDone.Go(func() { _ = x.Run(exportCtx) })
		}
		digests := time.NewTicker(cfg.AuditDigestInterval)
		defer digests.Stop()
		// A busy server also signs every digestRecords records, so a digest
		// never leaves a long unsigned tail.
		const digestRecords = 10000
		busy := time.NewTicker(time.Second)
		defer busy.Stop()
		retain := func() {
			if cfg.AuditRetentionDays == 0 {
				return
			}
			now := time.Now()
			cutoff := now.Add(-time.Duration(cfg.AuditRetentionDays) * 24 * time.Hour)
			n, err := audit.Retain(ctx, st, dig.CurrentSigner(), now, cutoff)
			if err != nil {
				d.Logger.Error("audit retention failed", "err", err)
			} else if n > 0 {
				d.Logger.Info("audit retention deleted old records", "records", n, "before", cutoff)
			}
		}
		retain()
		retention := time.NewTicker(time.Hour)
		defer retention.Stop()
		for {
			select {
			case <-digests.C:
				if err := dig.Digest(ctx, audit.DigestPeriodic); err != nil {
					d.Logger.Error("audit digest failed", "err", err)
				}
			case <-busy.C:
				if dig.Undigested() >= digestRecords {
					if err := dig.Digest(ctx, audit.DigestPeriodic); err != nil {
						d.Logger.Error("audit digest failed", "err", err)
					}
				}
			case <-retention.C:
				retain()
			case <-ctx.Done():
				// The HTTP server has drained: commit what is queued, sign
				// the chain's end, flush the exports.
				trail.Close()
				sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				err := dig.Digest(sctx, audit.DigestShutdown)
				cancel()
				stopExports()
				exportsDone.Wait()
				if err != nil {
					return fmt.Errorf("shutdown digest: %w", err)
				}
				return nil
			}
		}
	}
	return &parts{
		Services: append(d.Services[:0:0], cloudtrail.Service(st, trail.Flush)),
		Routes: map[string]http.Handler{publicKeyRoute: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/x-pem-file")
			_, _ = w.Write(audit.PublicKeyPEM(dig.CurrentSigner().PublicKey()))
		})},
		Run: run,
		Collectors: []prometheus.Collector{prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "bulwark_audit_store_backlog_records",
			Help: "Audit records durable in the journal that the store does not have yet (0 without a journal).",
		}, func() float64 {
			n, _ := trail.Backlog()
			return float64(n)
		})},
		AfterReset: func(ctx context.Context) error {
			// The store is empty: a new chain, and a new digest key.
			trail.Reset()
			s, err := audit.LoadSigner(ctx, d.Store, d.Keys)
			if err != nil {
				return err
			}
			dig.SetSigner(s)
			return nil
		},
	}, nil
}
