package postgres

import (
	"context"
	"time"

	"github.com/bulwark-security/bulwark/internal/store"
	"github.com/bulwark-security/bulwark/internal/store/auditsql"
)

// The audit part of the store is package auditsql's, over the same backend
// as IAM: READ COMMITTED writes, REPEATABLE READ read-only reads.

var _ store.Audit = (*Store)(nil)

func (s *Store) audit() *auditsql.Audit { return auditsql.New(backend{s}) }

// AppendAuditRecords implements store.Audit.
func (s *Store) AppendAuditRecords(ctx context.Context, recs []store.AuditRecord) error {
	return s.audit().AppendAuditRecords(ctx, recs)
}

// LastAuditRecord implements store.Audit.
func (s *Store) LastAuditRecord(ctx context.Context, chainID string) (store.AuditRecord, error) {
	return s.audit().LastAuditRecord(ctx, chainID)
}

// FirstAuditRecordSince implements store.Audit.
func (s *Store) FirstAuditRecordSince(ctx context.Context, chainID string, t time.Time) (store.AuditRecord, error) {
	return s.audit().FirstAuditRecordSince(ctx, chainID, t)
}

// AuditChains implements store.Audit.
func (s *Store) AuditChains(ctx context.Context) ([]string, error) { return s.audit().AuditChains(ctx) }

// ScanAuditChain implements store.Audit.
func (s *Store) ScanAuditChain(ctx context.Context, chainID string, after int64, fn func(store.AuditRecord) error) error {
	return s.audit().ScanAuditChain(ctx, chainID, after, fn)
}

// LookupAuditRecords implements store.Audit.
func (s *Store) LookupAuditRecords(ctx context.Context, q store.AuditQuery) ([]store.AuditRecord, error) {
	return s.audit().LookupAuditRecords(ctx, q)
}

// AppendAuditDigest implements store.Audit.
func (s *Store) AppendAuditDigest(ctx context.Context, build func(prevSeq int64, prevBody, prevSig []byte) (store.AuditDigest, error)) error {
	return s.audit().AppendAuditDigest(ctx, build)
}

// ScanAuditDigests implements store.Audit.
func (s *Store) ScanAuditDigests(ctx context.Context, fn func(store.AuditDigest) error) error {
	return s.audit().ScanAuditDigests(ctx, fn)
}

// DeleteAuditRecords implements store.Audit.
func (s *Store) DeleteAuditRecords(ctx context.Context, chainID string, before int64) (int64, error) {
	return s.audit().DeleteAuditRecords(ctx, chainID, before)
}
