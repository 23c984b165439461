package findings

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/bulwark-security/bulwark/internal/store"
)

// ErrNotFound is returned (wrapped) for a finding that does not exist.
var ErrNotFound = store.ErrNotFound

// ChangeKind says what happened to a finding.
type ChangeKind int

const (
	// Created is a finding seen for the first time.
	Created ChangeKind = iota + 1
	// Updated is a change to an existing finding.
	Updated
)

func (k ChangeKind) String() string {
	if k == Created {
		return "Created"
	}
	return "Updated"
}

// Change is one committed write to a finding, as subscribers receive it.
type Change struct {
	Kind    ChangeKind
	Finding Finding
	// Previous is the finding before an update; nil for Created.
	Previous *Finding
}

// Config configures a Hub.
type Config struct {
	Store store.Findings
	// Region is the region of Bulwark's own product ARN.
	Region string
	// Logger is optional.
	Logger *slog.Logger
	// Now is the clock; optional.
	Now func() time.Time
	// Retention is how long a finding is kept after its last update; zero
	// means 90 days, Security Hub's period.
	Retention time.Duration
	// SubscribedAt, if set, tells DescribeHub when an account's hub began
	// (the account's creation).
	SubscribedAt func(ctx context.Context, account string) (time.Time, error)
}

// Hub stores findings and tells subscribers about every change.
type Hub struct {
	cfg  Config
	mu   sync.RWMutex
	subs map[int]func(Change)
	next int
}

// DefaultRetention is Security Hub's: findings not updated for 90 days
// are deleted.
const DefaultRetention = 90 * 24 * time.Hour

// New returns a hub over cfg.Store.
func New(cfg Config) (*Hub, error) {
	if cfg.Store == nil || cfg.Region == "" {
		return nil, errors.New("findings: Store and Region are required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Retention <= 0 {
		cfg.Retention = DefaultRetention
	}
	return &Hub{cfg: cfg, subs: map[int]func(Change){}}, nil
}

// ProductARN is the product ARN of the findings Bulwark's detectors
// report. Imports under it are refused, so no caller can forge or
// overwrite a detector's finding.
func (h *Hub) ProductARN() string { return ProductARN(h.cfg.Region) }

// ProductARN returns Bulwark's product ARN in a region.
func ProductARN(region string) string {
	return "arn:aws:securityhub:" + region + "::product/bulwark/detect"
}

// DefaultProductARN is an account's own product ARN for findings it
// imports itself (Security Hub's "default" product).
func DefaultProductARN(region, account string) string {
	return "arn:aws:securityhub:" + region + ":" + account + ":product/" + account + "/default"
}

// Subscribe registers fn to be called after every committed create or
// update, on the writer's goroutine and in commit order per finding. fn
// must not block (queue and return) and must not call back into the hub
// synchronously. Only this server's writes are seen. The returned function
// unsubscribes.
func (h *Hub) Subscribe(fn func(Change)) (unsubscribe func()) {
	h.mu.Lock()
	id := h.next
	h.next++
	h.subs[id] = fn
	h.mu.Unlock()
	return func() {
		h.mu.Lock()
		delete(h.subs, id)
		h.mu.Unlock()
	}
}

func (h *Hub) notify(c Change) {
	h.mu.RLock()
	subs := make([]func(Change), 0, len(h.subs))
	for _, fn := range h.subs {
		subs = append(subs, fn)
	}
	h.mu.RUnlock()
	for _, fn := range subs {
		cc := c
		cc.Finding = c.Finding.Clone()
		if c.Previous != nil {
			p := c.Previous.Clone()
			cc.Previous = &p
		}
		fn(cc)
	}
}

// Get returns a finding; the error wraps ErrNotFound if there is none.
func (h *Hub) Get(ctx context.Context, key Identifier) (Finding, error) {
	r, err := h.cfg.Store.GetFinding(ctx, key.ProductARN, key.ID)
	if err != nil {
		return Finding{}, err
	}
	return Decode(r)
}

// Decode reads a stored finding record (what the hub and the response
// engine's sweep read back from the store).
func Decode(r store.FindingRecord) (Finding, error) {
	var f Finding
	if err := json.Unmarshal(r.Doc, &f); err != nil {
		return Finding{}, fmt.Errorf("decode stored finding %q: %w", r.ID, err)
	}
	f.Severity.hasNormalized = true
	return f, nil
}

func record(f *Finding) (store.FindingRecord, error) {
	doc, err := json.Marshal(f)
	if err != nil {
		return store.FindingRecord{}, fmt.Errorf("encode finding %q: %w", f.ID, err)
	}
	if len(doc) > MaxFindingBytes {
		return store.FindingRecord{}, invalid("finding size exceeds %d bytes", MaxFindingBytes)
	}
	return store.FindingRecord{
		ProductARN: f.ProductARN, ID: f.ID, AccountID: f.AwsAccountID, GeneratorID: f.GeneratorID,
		Severity: f.Severity.Normalized, WorkflowStatus: f.Workflow.Status, RecordState: f.RecordState,
		Title: f.Title, CreatedAt: f.CreatedAt, UpdatedAt: f.UpdatedAt, Doc: doc,
	}, nil
}

// maxAttempts bounds the compare-and-swap retries of one write.
const maxAttempts = 16

// ErrConcurrentUpdate means a write lost the compare-and-swap race too many
// times in a row.
var ErrConcurrentUpdate = errors.New("findings: concurrent finding updates detected")

// Upsert creates or changes the finding key in one compare-and-swap:
// fn receives the stored finding (exists true) or a zero one with the key
// filled in, and edits it. The result is validated as ASFF; the key cannot
// change. Subscribers are told after the write commits. fn may run more
// than once (on a lost race), so it must be a pure edit.
func (h *Hub) Upsert(ctx context.Context, key Identifier, fn func(f *Finding, exists bool) error) (Finding, ChangeKind, error) {
	for range maxAttempts {
		r, err := h.cfg.Store.GetFinding(ctx, key.ProductARN, key.ID)
		exists := err == nil
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return Finding{}, 0, err
		}
		var f Finding
		var prev *Finding
		if exists {
			if f, err = Decode(r); err != nil {
				return Finding{}, 0, err
			}
			p := f.Clone()
			prev = &p
		} else {
			f = Finding{SchemaVersion: SchemaVersion, ID: key.ID, ProductARN: key.ProductARN}
		}
		if err := fn(&f, exists); err != nil {
			return Finding{}, 0, err
		}
		if f.ID != key.ID || f.ProductARN != key.ProductARN {
			return Finding{}, 0, invalid("the finding's Id and ProductArn cannot change")
		}
		f.ProcessedAt = h.cfg.Now()
		if f.Workflow.Status == "" {
			f.Workflow.Status = WorkflowNew
		}
		f.WorkflowState = workflowState(f.Workflow.Status)
		if err := validate(&f); err != nil {
			return Finding{}, 0, err
		}
		canonical(&f)
		nr, err := record(&f)
		if err != nil {
			return Finding{}, 0, err
		}
		kind := Created
		if exists {
			kind = Updated
			err = h.cfg.Store.ReplaceFinding(ctx, nr, r.Rev)
		} else {
			err = h.cfg.Store.CreateFinding(ctx, nr)
		}
		if errors.Is(err, store.ErrConflict) {
			continue
		}
		if err != nil {
			return Finding{}, 0, err
		}
		h.notify(Change{Kind: kind, Finding: f, Previous: prev})
		return f, kind, nil
	}
	return Finding{}, 0, fmt.Errorf("write finding %q: %w", key.ID, ErrConcurrentUpdate)
}

