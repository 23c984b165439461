package iam

import (
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/bulwark-security/bulwark/internal/api"
	"github.com/bulwark-security/bulwark/internal/awsproto"
	"github.com/bulwark-security/bulwark/internal/policy"
	"github.com/bulwark-security/bulwark/internal/store"
)

// IAM error codes with the HTTP statuses of the IAM API reference.
func noSuchEntity(format string, args ...any) *awsproto.Error {
	return awsproto.Errorf(http.StatusNotFound, "NoSuchEntity", format, args...)
}

func entityExists(format string, args ...any) *awsproto.Error {
	return awsproto.Errorf(http.StatusConflict, "EntityAlreadyExists", format, args...)
}

func deleteConflict(format string, args ...any) *awsproto.Error {
	return awsproto.Errorf(http.StatusConflict, "DeleteConflict", format, args...)
}

func limitExceeded(format string, args ...any) *awsproto.Error {
	return awsproto.Errorf(http.StatusConflict, "LimitExceeded", format, args...)
}

func invalidInput(format string, args ...any) *awsproto.Error {
	return awsproto.Errorf(http.StatusBadRequest, "InvalidInput", format, args...)
}

func malformedPolicy(msg string) *awsproto.Error {
	return awsproto.Errorf(http.StatusBadRequest, "MalformedPolicyDocument", "%s", msg)
}

// unmodifiable is AWS's answer for changes to AWS managed policies
// (UnmodifiableEntity, HTTP 400 in the IAM API reference).
func unmodifiable(format string, args ...any) *awsproto.Error {
	return awsproto.Errorf(http.StatusBadRequest, "UnmodifiableEntity", format, args...)
}

// storeErr maps a store error to the public error for its sentinel, or
// wraps it (the server then answers InternalFailure and logs the cause).
type errMap struct {
	notFound, conflict, deleteConflict, limit *awsproto.Error
}

func (m errMap) wrap(err error, op string) error {
	var pub *awsproto.Error
	switch {
	case errors.Is(err, store.ErrNotFound):
		pub = m.notFound
	case errors.Is(err, store.ErrConflict):
		pub = m.conflict
	case errors.Is(err, store.ErrDeleteConflict):
		pub = m.deleteConflict
	case errors.Is(err, store.ErrLimitExceeded):
		pub = m.limit
	}
	if pub != nil {
		return pub.WithCause(err)
	}
	return fmt.Errorf("%s: %w", op, err)
}

func noSuchUser(name string) *awsproto.Error {
	return noSuchEntity("The user with name %s cannot be found.", name)
}

func noSuchGroup(name string) *awsproto.Error {
	return noSuchEntity("The group with name %s cannot be found.", name)
}

func noSuchRole(name string) *awsproto.Error {
	return noSuchEntity("The role with name %s cannot be found.", name)
}

func noSuchPolicy(arn string) *awsproto.Error {
	return noSuchEntity("Policy %s does not exist or is not attachable.", arn)
}

// parseDocument validates a policy document as IAM does and maps the
// policy package's errors to MalformedPolicyDocument or LimitExceeded.
func parseDocument(doc string, kind policy.Kind) error {
	_, err := policy.Parse([]byte(doc), kind)
	if err == nil {
		return nil
	}
	var pe *policy.Error
	if errors.As(err, &pe) {
		if pe.Code == policy.CodeLimitExceeded {
			return limitExceeded("%s", pe.Message()).WithCause(err)
		}
		return malformedPolicy(pe.Message()).WithCause(err)
	}
	return malformedPolicy("Syntax errors in policy.").WithCause(err)
}

// newUniqueID returns an IAM unique id: a four-letter prefix (AIDA user,
// AGPA group, AROA role, ANPA policy) and 17 characters of [A-Z2-7].
func newUniqueID(prefix string) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
	b := make([]byte, 17)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = alphabet[b[i]&31]
	}
	return prefix + string(b)
}

// entityARN builds arn:aws:iam::<account>:<kind><path><name>.
func entityARN(account, kind, path, name string) string {
	if path == "" {
		path = "/"
	}
	return "arn:aws:iam::" + account + ":" + kind + path + name
}

