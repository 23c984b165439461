// Package detect runs Bulwark's detectors on the live audit stream and
// reports what they find to the findings hub as ASFF findings.
//
// The Engine is an audit.Subscriber: Observe copies the event into a
// bounded queue and returns at once (a full queue drops the event and
// counts it), and one goroutine (Run) feeds each event to every detector.
// Detectors keep their state in memory, bounded, and owned by that
// goroutine, so they need no locks; with Config.Shared the windowed ones
// also exchange counts with the other servers sharing the store
// (shared.go), on the same goroutine. Each detector reports Signals about a
// subject (an access key, a source address, a principal); the engine turns
// a signal into a finding with a stable Id per (detector, account,
// subject), so an ongoing condition updates one finding (LastObservedAt,
// UpdatedAt, an event count) instead of creating many. The first signal of
// a subject is written at once; later ones are coalesced to at most one
// write per subject every MinWriteInterval.
package detect

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"log/slog"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/bulwark-security/bulwark/internal/audit"
	"github.com/bulwark-security/bulwark/internal/findings"
	"github.com/bulwark-security/bulwark/internal/store"
)

// Detector inspects events, one at a time, on the engine's goroutine.
type Detector interface {
	// Name is the finding's GeneratorId ("bulwark/signature-failures").
	Name() string
	// Inspect returns what e reveals, if anything. It must not retain e.
	Inspect(e *audit.Event) []Signal
}

// Signal is one detection about a subject.
type Signal struct {
	// Subject identifies the ongoing condition within the detector (for
	// example "accesskey/AKIA..."); it is part of the finding's Id.
	Subject string
	// Account owns the finding; empty means the engine's default account.
	Account     string
	Severity    string
	Types       []string
	Title       string
	Description string
	Resources   []findings.Resource
	// Count is how many events this signal accounts for.
	Count int
	// EventIDs are the ids of (some of) those events.
	EventIDs []string
	// Time is when the latest event happened; Since, if set, when the
	// first of them did.
	Time  time.Time
	Since time.Time
	// Fields are extra ProductFields ("bulwark/<name>").
	Fields map[string]string
}

// Config configures an Engine.
type Config struct {
	Hub *findings.Hub
	// Region and AccountID fill in findings whose events name no account
	// (a request with a bad signature has no verified principal).
	Region    string
	AccountID string
	Logger    *slog.Logger
	// Now is the clock for UpdatedAt and write coalescing; optional.
	Now func() time.Time
	// QueueSize bounds the events waiting for the detectors; zero means
	// 8192.
	QueueSize int
	// MinWriteInterval is the least time between two writes of one
	// finding; zero means 5 seconds.
	MinWriteInterval time.Duration
	Detectors        []Detector
	// Shared, if set, is where the windowed detectors exchange counts with
	// the other servers sharing the store (shared.go), as Server, every
	// ShareEvery (zero means 2 seconds).
	Shared     store.DetectCounts
	Server     string
	ShareEvery time.Duration
}

// Engine feeds audit events to detectors and writes their findings.
type Engine struct {
	cfg      Config
	queue    chan audit.Event
	dropped  atomic.Uint64
	seen     atomic.Uint64
	failures atomic.Uint64
	// queuedBytes is the parameter bytes queued events hold; truncated
	// counts events queued without their parameters for lack of budget.
	queuedBytes atomic.Int64
	truncated   atomic.Uint64
	pending     map[findings.Identifier]*pendingWrite
	resets      chan chan struct{}
	// sharedPruned is when Share last deleted old shared counts.
	sharedPruned time.Time
}

type pendingWrite struct {
	sig       Signal
	gen       string
	lastWrite time.Time
	dirty     bool
}

var _ audit.Subscriber = (*Engine)(nil)

// maxPending bounds the findings waiting for a coalesced write.
const maxPending = 10000

