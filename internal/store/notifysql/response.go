package notifysql

import (
	"context"
	"fmt"
	"time"

	"github.com/bulwark-security/bulwark/internal/store"
	"github.com/bulwark-security/bulwark/internal/store/iamsql"
)

const ruleCols = `account_id, name, body, enabled, created_at, updated_at`

func scanRule(scan func(...any) error) (store.ResponseRule, error) {
	var r store.ResponseRule
	var enabled int64
	err := scan(&r.AccountID, &r.Name, &r.Body, &enabled, &r.CreatedAt, &r.UpdatedAt)
	r.Enabled = enabled != 0
	return r, err
}

// PutResponseRule implements store.Response.
func (s Store) PutResponseRule(ctx context.Context, r store.ResponseRule) error {
	what := fmt.Sprintf("put response rule %q", r.Name)
	return s.b.Write(ctx, func(qr q) error {
		_, err := qr.Exec(ctx, `INSERT INTO response_rules (account_id, name, body, enabled, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?)
			ON CONFLICT (account_id, name) DO UPDATE SET body = excluded.body, enabled = excluded.enabled, updated_at = excluded.updated_at`,
			r.AccountID, r.Name, r.Body, boolInt(r.Enabled), r.CreatedAt, r.UpdatedAt)
		return s.mapErr(err, what)
	})
}

// GetResponseRule implements store.Response.
func (s Store) GetResponseRule(ctx context.Context, account, name string) (store.ResponseRule, error) {
	what := fmt.Sprintf("get response rule %q", name)
	var out []store.ResponseRule
	err := s.b.Read(ctx, func(qr q) error {
		return qr.Query(ctx, `SELECT `+ruleCols+` FROM response_rules WHERE account_id = ? AND name = ?`, []any{account, name},
			func(scan func(...any) error) error {
				r, err := scanRule(scan)
				out = append(out, r)
				return err
			})
	})
	if err != nil {
		return store.ResponseRule{}, s.mapErr(err, what)
	}
	if len(out) == 0 {
		return store.ResponseRule{}, fmt.Errorf("%s: %w", what, store.ErrNotFound)
	}
	return out[0], nil
}

// ListResponseRules implements store.Response.
func (s Store) ListResponseRules(ctx context.Context, account string) ([]store.ResponseRule, error) {
	var out []store.ResponseRule
	err := s.b.Read(ctx, func(qr q) error {
		query, args := `SELECT `+ruleCols+` FROM response_rules ORDER BY account_id, name`, []any(nil)
		if account != "" {
			query, args = `SELECT `+ruleCols+` FROM response_rules WHERE account_id = ? ORDER BY name`, []any{account}
		}
		return qr.Query(ctx, query, args, func(scan func(...any) error) error {
			r, err := scanRule(scan)
			out = append(out, r)
			return err
		})
	})
	if err != nil {
		return nil, s.mapErr(err, "list response rules")
	}
	return out, nil
}

// DeleteResponseRule implements store.Response.
func (s Store) DeleteResponseRule(ctx context.Context, account, name string) error {
	what := fmt.Sprintf("delete response rule %q", name)
	return s.b.Write(ctx, func(qr q) error {
		n, err := qr.Exec(ctx, `DELETE FROM response_rules WHERE account_id = ? AND name = ?`, account, name)
		if err != nil {
			return s.mapErr(err, what)
		}
		if n == 0 {
			return fmt.Errorf("%s: %w", what, store.ErrNotFound)
		}
		return nil
	})
}

const execCols = `account_id, rule_name, finding_id, action_index, action, finding, status, attempts, next_attempt_at,
	last_error, created_at, done_at`

func scanExec(scan func(...any) error) (store.ResponseExecution, error) {
	var e store.ResponseExecution
	var idx, attempts int64
	err := scan(&e.AccountID, &e.RuleName, &e.FindingID, &idx, &e.Action, &e.Finding, &e.Status, &attempts,
		&e.NextAttemptAt, &e.LastError, &e.CreatedAt, &e.DoneAt)
	e.ActionIndex, e.Attempts = int(idx), int(attempts)
	return e, err
}

