package postgres

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/bulwark-security/bulwark/internal/store"
	"github.com/bulwark-security/bulwark/internal/store/iamsql"
)

// The IAM part of the store is package iamsql's, over the backend below.
// Writes are READ COMMITTED transactions whose first statement updates the
// one iam_generation row: its row lock, held to commit, serializes IAM
// writes across every server sharing the database, and each later
// statement sees everything committed before the lock was granted. Reads
// are REPEATABLE READ, READ ONLY transactions: one snapshot.

var _ store.IAM = (*Store)(nil)

func (s *Store) iam() *iamsql.IAM { return iamsql.New(backend{s}) }

type backend struct{ s *Store }

func (b backend) Write(ctx context.Context, fn func(iamsql.Querier) error) error {
	return pgx.BeginFunc(ctx, b.s.pool, func(tx pgx.Tx) error { return fn(querier{tx}) })
}

func (b backend) Read(ctx context.Context, fn func(iamsql.Querier) error) error {
	return pgx.BeginTxFunc(ctx, b.s.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly},
		func(tx pgx.Tx) error { return fn(querier{tx}) })
}

func (backend) MapErr(err error, what string) error { return mapErr(err, what) }

// querier runs iamsql's statements in one transaction.
type querier struct{ tx pgx.Tx }

// rebound caches iamsql's '?' statements rewritten to $1, $2, ... (its
// statements have no '?' inside literals).
var rebound sync.Map

func rebind(query string) string {
	if v, ok := rebound.Load(query); ok {
		return v.(string)
	}
	var b strings.Builder
	n := 0
	for _, r := range query {
		if r == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	rebound.Store(query, b.String())
	return b.String()
}

// errUnstorable refuses text PostgreSQL cannot hold (NUL, invalid UTF-8).
var errUnstorable = errors.New("text with a NUL byte or invalid UTF-8")

// args converts iamsql's arguments and reports whether all text is
// storable: a key PostgreSQL cannot hold cannot exist, so lookups with one
// find nothing instead of failing.
func args(in []any) ([]any, bool) {
	out := make([]any, len(in))
	for i, a := range in {
		switch v := a.(type) {
		case string:
			if !storable(v) {
				return nil, false
			}
			out[i] = v
		case time.Time:
			out[i] = pgTime(v)
		case iamsql.OptTime:
			out[i] = nullTime(time.Time(v))
		default:
			out[i] = a
		}
	}
	return out, true
}

// scanDests swaps *time.Time destinations for nullable ones, and returns
// the function that copies them back (NULL as the zero time, else UTC).
func scanDests(in []any) ([]any, func()) {
	out := make([]any, len(in))
	var fix []func()
	for i, d := range in {
		t, ok := d.(*time.Time)
		if !ok {
			out[i] = d
			continue
		}
		var p *time.Time
		out[i] = &p
		fix = append(fix, func() {
			if p == nil {
				*t = time.Time{}
			} else {
				*t = p.UTC()
			}
		})
	}
	return out, func() {
		for _, f := range fix {
			f()
		}
	}
}

func (q querier) Exec(ctx context.Context, query string, a ...any) (int64, error) {
	conv, ok := args(a)
	if !ok {
		return 0, errUnstorable
	}
	tag, err := q.tx.Exec(ctx, rebind(query), conv...)
	if err != nil {
		return 0, err
	}
	return tag.RowsAffected(), nil
}

func (q querier) QueryRow(ctx context.Context, query string, a []any, dest ...any) error {
	conv, ok := args(a)
	if !ok {
		return iamsql.ErrNoRows
	}
	d, fix := scanDests(dest)
	err := q.tx.QueryRow(ctx, rebind(query), conv...).Scan(d...)
	if errors.Is(err, pgx.ErrNoRows) {
		return iamsql.ErrNoRows
	}
	if err != nil {
		return err
	}
	fix()
	return nil
}

func (q querier) Query(ctx context.Context, query string, a []any, row func(scan func(dest ...any) error) error) error {
	conv, ok := args(a)
	if !ok {
		return nil
	}
	rows, err := q.tx.Query(ctx, rebind(query), conv...)
	if err != nil {
		return err
	}
	defer rows.Close()
	scan := func(dest ...any) error {
		d, fix := scanDests(dest)
		if err := rows.Scan(d...); err != nil {
			return err
		}
		fix()
		return nil
	}
	for rows.Next() {
		if err := row(scan); err != nil {
			return err
		}
	}
	return rows.Err()
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
