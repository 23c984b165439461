// Package auditsql implements store.Audit once, in SQL that SQLite and
// PostgreSQL both accept, over the same Backend the IAM part uses
// (iamsql.Backend: transactions, placeholders, time encoding, errors).
//
// Records are only inserted and (by retention) deleted. Each server writes
// its own chain, so record writes from several servers never touch the same
// rows; digests form one chain across servers, serialised by the update of
// the single audit_digest_head row (on PostgreSQL its row lock is held to
// commit; SQLite has one writer).
package auditsql

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/bulwark-security/bulwark/internal/store"
	"github.com/bulwark-security/bulwark/internal/store/iamsql"
)

// Audit implements store.Audit over a backend.
type Audit struct{ b iamsql.Backend }

// New returns the audit store over b.
func New(b iamsql.Backend) *Audit { return &Audit{b: b} }

// mapErr is the backend's error mapping, nil-safe.
func (a *Audit) mapErr(err error, what string) error {
	if err == nil {
		return nil
	}
	return a.b.MapErr(err, what)
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// maxInsertRows bounds the rows of one multi-row INSERT (13 parameters a
// row stays far below both backends' parameter limits).
const maxInsertRows = 128

// rowRuns splits n rows into runs whose lengths are powers of two (largest
// first, at most maxInsertRows), so the multi-row INSERTs of any batch are
// drawn from eight statement texts that the backends keep prepared:
// parsing a statement cost SQLite more than inserting its rows.
func rowRuns(n int) []int {
	var runs []int
	for n > 0 {
		r := maxInsertRows
		for r > n {
			r >>= 1
		}
		runs = append(runs, r)
		n -= r
	}
	return runs
}

// multiRowInsert returns "<head> VALUES (?, ...), ..." for rows rows of
// cols columns.
func multiRowInsert(head string, rows, cols int) string {
	tuple := "(" + strings.TrimSuffix(strings.Repeat("?, ", cols), ", ") + ")"
	return head + " VALUES " + strings.TrimSuffix(strings.Repeat(tuple+", ", rows), ", ")
}

// insertRecords and insertResources hold the statement for each run
// length.
var insertRecords, insertResources = insertStatements(insertRecordsHead, 13, ""),
	insertStatements(insertResourcesHead, 4, " ON CONFLICT DO NOTHING")

func insertStatements(head string, cols int, tail string) map[int]string {
	m := make(map[int]string)
	for n := 1; n <= maxInsertRows; n <<= 1 {
		m[n] = multiRowInsert(head, n, cols) + tail
	}
	return m
}

const (
	insertRecordsHead = `INSERT INTO audit_records (chain_id, seq, event_id, account_id, event_time, event_name,
	event_source, read_only, username, access_key_id, record, prev_hash, hash)`
	insertResourcesHead = `INSERT INTO audit_resources (chain_id, seq, resource_type, resource_name)`
)

// AppendAuditRecords implements store.Audit. Rows go in multi-row INSERTs
// of power-of-two lengths (rowRuns), one statement for many rows, each
// statement prepared once.
func (a *Audit) AppendAuditRecords(ctx context.Context, recs []store.AuditRecord) error {
	if len(recs) == 0 {
		return nil
	}
	args := make([]any, 0, 13*min(len(recs), maxInsertRows))
	var res []any
	for i := range recs {
		for _, x := range recs[i].Resources {
			res = append(res, recs[i].ChainID, recs[i].Seq, x.Type, x.Name)
		}
	}
	err := a.b.Write(ctx, func(q iamsql.Querier) error {
		start := 0
		for _, n := range rowRuns(len(recs)) {
			args = args[:0]
			for i := start; i < start+n; i++ {
				r := &recs[i]
				args = append(args, r.ChainID, r.Seq, r.EventID, r.AccountID, r.EventTime, r.EventName, r.EventSource,
					boolInt(r.ReadOnly), r.Username, r.AccessKeyID, r.Record, r.PrevHash, r.Hash)
			}
			if _, err := q.Exec(ctx, insertRecords[n], args...); err != nil {
				return err
			}
			start += n
		}
		start = 0
		for _, n := range rowRuns(len(res) / 4) {
			if _, err := q.Exec(ctx, insertResources[n], res[4*start:4*(start+n)]...); err != nil {
				return err
			}
			start += n
		}
		return nil
	})
	return a.mapErr(err, "append audit records")
}

const recordCols = `chain_id, seq, event_id, account_id, event_time, event_name, event_source, read_only, username,
	access_key_id, record, prev_hash, hash`

func scanRecord(scan func(dest ...any) error, r *store.AuditRecord) error {
	var ro int
	if err := scan(&r.ChainID, &r.Seq, &r.EventID, &r.AccountID, &r.EventTime, &r.EventName, &r.EventSource, &ro,
		&r.Username, &r.AccessKeyID, &r.Record, &r.PrevHash, &r.Hash); err != nil {
		return err
	}
	r.ReadOnly = ro != 0
	return nil
}

func (a *Audit) one(ctx context.Context, what, query string, args ...any) (store.AuditRecord, error) {
	var r store.AuditRecord
	err := a.b.Read(ctx, func(q iamsql.Querier) error {
		found := false
		err := q.Query(ctx, query, args, func(scan func(dest ...any) error) error {
			found = true
			return scanRecord(scan, &r)
		})
		if err == nil && !found {
			return store.ErrNotFound
		}
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		return r, fmt.Errorf("%s: %w", what, store.ErrNotFound)
	}
	return r, a.mapErr(err, what)
}

// LastAuditRecord implements store.Audit.
func (a *Audit) LastAuditRecord(ctx context.Context, chainID string) (store.AuditRecord, error) {
	return a.one(ctx, "last audit record", `SELECT `+recordCols+` FROM audit_records
WHERE chain_id = ? ORDER BY seq DESC LIMIT 1`, chainID)
}

// FirstAuditRecordSince implements store.Audit.
func (a *Audit) FirstAuditRecordSince(ctx context.Context, chainID string, t time.Time) (store.AuditRecord, error) {
	return a.one(ctx, "first audit record since", `SELECT `+recordCols+` FROM audit_records
WHERE chain_id = ? AND event_time >= ? ORDER BY seq LIMIT 1`, chainID, t)
}

// AuditChains implements store.Audit.
func (a *Audit) AuditChains(ctx context.Context) ([]string, error) {
	var out []string
	err := a.b.Read(ctx, func(q iamsql.Querier) error {
		return q.Query(ctx, `SELECT DISTINCT chain_id FROM audit_records ORDER BY chain_id`, nil,
			func(scan func(dest ...any) error) error {
				var id string
				if err := scan(&id); err != nil {
					return err
				}
				out = append(out, id)
				return nil
			})
	})
	return out, a.mapErr(err, "list audit chains")
}

// scanPage bounds how many records one read transaction holds, so a
// verifier scanning millions of records does not pin one snapshot.
const scanPage = 2000

// ScanAuditChain implements store.Audit.
func (a *Audit) ScanAuditChain(ctx context.Context, chainID string, after int64, fn func(store.AuditRecord) error) error {
	for {
		var page []store.AuditRecord
		err := a.b.Read(ctx, func(q iamsql.Querier) error {
			return q.Query(ctx, `SELECT `+recordCols+` FROM audit_records WHERE chain_id = ? AND seq > ?
ORDER BY seq LIMIT ?`, []any{chainID, after, scanPage}, func(scan func(dest ...any) error) error {
				var r store.AuditRecord
				if err := scanRecord(scan, &r); err != nil {
					return err
				}
				page = append(page, r)
				return nil
			})
		})
		if err != nil {
			return a.mapErr(err, "scan audit chain")
		}
		for _, r := range page {
			if err := fn(r); err != nil {
				return err
			}
		}
		if len(page) < scanPage {
			return nil
		}
		after = page[len(page)-1].Seq
	}
}

// LookupAuditRecords implements store.Audit.
func (a *Audit) LookupAuditRecords(ctx context.Context, qy store.AuditQuery) ([]store.AuditRecord, error) {
	where := []string{"r.account_id = ?"}
	args := []any{qy.AccountID}
	switch qy.Attribute {
	case "":
	case store.AuditByEventID:
		where, args = append(where, "r.event_id = ?"), append(args, qy.Value)
	case store.AuditByEventName:
		where, args = append(where, "r.event_name = ?"), append(args, qy.Value)
	case store.AuditByUsername:
		where, args = append(where, "r.username = ?"), append(args, qy.Value)
	case store.AuditByAccessKeyID:
		where, args = append(where, "r.access_key_id = ?"), append(args, qy.Value)
	case store.AuditByEventSource:
		where, args = append(where, "r.event_source = ?"), append(args, qy.Value)
	case store.AuditByReadOnly:
		// CloudTrail accepts "true" or "false"; anything else matches nothing.
		switch qy.Value {
		case "true":
			where = append(where, "r.read_only = 1")
		case "false":
			where = append(where, "r.read_only = 0")
		default:
			return nil, nil
		}
	case store.AuditByResourceType:
		where = append(where, "EXISTS (SELECT 1 FROM audit_resources x WHERE x.chain_id = r.chain_id AND x.seq = r.seq AND x.resource_type = ?)")
		args = append(args, qy.Value)
	case store.AuditByResourceName:
		where = append(where, "EXISTS (SELECT 1 FROM audit_resources x WHERE x.chain_id = r.chain_id AND x.seq = r.seq AND x.resource_name = ?)")
		args = append(args, qy.Value)
	default:
		return nil, fmt.Errorf("lookup audit records: unknown attribute %q", qy.Attribute)
	}
	if !qy.Start.IsZero() {
		where, args = append(where, "r.event_time >= ?"), append(args, qy.Start)
	}
	if !qy.End.IsZero() {
		where, args = append(where, "r.event_time <= ?"), append(args, qy.End)
	}
	if c := qy.After; c != nil {
		// Keyset pagination, newest first: strictly before the cursor.
		where = append(where, "(r.event_time < ? OR (r.event_time = ? AND (r.chain_id < ? OR (r.chain_id = ? AND r.seq < ?))))")
		args = append(args, c.EventTime, c.EventTime, c.ChainID, c.ChainID, c.Seq)
	}
	query := `SELECT r.chain_id, r.seq, r.event_id, r.account_id, r.event_time, r.event_name, r.event_source, r.read_only,
	r.username, r.access_key_id, r.record, r.prev_hash, r.hash FROM audit_records r`
	query += " WHERE " + strings.Join(where, " AND ")
	query += " ORDER BY r.event_time DESC, r.chain_id DESC, r.seq DESC LIMIT ?"
	limit := qy.Limit
	if limit <= 0 || limit > 1000 {
		limit = 1000
	}
	args = append(args, limit)
	var out []store.AuditRecord
	err := a.b.Read(ctx, func(q iamsql.Querier) error {
		if err := q.Query(ctx, query, args, func(scan func(dest ...any) error) error {
			var r store.AuditRecord
			if err := scanRecord(scan, &r); err != nil {
				return err
			}
			out = append(out, r)
			return nil
		}); err != nil {
			return err
		}
		for i := range out {
			r := &out[i]
			if err := q.Query(ctx, `SELECT resource_type, resource_name FROM audit_resources
WHERE chain_id = ? AND seq = ? ORDER BY resource_type, resource_name`, []any{r.ChainID, r.Seq},
				func(scan func(dest ...any) error) error {
					var res store.AuditResource
					if err := scan(&res.Type, &res.Name); err != nil {
						return err
					}
					r.Resources = append(r.Resources, res)
					return nil
				}); err != nil {
				return err
			}
		}
		return nil
	})
	return out, a.mapErr(err, "lookup audit records")
}

// AppendAuditDigest implements store.Audit.
func (a *Audit) AppendAuditDigest(ctx context.Context, build func(prevSeq int64, prevBody, prevSig []byte) (store.AuditDigest, error)) error {
	err := a.b.Write(ctx, func(q iamsql.Querier) error {
		// The head row's update comes first: it serialises digest writers.
		var n int64
		var lastHash []byte
		if err := q.QueryRow(ctx, `UPDATE audit_digest_head SET n = n + 1 WHERE id = 1 RETURNING n, last_hash`,
			nil, &n, &lastHash); err != nil {
			return fmt.Errorf("lock digest head: %w", err)
		}
		prevSeq := n - 1
		var prevBody, prevSig []byte
		if prevSeq > 0 {
			if err := q.QueryRow(ctx, `SELECT body, signature FROM audit_digests WHERE seq = ?`,
				[]any{prevSeq}, &prevBody, &prevSig); err != nil {
				return fmt.Errorf("read digest %d: %w", prevSeq, err)
			}
		}
		d, err := build(prevSeq, prevBody, prevSig)
		if err != nil {
			return err
		}
		if d.Seq != n {
			return fmt.Errorf("digest built as number %d, want %d", d.Seq, n)
		}
		_, err = q.Exec(ctx, `INSERT INTO audit_digests (seq, chain_id, created_at, body, signature)
VALUES (?, ?, ?, ?, ?)`, d.Seq, d.ChainID, d.CreatedAt, d.Body, d.Signature)
		return err
	})
	return a.mapErr(err, "append audit digest")
}

// ScanAuditDigests implements store.Audit.
func (a *Audit) ScanAuditDigests(ctx context.Context, fn func(store.AuditDigest) error) error {
	var after int64
	for {
		var page []store.AuditDigest
		err := a.b.Read(ctx, func(q iamsql.Querier) error {
			return q.Query(ctx, `SELECT seq, chain_id, created_at, body, signature FROM audit_digests
WHERE seq > ? ORDER BY seq LIMIT ?`, []any{after, scanPage}, func(scan func(dest ...any) error) error {
				var d store.AuditDigest
				if err := scan(&d.Seq, &d.ChainID, &d.CreatedAt, &d.Body, &d.Signature); err != nil {
					return err
				}
				page = append(page, d)
				return nil
			})
		})
		if err != nil {
			return a.mapErr(err, "scan audit digests")
		}
		for _, d := range page {
			if err := fn(d); err != nil {
				return err
			}
		}
		if len(page) < scanPage {
			return nil
		}
		after = page[len(page)-1].Seq
	}
}

// DeleteAuditRecords implements store.Audit.
func (a *Audit) DeleteAuditRecords(ctx context.Context, chainID string, before int64) (int64, error) {
	var n int64
	err := a.b.Write(ctx, func(q iamsql.Querier) error {
		if _, err := q.Exec(ctx, `DELETE FROM audit_resources WHERE chain_id = ? AND seq < ?`, chainID, before); err != nil {
			return err
		}
		var err error
		n, err = q.Exec(ctx, `DELETE FROM audit_records WHERE chain_id = ? AND seq < ?`, chainID, before)
		return err
	})
	return n, a.mapErr(err, "delete audit records")
}
