// Package rotationsql implements store.Rotation once, in SQL that SQLite
// and PostgreSQL both accept, over the Backend the IAM part already uses
// (package iamsql).
//
// Who runs a rotation is decided by conditional UPDATEs of the secret's
// secret_rotations row: an UPDATE ... WHERE token = ” AND the lease has
// expired changes one row for exactly one of several racing servers (on
// PostgreSQL the losers wait for the row lock, then re-check the WHERE
// clause against the committed row and change nothing; on SQLite the single
// writer serializes them). Every later write names the lease owner, so a
// server whose lease was taken over learns it at its next step.
package rotationsql

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/bulwark-security/bulwark/internal/store"
	"github.com/bulwark-security/bulwark/internal/store/iamsql"
)

// Rotation implements store.Rotation over a backend.
type Rotation struct{ b iamsql.Backend }

var _ store.Rotation = Rotation{}

// New returns the Rotation store of a backend.
func New(b iamsql.Backend) Rotation { return Rotation{b: b} }

type q = iamsql.Querier

const rotationCols = `secret_arn, token, step, started_at, scheduled_for, lease_owner, lease_until,
	attempts, retry_at, failure, failure_step, failed_at`

func rotationDests(r *store.SecretRotation, attempts *int64) []any {
	return []any{&r.SecretARN, &r.Token, &r.Step, &r.StartedAt, &r.ScheduledFor, &r.LeaseOwner, &r.LeaseUntil,
		attempts, &r.RetryAt, &r.Failure, &r.FailureStep, &r.FailedAt}
}

func getRotation(ctx context.Context, tx q, arn string) (store.SecretRotation, error) {
	var r store.SecretRotation
	var attempts int64
	err := tx.QueryRow(ctx, `SELECT `+rotationCols+` FROM secret_rotations WHERE secret_arn = ?`, []any{arn},
		rotationDests(&r, &attempts)...)
	if errors.Is(err, iamsql.ErrNoRows) {
		return r, store.ErrNotFound
	}
	r.Attempts = int(attempts)
	return r, err
}

// GetSecretRotation implements store.Rotation.
func (m Rotation) GetSecretRotation(ctx context.Context, arn string) (store.SecretRotation, error) {
	var r store.SecretRotation
	err := m.b.Read(ctx, func(tx q) error {
		var err error
		r, err = getRotation(ctx, tx, arn)
		return err
	})
	if err != nil {
		return r, fmt.Errorf("get rotation of %q: %w", arn, m.mapErr(err, "get rotation"))
	}
	return r, nil
}

// mapErr leaves the store's sentinel errors alone.
func (m Rotation) mapErr(err error, what string) error {
	for _, s := range []error{store.ErrNotFound, store.ErrRotationInProgress, store.ErrLeaseHeld,
		store.ErrAlreadyScheduled, store.ErrLeaseLost} {
		if errors.Is(err, s) {
			return err
		}
	}
	return m.b.MapErr(err, what)
}

// leaseFree is the condition "nobody holds a live lease at ?".
const leaseFree = `(lease_until IS NULL OR lease_until <= ?)`

