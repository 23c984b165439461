package iamsql

import (
	"context"
	"fmt"

	"github.com/bulwark-security/bulwark/internal/store"
)

const groupCols = `g.account_id, g.name, g.group_id, g.path, g.arn, g.created_at`

func scanGroup(scan func(...any) error) (store.Group, error) {
	var g store.Group
	err := scan(&g.AccountID, &g.GroupName, &g.GroupID, &g.Path, &g.ARN, &g.CreatedAt)
	return g, err
}

func (m *IAM) getGroup(ctx context.Context, q Querier, account, name string) (store.Group, error) {
	g, err := queryOne(ctx, q, `SELECT `+groupCols+` FROM iam_groups g WHERE g.account_id = ? AND g.lname = ?`,
		[]any{account, lower(name)}, scanGroup)
	if err != nil {
		return store.Group{}, m.notFound(err, fmt.Sprintf("get group %q", name))
	}
	return g, nil
}

// CreateGroup implements store.IAM.
func (m *IAM) CreateGroup(ctx context.Context, g store.Group) error {
	what := fmt.Sprintf("create group %q", g.GroupName)
	return m.write(ctx, what, func(q Querier) error {
		_, err := q.Exec(ctx, `INSERT INTO iam_groups (account_id, lname, name, group_id, path, arn, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?)`,
			g.AccountID, lower(g.GroupName), g.GroupName, g.GroupID, g.Path, g.ARN, g.CreatedAt)
		if err != nil {
			return m.b.MapErr(err, what)
		}
		return nil
	})
}

// GetGroup implements store.IAM.
func (m *IAM) GetGroup(ctx context.Context, account, name string) (store.Group, error) {
	var g store.Group
	err := m.b.Read(ctx, func(q Querier) error {
		var err error
		g, err = m.getGroup(ctx, q, account, name)
		return err
	})
	return g, err
}

// ListGroups implements store.IAM.
func (m *IAM) ListGroups(ctx context.Context, account string, p store.Page) ([]store.Group, bool, error) {
	n, marker, plen, prefix := pageArgs(p)
	var out []store.Group
	err := m.b.Read(ctx, func(q Querier) error {
		var err error
		out, err = queryAll(ctx, q, `SELECT `+groupCols+` FROM iam_groups g
			WHERE g.account_id = ? AND g.lname > ? AND substr(g.path, 1, ?) = ? ORDER BY g.lname LIMIT ?`,
			[]any{account, marker, plen, prefix, n + 1}, scanGroup)
		return err
	})
	if err != nil {
		return nil, false, m.b.MapErr(err, "list groups")
	}
	out, more := cut(out, n)
	return out, more, nil
}

// UpdateGroup implements store.IAM. Memberships follow the rename by ON
// UPDATE CASCADE.
func (m *IAM) UpdateGroup(ctx context.Context, account, name, newName, newPath string) error {
	what := fmt.Sprintf("update group %q", name)
	return m.write(ctx, what, func(q Querier) error {
		g, err := m.getGroup(ctx, q, account, name)
		if err != nil {
			return err
		}
		if newName == "" {
			newName = g.GroupName
		}
		if newPath == "" {
			newPath = g.Path
		}
		old, nl := lower(g.GroupName), lower(newName)
		if _, err := q.Exec(ctx, `UPDATE iam_groups SET lname = ?, name = ?, path = ?, arn = ? WHERE account_id = ? AND lname = ?`,
			nl, newName, newPath, rename(g.ARN, account, "group", newPath, newName), account, old); err != nil {
			return m.b.MapErr(err, what)
		}
		return m.renameEntity(ctx, q, what, account, store.EntityGroup, old, nl, newName)
	})
}

// DeleteGroup implements store.IAM.
func (m *IAM) DeleteGroup(ctx context.Context, account, name string) error {
	what := fmt.Sprintf("delete group %q", name)
	return m.write(ctx, what, func(q Querier) error {
		g, err := m.getGroup(ctx, q, account, name)
		if err != nil {
			return err
		}
		l := lower(g.GroupName)
		deps := append([]dependent{
			{"members", `SELECT COUNT(*) FROM iam_group_members WHERE account_id = ? AND group_lname = ?`, []any{account, l}},
		}, entityDependents(account, store.EntityGroup, l)...)
		if err := m.checkDependents(ctx, q, what, deps); err != nil {
			return err
		}
		if _, err := q.Exec(ctx, `DELETE FROM iam_groups WHERE account_id = ? AND lname = ?`, account, l); err != nil {
			return m.b.MapErr(err, what)
		}
		return nil
	})
}

