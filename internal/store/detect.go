package store

import "context"

// DetectCount is how many events one server counted for a detector's
// subject in one time bucket (detect's shared windows).
type DetectCount struct {
	Key    string // detector and subject ("bulwark/signature-failures|accesskey/AKIA...")
	Bucket int64  // the bucket's start, in seconds since the epoch divided by the bucket size
	Count  int64
}

// DetectCounts lets the detectors of several servers sharing a store add
// up their windows: each server writes its own counts (absolute, so a
// write is idempotent) and reads the others'.
type DetectCounts interface {
	// PutDetectCounts sets server's counts.
	PutDetectCounts(ctx context.Context, server string, counts []DetectCount) error
	// SumDetectCounts returns, per key, the counts of every server other
	// than server in buckets from fromBucket on; keys without any are
	// absent.
	SumDetectCounts(ctx context.Context, server string, keys []string, fromBucket int64) (map[string]int64, error)
	// DeleteDetectCountsBefore deletes every count in buckets before
	// bucket and returns how many it deleted.
	DeleteDetectCountsBefore(ctx context.Context, bucket int64) (int64, error)
}
