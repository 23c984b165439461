// Package store defines Bulwark's persistent state as one narrow interface,
// with an embedded SQLite implementation (the default) and a PostgreSQL one
// for several servers sharing a database. Both run the same conformance
// suite (storetest).
//
// The store never sees plaintext secrets: callers seal secret access keys and
// key material with the keyring before they reach it.
package store

import (
	"context"
	"errors"
	"time"
)

// Sentinel errors every implementation returns (wrapped) so callers can use
// errors.Is without knowing the backend.
var (
	// ErrNotFound means the requested row does not exist.
	ErrNotFound = errors.New("store: not found")
	// ErrConflict means a row with the same key already exists.
	ErrConflict = errors.New("store: already exists")
)

// Account is one 12-digit AWS-style account hosted by this deployment.
type Account struct {
	ID        string // 12 digits
	Alias     string // optional, may be empty
	CreatedAt time.Time
}

// PrincipalType says what kind of principal owns a long-term access key.
type PrincipalType string

const (
	// PrincipalRoot is the account's root principal (arn:aws:iam::<acct>:root).
	PrincipalRoot PrincipalType = "Root"
	// PrincipalUser is an IAM user.
	PrincipalUser PrincipalType = "IAMUser"
)

// KeyStatus is the AWS access key status.
type KeyStatus string

const (
	KeyActive   KeyStatus = "Active"
	KeyInactive KeyStatus = "Inactive"
)

// AccessKey is a long-term credential. SealedSecret is the secret access key
// sealed by the keyring; the store never holds it in plaintext.
type AccessKey struct {
	AccessKeyID     string // "AKIA..." (20 characters)
	AccountID       string
	PrincipalType   PrincipalType
	PrincipalARN    string // arn:aws:iam::<acct>:root or arn:aws:iam::<acct>:user/path/name
	PrincipalID     string // AWS unique id: the account id for root, "AIDA..." for users
	UserName        string // empty for root
	Status          KeyStatus
	SealedSecret    []byte
	CreatedAt       time.Time
	LastUsedAt      time.Time // zero if never used
	LastUsedRegion  string
	LastUsedService string
}

// Store is the persistent state of one Bulwark deployment. Implementations are
// safe for concurrent use by many goroutines and, for PostgreSQL, by many
// processes sharing one database.
//
// Times are stored with microsecond precision (PostgreSQL's) and returned in
// UTC; a zero time.Time (LastUsedAt before first use) round-trips as zero.
// Byte slices come back non-nil even when empty.
type Store interface {
	// CreateAccount inserts a new account; ErrConflict if the id exists.
	CreateAccount(ctx context.Context, a Account) error
	// GetAccount returns the account with the id, or ErrNotFound.
	GetAccount(ctx context.Context, id string) (Account, error)
	// ListAccounts returns every account ordered by id.
	ListAccounts(ctx context.Context) ([]Account, error)

	// CreateAccessKey inserts a key; ErrConflict if the id exists,
	// ErrNotFound if its AccountID names no account.
	CreateAccessKey(ctx context.Context, k AccessKey) error
	// GetAccessKey returns the key with the id, or ErrNotFound.
	GetAccessKey(ctx context.Context, accessKeyID string) (AccessKey, error)
	// ListAccessKeys returns the keys of one principal (by ARN) ordered by
	// creation time, then id.
	ListAccessKeys(ctx context.Context, principalARN string) ([]AccessKey, error)
	// SetAccessKeyStatus changes a key's status; ErrNotFound if absent.
	SetAccessKeyStatus(ctx context.Context, accessKeyID string, status KeyStatus) error
	// TouchAccessKey records the key's last use; ErrNotFound if absent.
	TouchAccessKey(ctx context.Context, accessKeyID string, at time.Time, region, service string) error
	// DeleteAccessKey removes a key; ErrNotFound if absent.
	DeleteAccessKey(ctx context.Context, accessKeyID string) error

	// GetMeta reads a deployment-wide value (for example the bootstrap
	// marker), or ErrNotFound.
	GetMeta(ctx context.Context, key string) ([]byte, error)
	// PutMetaIfAbsent stores value under key unless the key exists. It reports
	// whether this call stored it; when several servers race, exactly one wins.
	PutMetaIfAbsent(ctx context.Context, key string, value []byte) (bool, error)

	// Reset deletes every row of every table (not the schema) in one
	// transaction; used by dev mode to return to a fresh bootstrap.
	Reset(ctx context.Context) error

	// Ping checks the connection (used by /readyz).
	Ping(ctx context.Context) error
	// Close releases the connections.
	Close() error
}
