package iamsql

import (
	"context"
	"fmt"
	"time"

	"github.com/bulwark-security/bulwark/internal/store"
)

// policyCols selects a managed policy with its attachment and boundary
// counts. scoped counts only entities of one account (its three '?' come
// first in the arguments): an AWS managed policy is shared by every account.
func policyCols(scoped bool) string {
	var a, u, r string
	if scoped {
		a, u, r = ` AND a.account_id = ?`, ` AND u.account_id = ?`, ` AND r.account_id = ?`
	}
	return `p.account_id, p.name, p.policy_id, p.path, p.arn, p.default_version, p.description, p.created_at, p.updated_at, p.tags,
		(SELECT COUNT(*) FROM iam_attachments a WHERE a.policy_arn = p.arn` + a + `),
		(SELECT COUNT(*) FROM iam_users u WHERE u.boundary_arn = p.arn` + u + `) +
		(SELECT COUNT(*) FROM iam_roles r WHERE r.boundary_arn = p.arn` + r + `)`
}

func scanPolicy(scan func(...any) error) (store.ManagedPolicy, error) {
	var p store.ManagedPolicy
	var tags string
	if err := scan(&p.AccountID, &p.PolicyName, &p.PolicyID, &p.Path, &p.ARN, &p.DefaultVersionID, &p.Description,
		&p.CreatedAt, &p.UpdatedAt, &tags, &p.AttachmentCount, &p.PermissionsBoundaryUsageCount); err != nil {
		return store.ManagedPolicy{}, err
	}
	var err error
	p.Tags, err = decodeTags(tags)
	return p, err
}

// cutPolicies trims a policy listing fetched with LIMIT n+2 to about n
// items. Policies are ordered by name, then ARN, and an AWS managed policy
// may share its name with a customer one; a page never ends between the
// two, so a marker that is a name skips neither (the page then has n+1).
func cutPolicies(ps []store.ManagedPolicy, n int) ([]store.ManagedPolicy, bool) {
	if len(ps) <= n {
		return ps, false
	}
	k := n
	for k < len(ps) && lower(ps[k].PolicyName) == lower(ps[n-1].PolicyName) {
		k++
	}
	return ps[:k], k < len(ps)
}

func (m *IAM) getPolicy(ctx context.Context, q Querier, arn string) (store.ManagedPolicy, error) {
	p, err := queryOne(ctx, q, `SELECT `+policyCols(false)+` FROM iam_policies p WHERE p.arn = ?`, []any{arn}, scanPolicy)
	if err != nil {
		return store.ManagedPolicy{}, m.notFound(err, fmt.Sprintf("get policy %q", arn))
	}
	return p, nil
}

