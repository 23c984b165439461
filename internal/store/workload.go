package store

import (
	"context"
	"time"
)

// Workload is one registered workload: a named service that runs under one
// IAM role and proves who it is with a join token or an OIDC token before
// the server issues it credentials.
type Workload struct {
	ARN        string // arn:aws:bulwark-workloads:<region>:<account>:workload/<name>
	AccountID  string
	Region     string
	Name       string
	WorkloadID string // "wl-" and 24 hex digits, never reused
	RoleARN    string
	// Selectors are the workload's attributes: "jwt:iss", "jwt:sub" and
	// "jwt:aud" say which OIDC tokens attest it; any other key is a plain
	// attribute that trust policies can test.
	Selectors []Tag
	CreatedAt time.Time
	UpdatedAt time.Time
	// RevokedAt is when the workload was revoked; zero while it is active.
	RevokedAt time.Time
}

// Revoked reports whether the workload has been revoked.
func (w *Workload) Revoked() bool { return !w.RevokedAt.IsZero() }

// JoinToken is a one-time attestation secret, stored only as the SHA-256
// hash of its value.
type JoinToken struct {
	Hash        []byte
	WorkloadARN string
	CreatedAt   time.Time
	ExpiresAt   time.Time
}

// AgentToken is the secret an attested agent presents for each credential
// refresh, stored only as the SHA-256 hash of its value. Attestation is how
// it was obtained ("join_token" or "jwt").
type AgentToken struct {
	Hash        []byte
	WorkloadARN string
	Attestation string
	CreatedAt   time.Time
	ExpiresAt   time.Time
}

// Workloads is the workload identity part of the store. Every method is
// atomic, also across servers sharing a PostgreSQL database: a join token
// is redeemed by exactly one caller however many race for it.
type Workloads interface {
	// CreateWorkload inserts a workload; ErrConflict if its ARN, its name
	// in the account and region, or its WorkloadID exists, ErrNotFound if
	// the account does not.
	CreateWorkload(ctx context.Context, w Workload) error
	// GetWorkload returns the workload (revoked or not), or ErrNotFound.
	GetWorkload(ctx context.Context, arn string) (Workload, error)
	// ListWorkloads returns up to max workloads of an account and region
	// ordered by name, starting after the name in marker, and whether
	// more follow.
	ListWorkloads(ctx context.Context, account, region, marker string, max int) ([]Workload, bool, error)
	// UpdateWorkload changes an active workload's role and selectors;
	// ErrNotFound if it is absent or revoked.
	UpdateWorkload(ctx context.Context, arn, roleARN string, selectors []Tag, at time.Time) error
	// RevokeWorkload marks a workload revoked and deletes its join and
	// agent tokens; ErrNotFound if it is absent or already revoked.
	RevokeWorkload(ctx context.Context, arn string, at time.Time) error
	// DeleteWorkload removes a workload (active or revoked) with its
	// tokens, so its name can be registered again; ErrNotFound if absent.
	DeleteWorkload(ctx context.Context, arn string) error
	// CreateJoinToken stores a join token for an active workload;
	// ErrNotFound if the workload is absent or revoked, ErrConflict if the
	// hash exists.
	CreateJoinToken(ctx context.Context, t JoinToken) error
	// RedeemJoinToken uses up the join token with the hash if it is
	// unused, unexpired at now and its workload active, and stores agent
	// (for that workload) in the same transaction. It returns the workload,
	// or ErrNotFound for any other token: absent, used, expired, revoked.
	RedeemJoinToken(ctx context.Context, hash []byte, now time.Time, agent AgentToken) (Workload, error)
	// CreateAgentToken stores an agent token for an active workload;
	// ErrNotFound if the workload is absent or revoked.
	CreateAgentToken(ctx context.Context, t AgentToken) error
	// UseAgentToken returns the active workload of the agent token with the
	// hash if the token is unexpired at now, and extends its expiry to
	// extendTo (never shortens it); ErrNotFound otherwise.
	UseAgentToken(ctx context.Context, hash []byte, now, extendTo time.Time) (Workload, AgentToken, error)
	// DeleteExpiredWorkloadTokens removes join tokens and agent tokens
	// that expired before the time, and used join tokens used before it.
	DeleteExpiredWorkloadTokens(ctx context.Context, before time.Time) (int64, error)
}
