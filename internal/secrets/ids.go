package secrets

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"strings"

	"github.com/bulwark-security/bulwark/internal/api"
	"github.com/bulwark-security/bulwark/internal/arn"
	"github.com/bulwark-security/bulwark/internal/store"
)

// found is what resolving a SecretId learned, kept in the input between
// authorisation and the handler.
type found struct {
	// secret is the secret the id names, nil if none.
	secret *store.Secret
	// arn is the resource authorised: the secret's ARN, or the ARN the id
	// would name.
	arn string
	// err is a store failure during the lookup.
	err error
}

// get returns the secret or the error the handler answers with.
func (f *found) get() (*store.Secret, error) {
	if f.err != nil {
		return nil, storeErr(f.err)
	}
	if f.secret == nil {
		return nil, errSecretNotFound()
	}
	return f.secret, nil
}

// live is get for actions refused on a secret pending deletion.
func (f *found) live() (*store.Secret, error) {
	sec, err := f.get()
	if err != nil {
		return nil, err
	}
	if !sec.DeletedAt.IsZero() {
		return nil, errMarkedForDeletion()
	}
	return sec, nil
}

// RequestContext implements api.ContextProvider: the secret's condition
// keys.
func (f *found) RequestContext(*api.Call) map[string][]string { return f.context() }

func (f *found) context() map[string][]string {
	m := map[string][]string{keySecretID: {f.arn}}
	if sec := f.secret; sec != nil {
		for _, t := range sec.Tags {
			m[keyResourceTag+t.Key] = []string{t.Value}
			m[keyAWSResourceTag+t.Key] = []string{t.Value}
		}
		if sec.PrimaryRegion != "" {
			m[keyPrimaryRegion] = []string{sec.PrimaryRegion}
		}
	}
	return m
}

func (f *found) target() *found { return f }

func account(c *api.Call) string { return c.Principal.AccountID }

func partialARN(region, account, name string) string {
	return "arn:aws:secretsmanager:" + region + ":" + account + ":secret:" + name
}

// resolve finds the secret id names: a name in the caller's account and
// region, a full ARN, or a partial ARN (without the random suffix), as
// AWS's "Finding a secret from a partial ARN" describes.
func (s *Service) resolve(c *api.Call, id string, f *found) {
	ctx, cancel := context.WithTimeout(context.Background(), lookupTimeout)
	defer cancel()
	f.secret, f.err = nil, nil
	acct, region, name := account(c), c.Region, id
	if strings.HasPrefix(id, "arn:") {
		a, err := arn.Parse(id)
		if err != nil || a.Service != "secretsmanager" || !strings.HasPrefix(a.Resource, "secret:") || !arn.IsAccountID(a.Account) {
			f.arn = id
			return
		}
		sec, err := s.cfg.Store.GetSecret(ctx, id)
		if err == nil {
			f.secret, f.arn = &sec, sec.ARN
			return
		}
		if !errors.Is(err, store.ErrNotFound) {
			f.arn, f.err = id, err
			return
		}
		acct, region, name = a.Account, a.Region, strings.TrimPrefix(a.Resource, "secret:")
	}
	f.arn = partialARN(region, acct, name)
	sec, err := s.cfg.Store.GetSecretByName(ctx, acct, region, name)
	switch {
	case err == nil:
		f.secret, f.arn = &sec, sec.ARN
	case !errors.Is(err, store.ErrNotFound):
		f.err = err
	}
}

// suffixChars are the characters of the six AWS appends to a secret's ARN.
const suffixChars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

func newSecretARN(region, account, name string) string {
	var b [6]byte
	for i := range b {
		b[i] = suffixChars[randIndex(len(suffixChars))]
	}
	return partialARN(region, account, name) + "-" + string(b[:])
}

// newToken returns a random UUID (version 4), the form the SDKs send as
// ClientRequestToken.
func newToken() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

// validName: 1-512 ASCII letters, digits and /_+=.@- (CreateSecret Name).
func validName(n string) bool {
	if n == "" || len(n) > maxNameLen {
		return false
	}
	for i := 0; i < len(n); i++ {
		c := n[i]
		if !isAlnum(c) && !strings.ContainsRune("/_+=.@-", rune(c)) {
			return false
		}
	}
	return true
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// validToken: a ClientRequestToken or VersionId, 32-64 printable ASCII
// characters (the API reference's length; the SDKs send UUIDs).
func validToken(t string) bool {
	if len(t) < 32 || len(t) > 64 {
		return false
	}
	for i := 0; i < len(t); i++ {
		if t[i] <= ' ' || t[i] > '~' {
			return false
		}
	}
	return true
}

// validSecretID bounds a SecretId (1-2048).
func validSecretID(id string) bool { return id != "" && len(id) <= maxIDLen }

// validStage: 1-256 characters.
func validStage(st string) bool { return st != "" && len(st) <= maxStageLen }

// checkTags validates tags as TagResource and CreateSecret take them.
func checkTags(tags []api.Tag) error {
	if len(tags) > maxTags {
		return invalidParam("Number of tags exceeds the limit of %d.", maxTags)
	}
	seen := make(map[string]bool, len(tags))
	for _, t := range tags {
		if t.Key == "" || len(t.Key) > 128 || !validTagText(t.Key) {
			return invalidParam("Invalid tag key.")
		}
		if len(t.Value) > 256 || !validTagText(t.Value) {
			return invalidParam("Invalid tag value.")
		}
		if strings.HasPrefix(strings.ToLower(t.Key), "aws:") {
			return invalidParam("Tag keys that begin with aws: are reserved.")
		}
		if seen[t.Key] {
			return invalidParam("Duplicate tag key %s.", t.Key)
		}
		seen[t.Key] = true
	}
	return nil
}

// validTagText: letters and digits in any language, spaces and _.:/=+-@.
func validTagText(s string) bool {
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r >= 0x80:
		case strings.ContainsRune(" _.:/=+-@", r):
		default:
			return false
		}
	}
	return true
}

func storeTags(tags []api.Tag) []store.Tag {
	out := make([]store.Tag, len(tags))
	for i, t := range tags {
		out[i] = store.Tag{Key: t.Key, Value: t.Value}
	}
	return out
}
