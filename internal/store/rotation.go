package store

import (
	"context"
	"errors"
	"time"
)

// Errors of the Rotation part.
var (
	// ErrRotationInProgress means another rotation (another
	// ClientRequestToken) of the secret has not finished.
	ErrRotationInProgress = errors.New("store: another rotation is in progress")
	// ErrLeaseHeld means another scheduler or server holds the rotation's
	// lease and is running it now.
	ErrLeaseHeld = errors.New("store: rotation lease held by another owner")
	// ErrAlreadyScheduled means the scheduled occurrence was already
	// started (by this server or another one).
	ErrAlreadyScheduled = errors.New("store: scheduled rotation already started")
	// ErrLeaseLost means the caller no longer holds the rotation's lease (it
	// expired and another owner took it, or the rotation was cancelled):
	// stop working on it.
	ErrLeaseLost = errors.New("store: rotation lease lost")
)

// Rotation steps, as a rotation Lambda receives them.
const (
	StepCreate = "createSecret"
	StepSet    = "setSecret"
	StepTest   = "testSecret"
	StepFinish = "finishSecret"
)

// SecretRotation is the rotation state of one secret. A rotation is in
// progress while Token is not empty; Step is the next step to run. The
// lease (LeaseOwner until LeaseUntil) says who runs it now; nobody does
// once LeaseUntil has passed.
type SecretRotation struct {
	SecretARN string
	Token     string
	Step      string
	StartedAt time.Time
	// ScheduledFor is the scheduled occurrence (the secret's
	// NextRotationAt) the last scheduler-started rotation was for.
	ScheduledFor time.Time
	LeaseOwner   string
	LeaseUntil   time.Time
	// Attempts counts failed attempts of the rotation in progress; RetryAt
	// is when the next one may start (zero: at once).
	Attempts int
	RetryAt  time.Time
	// Failure is the last failure's message (never secret material), the
	// step it happened in and when; empty if the last rotation succeeded.
	Failure     string
	FailureStep string
	FailedAt    time.Time
}

// Lease identifies an owner's hold on a rotation until Until.
type Lease struct {
	Owner string
	Until time.Time
}

// RotationWebhook maps a rotation function ARN to the HTTPS endpoint
// Bulwark calls for each rotation step. SealedKey is the signing key sealed
// by the keyring.
type RotationWebhook struct {
	FunctionARN string
	AccountID   string
	URL         string
	// CAPEM, if not empty, holds the PEM CA certificates the endpoint's
	// TLS certificate must chain to instead of the system roots.
	CAPEM     string
	SealedKey []byte
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Rotation is the secret rotation part of the store. Every method is one
// transaction whose conditional UPDATE decides races, so several servers on
// one database agree on who runs a rotation.
type Rotation interface {
	// GetSecretRotation returns a secret's rotation state, or ErrNotFound
	// if it was never rotated.
	GetSecretRotation(ctx context.Context, arn string) (SecretRotation, error)
	// BeginRotation starts a rotation of secret arn with token at now,
	// taking lease l. scheduledFor, if not zero, is the scheduled
	// occurrence being started: ErrAlreadyScheduled if that occurrence (or
	// a later one) was already started. If a rotation with the same token
	// is in progress it is resumed (its lease taken) instead; another token
	// gives ErrRotationInProgress; a live lease of another owner gives
	// ErrLeaseHeld. ErrNotFound if the secret does not exist. It returns
	// the state after the call.
	BeginRotation(ctx context.Context, arn, token string, scheduledFor, now time.Time, l Lease) (SecretRotation, error)
	// ResumeRotation takes the lease of the rotation in progress with
	// token, if no live lease holds it and its RetryAt has passed:
	// ErrLeaseHeld otherwise, ErrNotFound if no such rotation.
	ResumeRotation(ctx context.Context, arn, token string, now time.Time, l Lease) (SecretRotation, error)
	// AdvanceRotation records that step from is done and next is the next
	// one, and extends the lease, if the caller still holds it with the
	// same token and step (ErrLeaseLost if not).
	AdvanceRotation(ctx context.Context, arn, token, from, next string, l Lease) error
	// FailRotation records a failed attempt of step and releases the lease.
	// With a zero retryAt the rotation is abandoned (no longer in
	// progress); otherwise it stays in progress and may resume at retryAt.
	// ErrLeaseLost if the caller does not hold the lease.
	FailRotation(ctx context.Context, arn, token, step, failure string, at, retryAt time.Time, l Lease) error
	// FinishRotation ends a successful rotation and releases the lease;
	// ErrLeaseLost if the caller does not hold it.
	FinishRotation(ctx context.Context, arn, token string, l Lease) error
	// CancelRotation ends the rotation in progress whatever its lease, and
	// returns its token ("" if none was in progress).
	CancelRotation(ctx context.Context, arn string) (string, error)
	// DueRotations returns up to limit secrets that need a rotation run at
	// now: in-progress rotations whose lease has expired and whose RetryAt
	// has passed (Token set), then secrets with rotation enabled, not
	// pending deletion, whose NextRotationAt has passed (Token empty,
	// ScheduledFor the occurrence due).
	DueRotations(ctx context.Context, now time.Time, limit int) ([]SecretRotation, error)

	// PutRotationWebhook creates or replaces the webhook of w.FunctionARN.
	// ErrNotFound if the account does not exist.
	PutRotationWebhook(ctx context.Context, w RotationWebhook) error
	// GetRotationWebhook returns a webhook by function ARN, or ErrNotFound.
	GetRotationWebhook(ctx context.Context, functionARN string) (RotationWebhook, error)
	// ListRotationWebhooks returns an account's webhooks by function ARN.
	ListRotationWebhooks(ctx context.Context, account string) ([]RotationWebhook, error)
	// DeleteRotationWebhook removes a webhook; ErrNotFound if absent.
	DeleteRotationWebhook(ctx context.Context, functionARN string) error
}
