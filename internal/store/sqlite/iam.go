package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/bulwark-security/bulwark/internal/store"
	"github.com/bulwark-security/bulwark/internal/store/iamsql"
)

// The IAM part of the store is package iamsql's, over the backend below:
// writes are transactions on the single writer connection (BEGIN
// IMMEDIATE, so they serialize with every other writer, in this process or
// another), reads are deferred transactions on the reader pool.

var _ store.IAM = (*Store)(nil)

func (s *Store) iam() *iamsql.IAM { return iamsql.New(backend{s}) }

type backend struct{ s *Store }

func (b backend) Write(ctx context.Context, fn func(iamsql.Querier) error) error {
	return b.run(ctx, b.s.w, fn)
}

func (b backend) Read(ctx context.Context, fn func(iamsql.Querier) error) error {
	return b.run(ctx, b.s.r, fn)
}

func (b backend) run(ctx context.Context, db *sql.DB, fn func(iamsql.Querier) error) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	q := &stmtQuerier{tx: tx, db: db, cache: &b.s.stmts}
	defer q.prepareMissing(ctx)
	defer tx.Rollback()
	if err := fn(q); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

func (backend) MapErr(err error, what string) error { return mapErr(err, what) }

// args converts a part's arguments: times are stored as unix microseconds.
func args(in []any) []any {
	out := make([]any, len(in))
	for i, a := range in {
		switch v := a.(type) {
		case time.Time:
			out[i] = toMicros(v)
		case iamsql.OptTime:
			out[i] = nullMicros(time.Time(v))
		default:
			out[i] = a
		}
	}
	return out
}

// microsScanner reads INTEGER microseconds (NULL as the zero time).
type microsScanner struct{ t *time.Time }

func (m microsScanner) Scan(v any) error {
	switch v := v.(type) {
	case nil:
		*m.t = time.Time{}
	case int64:
		*m.t = fromMicros(v)
	default:
		return fmt.Errorf("time column holds %T", v)
	}
	return nil
}

func dests(in []any) []any {
	out := make([]any, len(in))
	for i, d := range in {
		if t, ok := d.(*time.Time); ok {
			out[i] = microsScanner{t}
		} else {
			out[i] = d
		}
	}
	return out
}

// IAMGeneration implements store.IAM.
func (s *Store) IAMGeneration(ctx context.Context) (int64, error) {
	return s.iam().IAMGeneration(ctx)
}

// CreateUser implements store.IAM.
func (s *Store) CreateUser(ctx context.Context, u store.User) error {
	return s.iam().CreateUser(ctx, u)
}

// GetUser implements store.IAM.
func (s *Store) GetUser(ctx context.Context, account, name string) (store.User, error) {
	return s.iam().GetUser(ctx, account, name)
}

// ListUsers implements store.IAM.
func (s *Store) ListUsers(ctx context.Context, account string, p store.Page) ([]store.User, bool, error) {
	return s.iam().ListUsers(ctx, account, p)
}

// UpdateUser implements store.IAM.
func (s *Store) UpdateUser(ctx context.Context, account, name, newName, newPath string) error {
	return s.iam().UpdateUser(ctx, account, name, newName, newPath)
}

// DeleteUser implements store.IAM.
func (s *Store) DeleteUser(ctx context.Context, account, name string) error {
	return s.iam().DeleteUser(ctx, account, name)
}

// SetUserBoundary implements store.IAM.
func (s *Store) SetUserBoundary(ctx context.Context, account, name, policyARN string) error {
	return s.iam().SetUserBoundary(ctx, account, name, policyARN)
}

// CreateUserAccessKey implements store.IAM.
func (s *Store) CreateUserAccessKey(ctx context.Context, k store.AccessKey, maxKeys int) error {
	return s.iam().CreateUserAccessKey(ctx, k, maxKeys)
}

// CreateGroup implements store.IAM.
func (s *Store) CreateGroup(ctx context.Context, g store.Group) error {
	return s.iam().CreateGroup(ctx, g)
}

// GetGroup implements store.IAM.
func (s *Store) GetGroup(ctx context.Context, account, name string) (store.Group, error) {
	return s.iam().GetGroup(ctx, account, name)
}

// ListGroups implements store.IAM.
func (s *Store) ListGroups(ctx context.Context, account string, p store.Page) ([]store.Group, bool, error) {
	return s.iam().ListGroups(ctx, account, p)
}

