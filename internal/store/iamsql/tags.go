package iamsql

import (
	"context"
	"fmt"

	"github.com/bulwark-security/bulwark/internal/store"
)

// tagRow returns the table and key condition of a taggable resource. Users
// and roles are named; policies and OIDC providers are given by ARN and
// must belong to the account (AWS managed policies cannot be tagged).
func tagRow(account string, kind store.TagTarget, id string) (table, where string, args []any, err error) {
	switch kind {
	case store.TagUser:
		return "iam_users", `account_id = ? AND lname = ?`, []any{account, lower(id)}, nil
	case store.TagRole:
		return "iam_roles", `account_id = ? AND lname = ?`, []any{account, lower(id)}, nil
	case store.TagPolicy:
		return "iam_policies", `account_id = ? AND arn = ?`, []any{account, id}, nil
	case store.TagOIDCProvider:
		return "iam_oidc_providers", `account_id = ? AND arn = ?`, []any{account, id}, nil
	}
	return "", "", nil, fmt.Errorf("unknown tag target %q", kind)
}

// retag reads a resource's tags, applies change and writes them back, in
// one write transaction.
func (m *IAM) retag(ctx context.Context, what, account string, kind store.TagTarget, id string, change func([]store.Tag) ([]store.Tag, error)) error {
	table, where, args, err := tagRow(account, kind, id)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return m.write(ctx, what, func(q Querier) error {
		var raw string
		if err := q.QueryRow(ctx, `SELECT tags FROM `+table+` WHERE `+where, args, &raw); err != nil {
			return m.notFound(err, what)
		}
		tags, err := decodeTags(raw)
		if err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		if tags, err = change(tags); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		enc, err := encodeTags(tags)
		if err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		_, err = q.Exec(ctx, `UPDATE `+table+` SET tags = ? WHERE `+where, append([]any{enc}, args...)...)
		return m.mapErr(err, what)
	})
}

// TagResource implements store.IAM. maxTags <= 0 means no limit.
func (m *IAM) TagResource(ctx context.Context, account string, kind store.TagTarget, id string, tags []store.Tag, maxTags int) error {
	return m.retag(ctx, fmt.Sprintf("tag %s %q", kind, id), account, kind, id, func(old []store.Tag) ([]store.Tag, error) {
		merged := mergeTags(old, tags)
		if maxTags > 0 && len(merged) > maxTags {
			return nil, fmt.Errorf("%d tags would exceed the limit of %d: %w", len(merged), maxTags, store.ErrLimitExceeded)
		}
		return merged, nil
	})
}

// UntagResource implements store.IAM. Keys the resource does not have are
// ignored, as in AWS.
func (m *IAM) UntagResource(ctx context.Context, account string, kind store.TagTarget, id string, keys []string) error {
	return m.retag(ctx, fmt.Sprintf("untag %s %q", kind, id), account, kind, id, func(old []store.Tag) ([]store.Tag, error) {
		drop := make(map[string]bool, len(keys))
		for _, k := range keys {
			drop[k] = true
		}
		var out []store.Tag
		for _, t := range old {
			if !drop[t.Key] {
				out = append(out, t)
			}
		}
		return out, nil
	})
}
