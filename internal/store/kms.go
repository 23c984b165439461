package store

import (
	"context"
	"time"
)

// KMSKey is one KMS key's metadata. Key material lives in KMSKeyMaterial
// rows, sealed by the keyring. Gen is bumped by every change to the key,
// its policy or its grants; updates are conditional on it (optimistic
// concurrency), so two servers cannot lose each other's change.
type KMSKey struct {
	KeyID       string // UUID
	AccountID   string
	Region      string
	ARN         string
	Description string
	KeySpec     string // SYMMETRIC_DEFAULT, RSA_2048, ECC_NIST_P256, HMAC_256, ...
	KeyUsage    string // ENCRYPT_DECRYPT, SIGN_VERIFY, GENERATE_VERIFY_MAC
	Origin      string // AWS_KMS
	Manager     string // CUSTOMER or AWS
	State       string // Enabled, Disabled, PendingDeletion
	CreatedAt   time.Time
	// DeletionDate is set (non-zero) only while State is PendingDeletion.
	DeletionDate      time.Time
	PendingWindowDays int
	Policy            string // the key policy document
	Tags              []Tag
	// RotationPeriodDays is 0 when automatic rotation is off.
	RotationPeriodDays int
	// NextRotation is when automatic rotation is due (zero when off).
	NextRotation   time.Time
	CurrentVersion int    // the key material version new ciphertexts use
	PublicKey      []byte // DER SubjectPublicKeyInfo for asymmetric keys, else empty
	Gen            int64
}

// KMSKeyMaterial is one version of a key's material, sealed.
type KMSKeyMaterial struct {
	KeyID        string
	Version      int
	Sealed       []byte
	RotationType string // "" for the original material, AUTOMATIC or ON_DEMAND
	CreatedAt    time.Time
}

// KMSAlias maps an alias name ("alias/...") to a key in one account and
// region.
type KMSAlias struct {
	AccountID string
	Region    string
	Name      string
	KeyID     string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// KMSGrant is a grant on a key. Operations are KMS operation names;
// Constraints is the grant constraints as JSON ("" for none). TokenHash is
// a hash of the grant token (the token itself is not stored).
type KMSGrant struct {
	GrantID        string
	KeyID          string
	Name           string
	Grantee        string
	Retiring       string
	IssuingAccount string
	Operations     []string
	Constraints    string
	TokenHash      []byte
	CreatedAt      time.Time
}

// KMS is the KMS part of the store.
type KMS interface {
	// CreateKMSKey inserts a key, its first material version and, if
	// alias is non-nil, an alias to it, in one transaction: ErrConflict if
	// the key id or the alias exists (nothing is inserted then).
	CreateKMSKey(ctx context.Context, k KMSKey, m KMSKeyMaterial, alias *KMSAlias) error
	// GetKMSKey returns a key, or ErrNotFound.
	GetKMSKey(ctx context.Context, keyID string) (KMSKey, error)
	// ListKMSKeys returns up to limit keys of an account and region
	// ordered by key id, starting after the key id after ("" for the
	// first page).
	ListKMSKeys(ctx context.Context, account, region, after string, limit int) ([]KMSKey, error)
	// UpdateKMSKey writes k's mutable fields (description, state, deletion
	// date, pending window, policy, tags, rotation period and next
	// rotation) if the stored Gen still equals k.Gen, and returns the new
	// Gen; ErrConflict if it changed meanwhile, ErrNotFound if absent.
	UpdateKMSKey(ctx context.Context, k KMSKey) (int64, error)
	// RotateKMSKey adds material version fromVersion+1 and makes it
	// current, setting the next automatic rotation, only if the key's
	// current version is still fromVersion: ErrConflict otherwise, so of
	// several servers rotating the same key exactly one wins.
	RotateKMSKey(ctx context.Context, keyID string, fromVersion int, m KMSKeyMaterial, next time.Time) error
	// GetKMSKeyMaterial returns one material version, or ErrNotFound.
	GetKMSKeyMaterial(ctx context.Context, keyID string, version int) (KMSKeyMaterial, error)
	// ListKMSKeyMaterial returns every material version of a key, oldest
	// first.
	ListKMSKeyMaterial(ctx context.Context, keyID string) ([]KMSKeyMaterial, error)
	// DueKMSKeys returns up to limit Enabled keys whose automatic rotation
	// is due at now, and up to limit PendingDeletion keys whose deletion
	// date has passed.
	DueKMSKeys(ctx context.Context, now time.Time, limit int) (rotate, remove []KMSKey, err error)
	// DeleteKMSKey removes a key pending deletion with its material,
	// aliases and grants, if its Gen is still gen (ErrConflict otherwise).
	DeleteKMSKey(ctx context.Context, keyID string, gen int64) error

	// CreateKMSAlias inserts an alias: ErrConflict if the name exists in
	// the account and region, ErrNotFound if the key does not exist.
	CreateKMSAlias(ctx context.Context, a KMSAlias) error
	// GetKMSAlias returns an alias, or ErrNotFound.
	GetKMSAlias(ctx context.Context, account, region, name string) (KMSAlias, error)
	// UpdateKMSAlias points an existing alias at another key; ErrNotFound
	// if the alias or key does not exist.
	UpdateKMSAlias(ctx context.Context, account, region, name, keyID string, at time.Time) error
	// DeleteKMSAlias removes an alias; ErrNotFound if absent.
	DeleteKMSAlias(ctx context.Context, account, region, name string) error
	// ListKMSAliases returns up to limit aliases of an account and region
	// (of one key if keyID is not ""), ordered by name, after the name after.
	ListKMSAliases(ctx context.Context, account, region, keyID, after string, limit int) ([]KMSAlias, error)

	// CreateKMSGrant inserts a grant and bumps the key's Gen:
	// ErrLimitExceeded if the key already has max grants, ErrNotFound if
	// the key does not exist, ErrConflict if the id or token hash exists.
	CreateKMSGrant(ctx context.Context, g KMSGrant, max int) error
	// ListKMSGrants returns every grant of a key ordered by creation time,
	// then id.
	ListKMSGrants(ctx context.Context, keyID string) ([]KMSGrant, error)
	// ListKMSRetirableGrants returns up to limit grants whose retiring
	// principal is retiring, ordered by id, after the grant id after.
	ListKMSRetirableGrants(ctx context.Context, retiring, after string, limit int) ([]KMSGrant, error)
	// GetKMSGrantByToken returns the grant with a token hash, or ErrNotFound.
	GetKMSGrantByToken(ctx context.Context, tokenHash []byte) (KMSGrant, error)
	// DeleteKMSGrant removes a grant of a key and bumps the key's Gen;
	// ErrNotFound if absent.
	DeleteKMSGrant(ctx context.Context, keyID, grantID string) error
}