// UpdateGroup implements store.IAM.
func (s *Store) UpdateGroup(ctx context.Context, account, name, newName, newPath string) error {
	return s.iam().UpdateGroup(ctx, account, name, newName, newPath)
}

// DeleteGroup implements store.IAM.
func (s *Store) DeleteGroup(ctx context.Context, account, name string) error {
	return s.iam().DeleteGroup(ctx, account, name)
}

// AddUserToGroup implements store.IAM.
func (s *Store) AddUserToGroup(ctx context.Context, account, group, user string, maxGroupsPerUser int) error {
	return s.iam().AddUserToGroup(ctx, account, group, user, maxGroupsPerUser)
}

// RemoveUserFromGroup implements store.IAM.
func (s *Store) RemoveUserFromGroup(ctx context.Context, account, group, user string) error {
	return s.iam().RemoveUserFromGroup(ctx, account, group, user)
}

// ListGroupMembers implements store.IAM.
func (s *Store) ListGroupMembers(ctx context.Context, account, group string, p store.Page) ([]store.User, bool, error) {
	return s.iam().ListGroupMembers(ctx, account, group, p)
}

// ListGroupsForUser implements store.IAM.
func (s *Store) ListGroupsForUser(ctx context.Context, account, user string, p store.Page) ([]store.Group, bool, error) {
	return s.iam().ListGroupsForUser(ctx, account, user, p)
}

// CreateRole implements store.IAM.
func (s *Store) CreateRole(ctx context.Context, r store.Role) error {
	return s.iam().CreateRole(ctx, r)
}

// GetRole implements store.IAM.
func (s *Store) GetRole(ctx context.Context, account, name string) (store.Role, error) {
	return s.iam().GetRole(ctx, account, name)
}

// ListRoles implements store.IAM.
func (s *Store) ListRoles(ctx context.Context, account string, p store.Page) ([]store.Role, bool, error) {
	return s.iam().ListRoles(ctx, account, p)
}

// UpdateRole implements store.IAM.
func (s *Store) UpdateRole(ctx context.Context, account, name string, description *string, maxSessionDuration *int) error {
	return s.iam().UpdateRole(ctx, account, name, description, maxSessionDuration)
}

// UpdateAssumeRolePolicy implements store.IAM.
func (s *Store) UpdateAssumeRolePolicy(ctx context.Context, account, name, document string) error {
	return s.iam().UpdateAssumeRolePolicy(ctx, account, name, document)
}

// SetRoleBoundary implements store.IAM.
func (s *Store) SetRoleBoundary(ctx context.Context, account, name, policyARN string) error {
	return s.iam().SetRoleBoundary(ctx, account, name, policyARN)
}

// TouchRole implements store.IAM.
func (s *Store) TouchRole(ctx context.Context, account, name string, at time.Time, region string) error {
	return s.iam().TouchRole(ctx, account, name, at, region)
}

// DeleteRole implements store.IAM.
func (s *Store) DeleteRole(ctx context.Context, account, name string) error {
	return s.iam().DeleteRole(ctx, account, name)
}

// TagResource implements store.IAM.
func (s *Store) TagResource(ctx context.Context, account string, kind store.TagTarget, id string, tags []store.Tag, maxTags int) error {
	return s.iam().TagResource(ctx, account, kind, id, tags, maxTags)
}

// UntagResource implements store.IAM.
func (s *Store) UntagResource(ctx context.Context, account string, kind store.TagTarget, id string, keys []string) error {
	return s.iam().UntagResource(ctx, account, kind, id, keys)
}

// CreatePolicy implements store.IAM.
func (s *Store) CreatePolicy(ctx context.Context, p store.ManagedPolicy, document string) error {
	return s.iam().CreatePolicy(ctx, p, document)
}

// GetPolicy implements store.IAM.
func (s *Store) GetPolicy(ctx context.Context, arn string) (store.ManagedPolicy, error) {
	return s.iam().GetPolicy(ctx, arn)
}

// ListPolicies implements store.IAM.
func (s *Store) ListPolicies(ctx context.Context, account, scope string, onlyAttached bool, p store.Page) ([]store.ManagedPolicy, bool, error) {
	return s.iam().ListPolicies(ctx, account, scope, onlyAttached, p)
}

// DeletePolicy implements store.IAM.
func (s *Store) DeletePolicy(ctx context.Context, arn string) error {
	return s.iam().DeletePolicy(ctx, arn)
}

