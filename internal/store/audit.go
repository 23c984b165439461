package store

import (
	"context"
	"time"
)

// AuditRecord is one stored audit record: the canonical CloudTrail JSON
// (Record) that the hash chain covers, and the columns extracted from it
// that lookups filter on. Seq numbers a chain's records from 1 without
// gaps; Hash is SHA-256 over the previous record's hash and Record (package
// audit defines the exact bytes).
type AuditRecord struct {
	ChainID string
	Seq     int64
	EventID string
	// AccountID is the recipient account (empty for a call whose signer is
	// unknown); lookups only ever see their own account's records.
	AccountID   string
	EventTime   time.Time
	EventName   string
	EventSource string
	ReadOnly    bool
	Username    string
	AccessKeyID string
	Resources   []AuditResource
	Record      []byte
	PrevHash    []byte
	Hash        []byte
}

// AuditResource is a resource a record names, for LookupEvents.
type AuditResource struct {
	Type string // "AWS::IAM::Role"
	Name string // the ARN
}

// AuditAttribute is the key of a LookupEvents attribute filter.
type AuditAttribute string

// The LookupEvents attribute keys.
const (
	AuditByEventID      AuditAttribute = "EventId"
	AuditByEventName    AuditAttribute = "EventName"
	AuditByReadOnly     AuditAttribute = "ReadOnly"
	AuditByUsername     AuditAttribute = "Username"
	AuditByResourceType AuditAttribute = "ResourceType"
	AuditByResourceName AuditAttribute = "ResourceName"
	AuditByEventSource  AuditAttribute = "EventSource"
	AuditByAccessKeyID  AuditAttribute = "AccessKeyId"
)

// AuditCursor is the position after the last record a lookup page returned
// (records come newest first, ordered by time, chain and seq descending).
type AuditCursor struct {
	EventTime time.Time
	ChainID   string
	Seq       int64
}

// AuditQuery selects records for LookupEvents. Zero Start/End mean
// unbounded; an empty Attribute means no attribute filter.
type AuditQuery struct {
	AccountID string // required: the caller's account
	Attribute AuditAttribute
	Value     string
	Start     time.Time // inclusive
	End       time.Time // inclusive
	After     *AuditCursor
	Limit     int
}

// AuditDigest is one signed digest of the global digest chain. Body is the
// canonical signed JSON (package audit defines it); Seq numbers digests
// from 1 without gaps across every server.
type AuditDigest struct {
	Seq       int64
	ChainID   string
	CreatedAt time.Time
	Body      []byte
	Signature []byte
}

// Audit is the audit trail's part of the store. Records are only ever
// appended (and deleted by retention): nothing updates one.
type Audit interface {
	// AppendAuditRecords inserts records in one transaction (group commit);
	// ErrConflict if a (chain, seq) exists.
	AppendAuditRecords(ctx context.Context, recs []AuditRecord) error
	// LastAuditRecord returns the record with the highest seq of a chain,
	// or ErrNotFound.
	LastAuditRecord(ctx context.Context, chainID string) (AuditRecord, error)
	// AuditChains returns the ids of every chain that has records.
	AuditChains(ctx context.Context) ([]string, error)
	// ScanAuditChain calls fn for the records of a chain with seq > after,
	// in seq order, without Resources. fn's record is only valid during the
	// call.
	ScanAuditChain(ctx context.Context, chainID string, after int64, fn func(AuditRecord) error) error
	// LookupAuditRecords returns up to q.Limit records matching q, newest
	// first, with Resources.
	LookupAuditRecords(ctx context.Context, q AuditQuery) ([]AuditRecord, error)
	// AppendAuditDigest serialises with every other digest writer: it
	// passes build the number and body of the previous digest (0 and nil
	// for the first) and inserts what build returns as digest number
	// prev+1, in one transaction.
	AppendAuditDigest(ctx context.Context, build func(prevSeq int64, prevBody, prevSig []byte) (AuditDigest, error)) error
	// ScanAuditDigests calls fn for every digest in seq order.
	ScanAuditDigests(ctx context.Context, fn func(AuditDigest) error) error
	// FirstAuditRecordSince returns the chain's first record (lowest seq)
	// whose EventTime is at or after t, or ErrNotFound.
	FirstAuditRecordSince(ctx context.Context, chainID string, t time.Time) (AuditRecord, error)
	// DeleteAuditRecords deletes a chain's records (and their resources)
	// with seq < before and returns how many it deleted (retention).
	DeleteAuditRecords(ctx context.Context, chainID string, before int64) (int64, error)
}
