// Package secretsql implements store.Secrets once, in SQL that SQLite and
// PostgreSQL both accept, over the Backend the IAM part already uses
// (package iamsql: transactions, placeholders, time encoding, error
// mapping).
//
// Every write transaction's first statement updates the secret's row (its
// rev), so on PostgreSQL the row lock serializes writes to one secret across
// servers and every later statement sees what committed before; on SQLite
// the single writer already serializes them.
package secretsql

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/bulwark-security/bulwark/internal/store"
	"github.com/bulwark-security/bulwark/internal/store/iamsql"
)

// Secrets implements store.Secrets over a backend.
type Secrets struct{ b iamsql.Backend }

var _ store.Secrets = Secrets{}

// New returns the Secrets store of a backend.
func New(b iamsql.Backend) Secrets { return Secrets{b: b} }

type q = iamsql.Querier

const secretCols = `arn, account_id, region, name, description, kms_key_id, tags, resource_policy,
	created_at, last_changed_at, last_accessed_at, deleted_at, purge_at,
	rotation_enabled, rotation_lambda_arn, rotation_after_days, rotation_duration, rotation_schedule,
	last_rotated_at, next_rotation_at, owning_service, primary_region, rev`

type secretRow struct {
	s       store.Secret
	tags    string
	enabled int64
}

func (r *secretRow) dests() []any {
	s := &r.s
	return []any{&s.ARN, &s.AccountID, &s.Region, &s.Name, &s.Description, &s.KMSKeyID, &r.tags, &s.ResourcePolicy,
		&s.CreatedAt, &s.LastChangedAt, &s.LastAccessedAt, &s.DeletedAt, &s.PurgeAt,
		&r.enabled, &s.RotationLambdaARN, &s.RotationAfterDays, &s.RotationDuration, &s.RotationSchedule,
		&s.LastRotatedAt, &s.NextRotationAt, &s.OwningService, &s.PrimaryRegion, &s.Rev}
}

func (r *secretRow) secret() (store.Secret, error) {
	s := r.s
	s.RotationEnabled = r.enabled != 0
	tags, err := decodeTags(r.tags)
	if err != nil {
		return store.Secret{}, fmt.Errorf("secret %q: %w", s.ARN, err)
	}
	s.Tags = tags
	return s, nil
}

type tagJSON struct {
	K string `json:"k"`
	V string `json:"v"`
}

func encodeTags(tags []store.Tag) string {
	out := make([]tagJSON, len(tags))
	for i, t := range tags {
		out[i] = tagJSON{t.Key, t.Value}
	}
	b, _ := json.Marshal(out) // strings only: cannot fail
	return string(b)
}

func decodeTags(s string) ([]store.Tag, error) {
	var in []tagJSON
	if err := json.Unmarshal([]byte(s), &in); err != nil {
		return nil, fmt.Errorf("decode tags: %w", err)
	}
	out := make([]store.Tag, len(in))
	for i, t := range in {
		out[i] = store.Tag{Key: t.K, Value: t.V}
	}
	return out, nil
}

func flag(b bool) int {
	if b {
		return 1
	}
	return 0
}