// CreatePolicyVersion implements store.IAM.
func (s *Store) CreatePolicyVersion(ctx context.Context, arn, document string, setDefault bool, maxVersions int, at time.Time) (store.PolicyVersion, error) {
	return s.iam().CreatePolicyVersion(ctx, arn, document, setDefault, maxVersions, at)
}

// GetPolicyVersion implements store.IAM.
func (s *Store) GetPolicyVersion(ctx context.Context, arn, versionID string) (store.PolicyVersion, error) {
	return s.iam().GetPolicyVersion(ctx, arn, versionID)
}

// ListPolicyVersions implements store.IAM.
func (s *Store) ListPolicyVersions(ctx context.Context, arn string) ([]store.PolicyVersion, error) {
	return s.iam().ListPolicyVersions(ctx, arn)
}

// SetDefaultPolicyVersion implements store.IAM.
func (s *Store) SetDefaultPolicyVersion(ctx context.Context, arn, versionID string) error {
	return s.iam().SetDefaultPolicyVersion(ctx, arn, versionID)
}

// DeletePolicyVersion implements store.IAM.
func (s *Store) DeletePolicyVersion(ctx context.Context, arn, versionID string) error {
	return s.iam().DeletePolicyVersion(ctx, arn, versionID)
}

// AttachPolicy implements store.IAM.
func (s *Store) AttachPolicy(ctx context.Context, account string, kind store.EntityKind, entity, policyARN string, maxAttached int) error {
	return s.iam().AttachPolicy(ctx, account, kind, entity, policyARN, maxAttached)
}

// DetachPolicy implements store.IAM.
func (s *Store) DetachPolicy(ctx context.Context, account string, kind store.EntityKind, entity, policyARN string) error {
	return s.iam().DetachPolicy(ctx, account, kind, entity, policyARN)
}

// ListAttachedPolicies implements store.IAM.
func (s *Store) ListAttachedPolicies(ctx context.Context, account string, kind store.EntityKind, entity string, p store.Page) ([]store.ManagedPolicy, bool, error) {
	return s.iam().ListAttachedPolicies(ctx, account, kind, entity, p)
}

// ListEntitiesForPolicy implements store.IAM.
func (s *Store) ListEntitiesForPolicy(ctx context.Context, arn string) ([]store.InlinePolicy, error) {
	return s.iam().ListEntitiesForPolicy(ctx, arn)
}

// PutInlinePolicy implements store.IAM.
func (s *Store) PutInlinePolicy(ctx context.Context, p store.InlinePolicy) error {
	return s.iam().PutInlinePolicy(ctx, p)
}

// GetInlinePolicy implements store.IAM.
func (s *Store) GetInlinePolicy(ctx context.Context, account string, kind store.EntityKind, entity, name string) (store.InlinePolicy, error) {
	return s.iam().GetInlinePolicy(ctx, account, kind, entity, name)
}

// ListInlinePolicies implements store.IAM.
func (s *Store) ListInlinePolicies(ctx context.Context, account string, kind store.EntityKind, entity string, p store.Page) ([]string, bool, error) {
	return s.iam().ListInlinePolicies(ctx, account, kind, entity, p)
}

// DeleteInlinePolicy implements store.IAM.
func (s *Store) DeleteInlinePolicy(ctx context.Context, account string, kind store.EntityKind, entity, name string) error {
	return s.iam().DeleteInlinePolicy(ctx, account, kind, entity, name)
}

// CreateOIDCProvider implements store.IAM.
func (s *Store) CreateOIDCProvider(ctx context.Context, p store.OIDCProvider) error {
	return s.iam().CreateOIDCProvider(ctx, p)
}

// GetOIDCProvider implements store.IAM.
func (s *Store) GetOIDCProvider(ctx context.Context, arn string) (store.OIDCProvider, error) {
	return s.iam().GetOIDCProvider(ctx, arn)
}

// ListOIDCProviders implements store.IAM.
func (s *Store) ListOIDCProviders(ctx context.Context, account string) ([]store.OIDCProvider, error) {
	return s.iam().ListOIDCProviders(ctx, account)
}

// UpdateOIDCProvider implements store.IAM.
func (s *Store) UpdateOIDCProvider(ctx context.Context, arn string, clientIDs, thumbprints []string) error {
	return s.iam().UpdateOIDCProvider(ctx, arn, clientIDs, thumbprints)
}

// DeleteOIDCProvider implements store.IAM.
func (s *Store) DeleteOIDCProvider(ctx context.Context, arn string) error {
	return s.iam().DeleteOIDCProvider(ctx, arn)
}
