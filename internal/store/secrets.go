package store

import (
	"context"
	"errors"
	"time"
)

// Errors of the Secrets part beyond ErrNotFound and ErrConflict.
var (
	// ErrStale means a compare-and-swap lost: the secret (or the stage
	// label) changed since the caller read it. Read again and retry.
	ErrStale = errors.New("store: changed concurrently")
	// ErrLimit means a write would exceed a quota the caller passed (the
	// number of versions of a secret).
	ErrLimit = errors.New("store: limit exceeded")
)

// Secret is the metadata of one Secrets Manager secret. Its values are
// SecretVersions; the store never sees them in plaintext.
type Secret struct {
	ARN       string // arn:aws:secretsmanager:<region>:<account>:secret:<name>-<6 chars>
	AccountID string
	Region    string
	Name      string
	// Description and KMSKeyID are as the caller gave them; an empty
	// KMSKeyID means the AWS managed key alias/aws/secretsmanager.
	Description    string
	KMSKeyID       string
	Tags           []Tag
	ResourcePolicy string // JSON, empty if none
	CreatedAt      time.Time
	LastChangedAt  time.Time
	// LastAccessedAt is a date (midnight UTC) as AWS keeps it; zero if never.
	LastAccessedAt time.Time
	// DeletedAt is when DeleteSecret scheduled the deletion and PurgeAt when
	// it is due; both zero unless the secret is pending deletion.
	DeletedAt time.Time
	PurgeAt   time.Time
	// Rotation (written by the rotation feature, returned by DescribeSecret).
	RotationEnabled   bool
	RotationLambdaARN string
	RotationAfterDays int64
	RotationDuration  string
	RotationSchedule  string
	LastRotatedAt     time.Time
	NextRotationAt    time.Time
	OwningService     string
	PrimaryRegion     string
	// Rev increases with every change to the secret or its versions;
	// UpdateSecret compares it to detect concurrent changes.
	Rev int64
}

// SecretVersion is one version of a secret's value, envelope-encrypted:
// EncryptedKey is the KMS ciphertext blob of the data key, Ciphertext the
// value sealed with it.
type SecretVersion struct {
	SecretARN      string
	VersionID      string
	CreatedAt      time.Time
	LastAccessedAt time.Time
	KMSKeyARN      string
	EncryptedKey   []byte
	Ciphertext     []byte
	// Binary says the value is SecretBinary (not SecretString).
	Binary bool
	// Stages are the staging labels attached to the version, sorted; a
	// version without any is deprecated.
	Stages []string
}

// Stage labels Secrets Manager itself moves.
const (
	StageCurrent  = "AWSCURRENT"
	StagePrevious = "AWSPREVIOUS"
	StagePending  = "AWSPENDING"
)

// Secrets is the Secrets Manager part of the store. Every write is one
// transaction and increases the secret's Rev; on PostgreSQL it locks the
// secret's row first, so writes to one secret serialize across servers.
type Secrets interface {
	// CreateSecret inserts s and, if first is not nil, its first version
	// (with first.Stages). ErrConflict if a secret with the ARN or with the
	// name in the account and region exists; ErrNotFound if the account
	// does not.
	CreateSecret(ctx context.Context, s Secret, first *SecretVersion) error
	// GetSecret returns the secret with the ARN, or ErrNotFound.
	GetSecret(ctx context.Context, arn string) (Secret, error)
	// GetSecretByName returns the secret with the name, or ErrNotFound.
	GetSecretByName(ctx context.Context, account, region, name string) (Secret, error)
	// ListSecrets returns the secrets of an account and region ordered by
	// creation time, then ARN.
	ListSecrets(ctx context.Context, account, region string) ([]Secret, error)
	// UpdateSecret replaces the metadata of the secret s.ARN if its Rev is
	// still s.Rev (ErrStale if not, ErrNotFound if the secret is gone) and
	// returns the stored secret with its new Rev. ARN, account, region, name
	// and creation time never change.
	UpdateSecret(ctx context.Context, s Secret) (Secret, error)
	// TouchSecret records an access on day (a date) to the secret and, if
	// versionID is not empty, to that version, where the stored
	// LastAccessedAt is earlier, without changing Rev. ErrNotFound if the
	// secret is absent.
	TouchSecret(ctx context.Context, arn, versionID string, day time.Time) error
	// DeleteSecret removes the secret and its versions; ErrNotFound if absent.
	DeleteSecret(ctx context.Context, arn string) error
	// PurgeSecrets removes up to limit secrets whose PurgeAt is not after
	// now and returns their ARNs. Several servers may call it at once: each
	// secret is removed (and reported) once.
	PurgeSecrets(ctx context.Context, now time.Time, limit int) ([]string, error)

	// PutSecretVersion adds version v to the secret at time at:
	// ErrConflict if v.VersionID exists, ErrNotFound if the secret does not.
	// Each label in v.Stages moves to v from whichever version had it; when
	// AWSCURRENT moves, the version that had it gets AWSPREVIOUS. The
	// secret's LastChangedAt becomes at. Then the oldest deprecated versions
	// (no label) beyond keepDeprecated that are older than a day are removed;
	// if more than maxVersions remain, nothing is written and ErrLimit is
	// returned.
	PutSecretVersion(ctx context.Context, v SecretVersion, at time.Time, keepDeprecated, maxVersions int) error
	// FillSecretVersion gives a value-less version (a rotation's AWSPENDING
	// placeholder: empty EncryptedKey and Ciphertext) the envelope in v
	// (KMSKeyARN, EncryptedKey, Ciphertext, Binary), and moves the labels
	// in v.Stages to it as PutSecretVersion does. ErrConflict if the
	// version already holds a value (a concurrent fill won), ErrNotFound if
	// it does not exist.
	FillSecretVersion(ctx context.Context, v SecretVersion, at time.Time) error
	// GetSecretVersion returns a version by id, or ErrNotFound.
	GetSecretVersion(ctx context.Context, arn, versionID string) (SecretVersion, error)
	// GetSecretVersionByStage returns the version with a label, or ErrNotFound.
	GetSecretVersionByStage(ctx context.Context, arn, stage string) (SecretVersion, error)
	// ListSecretVersions returns a secret's versions, newest first, with
	// their labels; ErrNotFound if the secret does not exist.
	ListSecretVersions(ctx context.Context, arn string) ([]SecretVersion, error)
	// ReencryptSecretVersion replaces the envelope (KMSKeyARN,
	// EncryptedKey, Ciphertext) of version v.VersionID of the secret
	// v.SecretARN, leaving its labels and dates; ErrNotFound if the version
	// does not exist.
	ReencryptSecretVersion(ctx context.Context, v SecretVersion) error
	// MoveSecretStage moves label stage from version from to version to,
	// atomically: ErrStale unless the label is on from now ("" = on no
	// version); to "" removes the label; ErrNotFound if the secret or
	// version to does not exist. Moving AWSCURRENT between two versions
	// gives from AWSPREVIOUS. LastChangedAt becomes at.
	MoveSecretStage(ctx context.Context, arn, stage, from, to string, at time.Time) error
}
