package iamsql

import (
	"context"
	"fmt"
	"time"

	"github.com/bulwark-security/bulwark/internal/store"
)

const roleCols = `r.account_id, r.name, r.role_id, r.path, r.arn, r.created_at, r.trust_policy, r.description,
	r.max_session_duration, r.boundary_arn, r.tags, r.last_used_at, r.last_used_region`

func scanRole(scan func(...any) error) (store.Role, error) {
	var r store.Role
	var tags string
	if err := scan(&r.AccountID, &r.RoleName, &r.RoleID, &r.Path, &r.ARN, &r.CreatedAt, &r.AssumeRolePolicyDocument,
		&r.Description, &r.MaxSessionDuration, &r.PermissionsBoundary, &tags, &r.LastUsedAt, &r.LastUsedRegion); err != nil {
		return store.Role{}, err
	}
	var err error
	r.Tags, err = decodeTags(tags)
	return r, err
}

func (m *IAM) getRole(ctx context.Context, q Querier, account, name string) (store.Role, error) {
	r, err := queryOne(ctx, q, `SELECT `+roleCols+` FROM iam_roles r WHERE r.account_id = ? AND r.lname = ?`,
		[]any{account, lower(name)}, scanRole)
	if err != nil {
		return store.Role{}, m.notFound(err, fmt.Sprintf("get role %q", name))
	}
	return r, nil
}

// CreateRole implements store.IAM.
func (m *IAM) CreateRole(ctx context.Context, r store.Role) error {
	what := fmt.Sprintf("create role %q", r.RoleName)
	tags, err := encodeTags(mergeTags(nil, r.Tags))
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return m.write(ctx, what, func(q Querier) error {
		if err := m.checkBoundary(ctx, q, what, r.AccountID, r.PermissionsBoundary); err != nil {
			return err
		}
		_, err := q.Exec(ctx, `INSERT INTO iam_roles (account_id, lname, name, role_id, path, arn, created_at, trust_policy,
			description, max_session_duration, boundary_arn, tags, last_used_at, last_used_region)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			r.AccountID, lower(r.RoleName), r.RoleName, r.RoleID, r.Path, r.ARN, r.CreatedAt, r.AssumeRolePolicyDocument,
			r.Description, r.MaxSessionDuration, r.PermissionsBoundary, tags, OptTime(r.LastUsedAt), r.LastUsedRegion)
		if err != nil {
			return m.b.MapErr(err, what)
		}
		return nil
	})
}

// GetRole implements store.IAM.
func (m *IAM) GetRole(ctx context.Context, account, name string) (store.Role, error) {
	var r store.Role
	err := m.b.Read(ctx, func(q Querier) error {
		var err error
		r, err = m.getRole(ctx, q, account, name)
		return err
	})
	return r, err
}

// ListRoles implements store.IAM.
func (m *IAM) ListRoles(ctx context.Context, account string, p store.Page) ([]store.Role, bool, error) {
	n, marker, plen, prefix := pageArgs(p)
	var out []store.Role
	err := m.b.Read(ctx, func(q Querier) error {
		var err error
		out, err = queryAll(ctx, q, `SELECT `+roleCols+` FROM iam_roles r
			WHERE r.account_id = ? AND r.lname > ? AND substr(r.path, 1, ?) = ? ORDER BY r.lname LIMIT ?`,
			[]any{account, marker, plen, prefix, n + 1}, scanRole)
		return err
	})
	if err != nil {
		return nil, false, m.b.MapErr(err, "list roles")
	}
	out, more := cut(out, n)
	return out, more, nil
}

// updateRole runs one UPDATE of a role by name.
func (m *IAM) updateRole(ctx context.Context, what, account, name, set string, args ...any) error {
	return m.write(ctx, what, func(q Querier) error {
		return m.execOne(ctx, q, what, `UPDATE iam_roles SET `+set+` WHERE account_id = ? AND lname = ?`,
			append(args, account, lower(name))...)
	})
}

// UpdateRole implements store.IAM.
func (m *IAM) UpdateRole(ctx context.Context, account, name string, description *string, maxSessionDuration *int) error {
	what := fmt.Sprintf("update role %q", name)
	return m.write(ctx, what, func(q Querier) error {
		r, err := m.getRole(ctx, q, account, name)
		if err != nil {
			return err
		}
		if description != nil {
			r.Description = *description
		}
		if maxSessionDuration != nil {
			r.MaxSessionDuration = *maxSessionDuration
		}
		return m.execOne(ctx, q, what, `UPDATE iam_roles SET description = ?, max_session_duration = ? WHERE account_id = ? AND lname = ?`,
			r.Description, r.MaxSessionDuration, account, lower(name))
	})
}

// UpdateAssumeRolePolicy implements store.IAM.
func (m *IAM) UpdateAssumeRolePolicy(ctx context.Context, account, name, document string) error {
	return m.updateRole(ctx, fmt.Sprintf("update trust policy of role %q", name), account, name, `trust_policy = ?`, document)
}

// SetRoleBoundary implements store.IAM.
func (m *IAM) SetRoleBoundary(ctx context.Context, account, name, policyARN string) error {
	what := fmt.Sprintf("set permissions boundary of role %q", name)
	return m.write(ctx, what, func(q Querier) error {
		if err := m.checkBoundary(ctx, q, what, account, policyARN); err != nil {
			return err
		}
		return m.execOne(ctx, q, what, `UPDATE iam_roles SET boundary_arn = ? WHERE account_id = ? AND lname = ?`,
			policyARN, account, lower(name))
	})
}

// TouchRole implements store.IAM. It alone does not bump the generation:
// it changes no policy, and it runs on every AssumeRole, which would
// otherwise empty every server's policy cache.
func (m *IAM) TouchRole(ctx context.Context, account, name string, at time.Time, region string) error {
	what := fmt.Sprintf("record use of role %q", name)
	return m.b.Write(ctx, func(q Querier) error {
		return m.execOne(ctx, q, what, `UPDATE iam_roles SET last_used_at = ?, last_used_region = ? WHERE account_id = ? AND lname = ?`,
			OptTime(at), region, account, lower(name))
	})
}

// DeleteRole implements store.IAM. A permissions boundary does not block it
// (AWS DeleteRole lists inline and attached policies and instance profiles).
func (m *IAM) DeleteRole(ctx context.Context, account, name string) error {
	what := fmt.Sprintf("delete role %q", name)
	return m.write(ctx, what, func(q Querier) error {
		r, err := m.getRole(ctx, q, account, name)
		if err != nil {
			return err
		}
		l := lower(r.RoleName)
		if err := m.checkDependents(ctx, q, what, entityDependents(account, store.EntityRole, l)); err != nil {
			return err
		}
		if _, err := q.Exec(ctx, `DELETE FROM iam_roles WHERE account_id = ? AND lname = ?`, account, l); err != nil {
			return m.b.MapErr(err, what)
		}
		return nil
	})
}
