// Package kmssql implements store.KMS once, in SQL that SQLite and
// PostgreSQL both accept, over the same Backend the IAM part uses
// (iamsql.Backend: transactions, placeholders, time encoding, errors).
//
// Concurrency between servers sharing a database rests on conditional
// updates, not locks: a key is updated only if its gen is unchanged, a
// rotation only if the current material version is unchanged, so of two
// racing writers exactly one succeeds and the other gets ErrConflict.
package kmssql

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/bulwark-security/bulwark/internal/store"
	"github.com/bulwark-security/bulwark/internal/store/iamsql"
)

// KMS implements store.KMS over a backend.
type KMS struct{ b iamsql.Backend }

// New returns the KMS store part over b.
func New(b iamsql.Backend) *KMS { return &KMS{b: b} }

var _ store.KMS = (*KMS)(nil)

const keyCols = `key_id, account_id, region, arn, description, key_spec, key_usage, origin, manager, state,
	created_at, deletion_date, pending_window_days, policy, tags, rotation_period_days, next_rotation_at,
	current_version, public_key, gen`

type keyRow struct {
	k    store.KMSKey
	tags string
}

func (r *keyRow) dests() []any {
	k := &r.k
	return []any{&k.KeyID, &k.AccountID, &k.Region, &k.ARN, &k.Description, &k.KeySpec, &k.KeyUsage,
		&k.Origin, &k.Manager, &k.State, &k.CreatedAt, &k.DeletionDate, &k.PendingWindowDays, &k.Policy,
		&r.tags, &k.RotationPeriodDays, &k.NextRotation, &k.CurrentVersion, &k.PublicKey, &k.Gen}
}

func (r *keyRow) key() (store.KMSKey, error) {
	tags, err := decodeTags(r.tags)
	if err != nil {
		return store.KMSKey{}, fmt.Errorf("key %s: %w", r.k.KeyID, err)
	}
	r.k.Tags = tags
	if r.k.PublicKey == nil {
		r.k.PublicKey = []byte{}
	}
	return r.k, nil
}

func encodeTags(tags []store.Tag) string {
	if len(tags) == 0 {
		return "[]"
	}
	type tag struct{ K, V string }
	out := make([]tag, len(tags))
	for i, t := range tags {
		out[i] = tag{t.Key, t.Value}
	}
	b, _ := json.Marshal(out) // strings only: cannot fail
	return string(b)
}

func decodeTags(s string) ([]store.Tag, error) {
	var in []struct{ K, V string }
	if err := json.Unmarshal([]byte(s), &in); err != nil {
		return nil, fmt.Errorf("decode tags: %w", err)
	}
	if len(in) == 0 {
		return nil, nil
	}
	out := make([]store.Tag, len(in))
	for i, t := range in {
		out[i] = store.Tag{Key: t.K, Value: t.V}
	}
	return out, nil
}

func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

func notFound(what string) error { return fmt.Errorf("%s: %w", what, store.ErrNotFound) }

// CreateKMSKey implements store.KMS.
func (m *KMS) CreateKMSKey(ctx context.Context, k store.KMSKey, mat store.KMSKeyMaterial, alias *store.KMSAlias) error {
	err := m.b.Write(ctx, func(q iamsql.Querier) error {
		if _, err := q.Exec(ctx, `INSERT INTO kms_keys (`+keyCols+`) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`,
			k.KeyID, k.AccountID, k.Region, k.ARN, k.Description, k.KeySpec, k.KeyUsage, k.Origin, k.Manager,
			k.State, k.CreatedAt, iamsql.OptTime(k.DeletionDate), k.PendingWindowDays, k.Policy, encodeTags(k.Tags),
			k.RotationPeriodDays, iamsql.OptTime(k.NextRotation), k.CurrentVersion, nonNil(k.PublicKey), k.Gen); err != nil {
			return err
		}
		if err := insertMaterial(ctx, q, mat); err != nil {
			return err
		}
		if alias != nil {
			return insertAlias(ctx, q, *alias)
		}
		return nil
	})
	return m.mapErr(err, "create kms key "+k.KeyID)
}