// BeginRotation implements store.Rotation.
func (m Rotation) BeginRotation(ctx context.Context, arn, token string, scheduledFor, now time.Time, l store.Lease) (store.SecretRotation, error) {
	var out store.SecretRotation
	err := m.b.Write(ctx, func(tx q) error {
		var one int64
		err := tx.QueryRow(ctx, `SELECT 1 FROM secrets WHERE arn = ?`, []any{arn}, &one)
		if errors.Is(err, iamsql.ErrNoRows) {
			return store.ErrNotFound
		}
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO secret_rotations (secret_arn) VALUES (?) ON CONFLICT (secret_arn) DO NOTHING`, arn); err != nil {
			return err
		}
		var n int64
		if scheduledFor.IsZero() {
			n, err = tx.Exec(ctx, `UPDATE secret_rotations SET token = ?, step = ?, started_at = ?,
				lease_owner = ?, lease_until = ?, attempts = 0, retry_at = NULL
				WHERE secret_arn = ? AND token = '' AND `+leaseFree,
				token, store.StepCreate, now, l.Owner, l.Until, arn, now)
		} else {
			n, err = tx.Exec(ctx, `UPDATE secret_rotations SET token = ?, step = ?, started_at = ?, scheduled_for = ?,
				lease_owner = ?, lease_until = ?, attempts = 0, retry_at = NULL
				WHERE secret_arn = ? AND token = '' AND `+leaseFree+` AND (scheduled_for IS NULL OR scheduled_for < ?)`,
				token, store.StepCreate, now, scheduledFor, l.Owner, l.Until, arn, now, scheduledFor)
		}
		if err != nil {
			return err
		}
		cur, err := getRotation(ctx, tx, arn)
		if err != nil {
			return err
		}
		if n == 1 {
			out = cur
			return nil
		}
		switch {
		case cur.Token == token:
			// The same rotation again (a retried RotateSecret): resume it.
			n, err := tx.Exec(ctx, `UPDATE secret_rotations SET lease_owner = ?, lease_until = ?
				WHERE secret_arn = ? AND token = ? AND (lease_until IS NULL OR lease_until <= ? OR lease_owner = ?)`,
				l.Owner, l.Until, arn, token, now, l.Owner)
			if err != nil {
				return err
			}
			if n == 0 {
				return store.ErrLeaseHeld
			}
			out, err = getRotation(ctx, tx, arn)
			return err
		case cur.Token != "":
			out = cur
			return store.ErrRotationInProgress
		case cur.LeaseUntil.After(now):
			return store.ErrLeaseHeld
		default:
			out = cur
			return store.ErrAlreadyScheduled
		}
	})
	if err != nil {
		return out, fmt.Errorf("begin rotation of %q: %w", arn, m.mapErr(err, "begin rotation"))
	}
	return out, nil
}

// ResumeRotation implements store.Rotation.
func (m Rotation) ResumeRotation(ctx context.Context, arn, token string, now time.Time, l store.Lease) (store.SecretRotation, error) {
	var out store.SecretRotation
	err := m.b.Write(ctx, func(tx q) error {
		n, err := tx.Exec(ctx, `UPDATE secret_rotations SET lease_owner = ?, lease_until = ?
			WHERE secret_arn = ? AND token = ? AND token <> '' AND `+leaseFree+` AND (retry_at IS NULL OR retry_at <= ?)`,
			l.Owner, l.Until, arn, token, now, now)
		if err != nil {
			return err
		}
		cur, err := getRotation(ctx, tx, arn)
		if err != nil {
			return err
		}
		if n == 0 {
			if cur.Token != token || token == "" {
				return store.ErrNotFound
			}
			return store.ErrLeaseHeld
		}
		out = cur
		return nil
	})
	if err != nil {
		return out, fmt.Errorf("resume rotation of %q: %w", arn, m.mapErr(err, "resume rotation"))
	}
	return out, nil
}

// held runs a write that must change the caller's own row.
func (m Rotation) held(ctx context.Context, what, query string, args ...any) error {
	err := m.b.Write(ctx, func(tx q) error {
		n, err := tx.Exec(ctx, query, args...)
		if err != nil {
			return err
		}
		if n == 0 {
			return store.ErrLeaseLost
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("%s: %w", what, m.mapErr(err, what))
	}
	return nil
}

// AdvanceRotation implements store.Rotation.
func (m Rotation) AdvanceRotation(ctx context.Context, arn, token, from, next string, l store.Lease) error {
	return m.held(ctx, "advance rotation of "+arn,
		`UPDATE secret_rotations SET step = ?, lease_until = ?
		WHERE secret_arn = ? AND token = ? AND token <> '' AND step = ? AND lease_owner = ?`,
		next, l.Until, arn, token, from, l.Owner)
}

// FailRotation implements store.Rotation.
func (m Rotation) FailRotation(ctx context.Context, arn, token, step, failure string, at, retryAt time.Time, l store.Lease) error {
	if retryAt.IsZero() {
		return m.held(ctx, "abandon rotation of "+arn,
			`UPDATE secret_rotations SET token = '', step = '', lease_owner = '', lease_until = NULL,
			attempts = attempts + 1, retry_at = NULL, failure = ?, failure_step = ?, failed_at = ?
			WHERE secret_arn = ? AND token = ? AND token <> '' AND lease_owner = ?`,
			failure, step, at, arn, token, l.Owner)
	}
	return m.held(ctx, "record failed rotation of "+arn,
		`UPDATE secret_rotations SET lease_owner = '', lease_until = NULL,
		attempts = attempts + 1, retry_at = ?, failure = ?, failure_step = ?, failed_at = ?
		WHERE secret_arn = ? AND token = ? AND token <> '' AND lease_owner = ?`,
		retryAt, failure, step, at, arn, token, l.Owner)
}

// FinishRotation implements store.Rotation.
func (m Rotation) FinishRotation(ctx context.Context, arn, token string, l store.Lease) error {
	return m.held(ctx, "finish rotation of "+arn,
		`UPDATE secret_rotations SET token = '', step = '', lease_owner = '', lease_until = NULL,
		attempts = 0, retry_at = NULL, failure = '', failure_step = '', failed_at = NULL
		WHERE secret_arn = ? AND token = ? AND token <> '' AND lease_owner = ?`,
		arn, token, l.Owner)
}

// CancelRotation implements store.Rotation.
func (m Rotation) CancelRotation(ctx context.Context, arn string) (string, error) {
	var token string
	err := m.b.Write(ctx, func(tx q) error {
		cur, err := getRotation(ctx, tx, arn)
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		token = cur.Token
		_, err = tx.Exec(ctx, `UPDATE secret_rotations SET token = '', step = '', lease_owner = '', lease_until = NULL,
			retry_at = NULL WHERE secret_arn = ?`, arn)
		return err
	})
	if err != nil {
		return "", fmt.Errorf("cancel rotation of %q: %w", arn, m.mapErr(err, "cancel rotation"))
	}
	return token, nil
}

// DueRotations implements store.Rotation.
func (m Rotation) DueRotations(ctx context.Context, now time.Time, limit int) ([]store.SecretRotation, error) {
	var out []store.SecretRotation
	err := m.b.Read(ctx, func(tx q) error {
		out = out[:0]
		err := tx.Query(ctx, `SELECT `+rotationCols+` FROM secret_rotations
			WHERE token <> '' AND `+leaseFree+` AND (retry_at IS NULL OR retry_at <= ?)
			ORDER BY secret_arn LIMIT ?`, []any{now, now, limit}, func(scan func(...any) error) error {
			var r store.SecretRotation
			var attempts int64
			if err := scan(rotationDests(&r, &attempts)...); err != nil {
				return err
			}
			r.Attempts = int(attempts)
			out = append(out, r)
			return nil
		})
		if err != nil || len(out) >= limit {
			return err
		}
		return tx.Query(ctx, `SELECT s.arn, s.next_rotation_at FROM secrets s
			LEFT JOIN secret_rotations r ON r.secret_arn = s.arn
			WHERE s.rotation_enabled = 1 AND s.deleted_at IS NULL AND s.next_rotation_at IS NOT NULL
			AND s.next_rotation_at <= ?
			AND (r.secret_arn IS NULL OR (r.token = '' AND (r.scheduled_for IS NULL OR r.scheduled_for < s.next_rotation_at)))
			ORDER BY s.next_rotation_at, s.arn LIMIT ?`, []any{now, limit - len(out)},
			func(scan func(...any) error) error {
				var r store.SecretRotation
				if err := scan(&r.SecretARN, &r.ScheduledFor); err != nil {
					return err
				}
				out = append(out, r)
				return nil
			})
	})
	if err != nil {
		return nil, fmt.Errorf("list due rotations: %w", m.b.MapErr(err, "list due rotations"))
	}
	return out, nil
}

const webhookCols = `function_arn, account_id, url, ca_pem, sealed_key, created_at, updated_at`

func scanWebhook(scan func(...any) error) (store.RotationWebhook, error) {
	var w store.RotationWebhook
	err := scan(&w.FunctionARN, &w.AccountID, &w.URL, &w.CAPEM, &w.SealedKey, &w.CreatedAt, &w.UpdatedAt)
	if w.SealedKey == nil {
		w.SealedKey = []byte{}
	}
	return w, err
}

// PutRotationWebhook implements store.Rotation.
func (m Rotation) PutRotationWebhook(ctx context.Context, w store.RotationWebhook) error {
	err := m.b.Write(ctx, func(tx q) error {
		_, err := tx.Exec(ctx, `INSERT INTO rotation_webhooks (`+webhookCols+`) VALUES (?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (function_arn) DO UPDATE SET url = excluded.url, ca_pem = excluded.ca_pem, sealed_key = excluded.sealed_key,
			updated_at = excluded.updated_at`,
			w.FunctionARN, w.AccountID, w.URL, w.CAPEM, w.SealedKey, w.CreatedAt, w.UpdatedAt)
		return err
	})
	if err != nil {
		return fmt.Errorf("put rotation webhook %q: %w", w.FunctionARN, m.b.MapErr(err, "put rotation webhook"))
	}
	return nil
}

// GetRotationWebhook implements store.Rotation.
func (m Rotation) GetRotationWebhook(ctx context.Context, functionARN string) (store.RotationWebhook, error) {
	var w store.RotationWebhook
	err := m.b.Read(ctx, func(tx q) error {
		found := false
		err := tx.Query(ctx, `SELECT `+webhookCols+` FROM rotation_webhooks WHERE function_arn = ?`, []any{functionARN},
			func(scan func(...any) error) error {
				var err error
				w, err = scanWebhook(scan)
				found = true
				return err
			})
		if err == nil && !found {
			return store.ErrNotFound
		}
		return err
	})
	if err != nil {
		return w, fmt.Errorf("get rotation webhook %q: %w", functionARN, m.mapErr(err, "get rotation webhook"))
	}
	return w, nil
}

// ListRotationWebhooks implements store.Rotation.
func (m Rotation) ListRotationWebhooks(ctx context.Context, account string) ([]store.RotationWebhook, error) {
	var out []store.RotationWebhook
	err := m.b.Read(ctx, func(tx q) error {
		out = out[:0]
		return tx.Query(ctx, `SELECT `+webhookCols+` FROM rotation_webhooks WHERE account_id = ? ORDER BY function_arn`,
			[]any{account}, func(scan func(...any) error) error {
				w, err := scanWebhook(scan)
				out = append(out, w)
				return err
			})
	})
	if err != nil {
		return nil, fmt.Errorf("list rotation webhooks: %w", m.b.MapErr(err, "list rotation webhooks"))
	}
	return out, nil
}

// DeleteRotationWebhook implements store.Rotation.
func (m Rotation) DeleteRotationWebhook(ctx context.Context, functionARN string) error {
	err := m.b.Write(ctx, func(tx q) error {
		n, err := tx.Exec(ctx, `DELETE FROM rotation_webhooks WHERE function_arn = ?`, functionARN)
		if err == nil && n == 0 {
			return store.ErrNotFound
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("delete rotation webhook %q: %w", functionARN, m.mapErr(err, "delete rotation webhook"))
	}
	return nil
}
