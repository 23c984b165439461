package postgres

import (
	"context"
	"time"

	"github.com/bulwark-security/bulwark/internal/store"
	"github.com/bulwark-security/bulwark/internal/store/kmssql"
)

// The KMS part of the store is package kmssql's, over the same backend as
// the IAM part.

var _ store.KMS = (*Store)(nil)

func (s *Store) kms() *kmssql.KMS { return kmssql.New(backend{s}) }

// CreateKMSKey implements store.KMS.
func (s *Store) CreateKMSKey(ctx context.Context, k store.KMSKey, m store.KMSKeyMaterial, alias *store.KMSAlias) error {
	return s.kms().CreateKMSKey(ctx, k, m, alias)
}

// GetKMSKey implements store.KMS.
func (s *Store) GetKMSKey(ctx context.Context, keyID string) (store.KMSKey, error) {
	return s.kms().GetKMSKey(ctx, keyID)
}

// ListKMSKeys implements store.KMS.
func (s *Store) ListKMSKeys(ctx context.Context, account, region, after string, limit int) ([]store.KMSKey, error) {
	return s.kms().ListKMSKeys(ctx, account, region, after, limit)
}

// UpdateKMSKey implements store.KMS.
func (s *Store) UpdateKMSKey(ctx context.Context, k store.KMSKey) (int64, error) {
	return s.kms().UpdateKMSKey(ctx, k)
}

// RotateKMSKey implements store.KMS.
func (s *Store) RotateKMSKey(ctx context.Context, keyID string, fromVersion int, m store.KMSKeyMaterial, next time.Time) error {
	return s.kms().RotateKMSKey(ctx, keyID, fromVersion, m, next)
}

// GetKMSKeyMaterial implements store.KMS.
func (s *Store) GetKMSKeyMaterial(ctx context.Context, keyID string, version int) (store.KMSKeyMaterial, error) {
	return s.kms().GetKMSKeyMaterial(ctx, keyID, version)
}

// ListKMSKeyMaterial implements store.KMS.
func (s *Store) ListKMSKeyMaterial(ctx context.Context, keyID string) ([]store.KMSKeyMaterial, error) {
	return s.kms().ListKMSKeyMaterial(ctx, keyID)
}

// DueKMSKeys implements store.KMS.
func (s *Store) DueKMSKeys(ctx context.Context, now time.Time, limit int) ([]store.KMSKey, []store.KMSKey, error) {
	return s.kms().DueKMSKeys(ctx, now, limit)
}

// DeleteKMSKey implements store.KMS.
func (s *Store) DeleteKMSKey(ctx context.Context, keyID string, gen int64) error {
	return s.kms().DeleteKMSKey(ctx, keyID, gen)
}

// CreateKMSAlias implements store.KMS.
func (s *Store) CreateKMSAlias(ctx context.Context, a store.KMSAlias) error {
	return s.kms().CreateKMSAlias(ctx, a)
}

// GetKMSAlias implements store.KMS.
func (s *Store) GetKMSAlias(ctx context.Context, account, region, name string) (store.KMSAlias, error) {
	return s.kms().GetKMSAlias(ctx, account, region, name)
}

// UpdateKMSAlias implements store.KMS.
func (s *Store) UpdateKMSAlias(ctx context.Context, account, region, name, keyID string, at time.Time) error {
	return s.kms().UpdateKMSAlias(ctx, account, region, name, keyID, at)
}

// DeleteKMSAlias implements store.KMS.
func (s *Store) DeleteKMSAlias(ctx context.Context, account, region, name string) error {
	return s.kms().DeleteKMSAlias(ctx, account, region, name)
}

// ListKMSAliases implements store.KMS.
func (s *Store) ListKMSAliases(ctx context.Context, account, region, keyID, after string, limit int) ([]store.KMSAlias, error) {
	return s.kms().ListKMSAliases(ctx, account, region, keyID, after, limit)
}

// CreateKMSGrant implements store.KMS.
func (s *Store) CreateKMSGrant(ctx context.Context, g store.KMSGrant, max int) error {
	return s.kms().CreateKMSGrant(ctx, g, max)
}

// ListKMSGrants implements store.KMS.
func (s *Store) ListKMSGrants(ctx context.Context, keyID string) ([]store.KMSGrant, error) {
	return s.kms().ListKMSGrants(ctx, keyID)
}

// ListKMSRetirableGrants implements store.KMS.
func (s *Store) ListKMSRetirableGrants(ctx context.Context, retiring, after string, limit int) ([]store.KMSGrant, error) {
	return s.kms().ListKMSRetirableGrants(ctx, retiring, after, limit)
}

// GetKMSGrantByToken implements store.KMS.
func (s *Store) GetKMSGrantByToken(ctx context.Context, tokenHash []byte) (store.KMSGrant, error) {
	return s.kms().GetKMSGrantByToken(ctx, tokenHash)
}

// DeleteKMSGrant implements store.KMS.
func (s *Store) DeleteKMSGrant(ctx context.Context, keyID, grantID string) error {
	return s.kms().DeleteKMSGrant(ctx, keyID, grantID)
}
