package iamsql

import (
	"context"
	"fmt"

	"github.com/bulwark-security/bulwark/internal/store"
)

// PutInlinePolicy implements store.IAM. Inline policy names are unique per
// entity case-insensitively; replacing one takes the new name's case.
func (m *IAM) PutInlinePolicy(ctx context.Context, p store.InlinePolicy) error {
	what := fmt.Sprintf("put inline policy %q of %s %q", p.PolicyName, p.EntityKind, p.EntityName)
	return m.write(ctx, what, func(q Querier) error {
		display, err := m.entityName(ctx, q, p.AccountID, p.EntityKind, p.EntityName)
		if err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		_, err = q.Exec(ctx, `INSERT INTO iam_inline_policies (account_id, entity_kind, entity_lname, entity_name, lname, name, document)
			VALUES (?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (account_id, entity_kind, entity_lname, lname) DO UPDATE SET name = excluded.name, document = excluded.document`,
			p.AccountID, string(p.EntityKind), lower(p.EntityName), display, lower(p.PolicyName), p.PolicyName, p.Document)
		return m.mapErr(err, what)
	})
}

// GetInlinePolicy implements store.IAM. EntityName is the entity's stored
// name.
func (m *IAM) GetInlinePolicy(ctx context.Context, account string, kind store.EntityKind, entity, name string) (store.InlinePolicy, error) {
	p := store.InlinePolicy{AccountID: account, EntityKind: kind}
	err := m.b.Read(ctx, func(q Querier) error {
		return q.QueryRow(ctx, `SELECT entity_name, name, document FROM iam_inline_policies
			WHERE account_id = ? AND entity_kind = ? AND entity_lname = ? AND lname = ?`,
			[]any{account, string(kind), lower(entity), lower(name)}, &p.EntityName, &p.PolicyName, &p.Document)
	})
	if err != nil {
		return store.InlinePolicy{}, m.notFound(err, fmt.Sprintf("get inline policy %q of %s %q", name, kind, entity))
	}
	return p, nil
}

// ListInlinePolicies implements store.IAM: names ordered case-insensitively
// (PathPrefix does not apply); ErrNotFound if the entity does not exist.
func (m *IAM) ListInlinePolicies(ctx context.Context, account string, kind store.EntityKind, entity string, p store.Page) ([]string, bool, error) {
	n, marker, _, _ := pageArgs(p)
	var out []string
	err := m.b.Read(ctx, func(q Querier) error {
		if _, err := m.entityName(ctx, q, account, kind, entity); err != nil {
			return err
		}
		var err error
		out, err = queryAll(ctx, q, `SELECT name FROM iam_inline_policies
			WHERE account_id = ? AND entity_kind = ? AND entity_lname = ? AND lname > ? ORDER BY lname LIMIT ?`,
			[]any{account, string(kind), lower(entity), marker, n + 1},
			func(scan func(...any) error) (string, error) {
				var s string
				err := scan(&s)
				return s, err
			})
		return m.mapErr(err, "query")
	})
	if err != nil {
		return nil, false, fmt.Errorf("list inline policies of %s %q: %w", kind, entity, err)
	}
	out, more := cut(out, n)
	return out, more, nil
}

// DeleteInlinePolicy implements store.IAM.
func (m *IAM) DeleteInlinePolicy(ctx context.Context, account string, kind store.EntityKind, entity, name string) error {
	what := fmt.Sprintf("delete inline policy %q of %s %q", name, kind, entity)
	return m.write(ctx, what, func(q Querier) error {
		return m.execOne(ctx, q, what, `DELETE FROM iam_inline_policies WHERE account_id = ? AND entity_kind = ? AND entity_lname = ? AND lname = ?`,
			account, string(kind), lower(entity), lower(name))
	})
}
