// Package findingsql implements store.Findings once, in SQL that SQLite and
// PostgreSQL both accept, over the same small Backend the IAM store uses
// (transactions, placeholders, time encoding, error mapping).
//
// Writes are single statements whose WHERE clause checks the record's rev,
// so an update is a compare-and-swap whatever the isolation level and
// however many servers share the database.
package findingsql

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/bulwark-security/bulwark/internal/store"
	"github.com/bulwark-security/bulwark/internal/store/iamsql"
)

// MaxLimit bounds FindingQuery.Limit.
const MaxLimit = 1000

// Findings implements store.Findings over a backend.
type Findings struct{ b iamsql.Backend }

var _ store.Findings = (*Findings)(nil)

// New returns the findings store of a backend.
func New(b iamsql.Backend) *Findings { return &Findings{b: b} }

const cols = `product_arn, id, account_id, generator_id, severity, workflow_status, record_state, title, created_at, updated_at, rev, doc`

func scan(scan func(...any) error) (store.FindingRecord, error) {
	var r store.FindingRecord
	var doc string
	if err := scan(&r.ProductARN, &r.ID, &r.AccountID, &r.GeneratorID, &r.Severity, &r.WorkflowStatus,
		&r.RecordState, &r.Title, &r.CreatedAt, &r.UpdatedAt, &r.Rev, &doc); err != nil {
		return store.FindingRecord{}, err
	}
	r.Doc = []byte(doc)
	return r, nil
}

// CreateFinding implements store.Findings.
func (f *Findings) CreateFinding(ctx context.Context, r store.FindingRecord) error {
	what := fmt.Sprintf("create finding %q", r.ID)
	return f.b.Write(ctx, func(q iamsql.Querier) error {
		_, err := q.Exec(ctx, `INSERT INTO findings (`+cols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?)`,
			r.ProductARN, r.ID, r.AccountID, r.GeneratorID, r.Severity, r.WorkflowStatus, r.RecordState,
			r.Title, r.CreatedAt, r.UpdatedAt, string(r.Doc))
		if err != nil {
			return f.b.MapErr(err, what)
		}
		return nil
	})
}

// ReplaceFinding implements store.Findings.
func (f *Findings) ReplaceFinding(ctx context.Context, r store.FindingRecord, rev int64) error {
	what := fmt.Sprintf("replace finding %q", r.ID)
	return f.b.Write(ctx, func(q iamsql.Querier) error {
		n, err := q.Exec(ctx, `UPDATE findings SET account_id = ?, generator_id = ?, severity = ?,
			workflow_status = ?, record_state = ?, title = ?, created_at = ?, updated_at = ?, rev = rev + 1, doc = ?
			WHERE product_arn = ? AND id = ? AND rev = ?`,
			r.AccountID, r.GeneratorID, r.Severity, r.WorkflowStatus, r.RecordState, r.Title,
			r.CreatedAt, r.UpdatedAt, string(r.Doc), r.ProductARN, r.ID, rev)
		if err != nil {
			return f.b.MapErr(err, what)
		}
		if n == 1 {
			return nil
		}
		var one int
		err = q.QueryRow(ctx, `SELECT 1 FROM findings WHERE product_arn = ? AND id = ?`, []any{r.ProductARN, r.ID}, &one)
		switch {
		case errors.Is(err, iamsql.ErrNoRows):
			return fmt.Errorf("%s: %w", what, store.ErrNotFound)
		case err != nil:
			return f.b.MapErr(err, what)
		}
		return fmt.Errorf("%s: revision %d is stale: %w", what, rev, store.ErrConflict)
	})
}

// GetFinding implements store.Findings.
func (f *Findings) GetFinding(ctx context.Context, productARN, id string) (store.FindingRecord, error) {
	var out store.FindingRecord
	found := false
	err := f.b.Read(ctx, func(q iamsql.Querier) error {
		return q.Query(ctx, `SELECT `+cols+` FROM findings WHERE product_arn = ? AND id = ?`, []any{productARN, id},
			func(s func(...any) error) error {
				var err error
				out, err = scan(s)
				found = err == nil
				return err
			})
	})
	if err != nil {
		return store.FindingRecord{}, f.b.MapErr(err, fmt.Sprintf("get finding %q", id))
	}
	if !found {
		return store.FindingRecord{}, fmt.Errorf("get finding %q: %w", id, store.ErrNotFound)
	}
	return out, nil
}

// ListFindings implements store.Findings.
func (f *Findings) ListFindings(ctx context.Context, q store.FindingQuery) ([]store.FindingRecord, error) {
	if q.Limit < 1 || q.Limit > MaxLimit {
		return nil, fmt.Errorf("list findings: limit %d out of 1..%d", q.Limit, MaxLimit)
	}
	var where []string
	var args []any
	in := func(col string, vals []string) {
		if len(vals) == 0 {
			return
		}
		where = append(where, col+" IN ("+strings.Repeat("?, ", len(vals)-1)+"?)")
		for _, v := range vals {
			args = append(args, v)
		}
	}
	in("account_id", q.AccountIDs)
	in("product_arn", q.ProductARNs)
	in("id", q.IDs)
	in("generator_id", q.GeneratorIDs)
	in("workflow_status", q.WorkflowStatuses)
	in("record_state", q.RecordStates)

	var key string
	switch q.Sort {
	case store.SortUpdatedAt:
		key = "updated_at"
	case store.SortCreatedAt:
		key = "created_at"
	case store.SortSeverity:
		key = "severity"
	default:
		return nil, fmt.Errorf("list findings: unknown sort %d", q.Sort)
	}
	dir, cmp := "ASC", ">"
	if q.Desc {
		dir, cmp = "DESC", "<"
	}
	if c := q.After; c != nil {
		var v any = c.Time
		if q.Sort == store.SortSeverity {
			v = c.Severity
		}
		// Row values compare lexicographically in both dialects, and the
		// comparison walks the (key, product_arn, id) index.
		where = append(where, "("+key+", product_arn, id) "+cmp+" (?, ?, ?)")
		args = append(args, v, c.ProductARN, c.ID)
	}
	query := iamsql.Dynamic + `SELECT ` + cols + ` FROM findings`
	if len(where) > 0 {
		query += " WHERE " + strings.Join(where, " AND ")
	}
	query += fmt.Sprintf(" ORDER BY %s %s, product_arn %s, id %s LIMIT ?", key, dir, dir, dir)
	args = append(args, q.Limit)

	out := []store.FindingRecord{}
	err := f.b.Read(ctx, func(qq iamsql.Querier) error {
		return qq.Query(ctx, query, args, func(s func(...any) error) error {
			r, err := scan(s)
			if err != nil {
				return err
			}
			out = append(out, r)
			return nil
		})
	})
	if err != nil {
		return nil, f.b.MapErr(err, "list findings")
	}
	return out, nil
}

// DeleteFindingsUpdatedBefore implements store.Findings.
func (f *Findings) DeleteFindingsUpdatedBefore(ctx context.Context, t time.Time, limit int) (int, error) {
	if limit < 1 {
		return 0, nil
	}
	var n int64
	err := f.b.Write(ctx, func(q iamsql.Querier) error {
		var err error
		n, err = q.Exec(ctx, `DELETE FROM findings WHERE (product_arn, id) IN (
			SELECT product_arn, id FROM findings WHERE updated_at < ? ORDER BY updated_at LIMIT ?)`, t, limit)
		return err
	})
	if err != nil {
		return 0, f.b.MapErr(err, "delete old findings")
	}
	return int(n), nil
}