func insertMaterial(ctx context.Context, q iamsql.Querier, mat store.KMSKeyMaterial) error {
	_, err := q.Exec(ctx, `INSERT INTO kms_key_material (key_id, version, sealed, rotation_type, created_at) VALUES (?,?,?,?,?)`,
		mat.KeyID, mat.Version, nonNil(mat.Sealed), mat.RotationType, mat.CreatedAt)
	return err
}

func insertAlias(ctx context.Context, q iamsql.Querier, a store.KMSAlias) error {
	_, err := q.Exec(ctx, `INSERT INTO kms_aliases (account_id, region, name, key_id, created_at, updated_at) VALUES (?,?,?,?,?,?)`,
		a.AccountID, a.Region, a.Name, a.KeyID, a.CreatedAt, a.UpdatedAt)
	return err
}

// mapErr passes store errors through and maps driver errors.
func (m *KMS) mapErr(err error, what string) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, store.ErrNotFound), errors.Is(err, store.ErrConflict), errors.Is(err, store.ErrLimitExceeded):
		return fmt.Errorf("%s: %w", what, err)
	case errors.Is(err, iamsql.ErrNoRows):
		return notFound(what)
	}
	return m.b.MapErr(err, what)
}

// GetKMSKey implements store.KMS.
func (m *KMS) GetKMSKey(ctx context.Context, keyID string) (store.KMSKey, error) {
	var out store.KMSKey
	err := m.b.Read(ctx, func(q iamsql.Querier) error {
		var r keyRow
		if err := q.QueryRow(ctx, `SELECT `+keyCols+` FROM kms_keys WHERE key_id = ?`, []any{keyID}, r.dests()...); err != nil {
			return err
		}
		var err error
		out, err = r.key()
		return err
	})
	return out, m.mapErr(err, "get kms key "+keyID)
}

func (m *KMS) listKeys(ctx context.Context, query string, args []any) ([]store.KMSKey, error) {
	var out []store.KMSKey
	err := m.b.Read(ctx, func(q iamsql.Querier) error {
		return q.Query(ctx, query, args, func(scan func(...any) error) error {
			var r keyRow
			if err := scan(r.dests()...); err != nil {
				return err
			}
			k, err := r.key()
			if err != nil {
				return err
			}
			out = append(out, k)
			return nil
		})
	})
	return out, err
}

// ListKMSKeys implements store.KMS.
func (m *KMS) ListKMSKeys(ctx context.Context, account, region, after string, limit int) ([]store.KMSKey, error) {
	out, err := m.listKeys(ctx, `SELECT `+keyCols+` FROM kms_keys WHERE account_id = ? AND region = ? AND key_id > ? ORDER BY key_id LIMIT ?`,
		[]any{account, region, after, limit})
	return out, m.mapErr(err, "list kms keys")
}

// UpdateKMSKey implements store.KMS.
func (m *KMS) UpdateKMSKey(ctx context.Context, k store.KMSKey) (int64, error) {
	err := m.b.Write(ctx, func(q iamsql.Querier) error {
		n, err := q.Exec(ctx, `UPDATE kms_keys SET description = ?, state = ?, deletion_date = ?, pending_window_days = ?,
			policy = ?, tags = ?, rotation_period_days = ?, next_rotation_at = ?, gen = gen + 1 WHERE key_id = ? AND gen = ?`,
			k.Description, k.State, iamsql.OptTime(k.DeletionDate), k.PendingWindowDays, k.Policy, encodeTags(k.Tags),
			k.RotationPeriodDays, iamsql.OptTime(k.NextRotation), k.KeyID, k.Gen)
		if err != nil || n == 1 {
			return err
		}
		return conflictOrMissing(ctx, q, k.KeyID)
	})
	return k.Gen + 1, m.mapErr(err, "update kms key "+k.KeyID)
}

// conflictOrMissing tells why a conditional update of a key changed no row.
func conflictOrMissing(ctx context.Context, q iamsql.Querier, keyID string) error {
	var one int
	if err := q.QueryRow(ctx, `SELECT 1 FROM kms_keys WHERE key_id = ?`, []any{keyID}, &one); err != nil {
		return err
	}
	return fmt.Errorf("changed concurrently: %w", store.ErrConflict)
}

