// Package workloadsql implements store.Workloads once, in SQL that SQLite
// and PostgreSQL both accept, over the same small backend interface as
// package iamsql (transactions, placeholders, time encoding, error mapping).
//
// Single use of join tokens rests on one statement: UPDATE ... WHERE
// used_at IS NULL ... RETURNING. SQLite runs writers one at a time;
// PostgreSQL makes a second updater of the same row wait for the first and
// re-check the WHERE clause, which then fails. So exactly one of several
// servers racing on one token redeems it.
package workloadsql

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/bulwark-security/bulwark/internal/store"
	"github.com/bulwark-security/bulwark/internal/store/iamsql"
)

// Workloads implements store.Workloads over a backend.
type Workloads struct{ b iamsql.Backend }

// New returns the workload store part over b.
func New(b iamsql.Backend) *Workloads { return &Workloads{b: b} }

var _ store.Workloads = (*Workloads)(nil)

const workloadCols = `arn, account_id, region, name, workload_id, role_arn, selectors, created_at, updated_at, revoked_at`

type selectorJSON struct {
	Key   string `json:"k"`
	Value string `json:"v"`
}

func encodeSelectors(s []store.Tag) (string, error) {
	out := make([]selectorJSON, len(s))
	for i, t := range s {
		out[i] = selectorJSON{t.Key, t.Value}
	}
	b, err := json.Marshal(out)
	if err != nil {
		return "", fmt.Errorf("encode selectors: %w", err)
	}
	return string(b), nil
}

func decodeSelectors(s string) ([]store.Tag, error) {
	var in []selectorJSON
	if err := json.Unmarshal([]byte(s), &in); err != nil {
		return nil, fmt.Errorf("decode selectors: %w", err)
	}
	out := make([]store.Tag, len(in))
	for i, t := range in {
		out[i] = store.Tag{Key: t.Key, Value: t.Value}
	}
	return out, nil
}

// scanWorkload reads one row of workloadCols.
func scanWorkload(scan func(dest ...any) error) (store.Workload, error) {
	var w store.Workload
	var sel string
	if err := scan(&w.ARN, &w.AccountID, &w.Region, &w.Name, &w.WorkloadID, &w.RoleARN, &sel,
		&w.CreatedAt, &w.UpdatedAt, &w.RevokedAt); err != nil {
		return w, err
	}
	var err error
	w.Selectors, err = decodeSelectors(sel)
	return w, err
}

func getWorkload(ctx context.Context, q iamsql.Querier, arn string, activeOnly bool) (store.Workload, error) {
	query := `SELECT ` + workloadCols + ` FROM workloads WHERE arn = ?`
	if activeOnly {
		query += ` AND revoked_at IS NULL`
	}
	var w store.Workload
	var err error
	qerr := q.Query(ctx, query, []any{arn}, func(scan func(dest ...any) error) error {
		w, err = scanWorkload(scan)
		return err
	})
	if qerr != nil {
		return w, qerr
	}
	if w.ARN == "" {
		return w, iamsql.ErrNoRows
	}
	return w, nil
}

func notFound(err error, what string) error {
	if errors.Is(err, iamsql.ErrNoRows) {
		return fmt.Errorf("%s: %w", what, store.ErrNotFound)
	}
	return err
}

// CreateWorkload implements store.Workloads.
func (s *Workloads) CreateWorkload(ctx context.Context, w store.Workload) error {
	sel, err := encodeSelectors(w.Selectors)
	if err != nil {
		return err
	}
	err = s.b.Write(ctx, func(q iamsql.Querier) error {
		_, err := q.Exec(ctx, `INSERT INTO workloads (`+workloadCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			w.ARN, w.AccountID, w.Region, w.Name, w.WorkloadID, w.RoleARN, sel, w.CreatedAt, w.UpdatedAt, iamsql.OptTime(w.RevokedAt))
		return err
	})
	if err != nil {
		return s.b.MapErr(err, "create workload "+w.Name)
	}
	return nil
}

// GetWorkload implements store.Workloads.
func (s *Workloads) GetWorkload(ctx context.Context, arn string) (store.Workload, error) {
	var w store.Workload
	err := s.b.Read(ctx, func(q iamsql.Querier) error {
		var err error
		w, err = getWorkload(ctx, q, arn, false)
		return err
	})
	if err != nil {
		return store.Workload{}, s.b.MapErr(notFound(err, "get workload"), "get workload")
	}
	return w, nil
}

