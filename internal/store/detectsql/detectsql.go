// Package detectsql implements store.DetectCounts once, in SQL that SQLite
// and PostgreSQL both accept, over the backend the IAM part uses.
//
// Each server writes only its own rows (key, bucket, server), with the
// absolute count, so writes from several servers never conflict and a
// retried write changes nothing.
package detectsql

import (
	"context"
	"strings"

	"github.com/bulwark-security/bulwark/internal/store"
	"github.com/bulwark-security/bulwark/internal/store/iamsql"
)

// Counts implements store.DetectCounts over a backend.
type Counts struct{ b iamsql.Backend }

var _ store.DetectCounts = (*Counts)(nil)

// New returns the detector counts of a backend.
func New(b iamsql.Backend) *Counts { return &Counts{b: b} }

// maxKeys bounds the keys of one SumDetectCounts query (its IN list).
const maxKeys = 500

// PutDetectCounts implements store.DetectCounts.
func (c *Counts) PutDetectCounts(ctx context.Context, server string, counts []store.DetectCount) error {
	if len(counts) == 0 {
		return nil
	}
	err := c.b.Write(ctx, func(q iamsql.Querier) error {
		for _, x := range counts {
			if _, err := q.Exec(ctx, `INSERT INTO detect_counts (key, bucket, server, count) VALUES (?, ?, ?, ?)
ON CONFLICT (key, bucket, server) DO UPDATE SET count = excluded.count`, x.Key, x.Bucket, server, x.Count); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return c.b.MapErr(err, "put detector counts")
	}
	return nil
}

// SumDetectCounts implements store.DetectCounts.
func (c *Counts) SumDetectCounts(ctx context.Context, server string, keys []string, fromBucket int64) (map[string]int64, error) {
	out := make(map[string]int64)
	for len(keys) > 0 {
		n := min(len(keys), maxKeys)
		args := []any{server, fromBucket}
		for _, k := range keys[:n] {
			args = append(args, k)
		}
		query := iamsql.Dynamic + `SELECT key, SUM(count) FROM detect_counts WHERE server <> ? AND bucket >= ? AND key IN (` +
			strings.TrimSuffix(strings.Repeat("?, ", n), ", ") + `) GROUP BY key`
		err := c.b.Read(ctx, func(q iamsql.Querier) error {
			return q.Query(ctx, query, args, func(scan func(dest ...any) error) error {
				var k string
				var sum int64
				if err := scan(&k, &sum); err != nil {
					return err
				}
				out[k] = sum
				return nil
			})
		})
		if err != nil {
			return nil, c.b.MapErr(err, "sum detector counts")
		}
		keys = keys[n:]
	}
	return out, nil
}

// DeleteDetectCountsBefore implements store.DetectCounts.
func (c *Counts) DeleteDetectCountsBefore(ctx context.Context, bucket int64) (int64, error) {
	var n int64
	err := c.b.Write(ctx, func(q iamsql.Querier) error {
		var err error
		n, err = q.Exec(ctx, `DELETE FROM detect_counts WHERE bucket < ?`, bucket)
		return err
	})
	if err != nil {
		return 0, c.b.MapErr(err, "delete detector counts")
	}
	return n, nil
}