// RotateKMSKey implements store.KMS.
func (m *KMS) RotateKMSKey(ctx context.Context, keyID string, fromVersion int, mat store.KMSKeyMaterial, next time.Time) error {
	err := m.b.Write(ctx, func(q iamsql.Querier) error {
		n, err := q.Exec(ctx, `UPDATE kms_keys SET current_version = ?, next_rotation_at = ?, gen = gen + 1
			WHERE key_id = ? AND current_version = ?`, fromVersion+1, iamsql.OptTime(next), keyID, fromVersion)
		if err != nil {
			return err
		}
		if n != 1 {
			return conflictOrMissing(ctx, q, keyID)
		}
		mat.KeyID, mat.Version = keyID, fromVersion+1
		return insertMaterial(ctx, q, mat)
	})
	return m.mapErr(err, "rotate kms key "+keyID)
}

const matCols = `key_id, version, sealed, rotation_type, created_at`

func matDests(x *store.KMSKeyMaterial) []any {
	return []any{&x.KeyID, &x.Version, &x.Sealed, &x.RotationType, &x.CreatedAt}
}

// GetKMSKeyMaterial implements store.KMS.
func (m *KMS) GetKMSKeyMaterial(ctx context.Context, keyID string, version int) (store.KMSKeyMaterial, error) {
	var out store.KMSKeyMaterial
	err := m.b.Read(ctx, func(q iamsql.Querier) error {
		return q.QueryRow(ctx, `SELECT `+matCols+` FROM kms_key_material WHERE key_id = ? AND version = ?`,
			[]any{keyID, version}, matDests(&out)...)
	})
	return out, m.mapErr(err, fmt.Sprintf("get kms key %s material %d", keyID, version))
}

// ListKMSKeyMaterial implements store.KMS.
func (m *KMS) ListKMSKeyMaterial(ctx context.Context, keyID string) ([]store.KMSKeyMaterial, error) {
	var out []store.KMSKeyMaterial
	err := m.b.Read(ctx, func(q iamsql.Querier) error {
		return q.Query(ctx, `SELECT `+matCols+` FROM kms_key_material WHERE key_id = ? ORDER BY version`, []any{keyID},
			func(scan func(...any) error) error {
				var x store.KMSKeyMaterial
				if err := scan(matDests(&x)...); err != nil {
					return err
				}
				out = append(out, x)
				return nil
			})
	})
	return out, m.mapErr(err, "list kms key material "+keyID)
}

// DueKMSKeys implements store.KMS.
func (m *KMS) DueKMSKeys(ctx context.Context, now time.Time, limit int) (rotate, remove []store.KMSKey, err error) {
	rotate, err = m.listKeys(ctx, `SELECT `+keyCols+` FROM kms_keys WHERE next_rotation_at IS NOT NULL AND next_rotation_at <= ?
		AND state = 'Enabled' ORDER BY next_rotation_at, key_id LIMIT ?`, []any{now, limit})
	if err != nil {
		return nil, nil, m.mapErr(err, "due kms rotations")
	}
	remove, err = m.listKeys(ctx, `SELECT `+keyCols+` FROM kms_keys WHERE deletion_date IS NOT NULL AND deletion_date <= ?
		AND state = 'PendingDeletion' ORDER BY deletion_date, key_id LIMIT ?`, []any{now, limit})
	return rotate, remove, m.mapErr(err, "due kms deletions")
}

// DeleteKMSKey implements store.KMS.
func (m *KMS) DeleteKMSKey(ctx context.Context, keyID string, gen int64) error {
	err := m.b.Write(ctx, func(q iamsql.Querier) error {
		// Claim the row first: a concurrent cancel (which bumps gen) wins
		// or loses as a whole.
		n, err := q.Exec(ctx, `UPDATE kms_keys SET gen = gen + 1 WHERE key_id = ? AND gen = ? AND state = 'PendingDeletion'`, keyID, gen)
		if err != nil {
			return err
		}
		if n != 1 {
			return conflictOrMissing(ctx, q, keyID)
		}
		for _, stmt := range []string{
			`DELETE FROM kms_grants WHERE key_id = ?`,
			`DELETE FROM kms_aliases WHERE key_id = ?`,
			`DELETE FROM kms_key_material WHERE key_id = ?`,
			`DELETE FROM kms_keys WHERE key_id = ?`,
		} {
			if _, err := q.Exec(ctx, stmt, keyID); err != nil {
				return err
			}
		}
		return nil
	})
	return m.mapErr(err, "delete kms key "+keyID)
}