// CreatePolicy implements store.IAM. DefaultVersionID is set to "v1";
// UpdatedAt defaults to CreatedAt. The account must exist unless it is
// "aws".
func (m *IAM) CreatePolicy(ctx context.Context, p store.ManagedPolicy, document string) error {
	what := fmt.Sprintf("create policy %q", p.PolicyName)
	tags, err := encodeTags(mergeTags(nil, p.Tags))
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if p.UpdatedAt.IsZero() {
		p.UpdatedAt = p.CreatedAt
	}
	return m.write(ctx, what, func(q Querier) error {
		if p.AccountID != awsAccount {
			if err := m.checkAccount(ctx, q, what, p.AccountID); err != nil {
				return err
			}
		}
		if _, err := q.Exec(ctx, `INSERT INTO iam_policies (arn, account_id, lname, name, policy_id, path, default_version,
			description, created_at, updated_at, tags, next_version) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			p.ARN, p.AccountID, lower(p.PolicyName), p.PolicyName, p.PolicyID, p.Path, "v1",
			p.Description, p.CreatedAt, p.UpdatedAt, tags, 2); err != nil {
			return m.b.MapErr(err, what)
		}
		_, err := q.Exec(ctx, `INSERT INTO iam_policy_versions (policy_arn, version_id, num, document, created_at) VALUES (?, ?, ?, ?, ?)`,
			p.ARN, "v1", 1, document, p.CreatedAt)
		return m.mapErr(err, what+": version v1")
	})
}

// GetPolicy implements store.IAM. The counts of an AWS managed policy span
// every account; ListPolicies counts within the account it lists.
func (m *IAM) GetPolicy(ctx context.Context, arn string) (store.ManagedPolicy, error) {
	var p store.ManagedPolicy
	err := m.b.Read(ctx, func(q Querier) error {
		var err error
		p, err = m.getPolicy(ctx, q, arn)
		return err
	})
	return p, err
}

// ListPolicies implements store.IAM. scope is "Local", "AWS", or "All"
// ("" means "All").
func (m *IAM) ListPolicies(ctx context.Context, account, scope string, onlyAttached bool, p store.Page) ([]store.ManagedPolicy, bool, error) {
	var a1, a2 string
	switch scope {
	case "Local":
		a1, a2 = account, account
	case "AWS":
		a1, a2 = awsAccount, awsAccount
	case "All", "":
		a1, a2 = account, awsAccount
	default:
		return nil, false, fmt.Errorf("list policies: unknown scope %q", scope)
	}
	n, marker, plen, prefix := pageArgs(p)
	query := `SELECT ` + policyCols(true) + ` FROM iam_policies p
		WHERE p.account_id IN (?, ?) AND p.lname > ? AND substr(p.path, 1, ?) = ?`
	args := []any{account, account, account, a1, a2, marker, plen, prefix}
	if onlyAttached {
		query += ` AND EXISTS (SELECT 1 FROM iam_attachments x WHERE x.policy_arn = p.arn AND x.account_id = ?)`
		args = append(args, account)
	}
	query += ` ORDER BY p.lname, p.arn LIMIT ?`
	args = append(args, n+2)
	var out []store.ManagedPolicy
	err := m.b.Read(ctx, func(q Querier) error {
		var err error
		out, err = queryAll(ctx, q, query, args, scanPolicy)
		return err
	})
	if err != nil {
		return nil, false, m.b.MapErr(err, "list policies")
	}
	out, more := cutPolicies(out, n)
	return out, more, nil
}

// DeletePolicy implements store.IAM.
func (m *IAM) DeletePolicy(ctx context.Context, arn string) error {
	what := fmt.Sprintf("delete policy %q", arn)
	return m.write(ctx, what, func(q Querier) error {
		if _, err := m.getPolicy(ctx, q, arn); err != nil {
			return err
		}
		err := m.checkDependents(ctx, q, what, []dependent{
			{"attachments", `SELECT COUNT(*) FROM iam_attachments WHERE policy_arn = ?`, []any{arn}},
			{"users with it as permissions boundary", `SELECT COUNT(*) FROM iam_users WHERE boundary_arn = ?`, []any{arn}},
			{"roles with it as permissions boundary", `SELECT COUNT(*) FROM iam_roles WHERE boundary_arn = ?`, []any{arn}},
			{"non-default versions", `SELECT COUNT(*) FROM iam_policy_versions v JOIN iam_policies p ON p.arn = v.policy_arn
				WHERE v.policy_arn = ? AND v.version_id <> p.default_version`, []any{arn}},
		})
		if err != nil {
			return err
		}
		if _, err := q.Exec(ctx, `DELETE FROM iam_policy_versions WHERE policy_arn = ?`, arn); err != nil {
			return m.b.MapErr(err, what)
		}
		_, err = q.Exec(ctx, `DELETE FROM iam_policies WHERE arn = ?`, arn)
		return m.mapErr(err, what)
	})
}

// CreatePolicyVersion implements store.IAM. Version ids come from a
// per-policy counter, so a deleted version's id is never reused. The
// policy's UpdatedAt becomes at, as AWS's UpdateDate is the newest
// version's date. maxVersions <= 0 means no limit.
func (m *IAM) CreatePolicyVersion(ctx context.Context, arn, document string, setDefault bool, maxVersions int, at time.Time) (store.PolicyVersion, error) {
	what := fmt.Sprintf("create version of policy %q", arn)
	var v store.PolicyVersion
	err := m.write(ctx, what, func(q Querier) error {
		var next, have int
		err := q.QueryRow(ctx, `SELECT p.next_version, (SELECT COUNT(*) FROM iam_policy_versions v WHERE v.policy_arn = p.arn)
			FROM iam_policies p WHERE p.arn = ?`, []any{arn}, &next, &have)
		if err != nil {
			return m.notFound(err, what)
		}
		if maxVersions > 0 && have >= maxVersions {
			return fmt.Errorf("%s: it has %d versions, the most allowed: %w", what, have, store.ErrLimitExceeded)
		}
		v = store.PolicyVersion{PolicyARN: arn, VersionID: fmt.Sprintf("v%d", next), Document: document, IsDefault: setDefault, CreatedAt: micros(at)}
		if _, err := q.Exec(ctx, `INSERT INTO iam_policy_versions (policy_arn, version_id, num, document, created_at) VALUES (?, ?, ?, ?, ?)`,
			arn, v.VersionID, next, document, at); err != nil {
			return m.b.MapErr(err, what)
		}
		set, args := `next_version = ?, updated_at = ?`, []any{next + 1, at}
		if setDefault {
			set, args = set+`, default_version = ?`, append(args, v.VersionID)
		}
		_, err = q.Exec(ctx, `UPDATE iam_policies SET `+set+` WHERE arn = ?`, append(args, arn)...)
		return m.mapErr(err, what)
	})
	if err != nil {
		return store.PolicyVersion{}, err
	}
	return v, nil
}

const versionCols = `v.policy_arn, v.version_id, v.document, v.created_at, p.default_version`

func scanVersion(scan func(...any) error) (store.PolicyVersion, error) {
	var v store.PolicyVersion
	var def string
	if err := scan(&v.PolicyARN, &v.VersionID, &v.Document, &v.CreatedAt, &def); err != nil {
		return store.PolicyVersion{}, err
	}
	v.IsDefault = v.VersionID == def
	return v, nil
}

// GetPolicyVersion implements store.IAM.
func (m *IAM) GetPolicyVersion(ctx context.Context, arn, versionID string) (store.PolicyVersion, error) {
	var v store.PolicyVersion
	err := m.b.Read(ctx, func(q Querier) error {
		var err error
		v, err = queryOne(ctx, q, `SELECT `+versionCols+` FROM iam_policy_versions v JOIN iam_policies p ON p.arn = v.policy_arn
			WHERE v.policy_arn = ? AND v.version_id = ?`, []any{arn, versionID}, scanVersion)
		return err
	})
	if err != nil {
		return store.PolicyVersion{}, m.notFound(err, fmt.Sprintf("get version %q of policy %q", versionID, arn))
	}
	return v, nil
}

// ListPolicyVersions implements store.IAM: oldest first (v1, v2, ...);
// ErrNotFound if the policy does not exist.
func (m *IAM) ListPolicyVersions(ctx context.Context, arn string) ([]store.PolicyVersion, error) {
	what := fmt.Sprintf("list versions of policy %q", arn)
	var out []store.PolicyVersion
	err := m.b.Read(ctx, func(q Querier) error {
		var err error
		out, err = queryAll(ctx, q, `SELECT `+versionCols+` FROM iam_policy_versions v JOIN iam_policies p ON p.arn = v.policy_arn
			WHERE v.policy_arn = ? ORDER BY v.num`, []any{arn}, scanVersion)
		return err
	})
	if err != nil {
		return nil, m.b.MapErr(err, what)
	}
	if len(out) == 0 { // every policy has its default version
		return nil, fmt.Errorf("%s: %w", what, store.ErrNotFound)
	}
	return out, nil
}

// SetDefaultPolicyVersion implements store.IAM.
func (m *IAM) SetDefaultPolicyVersion(ctx context.Context, arn, versionID string) error {
	what := fmt.Sprintf("set default version of policy %q to %q", arn, versionID)
	return m.write(ctx, what, func(q Querier) error {
		ok, err := exists(ctx, q, `SELECT 1 FROM iam_policy_versions WHERE policy_arn = ? AND version_id = ?`, arn, versionID)
		if err != nil {
			return m.b.MapErr(err, what)
		}
		if !ok {
			return fmt.Errorf("%s: %w", what, store.ErrNotFound)
		}
		return m.execOne(ctx, q, what, `UPDATE iam_policies SET default_version = ? WHERE arn = ?`, versionID, arn)
	})
}

// DeletePolicyVersion implements store.IAM.
func (m *IAM) DeletePolicyVersion(ctx context.Context, arn, versionID string) error {
	what := fmt.Sprintf("delete version %q of policy %q", versionID, arn)
	return m.write(ctx, what, func(q Querier) error {
		var def string
		if err := q.QueryRow(ctx, `SELECT default_version FROM iam_policies WHERE arn = ?`, []any{arn}, &def); err != nil {
			return m.notFound(err, what)
		}
		if def == versionID {
			return fmt.Errorf("%s: it is the default version: %w", what, store.ErrDeleteConflict)
		}
		return m.execOne(ctx, q, what, `DELETE FROM iam_policy_versions WHERE policy_arn = ? AND version_id = ?`, arn, versionID)
	})
}

// AttachPolicy implements store.IAM. The policy must be the account's own
// or an AWS managed one. maxAttached <= 0 means no limit.
func (m *IAM) AttachPolicy(ctx context.Context, account string, kind store.EntityKind, entity, policyARN string, maxAttached int) error {
	what := fmt.Sprintf("attach policy %q to %s %q", policyARN, kind, entity)
	return m.write(ctx, what, func(q Querier) error {
		display, err := m.entityName(ctx, q, account, kind, entity)
		if err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		ok, err := exists(ctx, q, `SELECT 1 FROM iam_policies WHERE arn = ? AND account_id IN (?, ?)`, policyARN, account, awsAccount)
		if err != nil {
			return m.b.MapErr(err, what)
		}
		if !ok {
			return fmt.Errorf("%s: policy: %w", what, store.ErrNotFound)
		}
		l := lower(entity)
		attached, err := exists(ctx, q, `SELECT 1 FROM iam_attachments WHERE account_id = ? AND entity_kind = ? AND entity_lname = ? AND policy_arn = ?`,
			account, string(kind), l, policyARN)
		if err != nil {
			return m.b.MapErr(err, what)
		}
		if attached {
			return nil
		}
		if maxAttached > 0 {
			n, err := count(ctx, q, `SELECT COUNT(*) FROM iam_attachments WHERE account_id = ? AND entity_kind = ? AND entity_lname = ?`,
				account, string(kind), l)
			if err != nil {
				return m.b.MapErr(err, what)
			}
			if n >= maxAttached {
				return fmt.Errorf("%s: it has %d attached policies, the most allowed: %w", what, n, store.ErrLimitExceeded)
			}
		}
		_, err = q.Exec(ctx, `INSERT INTO iam_attachments (account_id, entity_kind, entity_lname, entity_name, policy_arn) VALUES (?, ?, ?, ?, ?)`,
			account, string(kind), l, display, policyARN)
		return m.mapErr(err, what)
	})
}

// DetachPolicy implements store.IAM: ErrNotFound if it is not attached.
func (m *IAM) DetachPolicy(ctx context.Context, account string, kind store.EntityKind, entity, policyARN string) error {
	what := fmt.Sprintf("detach policy %q from %s %q", policyARN, kind, entity)
	return m.write(ctx, what, func(q Querier) error {
		return m.execOne(ctx, q, what, `DELETE FROM iam_attachments WHERE account_id = ? AND entity_kind = ? AND entity_lname = ? AND policy_arn = ?`,
			account, string(kind), lower(entity), policyARN)
	})
}

// ListAttachedPolicies implements store.IAM; ErrNotFound if the entity does
// not exist. Pages end as in ListPolicies.
func (m *IAM) ListAttachedPolicies(ctx context.Context, account string, kind store.EntityKind, entity string, p store.Page) ([]store.ManagedPolicy, bool, error) {
	what := fmt.Sprintf("list policies attached to %s %q", kind, entity)
	n, marker, plen, prefix := pageArgs(p)
	var out []store.ManagedPolicy
	err := m.b.Read(ctx, func(q Querier) error {
		if _, err := m.entityName(ctx, q, account, kind, entity); err != nil {
			return err
		}
		var err error
		out, err = queryAll(ctx, q, `SELECT `+policyCols(true)+` FROM iam_attachments x JOIN iam_policies p ON p.arn = x.policy_arn
			WHERE x.account_id = ? AND x.entity_kind = ? AND x.entity_lname = ? AND p.lname > ? AND substr(p.path, 1, ?) = ?
			ORDER BY p.lname, p.arn LIMIT ?`,
			[]any{account, account, account, account, string(kind), lower(entity), marker, plen, prefix, n + 2}, scanPolicy)
		return m.mapErr(err, "query")
	})
	if err != nil {
		return nil, false, fmt.Errorf("%s: %w", what, err)
	}
	out, more := cutPolicies(out, n)
	return out, more, nil
}

// ListEntitiesForPolicy implements store.IAM: the users, groups and roles
// the policy is attached to (AccountID, EntityKind and EntityName set),
// ordered by account, kind and name; ErrNotFound if the policy does not
// exist. An AWS managed policy's list spans every account: callers filter
// by AccountID.
func (m *IAM) ListEntitiesForPolicy(ctx context.Context, arn string) ([]store.InlinePolicy, error) {
	what := fmt.Sprintf("list entities of policy %q", arn)
	var out []store.InlinePolicy
	err := m.b.Read(ctx, func(q Querier) error {
		if _, err := m.getPolicy(ctx, q, arn); err != nil {
			return err
		}
		var err error
		out, err = queryAll(ctx, q, `SELECT account_id, entity_kind, entity_name FROM iam_attachments
			WHERE policy_arn = ? ORDER BY account_id, entity_kind, entity_lname`, []any{arn},
			func(scan func(...any) error) (store.InlinePolicy, error) {
				var e store.InlinePolicy
				var kind string
				err := scan(&e.AccountID, &kind, &e.EntityName)
				e.EntityKind = store.EntityKind(kind)
				return e, err
			})
		return m.mapErr(err, "query")
	})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return out, nil
}