// ListWorkloads implements store.Workloads.
func (s *Workloads) ListWorkloads(ctx context.Context, account, region, marker string, max int) ([]store.Workload, bool, error) {
	if max <= 0 {
		max = 100
	}
	var out []store.Workload
	err := s.b.Read(ctx, func(q iamsql.Querier) error {
		out = out[:0]
		return q.Query(ctx, `SELECT `+workloadCols+` FROM workloads WHERE account_id = ? AND region = ? AND name > ? ORDER BY name LIMIT ?`,
			[]any{account, region, marker, max + 1}, func(scan func(dest ...any) error) error {
				w, err := scanWorkload(scan)
				if err != nil {
					return err
				}
				out = append(out, w)
				return nil
			})
	})
	if err != nil {
		return nil, false, s.b.MapErr(err, "list workloads")
	}
	more := len(out) > max
	if more {
		out = out[:max]
	}
	return out, more, nil
}

// UpdateWorkload implements store.Workloads.
func (s *Workloads) UpdateWorkload(ctx context.Context, arn, roleARN string, selectors []store.Tag, at time.Time) error {
	sel, err := encodeSelectors(selectors)
	if err != nil {
		return err
	}
	err = s.b.Write(ctx, func(q iamsql.Querier) error {
		n, err := q.Exec(ctx, `UPDATE workloads SET role_arn = ?, selectors = ?, updated_at = ? WHERE arn = ? AND revoked_at IS NULL`,
			roleARN, sel, at, arn)
		if err == nil && n == 0 {
			err = iamsql.ErrNoRows
		}
		return err
	})
	if err != nil {
		return s.b.MapErr(notFound(err, "update workload"), "update workload")
	}
	return nil
}

// RevokeWorkload implements store.Workloads.
func (s *Workloads) RevokeWorkload(ctx context.Context, arn string, at time.Time) error {
	err := s.b.Write(ctx, func(q iamsql.Querier) error {
		n, err := q.Exec(ctx, `UPDATE workloads SET revoked_at = ?, updated_at = ? WHERE arn = ? AND revoked_at IS NULL`, at, at, arn)
		if err != nil {
			return err
		}
		if n == 0 {
			return iamsql.ErrNoRows
		}
		if _, err := q.Exec(ctx, `DELETE FROM workload_join_tokens WHERE workload_arn = ?`, arn); err != nil {
			return err
		}
		_, err = q.Exec(ctx, `DELETE FROM workload_agent_tokens WHERE workload_arn = ?`, arn)
		return err
	})
	if err != nil {
		return s.b.MapErr(notFound(err, "revoke workload"), "revoke workload")
	}
	return nil
}

// DeleteWorkload implements store.Workloads. The tokens go with the row
// (ON DELETE CASCADE); they are deleted first all the same, so the result
// does not depend on foreign keys being enforced.
func (s *Workloads) DeleteWorkload(ctx context.Context, arn string) error {
	err := s.b.Write(ctx, func(q iamsql.Querier) error {
		if _, err := q.Exec(ctx, `DELETE FROM workload_join_tokens WHERE workload_arn = ?`, arn); err != nil {
			return err
		}
		if _, err := q.Exec(ctx, `DELETE FROM workload_agent_tokens WHERE workload_arn = ?`, arn); err != nil {
			return err
		}
		n, err := q.Exec(ctx, `DELETE FROM workloads WHERE arn = ?`, arn)
		if err == nil && n == 0 {
			err = iamsql.ErrNoRows
		}
		return err
	})
	if err != nil {
		return s.b.MapErr(notFound(err, "delete workload"), "delete workload")
	}
	return nil
}

// CreateJoinToken implements store.Workloads.
func (s *Workloads) CreateJoinToken(ctx context.Context, t store.JoinToken) error {
	err := s.b.Write(ctx, func(q iamsql.Querier) error {
		if _, err := getWorkload(ctx, q, t.WorkloadARN, true); err != nil {
			return err
		}
		_, err := q.Exec(ctx, `INSERT INTO workload_join_tokens (token_hash, workload_arn, created_at, expires_at) VALUES (?, ?, ?, ?)`,
			t.Hash, t.WorkloadARN, t.CreatedAt, t.ExpiresAt)
		return err
	})
	if err != nil {
		return s.b.MapErr(notFound(err, "create join token"), "create join token")
	}
	return nil
}

