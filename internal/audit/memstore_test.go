package audit

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/bulwark-security/bulwark/internal/store"
)

// memAudit is an in-memory store.Audit whose rows tests can tamper with.
type memAudit struct {
	mu      sync.Mutex
	recs    []store.AuditRecord
	digests []store.AuditDigest
	fail    error
}

func (m *memAudit) AppendAuditRecords(_ context.Context, recs []store.AuditRecord) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail != nil {
		return m.fail
	}
	for _, r := range recs {
		for _, x := range m.recs {
			if x.ChainID == r.ChainID && x.Seq == r.Seq {
				return fmt.Errorf("dup: %w", store.ErrConflict)
			}
		}
	}
	m.recs = append(m.recs, recs...)
	return nil
}

func (m *memAudit) sorted() []store.AuditRecord {
	out := slices.Clone(m.recs)
	sort.Slice(out, func(i, j int) bool {
		if out[i].ChainID != out[j].ChainID {
			return out[i].ChainID < out[j].ChainID
		}
		return out[i].Seq < out[j].Seq
	})
	return out
}

func (m *memAudit) LastAuditRecord(_ context.Context, c string) (store.AuditRecord, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var last *store.AuditRecord
	for _, r := range m.sorted() {
		if r.ChainID == c {
			last = &r
		}
	}
	if last == nil {
		return store.AuditRecord{}, store.ErrNotFound
	}
	return *last, nil
}

func (m *memAudit) FirstAuditRecordSince(_ context.Context, c string, t time.Time) (store.AuditRecord, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, r := range m.sorted() {
		if r.ChainID == c && !r.EventTime.Before(t) {
			return r, nil
		}
	}
	return store.AuditRecord{}, store.ErrNotFound
}

func (m *memAudit) AuditChains(context.Context) ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []string
	for _, r := range m.sorted() {
		if len(out) == 0 || out[len(out)-1] != r.ChainID {
			out = append(out, r.ChainID)
		}
	}
	return out, nil
}

func (m *memAudit) ScanAuditChain(_ context.Context, c string, after int64, fn func(store.AuditRecord) error) error {
	m.mu.Lock()
	rs := m.sorted()
	m.mu.Unlock()
	for _, r := range rs {
		if r.ChainID == c && r.Seq > after {
			if err := fn(r); err != nil {
				return err
			}
		}
	}
	return nil
}

func (m *memAudit) LookupAuditRecords(context.Context, store.AuditQuery) ([]store.AuditRecord, error) {
	return nil, nil
}

func (m *memAudit) AppendAuditDigest(_ context.Context, build func(int64, []byte, []byte) (store.AuditDigest, error)) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	var prevBody, prevSig []byte
	n := int64(len(m.digests))
	if n > 0 {
		prevBody, prevSig = m.digests[n-1].Body, m.digests[n-1].Signature
	}
	d, err := build(n, prevBody, prevSig)
	if err != nil {
		return err
	}
	m.digests = append(m.digests, d)
	return nil
}

func (m *memAudit) ScanAuditDigests(_ context.Context, fn func(store.AuditDigest) error) error {
	m.mu.Lock()
	ds := slices.Clone(m.digests)
	m.mu.Unlock()
	for _, d := range ds {
		if err := fn(d); err != nil {
			return err
		}
	}
	return nil
}

func (m *memAudit) DeleteAuditRecords(_ context.Context, c string, before int64) (int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var n int64
	m.recs = slices.DeleteFunc(m.recs, func(r store.AuditRecord) bool {
		if r.ChainID == c && r.Seq < before {
			n++
			return true
		}
		return false
	})
	return n, nil
}

// index returns the position in m.recs of (chain, seq).
func (m *memAudit) index(c string, seq int64) int {
	for i, r := range m.recs {
		if r.ChainID == c && r.Seq == seq {
			return i
		}
	}
	panic(fmt.Sprintf("no record %s/%d", c, seq))
}