// CreateSecret implements store.Secrets.
func (m Secrets) CreateSecret(ctx context.Context, s store.Secret, first *store.SecretVersion) error {
	err := m.b.Write(ctx, func(tx q) error {
		_, err := tx.Exec(ctx, `INSERT INTO secrets (arn, account_id, region, name, description, kms_key_id, tags,
			resource_policy, created_at, last_changed_at, last_accessed_at, deleted_at, purge_at,
			rotation_enabled, rotation_lambda_arn, rotation_after_days, rotation_duration, rotation_schedule,
			last_rotated_at, next_rotation_at, owning_service, primary_region, rev, next_seq)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, 1)`,
			s.ARN, s.AccountID, s.Region, s.Name, s.Description, s.KMSKeyID, encodeTags(s.Tags),
			s.ResourcePolicy, s.CreatedAt, s.LastChangedAt, iamsql.OptTime(s.LastAccessedAt),
			iamsql.OptTime(s.DeletedAt), iamsql.OptTime(s.PurgeAt),
			flag(s.RotationEnabled), s.RotationLambdaARN, s.RotationAfterDays, s.RotationDuration, s.RotationSchedule,
			iamsql.OptTime(s.LastRotatedAt), iamsql.OptTime(s.NextRotationAt), s.OwningService, s.PrimaryRegion)
		if err != nil {
			return m.b.MapErr(err, "insert secret")
		}
		if first == nil {
			return nil
		}
		v := *first
		v.SecretARN = s.ARN
		return m.putVersion(ctx, tx, v, s.CreatedAt, 0, 0)
	})
	if err != nil {
		return fmt.Errorf("create secret %q: %w", s.Name, err)
	}
	return nil
}

func (m Secrets) getSecret(ctx context.Context, where string, args ...any) (store.Secret, error) {
	var r secretRow
	err := m.b.Read(ctx, func(tx q) error {
		return tx.QueryRow(ctx, `SELECT `+secretCols+` FROM secrets WHERE `+where, args, r.dests()...)
	})
	if errors.Is(err, iamsql.ErrNoRows) {
		return store.Secret{}, store.ErrNotFound
	}
	if err != nil {
		return store.Secret{}, m.b.MapErr(err, "get secret")
	}
	return r.secret()
}

// GetSecret implements store.Secrets.
func (m Secrets) GetSecret(ctx context.Context, arn string) (store.Secret, error) {
	s, err := m.getSecret(ctx, `arn = ?`, arn)
	if err != nil {
		return s, fmt.Errorf("get secret %q: %w", arn, err)
	}
	return s, nil
}

// GetSecretByName implements store.Secrets.
func (m Secrets) GetSecretByName(ctx context.Context, account, region, name string) (store.Secret, error) {
	s, err := m.getSecret(ctx, `account_id = ? AND region = ? AND name = ?`, account, region, name)
	if err != nil {
		return s, fmt.Errorf("get secret named %q: %w", name, err)
	}
	return s, nil
}

// ListSecrets implements store.Secrets.
func (m Secrets) ListSecrets(ctx context.Context, account, region string) ([]store.Secret, error) {
	var out []store.Secret
	err := m.b.Read(ctx, func(tx q) error {
		out = out[:0]
		return tx.Query(ctx, `SELECT `+secretCols+` FROM secrets WHERE account_id = ? AND region = ?
			ORDER BY created_at, arn`, []any{account, region}, func(scan func(...any) error) error {
			var r secretRow
			if err := scan(r.dests()...); err != nil {
				return err
			}
			s, err := r.secret()
			if err != nil {
				return err
			}
			out = append(out, s)
			return nil
		})
	})
	if err != nil {
		return nil, m.b.MapErr(err, "list secrets")
	}
	return out, nil
}

// lock bumps the secret's rev as a write's first statement (see the package
// doc); ErrNotFound if the secret does not exist.
func (m Secrets) lock(ctx context.Context, tx q, arn string, changedAt time.Time) error {
	var n int64
	var err error
	if changedAt.IsZero() {
		n, err = tx.Exec(ctx, `UPDATE secrets SET rev = rev + 1 WHERE arn = ?`, arn)
	} else {
		n, err = tx.Exec(ctx, `UPDATE secrets SET rev = rev + 1, last_changed_at = ? WHERE arn = ?`, changedAt, arn)
	}
	if err != nil {
		return m.b.MapErr(err, "lock secret")
	}
	if n == 0 {
		return store.ErrNotFound
	}
	return nil
}

