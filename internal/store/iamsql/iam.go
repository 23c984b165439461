package iamsql

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/bulwark-security/bulwark/internal/store"
)

// IAM implements store.IAM over a Backend. The zero value is not usable;
// create it with New.
type IAM struct {
	b Backend
	// now gives the first generation after the row is created (or Reset
	// emptied it); tests may replace it.
	now func() time.Time
}

var _ store.IAM = (*IAM)(nil)

// New returns the IAM store of a backend.
func New(b Backend) *IAM { return &IAM{b: b, now: time.Now} }

// awsAccount is the AccountID of AWS managed policies.
const awsAccount = "aws"

// Default and largest page sizes, as IAM's MaxItems.
const (
	defaultMaxItems = 100
	maxMaxItems     = 1000
)

// bumpGeneration is every write transaction's first statement. When the row
// is absent (new database, or after Reset) it starts at the current unix
// microsecond, so the generation never returns to a value a server may have
// cached before the reset.
const bumpGeneration = `INSERT INTO iam_generation AS g (id, n) VALUES (1, ?)
	ON CONFLICT (id) DO UPDATE SET n = g.n + 1`

// write runs fn in a write transaction that first bumps the generation.
func (m *IAM) write(ctx context.Context, what string, fn func(Querier) error) error {
	return m.b.Write(ctx, func(q Querier) error {
		if _, err := q.Exec(ctx, bumpGeneration, m.now().UnixMicro()); err != nil {
			return m.b.MapErr(err, what+": bump IAM generation")
		}
		return fn(q)
	})
}

// IAMGeneration implements store.IAM. It is 0 until the first IAM write.
func (m *IAM) IAMGeneration(ctx context.Context) (int64, error) {
	var n int64
	err := m.b.Read(ctx, func(q Querier) error {
		return q.QueryRow(ctx, `SELECT n FROM iam_generation WHERE id = 1`, nil, &n)
	})
	if errors.Is(err, ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, m.b.MapErr(err, "read IAM generation")
	}
	return n, nil
}

func lower(s string) string { return strings.ToLower(s) }

// pageArgs returns the page size and the arguments of the filter
// "lname > ? AND substr(path, 1, ?) = ?".
func pageArgs(p store.Page) (n int, marker string, prefixLen int, prefix string) {
	n = p.MaxItems
	if n <= 0 {
		n = defaultMaxItems
	}
	n = min(n, maxMaxItems)
	return n, lower(p.Marker), utf8.RuneCountInString(p.PathPrefix), p.PathPrefix
}

// cut trims a listing fetched with LIMIT n+1 to n items and says whether
// more follow.
func cut[T any](items []T, n int) ([]T, bool) {
	if len(items) > n {
		return items[:n], true
	}
	return items, false
}

// notFound wraps store.ErrNotFound, or returns err wrapped by the backend.
func (m *IAM) notFound(err error, what string) error {
	if errors.Is(err, ErrNoRows) {
		return fmt.Errorf("%s: %w", what, store.ErrNotFound)
	}
	return m.b.MapErr(err, what)
}

// exists reports whether the query returns a row.
func exists(ctx context.Context, q Querier, query string, args ...any) (bool, error) {
	var one int
	err := q.QueryRow(ctx, query, args, &one)
	if errors.Is(err, ErrNoRows) {
		return false, nil
	}
	return err == nil, err
}

// count runs a COUNT(*) query.
func count(ctx context.Context, q Querier, query string, args ...any) (int, error) {
	var n int
	err := q.QueryRow(ctx, query, args, &n)
	return n, err
}

// dependent is one kind of row that blocks a delete.
type dependent struct {
	label string // plural, e.g. "access keys"
	query string // SELECT COUNT(*) ...
	args  []any
}

// checkDependents returns an ErrDeleteConflict naming every kind of
// dependent that remains.
func (m *IAM) checkDependents(ctx context.Context, q Querier, what string, deps []dependent) error {
	var left []string
	for _, d := range deps {
		n, err := count(ctx, q, d.query, d.args...)
		if err != nil {
			return m.b.MapErr(err, what+": count "+d.label)
		}
		if n > 0 {
			left = append(left, fmt.Sprintf("%d %s", n, d.label))
		}
	}
	if len(left) > 0 {
		return fmt.Errorf("%s: it still has %s: %w", what, strings.Join(left, ", "), store.ErrDeleteConflict)
	}
	return nil
}

