package store

import (
	"context"
	"time"
)

// FindingRecord is one finding of the findings hub as the store keeps it:
// Doc is the whole finding in the AWS Security Finding Format (JSON), and
// the other fields copy the attributes queries filter and sort on, so the
// store can answer them from indexes without parsing Doc. The store treats
// Doc as opaque.
type FindingRecord struct {
	ProductARN  string
	ID          string
	AccountID   string
	GeneratorID string
	// Severity is Severity.Normalized (0..100).
	Severity       int
	WorkflowStatus string
	RecordState    string
	Title          string
	CreatedAt      time.Time
	UpdatedAt      time.Time
	// Rev counts the writes of the record: 1 after CreateFinding, bumped by
	// every ReplaceFinding. It is set by the store.
	Rev int64
	Doc []byte
}

// FindingSort is the order ListFindings returns records in; ties are
// broken by (ProductARN, ID) in the same direction.
type FindingSort int

const (
	// SortUpdatedAt orders by UpdatedAt.
	SortUpdatedAt FindingSort = iota
	// SortCreatedAt orders by CreatedAt.
	SortCreatedAt
	// SortSeverity orders by Severity (normalized).
	SortSeverity
)

// FindingCursor is the sort key of the last record a page returned;
// ListFindings continues strictly after it. Time is used for the time
// sorts, Severity for SortSeverity.
type FindingCursor struct {
	Time       time.Time
	Severity   int
	ProductARN string
	ID         string
}

// FindingQuery selects findings. Every non-empty list is an equality
// filter (the record's field is one of the values); lists are ANDed.
type FindingQuery struct {
	AccountIDs       []string
	ProductARNs      []string
	IDs              []string
	GeneratorIDs     []string
	WorkflowStatuses []string
	RecordStates     []string
	Sort             FindingSort
	Desc             bool
	// After, if set, starts after this key (keyset pagination).
	After *FindingCursor
	// Limit bounds the records returned; it must be 1..1000.
	Limit int
}

// Findings is the findings hub's part of the store. Writes are
// compare-and-swap on Rev, so several writers (detectors on several
// servers, BatchUpdateFindings) never lose each other's changes: a writer
// re-reads and retries on ErrConflict.
type Findings interface {
	// CreateFinding inserts a finding with Rev 1; ErrConflict if a finding
	// with the same (ProductARN, ID) exists.
	CreateFinding(ctx context.Context, r FindingRecord) error
	// ReplaceFinding overwrites the finding (ProductARN, ID) if its Rev is
	// still rev, and bumps Rev; ErrConflict if the Rev changed,
	// ErrNotFound if the finding does not exist.
	ReplaceFinding(ctx context.Context, r FindingRecord, rev int64) error
	// GetFinding returns a finding or ErrNotFound.
	GetFinding(ctx context.Context, productARN, id string) (FindingRecord, error)
	// ListFindings returns up to q.Limit findings matching q in q's order.
	ListFindings(ctx context.Context, q FindingQuery) ([]FindingRecord, error)
	// DeleteFindingsUpdatedBefore deletes up to limit findings last updated
	// before t (retention) and returns how many it deleted.
	DeleteFindingsUpdatedBefore(ctx context.Context, t time.Time, limit int) (int, error)
}