const aliasCols = `account_id, region, name, key_id, created_at, updated_at`

func aliasDests(a *store.KMSAlias) []any {
	return []any{&a.AccountID, &a.Region, &a.Name, &a.KeyID, &a.CreatedAt, &a.UpdatedAt}
}

// CreateKMSAlias implements store.KMS.
func (m *KMS) CreateKMSAlias(ctx context.Context, a store.KMSAlias) error {
	err := m.b.Write(ctx, func(q iamsql.Querier) error {
		var one int
		if err := q.QueryRow(ctx, `SELECT 1 FROM kms_keys WHERE key_id = ?`, []any{a.KeyID}, &one); err != nil {
			return err
		}
		return insertAlias(ctx, q, a)
	})
	return m.mapErr(err, "create kms alias "+a.Name)
}

// GetKMSAlias implements store.KMS.
func (m *KMS) GetKMSAlias(ctx context.Context, account, region, name string) (store.KMSAlias, error) {
	var out store.KMSAlias
	err := m.b.Read(ctx, func(q iamsql.Querier) error {
		return q.QueryRow(ctx, `SELECT `+aliasCols+` FROM kms_aliases WHERE account_id = ? AND region = ? AND name = ?`,
			[]any{account, region, name}, aliasDests(&out)...)
	})
	return out, m.mapErr(err, "get kms alias "+name)
}

// UpdateKMSAlias implements store.KMS.
func (m *KMS) UpdateKMSAlias(ctx context.Context, account, region, name, keyID string, at time.Time) error {
	err := m.b.Write(ctx, func(q iamsql.Querier) error {
		var one int
		if err := q.QueryRow(ctx, `SELECT 1 FROM kms_keys WHERE key_id = ?`, []any{keyID}, &one); err != nil {
			return err
		}
		n, err := q.Exec(ctx, `UPDATE kms_aliases SET key_id = ?, updated_at = ? WHERE account_id = ? AND region = ? AND name = ?`,
			keyID, at, account, region, name)
		if err == nil && n == 0 {
			return store.ErrNotFound
		}
		return err
	})
	return m.mapErr(err, "update kms alias "+name)
}

// DeleteKMSAlias implements store.KMS.
func (m *KMS) DeleteKMSAlias(ctx context.Context, account, region, name string) error {
	err := m.b.Write(ctx, func(q iamsql.Querier) error {
		n, err := q.Exec(ctx, `DELETE FROM kms_aliases WHERE account_id = ? AND region = ? AND name = ?`, account, region, name)
		if err == nil && n == 0 {
			return store.ErrNotFound
		}
		return err
	})
	return m.mapErr(err, "delete kms alias "+name)
}

// ListKMSAliases implements store.KMS.
func (m *KMS) ListKMSAliases(ctx context.Context, account, region, keyID, after string, limit int) ([]store.KMSAlias, error) {
	query := `SELECT ` + aliasCols + ` FROM kms_aliases WHERE account_id = ? AND region = ? AND name > ?`
	args := []any{account, region, after}
	if keyID != "" {
		query += ` AND key_id = ?`
		args = append(args, keyID)
	}
	query += ` ORDER BY name LIMIT ?`
	args = append(args, limit)
	var out []store.KMSAlias
	err := m.b.Read(ctx, func(q iamsql.Querier) error {
		return q.Query(ctx, query, args, func(scan func(...any) error) error {
			var a store.KMSAlias
			if err := scan(aliasDests(&a)...); err != nil {
				return err
			}
			out = append(out, a)
			return nil
		})
	})
	return out, m.mapErr(err, "list kms aliases")
}

const grantCols = `grant_id, key_id, name, grantee, retiring, issuing_account, operations, constraints, token_hash, created_at`

type grantRow struct {
	g   store.KMSGrant
	ops string
}

func (r *grantRow) dests() []any {
	g := &r.g
	return []any{&g.GrantID, &g.KeyID, &g.Name, &g.Grantee, &g.Retiring, &g.IssuingAccount, &r.ops, &g.Constraints, &g.TokenHash, &g.CreatedAt}
}

func (r *grantRow) grant() (store.KMSGrant, error) {
	if err := json.Unmarshal([]byte(r.ops), &r.g.Operations); err != nil {
		return store.KMSGrant{}, fmt.Errorf("grant %s operations: %w", r.g.GrantID, err)
	}
	return r.g, nil
}