// Update changes an existing finding (see Upsert); the error wraps
// ErrNotFound if it does not exist.
func (h *Hub) Update(ctx context.Context, key Identifier, fn func(f *Finding) error) (Finding, error) {
	f, _, err := h.Upsert(ctx, key, func(f *Finding, exists bool) error {
		if !exists {
			return fmt.Errorf("update finding %q: %w", key.ID, store.ErrNotFound)
		}
		return fn(f)
	})
	return f, err
}

// Import stores a finding as BatchImportFindings does: a new finding is
// created (Workflow NEW unless it names a valid status); an existing one
// takes the provider's new attributes but keeps what the customer's
// investigation owns (Note, UserDefinedFields, VerificationState,
// Workflow) and its CreatedAt. A finding that goes from ARCHIVED back to
// ACTIVE has its NOTIFIED or RESOLVED workflow reset to NEW.
func (h *Hub) Import(ctx context.Context, in Finding) (Finding, ChangeKind, error) {
	// Validate before cloning: the clone's JSON would turn an absent
	// Severity.Normalized into a present 0.
	if err := validate(&in); err != nil {
		return Finding{}, 0, err
	}
	in = in.Clone()
	switch in.Workflow.Status {
	case "", WorkflowNew, WorkflowNotified, WorkflowSuppressed, WorkflowResolved:
	default:
		return Finding{}, 0, invalid("Workflow.Status %q is not valid", in.Workflow.Status)
	}
	return h.Upsert(ctx, in.Key(), func(f *Finding, exists bool) error {
		old := *f
		*f = in.Clone()
		if !exists {
			return nil
		}
		f.CreatedAt = old.CreatedAt
		f.Note, f.UserDefinedFields, f.VerificationState, f.Workflow = old.Note, old.UserDefinedFields, old.VerificationState, old.Workflow
		keepHubFields(f, &old)
		if f.FirstObservedAt.IsZero() {
			f.FirstObservedAt = old.FirstObservedAt
		}
		if old.RecordState == RecordArchived && f.RecordState == RecordActive &&
			(f.Workflow.Status == WorkflowNotified || f.Workflow.Status == WorkflowResolved) {
			f.Workflow.Status = WorkflowNew
		}
		return nil
	})
}

// Run deletes findings past the retention period, hourly, until ctx ends.
func (h *Hub) Run(ctx context.Context) error {
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		h.expire(ctx)
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

func (h *Hub) expire(ctx context.Context) {
	cutoff := h.cfg.Now().Add(-h.cfg.Retention)
	for {
		n, err := h.cfg.Store.DeleteFindingsUpdatedBefore(ctx, cutoff, 500)
		if err != nil {
			if ctx.Err() == nil {
				h.cfg.Logger.Warn("expire findings", "err", err)
			}
			return
		}
		if n < 500 {
			return
		}
	}
}