// UpdateSecret implements store.Secrets.
func (m Secrets) UpdateSecret(ctx context.Context, s store.Secret) (store.Secret, error) {
	err := m.b.Write(ctx, func(tx q) error {
		n, err := tx.Exec(ctx, `UPDATE secrets SET description = ?, kms_key_id = ?, tags = ?, resource_policy = ?,
			last_changed_at = ?, last_accessed_at = ?, deleted_at = ?, purge_at = ?,
			rotation_enabled = ?, rotation_lambda_arn = ?, rotation_after_days = ?, rotation_duration = ?,
			rotation_schedule = ?, last_rotated_at = ?, next_rotation_at = ?, owning_service = ?, primary_region = ?,
			rev = rev + 1
			WHERE arn = ? AND rev = ?`,
			s.Description, s.KMSKeyID, encodeTags(s.Tags), s.ResourcePolicy,
			s.LastChangedAt, iamsql.OptTime(s.LastAccessedAt), iamsql.OptTime(s.DeletedAt), iamsql.OptTime(s.PurgeAt),
			flag(s.RotationEnabled), s.RotationLambdaARN, s.RotationAfterDays, s.RotationDuration,
			s.RotationSchedule, iamsql.OptTime(s.LastRotatedAt), iamsql.OptTime(s.NextRotationAt), s.OwningService,
			s.PrimaryRegion, s.ARN, s.Rev)
		if err != nil {
			return m.b.MapErr(err, "update secret")
		}
		if n == 1 {
			return nil
		}
		var rev int64
		err = tx.QueryRow(ctx, `SELECT rev FROM secrets WHERE arn = ?`, []any{s.ARN}, &rev)
		if errors.Is(err, iamsql.ErrNoRows) {
			return store.ErrNotFound
		}
		if err != nil {
			return m.b.MapErr(err, "read secret revision")
		}
		return store.ErrStale
	})
	if err != nil {
		return store.Secret{}, fmt.Errorf("update secret %q: %w", s.ARN, err)
	}
	return m.GetSecret(ctx, s.ARN)
}

// TouchSecret implements store.Secrets.
func (m Secrets) TouchSecret(ctx context.Context, arn, versionID string, day time.Time) error {
	err := m.b.Write(ctx, func(tx q) error {
		n, err := tx.Exec(ctx, `UPDATE secrets SET last_accessed_at = ?
			WHERE arn = ? AND (last_accessed_at IS NULL OR last_accessed_at < ?)`, day, arn, day)
		if err != nil {
			return m.b.MapErr(err, "touch secret")
		}
		if n == 0 {
			if err := tx.QueryRow(ctx, `SELECT rev FROM secrets WHERE arn = ?`, []any{arn}, new(int64)); err != nil {
				return err
			}
		}
		if versionID == "" {
			return nil
		}
		if _, err := tx.Exec(ctx, `UPDATE secret_versions SET last_accessed_at = ?
			WHERE secret_arn = ? AND version_id = ? AND (last_accessed_at IS NULL OR last_accessed_at < ?)`,
			day, arn, versionID, day); err != nil {
			return m.b.MapErr(err, "touch version")
		}
		return nil
	})
	if errors.Is(err, iamsql.ErrNoRows) {
		err = store.ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("touch secret %q: %w", arn, err)
	}
	return nil
}

func deleteSecret(ctx context.Context, tx q, arn string) (int64, error) {
	// Children first: the foreign keys would cascade, but explicit deletes
	// do not depend on the backend's foreign key settings.
	if _, err := tx.Exec(ctx, `DELETE FROM secret_version_stages WHERE secret_arn = ?`, arn); err != nil {
		return 0, err
	}
	if _, err := tx.Exec(ctx, `DELETE FROM secret_versions WHERE secret_arn = ?`, arn); err != nil {
		return 0, err
	}
	return tx.Exec(ctx, `DELETE FROM secrets WHERE arn = ?`, arn)
}