// AddUserToGroup implements store.IAM. maxGroupsPerUser <= 0 means no limit.
func (m *IAM) AddUserToGroup(ctx context.Context, account, group, user string, maxGroupsPerUser int) error {
	what := fmt.Sprintf("add user %q to group %q", user, group)
	return m.write(ctx, what, func(q Querier) error {
		if _, err := m.entityName(ctx, q, account, store.EntityGroup, group); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		if _, err := m.entityName(ctx, q, account, store.EntityUser, user); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		gl, ul := lower(group), lower(user)
		member, err := exists(ctx, q, `SELECT 1 FROM iam_group_members WHERE account_id = ? AND group_lname = ? AND user_lname = ?`, account, gl, ul)
		if err != nil {
			return m.b.MapErr(err, what)
		}
		if member {
			return nil
		}
		if maxGroupsPerUser > 0 {
			n, err := count(ctx, q, `SELECT COUNT(*) FROM iam_group_members WHERE account_id = ? AND user_lname = ?`, account, ul)
			if err != nil {
				return m.b.MapErr(err, what)
			}
			if n >= maxGroupsPerUser {
				return fmt.Errorf("%s: the user is in %d groups, the most allowed: %w", what, n, store.ErrLimitExceeded)
			}
		}
		if _, err := q.Exec(ctx, `INSERT INTO iam_group_members (account_id, group_lname, user_lname) VALUES (?, ?, ?)`, account, gl, ul); err != nil {
			return m.b.MapErr(err, what)
		}
		return nil
	})
}

// RemoveUserFromGroup implements store.IAM: ErrNotFound if the user is not
// a member (or either does not exist).
func (m *IAM) RemoveUserFromGroup(ctx context.Context, account, group, user string) error {
	what := fmt.Sprintf("remove user %q from group %q", user, group)
	return m.write(ctx, what, func(q Querier) error {
		return m.execOne(ctx, q, what, `DELETE FROM iam_group_members WHERE account_id = ? AND group_lname = ? AND user_lname = ?`,
			account, lower(group), lower(user))
	})
}

// ListGroupMembers implements store.IAM; ErrNotFound if the group does not exist.
func (m *IAM) ListGroupMembers(ctx context.Context, account, group string, p store.Page) ([]store.User, bool, error) {
	n, marker, plen, prefix := pageArgs(p)
	var out []store.User
	err := m.b.Read(ctx, func(q Querier) error {
		if _, err := m.entityName(ctx, q, account, store.EntityGroup, group); err != nil {
			return err
		}
		var err error
		out, err = queryAll(ctx, q, `SELECT `+userCols+` FROM iam_group_members x
			JOIN iam_users u ON u.account_id = x.account_id AND u.lname = x.user_lname
			WHERE x.account_id = ? AND x.group_lname = ? AND x.user_lname > ? AND substr(u.path, 1, ?) = ?
			ORDER BY x.user_lname LIMIT ?`,
			[]any{account, lower(group), marker, plen, prefix, n + 1}, scanUser)
		return m.mapErr(err, "query")
	})
	if err != nil {
		return nil, false, fmt.Errorf("list members of group %q: %w", group, err)
	}
	out, more := cut(out, n)
	return out, more, nil
}

// ListGroupsForUser implements store.IAM; ErrNotFound if the user does not exist.
func (m *IAM) ListGroupsForUser(ctx context.Context, account, user string, p store.Page) ([]store.Group, bool, error) {
	n, marker, plen, prefix := pageArgs(p)
	var out []store.Group
	err := m.b.Read(ctx, func(q Querier) error {
		if _, err := m.entityName(ctx, q, account, store.EntityUser, user); err != nil {
			return err
		}
		var err error
		out, err = queryAll(ctx, q, `SELECT `+groupCols+` FROM iam_group_members x
			JOIN iam_groups g ON g.account_id = x.account_id AND g.lname = x.group_lname
			WHERE x.account_id = ? AND x.user_lname = ? AND x.group_lname > ? AND substr(g.path, 1, ?) = ?
			ORDER BY x.group_lname LIMIT ?`,
			[]any{account, lower(user), marker, plen, prefix, n + 1}, scanGroup)
		return m.mapErr(err, "query")
	})
	if err != nil {
		return nil, false, fmt.Errorf("list groups of user %q: %w", user, err)
	}
	out, more := cut(out, n)
	return out, more, nil
}
