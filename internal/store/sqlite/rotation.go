package sqlite

import (
	"context"
	"time"

	"github.com/bulwark-security/bulwark/internal/store"
	"github.com/bulwark-security/bulwark/internal/store/rotationsql"
)

// The secret rotation part of the store is package rotationsql's, over the
// same backend as the IAM part.

var _ store.Rotation = (*Store)(nil)

func (s *Store) rotation() rotationsql.Rotation { return rotationsql.New(backend{s}) }

// GetSecretRotation implements store.Rotation.
func (s *Store) GetSecretRotation(ctx context.Context, arn string) (store.SecretRotation, error) {
	return s.rotation().GetSecretRotation(ctx, arn)
}

// BeginRotation implements store.Rotation.
func (s *Store) BeginRotation(ctx context.Context, arn, token string, scheduledFor, now time.Time, l store.Lease) (store.SecretRotation, error) {
	return s.rotation().BeginRotation(ctx, arn, token, scheduledFor, now, l)
}

// ResumeRotation implements store.Rotation.
func (s *Store) ResumeRotation(ctx context.Context, arn, token string, now time.Time, l store.Lease) (store.SecretRotation, error) {
	return s.rotation().ResumeRotation(ctx, arn, token, now, l)
}

// AdvanceRotation implements store.Rotation.
func (s *Store) AdvanceRotation(ctx context.Context, arn, token, from, next string, l store.Lease) error {
	return s.rotation().AdvanceRotation(ctx, arn, token, from, next, l)
}

// FailRotation implements store.Rotation.
func (s *Store) FailRotation(ctx context.Context, arn, token, step, failure string, at, retryAt time.Time, l store.Lease) error {
	return s.rotation().FailRotation(ctx, arn, token, step, failure, at, retryAt, l)
}

// FinishRotation implements store.Rotation.
func (s *Store) FinishRotation(ctx context.Context, arn, token string, l store.Lease) error {
	return s.rotation().FinishRotation(ctx, arn, token, l)
}

// CancelRotation implements store.Rotation.
func (s *Store) CancelRotation(ctx context.Context, arn string) (string, error) {
	return s.rotation().CancelRotation(ctx, arn)
}

// DueRotations implements store.Rotation.
func (s *Store) DueRotations(ctx context.Context, now time.Time, limit int) ([]store.SecretRotation, error) {
	return s.rotation().DueRotations(ctx, now, limit)
}

// PutRotationWebhook implements store.Rotation.
func (s *Store) PutRotationWebhook(ctx context.Context, w store.RotationWebhook) error {
	return s.rotation().PutRotationWebhook(ctx, w)
}

// GetRotationWebhook implements store.Rotation.
func (s *Store) GetRotationWebhook(ctx context.Context, functionARN string) (store.RotationWebhook, error) {
	return s.rotation().GetRotationWebhook(ctx, functionARN)
}

// ListRotationWebhooks implements store.Rotation.
func (s *Store) ListRotationWebhooks(ctx context.Context, account string) ([]store.RotationWebhook, error) {
	return s.rotation().ListRotationWebhooks(ctx, account)
}

// DeleteRotationWebhook implements store.Rotation.
func (s *Store) DeleteRotationWebhook(ctx context.Context, functionARN string) error {
	return s.rotation().DeleteRotationWebhook(ctx, functionARN)
}
