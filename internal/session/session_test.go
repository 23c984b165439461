package session

import (
	"crypto/rand"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/bulwark-security/bulwark/internal/api"
	"github.com/bulwark-security/bulwark/internal/keyring"
)

func newKeyring(t testing.TB) *keyring.Keyring {
	root := make([]byte, keyring.KeySize)
	_, _ = rand.Read(root)
	k, err := keyring.New(root)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestRoundTripAndTamper(t *testing.T) {
	k := newKeyring(t)
	exp := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	s := &Session{AccessKeyID: "ASIAAAAAAAAAAAAAAAAA", Secret: []byte("secret"), Principal: api.Principal{
		Type: "AssumedRole", ARN: "arn:aws:sts::111122223333:assumed-role/app/s1", Expiration: exp,
		Tags: []api.Tag{{Key: "team", Value: "blue"}}, SessionPolicy: `{"Version":"2012-10-17"}`}}
	tok, err := Seal(k, s)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(tok, "secret") || strings.Contains(tok, "assumed-role") {
		t.Fatal("token is not opaque")
	}
	got, err := Open(k, s.AccessKeyID, tok)
	if err != nil {
		t.Fatal(err)
	}
	if string(got.Secret) != "secret" || got.Principal.ARN != s.Principal.ARN || !got.Principal.Expiration.Equal(exp) || got.Principal.Tags[0].Value != "blue" {
		t.Fatalf("round trip: %+v", got)
	}
	if !got.Expired(exp) || got.Expired(exp.Add(-time.Second)) {
		t.Fatal("Expired")
	}
	cases := map[string]struct{ akid, tok string }{
		"other key id":  {"ASIABBBBBBBBBBBBBBBB", tok},
		"altered byte":  {s.AccessKeyID, tok[:20] + flip(tok[20]) + tok[21:]},
		"truncated":     {s.AccessKeyID, tok[:len(tok)-4]},
		"no prefix":     {s.AccessKeyID, tok[4:]},
		"not base64":    {s.AccessKeyID, prefix + "!!!"},
		"too long":      {s.AccessKeyID, prefix + strings.Repeat("A", MaxTokenBytes)},
		"other keyring": {s.AccessKeyID, mustSeal(t, newKeyring(t), s)},
	}
	for name, tc := range cases {
		if _, err := Open(k, tc.akid, tc.tok); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: err = %v, want ErrInvalid", name, err)
		}
	}
}

func flip(b byte) string {
	if b == 'A' {
		return "B"
	}
	return "A"
}

func mustSeal(t *testing.T, k Sealer, s *Session) string {
	tok, err := Seal(k, s)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// FuzzOpen: arbitrary tokens never panic and never open.
func FuzzOpen(f *testing.F) {
	k := newKeyring(f)
	f.Add("BWK1AAAA")
	f.Add("")
	f.Add(mustSealF(k))
	f.Fuzz(func(t *testing.T, tok string) {
		_, _ = Open(k, "ASIAAAAAAAAAAAAAAAAA", tok)
	})
}

func mustSealF(k Sealer) string {
	tok, _ := Seal(k, &Session{AccessKeyID: "ASIAAAAAAAAAAAAAAAAA", Secret: []byte("x"), Principal: api.Principal{Expiration: time.Now()}})
	return tok
}
