package sqlite

import (
	"context"
	"time"

	"github.com/bulwark-security/bulwark/internal/store"
	"github.com/bulwark-security/bulwark/internal/store/findingsql"
)

// The findings hub's part of the store is package findingsql's, over the
// same backend as the IAM part.

var _ store.Findings = (*Store)(nil)

func (s *Store) findings() *findingsql.Findings { return findingsql.New(backend{s}) }

// CreateFinding implements store.Findings.
func (s *Store) CreateFinding(ctx context.Context, r store.FindingRecord) error {
	return s.findings().CreateFinding(ctx, r)
}

// ReplaceFinding implements store.Findings.
func (s *Store) ReplaceFinding(ctx context.Context, r store.FindingRecord, rev int64) error {
	return s.findings().ReplaceFinding(ctx, r, rev)
}

// GetFinding implements store.Findings.
func (s *Store) GetFinding(ctx context.Context, productARN, id string) (store.FindingRecord, error) {
	return s.findings().GetFinding(ctx, productARN, id)
}

// ListFindings implements store.Findings.
func (s *Store) ListFindings(ctx context.Context, q store.FindingQuery) ([]store.FindingRecord, error) {
	return s.findings().ListFindings(ctx, q)
}

// DeleteFindingsUpdatedBefore implements store.Findings.
func (s *Store) DeleteFindingsUpdatedBefore(ctx context.Context, t time.Time, limit int) (int, error) {
	return s.findings().DeleteFindingsUpdatedBefore(ctx, t, limit)
}
