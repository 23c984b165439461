package sqlite

import (
	"context"
	"time"

	"github.com/bulwark-security/bulwark/internal/store"
	"github.com/bulwark-security/bulwark/internal/store/secretsql"
)

// The Secrets Manager part of the store is package secretsql's, over the
// backend shared by every part.

var _ store.Secrets = (*Store)(nil)

func (s *Store) secrets() secretsql.Secrets { return secretsql.New(backend{s}) }

// CreateSecret implements store.Secrets.
func (s *Store) CreateSecret(ctx context.Context, sec store.Secret, first *store.SecretVersion) error {
	return s.secrets().CreateSecret(ctx, sec, first)
}

// GetSecret implements store.Secrets.
func (s *Store) GetSecret(ctx context.Context, arn string) (store.Secret, error) {
	return s.secrets().GetSecret(ctx, arn)
}

// GetSecretByName implements store.Secrets.
func (s *Store) GetSecretByName(ctx context.Context, account, region, name string) (store.Secret, error) {
	return s.secrets().GetSecretByName(ctx, account, region, name)
}

// ListSecrets implements store.Secrets.
func (s *Store) ListSecrets(ctx context.Context, account, region string) ([]store.Secret, error) {
	return s.secrets().ListSecrets(ctx, account, region)
}

// UpdateSecret implements store.Secrets.
func (s *Store) UpdateSecret(ctx context.Context, sec store.Secret) (store.Secret, error) {
	return s.secrets().UpdateSecret(ctx, sec)
}

// TouchSecret implements store.Secrets.
func (s *Store) TouchSecret(ctx context.Context, arn, versionID string, day time.Time) error {
	return s.secrets().TouchSecret(ctx, arn, versionID, day)
}

// DeleteSecret implements store.Secrets.
func (s *Store) DeleteSecret(ctx context.Context, arn string) error {
	return s.secrets().DeleteSecret(ctx, arn)
}

// PurgeSecrets implements store.Secrets.
func (s *Store) PurgeSecrets(ctx context.Context, now time.Time, limit int) ([]string, error) {
	return s.secrets().PurgeSecrets(ctx, now, limit)
}

// PutSecretVersion implements store.Secrets.
func (s *Store) PutSecretVersion(ctx context.Context, v store.SecretVersion, at time.Time, keepDeprecated, maxVersions int) error {
	return s.secrets().PutSecretVersion(ctx, v, at, keepDeprecated, maxVersions)
}

// GetSecretVersion implements store.Secrets.
func (s *Store) GetSecretVersion(ctx context.Context, arn, versionID string) (store.SecretVersion, error) {
	return s.secrets().GetSecretVersion(ctx, arn, versionID)
}

// GetSecretVersionByStage implements store.Secrets.
func (s *Store) GetSecretVersionByStage(ctx context.Context, arn, stage string) (store.SecretVersion, error) {
	return s.secrets().GetSecretVersionByStage(ctx, arn, stage)
}

// ListSecretVersions implements store.Secrets.
func (s *Store) ListSecretVersions(ctx context.Context, arn string) ([]store.SecretVersion, error) {
	return s.secrets().ListSecretVersions(ctx, arn)
}

// ReencryptSecretVersion implements store.Secrets.
func (s *Store) ReencryptSecretVersion(ctx context.Context, v store.SecretVersion) error {
	return s.secrets().ReencryptSecretVersion(ctx, v)
}

// MoveSecretStage implements store.Secrets.
func (s *Store) MoveSecretStage(ctx context.Context, arn, stage, from, to string, at time.Time) error {
	return s.secrets().MoveSecretStage(ctx, arn, stage, from, to, at)
}