// entityTable returns the table of a kind of principal.
func entityTable(kind store.EntityKind) (string, error) {
	switch kind {
	case store.EntityUser:
		return "iam_users", nil
	case store.EntityGroup:
		return "iam_groups", nil
	case store.EntityRole:
		return "iam_roles", nil
	}
	return "", fmt.Errorf("unknown entity kind %q", kind)
}

// entityName returns the stored (display) name of a user, group or role,
// or ErrNotFound.
func (m *IAM) entityName(ctx context.Context, q Querier, account string, kind store.EntityKind, name string) (string, error) {
	what := fmt.Sprintf("%s %q", kind, name)
	table, err := entityTable(kind)
	if err != nil {
		return "", err
	}
	var display string
	err = q.QueryRow(ctx, `SELECT name FROM `+table+` WHERE account_id = ? AND lname = ?`, []any{account, lower(name)}, &display)
	if err != nil {
		return "", m.notFound(err, what)
	}
	return display, nil
}

// checkBoundary checks that a permissions boundary ("" for none) names a
// managed policy of the account or an AWS managed one.
func (m *IAM) checkBoundary(ctx context.Context, q Querier, what, account, arn string) error {
	if arn == "" {
		return nil
	}
	ok, err := exists(ctx, q, `SELECT 1 FROM iam_policies WHERE arn = ? AND account_id IN (?, ?)`, arn, account, awsAccount)
	if err != nil {
		return m.b.MapErr(err, what)
	}
	if !ok {
		return fmt.Errorf("%s: permissions boundary %q: %w", what, arn, store.ErrNotFound)
	}
	return nil
}

// checkAccount checks that a customer account exists (foreign keys cover
// the tables that reference accounts; policies cannot, for "aws").
func (m *IAM) checkAccount(ctx context.Context, q Querier, what, account string) error {
	ok, err := exists(ctx, q, `SELECT 1 FROM accounts WHERE id = ?`, account)
	if err != nil {
		return m.b.MapErr(err, what)
	}
	if !ok {
		return fmt.Errorf("%s: account %q: %w", what, account, store.ErrNotFound)
	}
	return nil
}

// rename returns arn with the path and name after the resource type
// (":user", ":group") replaced.
func rename(arn, account, typ, path, name string) string {
	if i := strings.Index(arn, ":"+typ+"/"); i >= 0 {
		return arn[:i+1+len(typ)] + path + name
	}
	return "arn:aws:iam::" + account + ":" + typ + path + name
}

// Tags are stored as a JSON array in insertion order: TagResource appends
// new keys and overwrites the values of existing ones in place.

func encodeTags(tags []store.Tag) (string, error) {
	if len(tags) == 0 {
		return "[]", nil
	}
	b, err := json.Marshal(tags)
	if err != nil {
		return "", fmt.Errorf("encode tags: %w", err)
	}
	return string(b), nil
}

func decodeTags(s string) ([]store.Tag, error) {
	var tags []store.Tag
	if err := json.Unmarshal([]byte(s), &tags); err != nil {
		return nil, fmt.Errorf("decode tags: %w", err)
	}
	if len(tags) == 0 {
		return nil, nil
	}
	return tags, nil
}

// mergeTags applies add to old: existing keys (case-sensitive) take the new
// value in place, new keys are appended in order.
func mergeTags(old, add []store.Tag) []store.Tag {
	out := append([]store.Tag(nil), old...)
	for _, t := range add {
		found := false
		for i := range out {
			if out[i].Key == t.Key {
				out[i].Value, found = t.Value, true
				break
			}
		}
		if !found {
			out = append(out, t)
		}
	}
	return out
}

func encodeStrings(ss []string) (string, error) {
	if len(ss) == 0 {
		return "[]", nil
	}
	b, err := json.Marshal(ss)
	if err != nil {
		return "", fmt.Errorf("encode list: %w", err)
	}
	return string(b), nil
}

func decodeStrings(s string) ([]string, error) {
	var ss []string
	if err := json.Unmarshal([]byte(s), &ss); err != nil {
		return nil, fmt.Errorf("decode list: %w", err)
	}
	if len(ss) == 0 {
		return nil, nil
	}
	return ss, nil
}

// micros normalises a time as the store returns it: UTC, microseconds.
func micros(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return time.UnixMicro(t.UnixMicro()).UTC()
}

// mapErr is Backend.MapErr that keeps nil nil.
func (m *IAM) mapErr(err error, what string) error {
	if err == nil {
		return nil
	}
	return m.b.MapErr(err, what)
}