// policyAccount returns the account of a managed policy ARN
// (arn:aws:iam::<account>:policy/...), "aws" for AWS managed ones, or "" if
// the ARN does not name a policy.
func policyAccount(arn string) string {
	rest, ok := strings.CutPrefix(arn, "arn:aws:iam::")
	if !ok {
		return ""
	}
	acct, res, ok := strings.Cut(rest, ":")
	if !ok || !strings.HasPrefix(res, "policy/") || len(res) <= len("policy/") {
		return ""
	}
	return acct
}

func isAWSManaged(arn string) bool { return strings.HasPrefix(arn, awsManagedPolicyPrefix+"/") }

// isoTime is IAM's date format (ISO 8601, UTC, seconds).
func isoTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05Z") }

// urlEncode percent-encodes a policy document as IAM returns it in
// Get*Policy, GetRole, GetPolicyVersion and GetAccountAuthorizationDetails
// (RFC 3986: everything but unreserved characters; the SDKs decode it).
func urlEncode(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	b.Grow(len(s) * 2)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' || c == '~' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	return b.String()
}

// account is the caller's account: IAM calls act on it.
func account(c *api.Call) string { return c.Principal.AccountID }

// Shared XML shapes.

type tagXML struct {
	Key   string `xml:"Key"`
	Value string `xml:"Value"`
}

type tagsXML struct {
	Members []tagXML `xml:"member"`
}

func tagList(tags []store.Tag) *tagsXML {
	if len(tags) == 0 {
		return nil
	}
	out := &tagsXML{Members: make([]tagXML, len(tags))}
	for i, t := range tags {
		out.Members[i] = tagXML{Key: t.Key, Value: t.Value}
	}
	return out
}

// listTags always writes the Tags element (List*Tags answers an empty list).
func listTags(tags []store.Tag) tagsXML {
	out := tagsXML{Members: make([]tagXML, len(tags))}
	for i, t := range tags {
		out.Members[i] = tagXML{Key: t.Key, Value: t.Value}
	}
	return out
}

type boundaryXML struct {
	PermissionsBoundaryType string `xml:"PermissionsBoundaryType"`
	PermissionsBoundaryArn  string `xml:"PermissionsBoundaryArn"`
}

func boundary(arn string) *boundaryXML {
	if arn == "" {
		return nil
	}
	return &boundaryXML{PermissionsBoundaryType: "Policy", PermissionsBoundaryArn: arn}
}

type stringsXML struct {
	Members []string `xml:"member"`
}

func stringList(ss []string) stringsXML { return stringsXML{Members: append([]string{}, ss...)} }

// tagContext is the condition keys of a call that sets tags.
func tagContext(tags []store.Tag) map[string][]string {
	if len(tags) == 0 {
		return nil
	}
	m := make(map[string][]string, len(tags)+1)
	keys := make([]string, 0, len(tags))
	for _, t := range tags {
		m["aws:RequestTag/"+t.Key] = []string{t.Value}
		keys = append(keys, t.Key)
	}
	m["aws:TagKeys"] = keys
	return m
}

func mergeContext(a, b map[string][]string) map[string][]string {
	if len(a) == 0 {
		return b
	}
	for k, v := range b {
		a[k] = v
	}
	return a
}

// tagLimit is the answer when tags would exceed the 50-per-resource quota.
func tagLimit(kind string) *awsproto.Error {
	return limitExceeded("The number of tags has reached the maximum limit of %d for the %s.", maxTagsPerResource, kind)
}

// found is what a resource function learned about the user or role a call
// targets: its tags, which the call supplies as aws:ResourceTag/<key> and
// iam:ResourceTag/<key> (the condition keys of the user and role resource
// types), and its boundary for the actions with iam:PermissionsBoundary.
// Embedding it makes an input a ContextProvider; inputs with their own
// RequestContext merge resourceContext.
type found struct {
	tags     []store.Tag
	boundary string
}

func (f *found) resourceContext() map[string][]string {
	if len(f.tags) == 0 {
		return nil
	}
	m := make(map[string][]string, 2*len(f.tags))
	for _, t := range f.tags {
		m["aws:ResourceTag/"+t.Key] = []string{t.Value}
		m["iam:ResourceTag/"+t.Key] = []string{t.Value}
	}
	return m
}

// RequestContext implements api.ContextProvider.
func (f *found) RequestContext(*api.Call) map[string][]string { return f.resourceContext() }