// CreateKMSGrant implements store.KMS.
func (m *KMS) CreateKMSGrant(ctx context.Context, g store.KMSGrant, max int) error {
	ops, err := json.Marshal(g.Operations)
	if err != nil {
		return fmt.Errorf("encode grant operations: %w", err)
	}
	err = m.b.Write(ctx, func(q iamsql.Querier) error {
		// Bumping gen first also serializes grant writers on one key.
		n, err := q.Exec(ctx, `UPDATE kms_keys SET gen = gen + 1 WHERE key_id = ?`, g.KeyID)
		if err != nil {
			return err
		}
		if n == 0 {
			return store.ErrNotFound
		}
		var count int
		if err := q.QueryRow(ctx, `SELECT COUNT(*) FROM kms_grants WHERE key_id = ?`, []any{g.KeyID}, &count); err != nil {
			return err
		}
		if count >= max {
			return fmt.Errorf("key has %d grants: %w", count, store.ErrLimitExceeded)
		}
		_, err = q.Exec(ctx, `INSERT INTO kms_grants (`+grantCols+`) VALUES (?,?,?,?,?,?,?,?,?,?)`,
			g.GrantID, g.KeyID, g.Name, g.Grantee, g.Retiring, g.IssuingAccount, string(ops), g.Constraints,
			nonNil(g.TokenHash), g.CreatedAt)
		return err
	})
	return m.mapErr(err, "create kms grant")
}

func (m *KMS) listGrants(ctx context.Context, query string, args []any) ([]store.KMSGrant, error) {
	var out []store.KMSGrant
	err := m.b.Read(ctx, func(q iamsql.Querier) error {
		return q.Query(ctx, query, args, func(scan func(...any) error) error {
			var r grantRow
			if err := scan(r.dests()...); err != nil {
				return err
			}
			g, err := r.grant()
			if err != nil {
				return err
			}
			out = append(out, g)
			return nil
		})
	})
	return out, err
}

// ListKMSGrants implements store.KMS.
func (m *KMS) ListKMSGrants(ctx context.Context, keyID string) ([]store.KMSGrant, error) {
	out, err := m.listGrants(ctx, `SELECT `+grantCols+` FROM kms_grants WHERE key_id = ? ORDER BY created_at, grant_id`, []any{keyID})
	return out, m.mapErr(err, "list kms grants")
}

// ListKMSRetirableGrants implements store.KMS.
func (m *KMS) ListKMSRetirableGrants(ctx context.Context, retiring, after string, limit int) ([]store.KMSGrant, error) {
	out, err := m.listGrants(ctx, `SELECT `+grantCols+` FROM kms_grants WHERE retiring = ? AND grant_id > ? ORDER BY grant_id LIMIT ?`,
		[]any{retiring, after, limit})
	return out, m.mapErr(err, "list retirable kms grants")
}

// GetKMSGrantByToken implements store.KMS.
func (m *KMS) GetKMSGrantByToken(ctx context.Context, tokenHash []byte) (store.KMSGrant, error) {
	var out store.KMSGrant
	err := m.b.Read(ctx, func(q iamsql.Querier) error {
		var r grantRow
		if err := q.QueryRow(ctx, `SELECT `+grantCols+` FROM kms_grants WHERE token_hash = ?`, []any{nonNil(tokenHash)}, r.dests()...); err != nil {
			return err
		}
		var err error
		out, err = r.grant()
		return err
	})
	return out, m.mapErr(err, "get kms grant by token")
}

// DeleteKMSGrant implements store.KMS.
func (m *KMS) DeleteKMSGrant(ctx context.Context, keyID, grantID string) error {
	err := m.b.Write(ctx, func(q iamsql.Querier) error {
		n, err := q.Exec(ctx, `DELETE FROM kms_grants WHERE key_id = ? AND grant_id = ?`, keyID, grantID)
		if err != nil {
			return err
		}
		if n == 0 {
			return store.ErrNotFound
		}
		_, err = q.Exec(ctx, `UPDATE kms_keys SET gen = gen + 1 WHERE key_id = ?`, keyID)
		return err
	})
	return m.mapErr(err, "delete kms grant "+grantID)
}
