package iamsql

import (
	"context"
	"fmt"

	"github.com/bulwark-security/bulwark/internal/store"
)

const oidcCols = `account_id, arn, url, client_ids, thumbprints, created_at, tags`

func scanOIDC(scan func(...any) error) (store.OIDCProvider, error) {
	var p store.OIDCProvider
	var ids, thumbs, tags string
	if err := scan(&p.AccountID, &p.ARN, &p.URL, &ids, &thumbs, &p.CreatedAt, &tags); err != nil {
		return store.OIDCProvider{}, err
	}
	var err error
	if p.ClientIDs, err = decodeStrings(ids); err != nil {
		return store.OIDCProvider{}, err
	}
	if p.Thumbprints, err = decodeStrings(thumbs); err != nil {
		return store.OIDCProvider{}, err
	}
	p.Tags, err = decodeTags(tags)
	return p, err
}

// CreateOIDCProvider implements store.IAM: ErrConflict if the ARN exists,
// ErrNotFound if the account does not.
func (m *IAM) CreateOIDCProvider(ctx context.Context, p store.OIDCProvider) error {
	what := fmt.Sprintf("create OIDC provider %q", p.ARN)
	ids, err := encodeStrings(p.ClientIDs)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	thumbs, err := encodeStrings(p.Thumbprints)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	tags, err := encodeTags(mergeTags(nil, p.Tags))
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return m.write(ctx, what, func(q Querier) error {
		_, err := q.Exec(ctx, `INSERT INTO iam_oidc_providers (`+oidcCols+`) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			p.AccountID, p.ARN, p.URL, ids, thumbs, p.CreatedAt, tags)
		return m.mapErr(err, what)
	})
}

// GetOIDCProvider implements store.IAM.
func (m *IAM) GetOIDCProvider(ctx context.Context, arn string) (store.OIDCProvider, error) {
	var p store.OIDCProvider
	err := m.b.Read(ctx, func(q Querier) error {
		var err error
		p, err = queryOne(ctx, q, `SELECT `+oidcCols+` FROM iam_oidc_providers WHERE arn = ?`, []any{arn}, scanOIDC)
		return err
	})
	if err != nil {
		return store.OIDCProvider{}, m.notFound(err, fmt.Sprintf("get OIDC provider %q", arn))
	}
	return p, nil
}

// ListOIDCProviders implements store.IAM, ordered by ARN.
func (m *IAM) ListOIDCProviders(ctx context.Context, account string) ([]store.OIDCProvider, error) {
	var out []store.OIDCProvider
	err := m.b.Read(ctx, func(q Querier) error {
		var err error
		out, err = queryAll(ctx, q, `SELECT `+oidcCols+` FROM iam_oidc_providers WHERE account_id = ? ORDER BY arn`, []any{account}, scanOIDC)
		return err
	})
	if err != nil {
		return nil, m.b.MapErr(err, "list OIDC providers")
	}
	return out, nil
}

// UpdateOIDCProvider implements store.IAM: a nil list keeps the stored
// one, a non-nil one (even empty) replaces it.
func (m *IAM) UpdateOIDCProvider(ctx context.Context, arn string, clientIDs, thumbprints []string) error {
	what := fmt.Sprintf("update OIDC provider %q", arn)
	set, args := ``, []any{}
	for _, f := range []struct {
		col  string
		list []string
	}{{"client_ids", clientIDs}, {"thumbprints", thumbprints}} {
		if f.list == nil {
			continue
		}
		enc, err := encodeStrings(f.list)
		if err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		if set != "" {
			set += ", "
		}
		set, args = set+f.col+` = ?`, append(args, enc)
	}
	return m.write(ctx, what, func(q Querier) error {
		if set == "" {
			ok, err := exists(ctx, q, `SELECT 1 FROM iam_oidc_providers WHERE arn = ?`, arn)
			if err == nil && !ok {
				return fmt.Errorf("%s: %w", what, store.ErrNotFound)
			}
			return m.mapErr(err, what)
		}
		return m.execOne(ctx, q, what, `UPDATE iam_oidc_providers SET `+set+` WHERE arn = ?`, append(args, arn)...)
	})
}

// DeleteOIDCProvider implements store.IAM.
func (m *IAM) DeleteOIDCProvider(ctx context.Context, arn string) error {
	what := fmt.Sprintf("delete OIDC provider %q", arn)
	return m.write(ctx, what, func(q Querier) error {
		return m.execOne(ctx, q, what, `DELETE FROM iam_oidc_providers WHERE arn = ?`, arn)
	})
}