// EnqueueResponseExecutions implements store.Response.
func (s Store) EnqueueResponseExecutions(ctx context.Context, es []store.ResponseExecution) (int, error) {
	inserted := 0
	err := s.b.Write(ctx, func(qr q) error {
		inserted = 0
		for _, e := range es {
			n, err := qr.Exec(ctx, `INSERT INTO response_executions (account_id, rule_name, finding_id, action_index, action,
				finding, status, attempts, next_attempt_at, lease_owner, lease_until, last_error, created_at, done_at)
				VALUES (?, ?, ?, ?, ?, ?, ?, 0, ?, '', ?, '', ?, ?)
				ON CONFLICT (account_id, rule_name, finding_id, action_index) DO NOTHING`,
				e.AccountID, e.RuleName, e.FindingID, e.ActionIndex, e.Action, e.Finding, store.ExecPending,
				e.NextAttemptAt, iamsql.OptTime{}, e.CreatedAt, iamsql.OptTime{})
			if err != nil {
				return s.mapErr(err, "enqueue response executions")
			}
			inserted += int(n)
		}
		return nil
	})
	return inserted, err
}

// ClaimResponseExecutions implements store.Response.
func (s Store) ClaimResponseExecutions(ctx context.Context, owner string, now time.Time, lease time.Duration, limit int) ([]store.ResponseExecution, error) {
	const what = "claim response executions"
	type key struct {
		account, rule, finding string
		idx                    int64
	}
	var out []store.ResponseExecution
	err := s.b.Write(ctx, func(qr q) error {
		out = nil
		var keys []key
		err := qr.Query(ctx, `SELECT account_id, rule_name, finding_id, action_index FROM response_executions
			WHERE status = ? AND next_attempt_at <= ? AND (lease_until IS NULL OR lease_until <= ?)
			ORDER BY next_attempt_at LIMIT ?`, []any{store.ExecPending, now, now, clampLimit(limit)},
			func(scan func(...any) error) error {
				var k key
				if err := scan(&k.account, &k.rule, &k.finding, &k.idx); err != nil {
					return err
				}
				keys = append(keys, k)
				return nil
			})
		if err != nil {
			return s.mapErr(err, what)
		}
		for _, k := range keys {
			n, err := qr.Exec(ctx, `UPDATE response_executions SET lease_owner = ?, lease_until = ?
				WHERE account_id = ? AND rule_name = ? AND finding_id = ? AND action_index = ? AND status = ?
				AND (lease_until IS NULL OR lease_until <= ?)`,
				owner, now.Add(lease), k.account, k.rule, k.finding, k.idx, store.ExecPending, now)
			if err != nil {
				return s.mapErr(err, what)
			}
			if n == 0 {
				continue
			}
			err = qr.Query(ctx, `SELECT `+execCols+` FROM response_executions
				WHERE account_id = ? AND rule_name = ? AND finding_id = ? AND action_index = ?`,
				[]any{k.account, k.rule, k.finding, k.idx}, func(scan func(...any) error) error {
					e, err := scanExec(scan)
					out = append(out, e)
					return err
				})
			if err != nil {
				return s.mapErr(err, what)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// FinishResponseExecution implements store.Response.
func (s Store) FinishResponseExecution(ctx context.Context, e store.ResponseExecution, owner, status string, next, now time.Time, lastErr string) (bool, error) {
	var held bool
	err := s.b.Write(ctx, func(qr q) error {
		done := iamsql.OptTime{}
		if status != store.ExecPending {
			done = iamsql.OptTime(now)
		}
		n, err := qr.Exec(ctx, `UPDATE response_executions SET status = ?, attempts = attempts + 1, next_attempt_at = ?,
			lease_owner = '', lease_until = ?, last_error = ?, done_at = ?
			WHERE account_id = ? AND rule_name = ? AND finding_id = ? AND action_index = ? AND lease_owner = ?`,
			status, next, iamsql.OptTime{}, lastErr, done, e.AccountID, e.RuleName, e.FindingID, e.ActionIndex, owner)
		held = n == 1
		return s.mapErr(err, "finish response execution")
	})
	return held, err
}

// ListResponseExecutions implements store.Response.
func (s Store) ListResponseExecutions(ctx context.Context, account, rule string, limit int) ([]store.ResponseExecution, error) {
	var out []store.ResponseExecution
	err := s.b.Read(ctx, func(qr q) error {
		query := `SELECT ` + execCols + ` FROM response_executions WHERE account_id = ? ORDER BY created_at DESC, rule_name, finding_id, action_index LIMIT ?`
		args := []any{account, clampLimit(limit)}
		if rule != "" {
			query = `SELECT ` + execCols + ` FROM response_executions WHERE account_id = ? AND rule_name = ? ORDER BY created_at DESC, finding_id, action_index LIMIT ?`
			args = []any{account, rule, clampLimit(limit)}
		}
		return qr.Query(ctx, query, args, func(scan func(...any) error) error {
			e, err := scanExec(scan)
			out = append(out, e)
			return err
		})
	})
	if err != nil {
		return nil, s.mapErr(err, "list response executions")
	}
	return out, nil
}