// DeleteSecret implements store.Secrets.
func (m Secrets) DeleteSecret(ctx context.Context, arn string) error {
	err := m.b.Write(ctx, func(tx q) error {
		if err := m.lock(ctx, tx, arn, time.Time{}); err != nil {
			return err
		}
		if _, err := deleteSecret(ctx, tx, arn); err != nil {
			return m.b.MapErr(err, "delete secret")
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("delete secret %q: %w", arn, err)
	}
	return nil
}

// PurgeSecrets implements store.Secrets. Each candidate is deleted in its
// own transaction, by the server whose DELETE removes the row.
func (m Secrets) PurgeSecrets(ctx context.Context, now time.Time, limit int) ([]string, error) {
	var due []string
	err := m.b.Read(ctx, func(tx q) error {
		due = due[:0]
		return tx.Query(ctx, `SELECT arn FROM secrets WHERE purge_at IS NOT NULL AND purge_at <= ?
			ORDER BY purge_at, arn LIMIT ?`, []any{now, limit}, func(scan func(...any) error) error {
			var arn string
			if err := scan(&arn); err != nil {
				return err
			}
			due = append(due, arn)
			return nil
		})
	})
	if err != nil {
		return nil, m.b.MapErr(err, "list secrets due for deletion")
	}
	var purged []string
	for _, arn := range due {
		var gone bool
		err := m.b.Write(ctx, func(tx q) error {
			// Lock and re-check: a restore or another server may have won.
			n, err := tx.Exec(ctx, `UPDATE secrets SET rev = rev + 1 WHERE arn = ? AND purge_at IS NOT NULL AND purge_at <= ?`, arn, now)
			if err != nil || n == 0 {
				return err
			}
			n, err = deleteSecret(ctx, tx, arn)
			gone = n == 1
			return err
		})
		if err != nil {
			return purged, m.b.MapErr(err, "purge secret "+arn)
		}
		if gone {
			purged = append(purged, arn)
		}
	}
	return purged, nil
}

const versionCols = `v.secret_arn, v.version_id, v.created_at, v.last_accessed_at, v.kms_key_arn, v.encrypted_key, v.ciphertext, v.is_binary`

func scanVersion(scan func(...any) error) (store.SecretVersion, error) {
	var v store.SecretVersion
	var bin int64
	err := scan(&v.SecretARN, &v.VersionID, &v.CreatedAt, &v.LastAccessedAt, &v.KMSKeyARN, &v.EncryptedKey, &v.Ciphertext, &bin)
	v.Binary = bin != 0
	return v, err
}

func stagesOf(ctx context.Context, tx q, arn, versionID string) ([]string, error) {
	var out []string
	err := tx.Query(ctx, `SELECT stage FROM secret_version_stages WHERE secret_arn = ? AND version_id = ? ORDER BY stage`,
		[]any{arn, versionID}, func(scan func(...any) error) error {
			var s string
			if err := scan(&s); err != nil {
				return err
			}
			out = append(out, s)
			return nil
		})
	return out, err
}

func (m Secrets) getVersion(ctx context.Context, what, query string, args ...any) (store.SecretVersion, error) {
	var v store.SecretVersion
	err := m.b.Read(ctx, func(tx q) error {
		found := false
		err := tx.Query(ctx, query, args, func(scan func(...any) error) error {
			var err error
			v, err = scanVersion(scan)
			found = true
			return err
		})
		if err != nil {
			return err
		}
		if !found {
			return store.ErrNotFound
		}
		v.Stages, err = stagesOf(ctx, tx, v.SecretARN, v.VersionID)
		return err
	})
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return v, fmt.Errorf("%s: %w", what, err)
		}
		return v, m.b.MapErr(err, what)
	}
	return v, nil
}

// GetSecretVersion implements store.Secrets.
func (m Secrets) GetSecretVersion(ctx context.Context, arn, versionID string) (store.SecretVersion, error) {
	return m.getVersion(ctx, fmt.Sprintf("get version %q of secret %q", versionID, arn),
		`SELECT `+versionCols+` FROM secret_versions v WHERE v.secret_arn = ? AND v.version_id = ?`, arn, versionID)
}

