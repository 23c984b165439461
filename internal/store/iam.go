package store

import (
	"context"
	"errors"
	"time"
)

// IAM errors beyond ErrNotFound and ErrConflict. Store methods check the
// rules below inside their own transaction, so two servers racing cannot
// break them (a check in the service followed by a write could).
var (
	// ErrDeleteConflict means the entity still has dependents (a user with
	// access keys, group memberships or policies; a group with members; a
	// policy still attached; ...). Wrapped with a message naming them.
	ErrDeleteConflict = errors.New("store: entity has dependents")
	// ErrLimitExceeded means a quota given to the method would be exceeded.
	ErrLimitExceeded = errors.New("store: limit exceeded")
)

// Tag is an IAM tag. Keys are case-sensitive; a resource's tags are kept in
// insertion order (overwriting a value keeps its place), and a resource
// without tags has nil Tags.
type Tag struct {
	Key   string
	Value string
}

// EntityKind names the kind of IAM principal a policy is inline in or
// attached to.
type EntityKind string

const (
	EntityUser  EntityKind = "user"
	EntityGroup EntityKind = "group"
	EntityRole  EntityKind = "role"
)

// User is an IAM user. Name lookups are case-insensitive as in AWS (a user
// "Bob" blocks creating "bob"); the stored name keeps its case.
type User struct {
	AccountID string
	UserName  string
	UserID    string // "AIDA..." + 17 characters
	Path      string // "/" or "/a/b/"
	ARN       string
	CreatedAt time.Time
	// PermissionsBoundary is a managed policy ARN, or "".
	PermissionsBoundary string
	Tags                []Tag
}

// Group is an IAM group.
type Group struct {
	AccountID string
	GroupName string
	GroupID   string // "AGPA..."
	Path      string
	ARN       string
	CreatedAt time.Time
}

// Role is an IAM role.
type Role struct {
	AccountID string
	RoleName  string
	RoleID    string // "AROA..."
	Path      string
	ARN       string
	CreatedAt time.Time
	// AssumeRolePolicyDocument is the trust policy, as given (JSON).
	AssumeRolePolicyDocument string
	Description              string
	MaxSessionDuration       int // seconds, 3600..43200
	PermissionsBoundary      string
	Tags                     []Tag
	// LastUsedAt/LastUsedRegion: RoleLastUsed; zero if never assumed.
	LastUsedAt     time.Time
	LastUsedRegion string
}

// ManagedPolicy is a customer managed policy, or an AWS managed one
// (AccountID "aws", ARN arn:aws:iam::aws:policy/...).
type ManagedPolicy struct {
	AccountID        string
	PolicyName       string
	PolicyID         string // "ANPA..."
	Path             string
	ARN              string
	DefaultVersionID string // "v1"
	Description      string
	CreatedAt        time.Time
	UpdatedAt        time.Time
	Tags             []Tag
	// AttachmentCount and PermissionsBoundaryUsageCount are computed by the
	// store when read.
	AttachmentCount               int
	PermissionsBoundaryUsageCount int
}

// PolicyVersion is one version of a managed policy.
type PolicyVersion struct {
	PolicyARN string
	VersionID string // "v1", "v2", ...: never reused within a policy
	Document  string
	IsDefault bool
	CreatedAt time.Time
}

// InlinePolicy is a policy embedded in a user, group or role.
type InlinePolicy struct {
	AccountID  string
	EntityKind EntityKind
	EntityName string
	PolicyName string
	Document   string
}

// OIDCProvider is an IAM OpenID Connect identity provider.
type OIDCProvider struct {
	AccountID   string
	ARN         string // arn:aws:iam::<acct>:oidc-provider/<host/path>
	URL         string // https://...
	ClientIDs   []string
	Thumbprints []string
	CreatedAt   time.Time
	Tags        []Tag
}