// RedeemJoinToken implements store.Workloads.
func (s *Workloads) RedeemJoinToken(ctx context.Context, hash []byte, now time.Time, agent store.AgentToken) (store.Workload, error) {
	var w store.Workload
	err := s.b.Write(ctx, func(q iamsql.Querier) error {
		var arn string
		if err := q.QueryRow(ctx, `UPDATE workload_join_tokens SET used_at = ? WHERE token_hash = ? AND used_at IS NULL AND expires_at > ? RETURNING workload_arn`,
			[]any{now, hash, now}, &arn); err != nil {
			return err
		}
		var err error
		if w, err = getWorkload(ctx, q, arn, true); err != nil {
			return err
		}
		_, err = q.Exec(ctx, `INSERT INTO workload_agent_tokens (token_hash, workload_arn, attestation, created_at, expires_at) VALUES (?, ?, ?, ?, ?)`,
			agent.Hash, arn, agent.Attestation, agent.CreatedAt, agent.ExpiresAt)
		return err
	})
	if err != nil {
		return store.Workload{}, s.b.MapErr(notFound(err, "redeem join token"), "redeem join token")
	}
	return w, nil
}

// CreateAgentToken implements store.Workloads.
func (s *Workloads) CreateAgentToken(ctx context.Context, t store.AgentToken) error {
	err := s.b.Write(ctx, func(q iamsql.Querier) error {
		if _, err := getWorkload(ctx, q, t.WorkloadARN, true); err != nil {
			return err
		}
		_, err := q.Exec(ctx, `INSERT INTO workload_agent_tokens (token_hash, workload_arn, attestation, created_at, expires_at) VALUES (?, ?, ?, ?, ?)`,
			t.Hash, t.WorkloadARN, t.Attestation, t.CreatedAt, t.ExpiresAt)
		return err
	})
	if err != nil {
		return s.b.MapErr(notFound(err, "create agent token"), "create agent token")
	}
	return nil
}

// UseAgentToken implements store.Workloads.
func (s *Workloads) UseAgentToken(ctx context.Context, hash []byte, now, extendTo time.Time) (store.Workload, store.AgentToken, error) {
	var w store.Workload
	var t store.AgentToken
	err := s.b.Write(ctx, func(q iamsql.Querier) error {
		t = store.AgentToken{}
		if err := q.QueryRow(ctx, `SELECT token_hash, workload_arn, attestation, created_at, expires_at FROM workload_agent_tokens WHERE token_hash = ? AND expires_at > ?`,
			[]any{hash, now}, &t.Hash, &t.WorkloadARN, &t.Attestation, &t.CreatedAt, &t.ExpiresAt); err != nil {
			return err
		}
		var err error
		if w, err = getWorkload(ctx, q, t.WorkloadARN, true); err != nil {
			return err
		}
		if extendTo.After(t.ExpiresAt) {
			if _, err := q.Exec(ctx, `UPDATE workload_agent_tokens SET expires_at = ? WHERE token_hash = ? AND expires_at < ?`,
				extendTo, hash, extendTo); err != nil {
				return err
			}
			t.ExpiresAt = extendTo.UTC().Truncate(time.Microsecond)
		}
		return nil
	})
	if err != nil {
		return store.Workload{}, store.AgentToken{}, s.b.MapErr(notFound(err, "use agent token"), "use agent token")
	}
	return w, t, nil
}

// DeleteExpiredWorkloadTokens implements store.Workloads.
func (s *Workloads) DeleteExpiredWorkloadTokens(ctx context.Context, before time.Time) (int64, error) {
	var total int64
	err := s.b.Write(ctx, func(q iamsql.Querier) error {
		total = 0
		n, err := q.Exec(ctx, `DELETE FROM workload_join_tokens WHERE expires_at < ? OR (used_at IS NOT NULL AND used_at < ?)`, before, before)
		if err != nil {
			return err
		}
		total += n
		n, err = q.Exec(ctx, `DELETE FROM workload_agent_tokens WHERE expires_at < ?`, before)
		total += n
		return err
	})
	if err != nil {
		return 0, s.b.MapErr(err, "delete expired workload tokens")
	}
	return total, nil
}