// New returns an engine; start it with Run.
func New(cfg Config) (*Engine, error) {
	if cfg.Hub == nil || cfg.Region == "" || cfg.AccountID == "" {
		return nil, errors.New("detect: Hub, Region and AccountID are required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.QueueSize <= 0 {
		cfg.QueueSize = 8192
	}
	if cfg.MinWriteInterval <= 0 {
		cfg.MinWriteInterval = 5 * time.Second
	}
	if cfg.ShareEvery <= 0 {
		cfg.ShareEvery = 2 * time.Second
	}
	if cfg.Shared != nil && cfg.Server == "" {
		return nil, errors.New("detect: Server names this server's shared counts")
	}
	e := &Engine{cfg: cfg, queue: make(chan audit.Event, cfg.QueueSize), pending: map[findings.Identifier]*pendingWrite{},
		resets: make(chan chan struct{})}
	if cfg.Shared != nil {
		e.enableSharing()
	}
	return e, nil
}

// Observe implements audit.Subscriber. It never blocks: when the queue is
// full the event is dropped and counted (Stats).
func (e *Engine) Observe(ev *audit.Event) {
	c := *ev
	// The caller may reuse the event's buffers: copy what the detectors
	// read, and only that. Parameters are kept for the successful calls
	// whose parameters a detector reads, within a byte budget for the
	// whole queue, so a flood of large requests cannot make the queue
	// hold gigabytes.
	c.RequestParameters, c.ResponseElements = nil, nil
	if ev.ErrorCode == "" && paramSources[ev.EventSource] {
		n := int64(len(ev.RequestParameters) + len(ev.ResponseElements))
		if e.queuedBytes.Add(n) <= maxQueuedBytes {
			c.RequestParameters = bytes.Clone(ev.RequestParameters)
			if ev.EventName == "CreateAccessKey" {
				// The new key's id (its secret is hidden by the trail).
				c.ResponseElements = bytes.Clone(ev.ResponseElements)
			}
		} else {
			e.queuedBytes.Add(-n)
			e.truncated.Add(1)
		}
	}
	c.Resources = slices.Clone(ev.Resources)
	c.UserIdentity.SessionContext = nil
	select {
	case e.queue <- c:
	default:
		e.release(&c)
		if e.dropped.Add(1)%1000 == 1 {
			e.cfg.Logger.Warn("detectors are behind; audit events dropped", "dropped", e.dropped.Load())
		}
	}
}

// paramSources are the event sources whose parameters some detector reads.
var paramSources = map[string]bool{
	"iam.amazonaws.com": true, "secretsmanager.amazonaws.com": true, "cloudtrail.amazonaws.com": true,
}

// maxQueuedBytes bounds the parameters held by queued events.
const maxQueuedBytes = 16 << 20

// release returns a dequeued (or dropped) event's bytes to the budget.
func (e *Engine) release(c *audit.Event) {
	if n := int64(len(c.RequestParameters) + len(c.ResponseElements)); n > 0 {
		e.queuedBytes.Add(-n)
	}
}

// Stats are the engine's counters.
type Stats struct {
	// Seen counts events the detectors inspected; Dropped those the full
	// queue refused; Truncated those queued without their parameters (the
	// queue's byte budget was spent); WriteFailures the findings the hub
	// could not store.
	Seen, Dropped, Truncated, WriteFailures uint64
}

// Stats returns the counters.
func (e *Engine) Stats() Stats {
	return Stats{Seen: e.seen.Load(), Dropped: e.dropped.Load(), Truncated: e.truncated.Load(), WriteFailures: e.failures.Load()}
}

// Run inspects queued events until ctx is done, then writes what is
// pending.
func (e *Engine) Run(ctx context.Context) error {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	var share <-chan time.Time
	if e.cfg.Shared != nil {
		st := time.NewTicker(e.cfg.ShareEvery)
		defer st.Stop()
		share = st.C
	}
	for {
		select {
		case <-ctx.Done():
			// Drain what is queued, and write the last coalesced signals
			// with a short deadline of their own.
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer cancel()
			for {
				select {
				case ev := <-e.queue:
					e.inspect(fctx, &ev)
					continue
				default:
				}
				break
			}
			e.flush(fctx, true)
			return nil
		case ev := <-e.queue:
			e.inspect(ctx, &ev)
		case <-tick.C:
			e.flush(ctx, false)
		case <-share:
			if err := e.Share(ctx); err != nil && ctx.Err() == nil {
				e.cfg.Logger.Warn("detectors could not exchange counts with the other servers", "err", err)
			}
		case done := <-e.resets:
			e.reset()
			close(done)
		}
	}
}

// Resetter is implemented by detectors whose memory Reset can clear.
type Resetter interface{ Reset() }

// Reset forgets what the detectors and the write coalescing remember (dev
// mode's reset empties the store, and with it every finding): queued
// events are dropped and the next detection is written at once. It waits
// for the running engine, or until ctx is done.
func (e *Engine) Reset(ctx context.Context) error {
	done := make(chan struct{})
	select {
	case e.resets <- done:
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (e *Engine) reset() {
	for {
		select {
		case ev := <-e.queue:
			e.release(&ev)
			continue
		default:
		}
		break
	}
	clear(e.pending)
	for _, d := range e.cfg.Detectors {
		if r, ok := d.(Resetter); ok {
			r.Reset()
		}
	}
}

// Process inspects one event synchronously; for tests and replays.
func (e *Engine) Process(ctx context.Context, ev *audit.Event) { e.inspect(ctx, ev) }

// Flush writes every pending coalesced signal; for tests.
func (e *Engine) Flush(ctx context.Context) { e.flush(ctx, true) }

func (e *Engine) inspect(ctx context.Context, ev *audit.Event) {
	e.release(ev)
	e.seen.Add(1)
	for _, d := range e.cfg.Detectors {
		for _, s := range d.Inspect(ev) {
			e.signal(ctx, d.Name(), s)
		}
	}
}

// FindingID is the stable Id of the finding about a subject.
func FindingID(generator, account, subject string) string {
	sum := sha256.Sum256([]byte(account + "\x00" + subject))
	return generator + "/" + account + "/" + hex.EncodeToString(sum[:16])
}

func (e *Engine) signal(ctx context.Context, gen string, s Signal) {
	if s.Account == "" {
		s.Account = e.cfg.AccountID
	}
	key := findings.Identifier{ID: FindingID(gen, s.Account, s.Subject), ProductARN: e.cfg.Hub.ProductARN()}
	now := e.cfg.Now()
	p := e.pending[key]
	if p == nil {
		if len(e.pending) >= maxPending {
			e.flush(ctx, true)
			clear(e.pending)
		}
		p = &pendingWrite{gen: gen, sig: s}
		e.pending[key] = p
	} else if p.dirty {
		p.sig = merge(p.sig, s)
	} else {
		p.sig = s
	}
	p.dirty = true
	if now.Sub(p.lastWrite) >= e.cfg.MinWriteInterval {
		e.write(ctx, key, p, now)
	}
}

// merge folds a later signal about the same subject into an earlier one.
func merge(a, b Signal) Signal {
	b.Count += a.Count
	b.EventIDs = lastN(append(slices.Clone(a.EventIDs), b.EventIDs...), maxEventIDs)
	if b.Time.Before(a.Time) {
		b.Time = a.Time
	}
	if first := a.first(); b.Since.IsZero() || first.Before(b.Since) {
		b.Since = first
	}
	return b
}

func (e *Engine) flush(ctx context.Context, all bool) {
	now := e.cfg.Now()
	for key, p := range e.pending {
		if p.dirty && (all || now.Sub(p.lastWrite) >= e.cfg.MinWriteInterval) {
			e.write(ctx, key, p, now)
		}
		// A subject quiet for a while needs no slot.
		if !p.dirty && now.Sub(p.lastWrite) > 10*e.cfg.MinWriteInterval {
			delete(e.pending, key)
		}
	}
}

// first is when the signal's first event happened.
func (s Signal) first() time.Time {
	if s.Since.IsZero() || s.Since.After(s.Time) {
		return s.Time
	}
	return s.Since
}

// maxEventIDs is how many source event ids a finding lists.
const maxEventIDs = 10

func lastN(s []string, n int) []string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

func (e *Engine) write(ctx context.Context, key findings.Identifier, p *pendingWrite, now time.Time) {
	s := p.sig
	p.dirty, p.lastWrite = false, now
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	f, kind, err := e.cfg.Hub.Upsert(wctx, key, func(f *findings.Finding, exists bool) error {
		apply(f, exists, s, p.gen, e.cfg.Region, now)
		return nil
	})
	if err != nil {
		// Keep the signal: the next flush (after MinWriteInterval) retries.
		p.dirty = true
		e.failures.Add(1)
		e.cfg.Logger.Error("write finding", "generator", p.gen, "id", key.ID, "err", err)
		return
	}
	// A new finding is news; its updates (every few seconds while a
	// condition lasts) are not.
	level := slog.LevelDebug
	if kind == findings.Created {
		level = slog.LevelInfo
	}
	e.cfg.Logger.Log(ctx, level, "finding", "change", kind.String(), "generator", p.gen, "id", f.ID,
		"severity", f.Severity.Label, "title", f.Title)
}

// apply writes a signal into a new or existing finding.
func apply(f *findings.Finding, exists bool, s Signal, gen, region string, now time.Time) {
	count := s.Count
	var ids []string
	if exists {
		n, _ := strconv.Atoi(f.ProductFields["bulwark/EventCount"])
		count += n
		if prev := f.ProductFields["bulwark/SourceEventIds"]; prev != "" {
			ids = strings.Split(prev, ",")
		}
		if (f.Workflow.Status == findings.WorkflowResolved || f.RecordState == findings.RecordArchived) &&
			s.Time.After(findings.WorkflowUpdatedAt(f)) {
			// The condition came back after it was resolved: a new
			// occurrence to look at. (Events from before the resolution,
			// written late by the coalescing, do not reopen it.) A
			// SUPPRESSED finding stays suppressed: the customer said no
			// action is needed.
			f.Workflow.Status = findings.WorkflowNew
		}
	} else {
		f.CreatedAt = now
		f.FirstObservedAt = s.first()
		f.Severity = findings.NewSeverity(s.Severity)
		f.Workflow.Status = findings.WorkflowNew
	}
	fields := map[string]string{}
	maps.Copy(fields, f.ProductFields)
	for k, v := range s.Fields {
		if v != "" { // ASFF field values are non-empty
			fields["bulwark/"+k] = truncate(v, 1024)
		}
	}
	ids = lastN(append(ids, s.EventIDs...), maxEventIDs)
	fields["bulwark/EventCount"] = strconv.Itoa(count)
	if len(ids) > 0 {
		fields["bulwark/SourceEventIds"] = strings.Join(ids, ",")
	}
	fields["bulwark/Subject"] = truncate(s.Subject, 1024)

	f.SchemaVersion = findings.SchemaVersion
	f.GeneratorID = gen
	f.AwsAccountID = s.Account
	f.ProductName, f.CompanyName, f.Region = "Bulwark", "Bulwark", region
	f.Types = s.Types
	f.Title, f.Description = truncate(s.Title, 256), truncate(s.Description, 1024)
	f.Resources = s.Resources
	f.ProductFields = fields
	f.RecordState = findings.RecordActive
	f.UpdatedAt = now
	if f.CreatedAt.After(now) {
		f.CreatedAt = now
	}
	if s.Time.After(f.LastObservedAt) {
		f.LastObservedAt = s.Time
	}
	if f.FirstObservedAt.IsZero() || s.first().Before(f.FirstObservedAt) {
		f.FirstObservedAt = s.first()
	}
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