// Page selects one page of a listing ordered by name, case-insensitively:
// names greater than Marker (the last name of the previous page), at most
// MaxItems (1..1000; 0 means 100), with the given path prefix ("" or "/"
// for all). Managed policy listings order by name, then ARN, and never end
// a page between an AWS managed and a customer policy of the same name, so
// such a page may hold MaxItems+1.
type Page struct {
	PathPrefix string
	Marker     string
	MaxItems   int
}

// IAM is the IAM part of the store. Every mutating method except TouchRole
// also bumps the deployment's IAM generation in the same transaction, so
// servers that cache compiled policies notice the change (see
// IAMGeneration). Quotas passed as max... arguments mean no limit when <= 0.
// Access keys of
// users use the Store's access key methods (plus CreateUserAccessKey); a
// user's keys carry PrincipalARN = the user's ARN and UserName = its name,
// and UpdateUser and DeleteUser keep them consistent.
type IAM interface {
	// Generation is a counter every IAM write increases. Servers compare it
	// to the value their policy cache was built at.
	IAMGeneration(ctx context.Context) (int64, error)

	CreateUser(ctx context.Context, u User) error // ErrConflict on a name (case-insensitive)
	GetUser(ctx context.Context, account, name string) (User, error)
	// ListUsers returns a page and whether more follow.
	ListUsers(ctx context.Context, account string, p Page) ([]User, bool, error)
	// UpdateUser renames and/or moves a user (newName/newPath "" = keep);
	// inline policies, attachments, memberships and keys follow the rename.
	UpdateUser(ctx context.Context, account, name, newName, newPath string) error
	// DeleteUser fails with ErrDeleteConflict while the user has access keys,
	// group memberships, inline or attached policies.
	DeleteUser(ctx context.Context, account, name string) error
	SetUserBoundary(ctx context.Context, account, name, policyARN string) error // "" removes it
	// CreateUserAccessKey inserts an IAM user's access key; ErrNotFound if
	// the user does not exist, ErrLimitExceeded if it has maxKeys already.
	// PrincipalType, PrincipalARN, PrincipalID and UserName are taken from
	// the stored user.
	CreateUserAccessKey(ctx context.Context, k AccessKey, maxKeys int) error

	CreateGroup(ctx context.Context, g Group) error
	GetGroup(ctx context.Context, account, name string) (Group, error)
	ListGroups(ctx context.Context, account string, p Page) ([]Group, bool, error)
	UpdateGroup(ctx context.Context, account, name, newName, newPath string) error
	// DeleteGroup fails with ErrDeleteConflict while the group has members,
	// inline or attached policies.
	DeleteGroup(ctx context.Context, account, name string) error
	// AddUserToGroup is idempotent; maxGroupsPerUser bounds memberships.
	AddUserToGroup(ctx context.Context, account, group, user string, maxGroupsPerUser int) error
	RemoveUserFromGroup(ctx context.Context, account, group, user string) error // ErrNotFound if not a member
	ListGroupMembers(ctx context.Context, account, group string, p Page) ([]User, bool, error)
	ListGroupsForUser(ctx context.Context, account, user string, p Page) ([]Group, bool, error)

	CreateRole(ctx context.Context, r Role) error
	GetRole(ctx context.Context, account, name string) (Role, error)
	ListRoles(ctx context.Context, account string, p Page) ([]Role, bool, error)
	// UpdateRole sets description and max session duration (nil = keep).
	UpdateRole(ctx context.Context, account, name string, description *string, maxSessionDuration *int) error
	UpdateAssumeRolePolicy(ctx context.Context, account, name, document string) error
	SetRoleBoundary(ctx context.Context, account, name, policyARN string) error
	// TouchRole records RoleLastUsed. It does not bump the generation: it
	// changes no policy and runs on every AssumeRole.
	TouchRole(ctx context.Context, account, name string, at time.Time, region string) error
	// DeleteRole fails with ErrDeleteConflict while inline or attached
	// policies remain.
	DeleteRole(ctx context.Context, account, name string) error

	// Tags on users, roles, policies and OIDC providers, by kind and
	// name/ARN. TagResource merges (overwriting values of existing keys) and
	// fails with ErrLimitExceeded past maxTags.
	TagResource(ctx context.Context, account string, kind TagTarget, id string, tags []Tag, maxTags int) error
	UntagResource(ctx context.Context, account string, kind TagTarget, id string, keys []string) error

	// CreatePolicy stores a managed policy with its first version v1
	// (default). ErrConflict if the name exists in the account.
	CreatePolicy(ctx context.Context, p ManagedPolicy, document string) error
	// GetPolicy's counts of an AWS managed policy span every account.
	GetPolicy(ctx context.Context, arn string) (ManagedPolicy, error)
	// ListPolicies lists the account's policies (scope "Local"), the AWS
	// managed ones (scope "AWS") or both ("All" or ""); onlyAttached keeps
	// those attached to an entity of the account. Counts are the account's.
	ListPolicies(ctx context.Context, account, scope string, onlyAttached bool, p Page) ([]ManagedPolicy, bool, error)
	// DeletePolicy fails with ErrDeleteConflict while attached or used as a
	// boundary, or while it has non-default versions.
	DeletePolicy(ctx context.Context, arn string) error
	// CreatePolicyVersion adds the next version; ErrLimitExceeded when the
	// policy already has maxVersions.
	CreatePolicyVersion(ctx context.Context, arn, document string, setDefault bool, maxVersions int, at time.Time) (PolicyVersion, error)
	GetPolicyVersion(ctx context.Context, arn, versionID string) (PolicyVersion, error)
	ListPolicyVersions(ctx context.Context, arn string) ([]PolicyVersion, error) // oldest first
	SetDefaultPolicyVersion(ctx context.Context, arn, versionID string) error
	// DeletePolicyVersion fails with ErrDeleteConflict for the default version.
	DeletePolicyVersion(ctx context.Context, arn, versionID string) error

	// AttachPolicy is idempotent; ErrNotFound if the entity does not exist
	// or the policy is neither the account's nor AWS managed;
	// ErrLimitExceeded past maxAttached per entity. DetachPolicy:
	// ErrNotFound if not attached.
	AttachPolicy(ctx context.Context, account string, kind EntityKind, entity, policyARN string, maxAttached int) error
	DetachPolicy(ctx context.Context, account string, kind EntityKind, entity, policyARN string) error
	ListAttachedPolicies(ctx context.Context, account string, kind EntityKind, entity string, p Page) ([]ManagedPolicy, bool, error)
	// ListEntitiesForPolicy returns the (AccountID, EntityKind, EntityName)
	// a policy is attached to, ordered by account, kind and name. For an AWS
	// managed policy they span every account: callers filter by AccountID.
	ListEntitiesForPolicy(ctx context.Context, arn string) ([]InlinePolicy, error)

	// PutInlinePolicy creates or replaces; ErrNotFound if the entity does not exist.
	PutInlinePolicy(ctx context.Context, p InlinePolicy) error
	GetInlinePolicy(ctx context.Context, account string, kind EntityKind, entity, name string) (InlinePolicy, error)
	ListInlinePolicies(ctx context.Context, account string, kind EntityKind, entity string, p Page) ([]string, bool, error)
	DeleteInlinePolicy(ctx context.Context, account string, kind EntityKind, entity, name string) error

	CreateOIDCProvider(ctx context.Context, p OIDCProvider) error
	GetOIDCProvider(ctx context.Context, arn string) (OIDCProvider, error)
	ListOIDCProviders(ctx context.Context, account string) ([]OIDCProvider, error)
	// UpdateOIDCProvider replaces the lists that are non-nil (an empty,
	// non-nil list clears one).
	UpdateOIDCProvider(ctx context.Context, arn string, clientIDs, thumbprints []string) error
	DeleteOIDCProvider(ctx context.Context, arn string) error
}

// TagTarget is the kind of resource tags are on.
type TagTarget string

const (
	TagUser         TagTarget = "user"
	TagRole         TagTarget = "role"
	TagPolicy       TagTarget = "policy"        // id is the policy ARN
	TagOIDCProvider TagTarget = "oidc-provider" // id is the provider ARN
)