// GetSecretVersionByStage implements store.Secrets.
func (m Secrets) GetSecretVersionByStage(ctx context.Context, arn, stage string) (store.SecretVersion, error) {
	return m.getVersion(ctx, fmt.Sprintf("get version %q of secret %q", stage, arn),
		`SELECT `+versionCols+` FROM secret_version_stages st
		JOIN secret_versions v ON v.secret_arn = st.secret_arn AND v.version_id = st.version_id
		WHERE st.secret_arn = ? AND st.stage = ?`, arn, stage)
}

// ListSecretVersions implements store.Secrets.
func (m Secrets) ListSecretVersions(ctx context.Context, arn string) ([]store.SecretVersion, error) {
	var out []store.SecretVersion
	err := m.b.Read(ctx, func(tx q) error {
		out = out[:0]
		if err := tx.QueryRow(ctx, `SELECT rev FROM secrets WHERE arn = ?`, []any{arn}, new(int64)); err != nil {
			if errors.Is(err, iamsql.ErrNoRows) {
				return store.ErrNotFound
			}
			return err
		}
		idx := map[string]int{}
		err := tx.Query(ctx, `SELECT `+versionCols+` FROM secret_versions v WHERE v.secret_arn = ? ORDER BY v.seq DESC`,
			[]any{arn}, func(scan func(...any) error) error {
				v, err := scanVersion(scan)
				if err != nil {
					return err
				}
				idx[v.VersionID] = len(out)
				out = append(out, v)
				return nil
			})
		if err != nil {
			return err
		}
		return tx.Query(ctx, `SELECT version_id, stage FROM secret_version_stages WHERE secret_arn = ? ORDER BY stage`,
			[]any{arn}, func(scan func(...any) error) error {
				var id, stage string
				if err := scan(&id, &stage); err != nil {
					return err
				}
				if i, ok := idx[id]; ok {
					out[i].Stages = append(out[i].Stages, stage)
				}
				return nil
			})
	})
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return nil, fmt.Errorf("list versions of secret %q: %w", arn, err)
		}
		return nil, m.b.MapErr(err, fmt.Sprintf("list versions of secret %q", arn))
	}
	return out, nil
}

// attach puts label stage on version to, taking it from whichever version
// has it.
func attach(ctx context.Context, tx q, arn, stage, to string) error {
	if _, err := tx.Exec(ctx, `DELETE FROM secret_version_stages WHERE secret_arn = ? AND stage = ?`, arn, stage); err != nil {
		return err
	}
	_, err := tx.Exec(ctx, `INSERT INTO secret_version_stages (secret_arn, stage, version_id) VALUES (?, ?, ?)`, arn, stage, to)
	return err
}

// holder returns the version with label stage, or "".
func holder(ctx context.Context, tx q, arn, stage string) (string, error) {
	var id string
	err := tx.QueryRow(ctx, `SELECT version_id FROM secret_version_stages WHERE secret_arn = ? AND stage = ?`, []any{arn, stage}, &id)
	if errors.Is(err, iamsql.ErrNoRows) {
		return "", nil
	}
	return id, err
}

// moveCurrent attaches AWSCURRENT to to, and AWSPREVIOUS to the version
// that had AWSCURRENT.
func moveCurrent(ctx context.Context, tx q, arn, to string) error {
	old, err := holder(ctx, tx, arn, store.StageCurrent)
	if err != nil {
		return err
	}
	if err := attach(ctx, tx, arn, store.StageCurrent, to); err != nil {
		return err
	}
	if old != "" && old != to {
		return attach(ctx, tx, arn, store.StagePrevious, old)
	}
	return nil
}

