package iamsql

import (
	"context"
	"fmt"

	"github.com/bulwark-security/bulwark/internal/store"
)

const userCols = `u.account_id, u.name, u.user_id, u.path, u.arn, u.created_at, u.boundary_arn, u.tags`

func scanUser(scan func(...any) error) (store.User, error) {
	var u store.User
	var tags string
	if err := scan(&u.AccountID, &u.UserName, &u.UserID, &u.Path, &u.ARN, &u.CreatedAt, &u.PermissionsBoundary, &tags); err != nil {
		return store.User{}, err
	}
	var err error
	u.Tags, err = decodeTags(tags)
	return u, err
}

func (m *IAM) getUser(ctx context.Context, q Querier, account, name string) (store.User, error) {
	u, err := queryOne(ctx, q, `SELECT `+userCols+` FROM iam_users u WHERE u.account_id = ? AND u.lname = ?`,
		[]any{account, lower(name)}, scanUser)
	if err != nil {
		return store.User{}, m.notFound(err, fmt.Sprintf("get user %q", name))
	}
	return u, nil
}

// CreateUser implements store.IAM.
func (m *IAM) CreateUser(ctx context.Context, u store.User) error {
	what := fmt.Sprintf("create user %q", u.UserName)
	tags, err := encodeTags(mergeTags(nil, u.Tags))
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return m.write(ctx, what, func(q Querier) error {
		if err := m.checkBoundary(ctx, q, what, u.AccountID, u.PermissionsBoundary); err != nil {
			return err
		}
		_, err := q.Exec(ctx, `INSERT INTO iam_users (account_id, lname, name, user_id, path, arn, created_at, boundary_arn, tags)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			u.AccountID, lower(u.UserName), u.UserName, u.UserID, u.Path, u.ARN, u.CreatedAt, u.PermissionsBoundary, tags)
		if err != nil {
			return m.b.MapErr(err, what)
		}
		return nil
	})
}

// GetUser implements store.IAM.
func (m *IAM) GetUser(ctx context.Context, account, name string) (store.User, error) {
	var u store.User
	err := m.b.Read(ctx, func(q Querier) error {
		var err error
		u, err = m.getUser(ctx, q, account, name)
		return err
	})
	return u, err
}

// ListUsers implements store.IAM.
func (m *IAM) ListUsers(ctx context.Context, account string, p store.Page) ([]store.User, bool, error) {
	n, marker, plen, prefix := pageArgs(p)
	var out []store.User
	err := m.b.Read(ctx, func(q Querier) error {
		var err error
		out, err = queryAll(ctx, q, `SELECT `+userCols+` FROM iam_users u
			WHERE u.account_id = ? AND u.lname > ? AND substr(u.path, 1, ?) = ? ORDER BY u.lname LIMIT ?`,
			[]any{account, marker, plen, prefix, n + 1}, scanUser)
		return err
	})
	if err != nil {
		return nil, false, m.b.MapErr(err, "list users")
	}
	out, more := cut(out, n)
	return out, more, nil
}

// UpdateUser implements store.IAM. Group memberships follow the rename by
// ON UPDATE CASCADE; attachments, inline policies and access keys here.
func (m *IAM) UpdateUser(ctx context.Context, account, name, newName, newPath string) error {
	what := fmt.Sprintf("update user %q", name)
	return m.write(ctx, what, func(q Querier) error {
		u, err := m.getUser(ctx, q, account, name)
		if err != nil {
			return err
		}
		if newName == "" {
			newName = u.UserName
		}
		if newPath == "" {
			newPath = u.Path
		}
		arn := rename(u.ARN, account, "user", newPath, newName)
		old, nl := lower(u.UserName), lower(newName)
		if _, err := q.Exec(ctx, `UPDATE iam_users SET lname = ?, name = ?, path = ?, arn = ? WHERE account_id = ? AND lname = ?`,
			nl, newName, newPath, arn, account, old); err != nil {
			return m.b.MapErr(err, what)
		}
		if err := m.renameEntity(ctx, q, what, account, store.EntityUser, old, nl, newName); err != nil {
			return err
		}
		if _, err := q.Exec(ctx, `UPDATE access_keys SET principal_arn = ?, user_name = ?
			WHERE principal_arn = ? AND principal_type = ?`,
			arn, newName, u.ARN, string(store.PrincipalUser)); err != nil {
			return m.b.MapErr(err, what+": move access keys")
		}
		return nil
	})
}

// renameEntity moves a user's or group's attachments and inline policies
// to its new name.
func (m *IAM) renameEntity(ctx context.Context, q Querier, what, account string, kind store.EntityKind, oldL, newL, newName string) error {
	for _, table := range []string{"iam_attachments", "iam_inline_policies"} {
		if _, err := q.Exec(ctx, `UPDATE `+table+` SET entity_lname = ?, entity_name = ?
			WHERE account_id = ? AND entity_kind = ? AND entity_lname = ?`,
			newL, newName, account, string(kind), oldL); err != nil {
			return m.b.MapErr(err, what+": move "+table)
		}
	}
	return nil
}

// entityDependents are the policies that block deleting a principal.
func entityDependents(account string, kind store.EntityKind, lname string) []dependent {
	args := []any{account, string(kind), lname}
	return []dependent{
		{"inline policies", `SELECT COUNT(*) FROM iam_inline_policies WHERE account_id = ? AND entity_kind = ? AND entity_lname = ?`, args},
		{"attached policies", `SELECT COUNT(*) FROM iam_attachments WHERE account_id = ? AND entity_kind = ? AND entity_lname = ?`, args},
	}
}

// DeleteUser implements store.IAM. As in AWS, a permissions boundary does
// not block the delete: the DeleteUser reference lists access keys, inline
// and attached policies and group memberships among what must go first,
// not the boundary (docs.aws.amazon.com/IAM/latest/APIReference/API_DeleteUser.html).
func (m *IAM) DeleteUser(ctx context.Context, account, name string) error {
	what := fmt.Sprintf("delete user %q", name)
	return m.write(ctx, what, func(q Querier) error {
		u, err := m.getUser(ctx, q, account, name)
		if err != nil {
			return err
		}
		l := lower(u.UserName)
		deps := append([]dependent{
			{"access keys", `SELECT COUNT(*) FROM access_keys WHERE principal_arn = ?`, []any{u.ARN}},
			{"group memberships", `SELECT COUNT(*) FROM iam_group_members WHERE account_id = ? AND user_lname = ?`, []any{account, l}},
		}, entityDependents(account, store.EntityUser, l)...)
		if err := m.checkDependents(ctx, q, what, deps); err != nil {
			return err
		}
		if _, err := q.Exec(ctx, `DELETE FROM iam_users WHERE account_id = ? AND lname = ?`, account, l); err != nil {
			return m.b.MapErr(err, what)
		}
		return nil
	})
}

// SetUserBoundary implements store.IAM.
func (m *IAM) SetUserBoundary(ctx context.Context, account, name, policyARN string) error {
	what := fmt.Sprintf("set permissions boundary of user %q", name)
	return m.write(ctx, what, func(q Querier) error {
		if err := m.checkBoundary(ctx, q, what, account, policyARN); err != nil {
			return err
		}
		return m.execOne(ctx, q, what, `UPDATE iam_users SET boundary_arn = ? WHERE account_id = ? AND lname = ?`,
			policyARN, account, lower(name))
	})
}

// CreateUserAccessKey implements store.IAM. The key's principal fields
// (type, ARN, id, user name) are taken from the stored user, so they cannot
// disagree with it.
func (m *IAM) CreateUserAccessKey(ctx context.Context, k store.AccessKey, maxKeys int) error {
	what := fmt.Sprintf("create access key %q for user %q", k.AccessKeyID, k.UserName)
	if k.Status != store.KeyActive && k.Status != store.KeyInactive {
		return fmt.Errorf("%s: invalid status %q", what, k.Status)
	}
	return m.write(ctx, what, func(q Querier) error {
		u, err := m.getUser(ctx, q, k.AccountID, k.UserName)
		if err != nil {
			return err
		}
		if maxKeys > 0 {
			n, err := count(ctx, q, `SELECT COUNT(*) FROM access_keys WHERE principal_arn = ?`, u.ARN)
			if err != nil {
				return m.b.MapErr(err, what)
			}
			if n >= maxKeys {
				return fmt.Errorf("%s: the user has %d access keys, the most allowed: %w", what, n, store.ErrLimitExceeded)
			}
		}
		secret := k.SealedSecret
		if secret == nil {
			secret = []byte{}
		}
		_, err = q.Exec(ctx, `INSERT INTO access_keys (access_key_id, account_id, principal_type, principal_arn,
			principal_id, user_name, status, sealed_secret, created_at, last_used_at, last_used_region, last_used_service)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			k.AccessKeyID, k.AccountID, string(store.PrincipalUser), u.ARN, u.UserID, u.UserName,
			string(k.Status), secret, k.CreatedAt, OptTime(k.LastUsedAt), k.LastUsedRegion, k.LastUsedService)
		if err != nil {
			return m.b.MapErr(err, what)
		}
		return nil
	})
}

// execOne runs a write that must change one row; none is ErrNotFound.
func (m *IAM) execOne(ctx context.Context, q Querier, what, query string, args ...any) error {
	n, err := q.Exec(ctx, query, args...)
	if err != nil {
		return m.b.MapErr(err, what)
	}
	if n == 0 {
		return fmt.Errorf("%s: %w", what, store.ErrNotFound)
	}
	return nil
}

// queryOne returns the first row of a query, or ErrNoRows.
func queryOne[T any](ctx context.Context, q Querier, query string, args []any, f func(func(...any) error) (T, error)) (T, error) {
	var v T
	found := false
	err := q.Query(ctx, query, args, func(scan func(...any) error) error {
		if found {
			return nil
		}
		var err error
		v, err = f(scan)
		found = err == nil
		return err
	})
	if err == nil && !found {
		err = ErrNoRows
	}
	return v, err
}

// queryAll collects every row of a query.
func queryAll[T any](ctx context.Context, q Querier, query string, args []any, f func(func(...any) error) (T, error)) ([]T, error) {
	out := []T{}
	err := q.Query(ctx, query, args, func(scan func(...any) error) error {
		v, err := f(scan)
		if err != nil {
			return err
		}
		out = append(out, v)
		return nil
	})
	return out, err
}