// putVersion inserts v with its labels in tx; keepDeprecated and
// maxVersions of 0 mean no pruning and no limit (a new secret).
func (m Secrets) putVersion(ctx context.Context, tx q, v store.SecretVersion, at time.Time, keepDeprecated, maxVersions int) error {
	var seq int64
	if err := tx.QueryRow(ctx, `SELECT next_seq FROM secrets WHERE arn = ?`, []any{v.SecretARN}, &seq); err != nil {
		if errors.Is(err, iamsql.ErrNoRows) {
			return store.ErrNotFound
		}
		return m.b.MapErr(err, "read version sequence")
	}
	if _, err := tx.Exec(ctx, `UPDATE secrets SET next_seq = next_seq + 1 WHERE arn = ?`, v.SecretARN); err != nil {
		return m.b.MapErr(err, "advance version sequence")
	}
	_, err := tx.Exec(ctx, `INSERT INTO secret_versions (secret_arn, version_id, seq, created_at, last_accessed_at,
		kms_key_arn, encrypted_key, ciphertext, is_binary) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		v.SecretARN, v.VersionID, seq, at, iamsql.OptTime(v.LastAccessedAt), v.KMSKeyARN,
		nonNil(v.EncryptedKey), nonNil(v.Ciphertext), flag(v.Binary))
	if err != nil {
		return m.b.MapErr(err, "insert version")
	}
	stages := slices.Clone(v.Stages)
	slices.Sort(stages)
	for _, st := range slices.Compact(stages) {
		if st == store.StageCurrent {
			err = moveCurrent(ctx, tx, v.SecretARN, v.VersionID)
		} else {
			err = attach(ctx, tx, v.SecretARN, st, v.VersionID)
		}
		if err != nil {
			return m.b.MapErr(err, "attach label "+st)
		}
	}
	if maxVersions <= 0 {
		return nil
	}
	return m.prune(ctx, tx, v.SecretARN, at, keepDeprecated, maxVersions)
}

// prune removes the oldest deprecated versions beyond keep that are more
// than a day old (AWS keeps recent ones), then checks the limit.
func (m Secrets) prune(ctx context.Context, tx q, arn string, at time.Time, keep, maxVersions int) error {
	var old []string
	err := tx.Query(ctx, `SELECT v.version_id FROM secret_versions v
		WHERE v.secret_arn = ? AND NOT EXISTS (SELECT 1 FROM secret_version_stages st
			WHERE st.secret_arn = v.secret_arn AND st.version_id = v.version_id)
		ORDER BY v.seq DESC`, []any{arn}, func(scan func(...any) error) error {
		var id string
		if err := scan(&id); err != nil {
			return err
		}
		old = append(old, id)
		return nil
	})
	if err != nil {
		return m.b.MapErr(err, "list deprecated versions")
	}
	if len(old) > keep {
		for _, id := range old[keep:] {
			if _, err := tx.Exec(ctx, `DELETE FROM secret_versions WHERE secret_arn = ? AND version_id = ? AND created_at < ?`,
				arn, id, at.Add(-24*time.Hour)); err != nil {
				return m.b.MapErr(err, "remove deprecated version")
			}
		}
	}
	var n int64
	if err := tx.QueryRow(ctx, `SELECT count(*) FROM secret_versions WHERE secret_arn = ?`, []any{arn}, &n); err != nil {
		return m.b.MapErr(err, "count versions")
	}
	if n > int64(maxVersions) {
		return store.ErrLimit
	}
	return nil
}

// PutSecretVersion implements store.Secrets.
func (m Secrets) PutSecretVersion(ctx context.Context, v store.SecretVersion, at time.Time, keepDeprecated, maxVersions int) error {
	if maxVersions <= 0 {
		maxVersions = 1 << 30
	}
	err := m.b.Write(ctx, func(tx q) error {
		if err := m.lock(ctx, tx, v.SecretARN, at); err != nil {
			return err
		}
		return m.putVersion(ctx, tx, v, at, keepDeprecated, maxVersions)
	})
	if err != nil {
		return fmt.Errorf("put version %q of secret %q: %w", v.VersionID, v.SecretARN, err)
	}
	return nil
}

// FillSecretVersion implements store.Secrets.
func (m Secrets) FillSecretVersion(ctx context.Context, v store.SecretVersion, at time.Time) error {
	err := m.b.Write(ctx, func(tx q) error {
		if err := m.lock(ctx, tx, v.SecretARN, at); err != nil {
			return err
		}
		n, err := tx.Exec(ctx, `UPDATE secret_versions SET kms_key_arn = ?, encrypted_key = ?, ciphertext = ?, is_binary = ?
			WHERE secret_arn = ? AND version_id = ? AND length(ciphertext) = 0`,
			v.KMSKeyARN, nonNil(v.EncryptedKey), nonNil(v.Ciphertext), flag(v.Binary), v.SecretARN, v.VersionID)
		if err != nil {
			return m.b.MapErr(err, "fill version")
		}
		if n == 0 {
			var exists int64
			if err := tx.QueryRow(ctx, `SELECT count(*) FROM secret_versions WHERE secret_arn = ? AND version_id = ?`,
				[]any{v.SecretARN, v.VersionID}, &exists); err != nil {
				return m.b.MapErr(err, "find version")
			}
			if exists == 0 {
				return store.ErrNotFound
			}
			return store.ErrConflict
		}
		stages := slices.Clone(v.Stages)
		slices.Sort(stages)
		for _, st := range slices.Compact(stages) {
			if st == store.StageCurrent {
				err = moveCurrent(ctx, tx, v.SecretARN, v.VersionID)
			} else {
				err = attach(ctx, tx, v.SecretARN, st, v.VersionID)
			}
			if err != nil {
				return m.b.MapErr(err, "attach label "+st)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("fill version %q of secret %q: %w", v.VersionID, v.SecretARN, err)
	}
	return nil
}

// ReencryptSecretVersion implements store.Secrets.
func (m Secrets) ReencryptSecretVersion(ctx context.Context, v store.SecretVersion) error {
	err := m.b.Write(ctx, func(tx q) error {
		if err := m.lock(ctx, tx, v.SecretARN, time.Time{}); err != nil {
			return err
		}
		n, err := tx.Exec(ctx, `UPDATE secret_versions SET kms_key_arn = ?, encrypted_key = ?, ciphertext = ?
			WHERE secret_arn = ? AND version_id = ?`, v.KMSKeyARN, nonNil(v.EncryptedKey), nonNil(v.Ciphertext), v.SecretARN, v.VersionID)
		if err != nil {
			return m.b.MapErr(err, "replace envelope")
		}
		if n == 0 {
			return store.ErrNotFound
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("re-encrypt version %q of secret %q: %w", v.VersionID, v.SecretARN, err)
	}
	return nil
}

// MoveSecretStage implements store.Secrets.
func (m Secrets) MoveSecretStage(ctx context.Context, arn, stage, from, to string, at time.Time) error {
	err := m.b.Write(ctx, func(tx q) error {
		if err := m.lock(ctx, tx, arn, at); err != nil {
			return err
		}
		cur, err := holder(ctx, tx, arn, stage)
		if err != nil {
			return m.b.MapErr(err, "read label")
		}
		if cur != from {
			return store.ErrStale
		}
		if to == "" {
			if _, err := tx.Exec(ctx, `DELETE FROM secret_version_stages WHERE secret_arn = ? AND stage = ?`, arn, stage); err != nil {
				return m.b.MapErr(err, "remove label")
			}
			return nil
		}
		var n int64
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM secret_versions WHERE secret_arn = ? AND version_id = ?`,
			[]any{arn, to}, &n); err != nil {
			return m.b.MapErr(err, "find version")
		}
		if n == 0 {
			return store.ErrNotFound
		}
		if stage == store.StageCurrent {
			err = moveCurrent(ctx, tx, arn, to)
		} else {
			err = attach(ctx, tx, arn, stage, to)
		}
		if err != nil {
			return m.b.MapErr(err, "move label")
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("move label %q of secret %q: %w", stage, arn, err)
	}
	return nil
}

func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}
