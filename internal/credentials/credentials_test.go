package credentials

import (
	"context"
	"crypto/rand"
	"errors"
	"regexp"
	"testing"
	"time"

	"github.com/bulwark-security/bulwark/internal/api"
	"github.com/bulwark-security/bulwark/internal/keyring"
	"github.com/bulwark-security/bulwark/internal/session"
	"github.com/bulwark-security/bulwark/internal/sigv4"
	"github.com/bulwark-security/bulwark/internal/store"
	"github.com/bulwark-security/bulwark/internal/store/sqlite"
)

// newTestKeyring returns a keyring with a fresh random root key.
func newTestKeyring() *keyring.Keyring {
	root := make([]byte, keyring.KeySize)
	_, _ = rand.Read(root)
	k, err := keyring.New(root)
	if err != nil {
		panic(err)
	}
	return k
}

func TestResolver(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, ":memory:", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	kr := newTestKeyring()
	now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	_ = st.CreateAccount(ctx, store.Account{ID: "111122223333", CreatedAt: now})
	addKey := func(id string, secret []byte, status store.KeyStatus, aadID string) {
		sealed, _ := kr.Seal(secret, SecretAAD(aadID))
		if err := st.CreateAccessKey(ctx, store.AccessKey{AccessKeyID: id, AccountID: "111122223333", PrincipalType: store.PrincipalUser,
			PrincipalARN: "arn:aws:iam::111122223333:user/bob", PrincipalID: "AIDABOB", UserName: "bob", Status: status,
			SealedSecret: sealed, CreatedAt: now}); err != nil {
			t.Fatal(err)
		}
	}
	addKey("AKIAACTIVEACTIVEACTI", []byte("s3cret"), store.KeyActive, "AKIAACTIVEACTIVEACTI")
	addKey("AKIAINACTIVEINACTIVE", []byte("s3cret"), store.KeyInactive, "AKIAINACTIVEINACTIVE")
	addKey("AKIAMOVEDMOVEDMOVEDM", []byte("s3cret"), store.KeyActive, "AKIAOTHEROTHEROTHERO") // sealed for another row
	addKey("test", []byte("test"), store.KeyActive, "test")

	tok, _ := session.Seal(kr, &session.Session{AccessKeyID: "ASIASESSIONSESSIONSE", Secret: []byte("tmp"), Principal: api.Principal{
		Type: "AssumedRole", ARN: "arn:aws:sts::111122223333:assumed-role/app/s", RoleName: "app", Expiration: now.Add(time.Hour)}})

	r := NewResolver(Config{Store: st, Keys: kr, Now: clock, TTL: time.Minute})
	cases := []struct {
		name, akid, token string
		want              error
		secret            string
	}{
		{"active", "AKIAACTIVEACTIVEACTI", "", nil, "s3cret"},
		{"unknown", "AKIANOBODYNOBODYNOBO", "", sigv4.ErrUnknownKey, ""},
		{"inactive", "AKIAINACTIVEINACTIVE", "", sigv4.ErrUnknownKey, ""},
		{"token with a long-term key", "AKIAACTIVEACTIVEACTI", tok, sigv4.ErrInvalidToken, ""},
		{"temporary key without token", "ASIASESSIONSESSIONSE", "", sigv4.ErrUnknownKey, ""},
		{"session", "ASIASESSIONSESSIONSE", tok, nil, "tmp"},
		{"session token for another key", "ASIAOTHEROTHEROTHERO", tok, sigv4.ErrInvalidToken, ""},
		{"well-known key outside dev mode", "test", "", sigv4.ErrUnknownKey, ""},
		{"too long", string(make([]byte, 200)), "", sigv4.ErrUnknownKey, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			secret, err := r.SecretKey(ctx, tc.akid, tc.token)
			if !errors.Is(err, tc.want) || string(secret) != tc.secret {
				t.Fatalf("got %q %v, want %q %v", secret, err, tc.secret, tc.want)
			}
		})
	}
	if _, err := r.SecretKey(ctx, "AKIAMOVEDMOVEDMOVEDM", ""); err == nil {
		t.Fatal("a sealed secret copied to another row opened")
	}
	p, err := r.Principal(ctx, "ASIASESSIONSESSIONSE", tok)
	if err != nil || !p.Temporary || p.RoleName != "app" || p.AccessKeyID != "ASIASESSIONSESSIONSE" {
		t.Fatalf("session principal %+v %v", p, err)
	}

	// Expiry is checked on every call, even when cached.
	now = now.Add(2 * time.Hour)
	if _, err := r.SecretKey(ctx, "ASIASESSIONSESSIONSE", tok); !errors.Is(err, sigv4.ErrExpiredToken) {
		t.Fatalf("expired session: %v", err)
	}

	// A deactivated key stops working once the cache entry ages out (or
	// is forgotten).
	if _, err := r.SecretKey(ctx, "AKIAACTIVEACTIVEACTI", ""); err != nil {
		t.Fatal(err)
	}
	if err := st.SetAccessKeyStatus(ctx, "AKIAACTIVEACTIVEACTI", store.KeyInactive); err != nil {
		t.Fatal(err)
	}
	if _, err := r.SecretKey(ctx, "AKIAACTIVEACTIVEACTI", ""); err != nil {
		t.Fatalf("cached key: %v", err)
	}
	now = now.Add(2 * time.Minute)
	if _, err := r.SecretKey(ctx, "AKIAACTIVEACTIVEACTI", ""); !errors.Is(err, sigv4.ErrUnknownKey) {
		t.Fatalf("deactivated key after TTL: %v", err)
	}
	_ = st.SetAccessKeyStatus(ctx, "AKIAACTIVEACTIVEACTI", store.KeyActive)
	_, _ = r.SecretKey(ctx, "AKIAACTIVEACTIVEACTI", "")
	_ = st.SetAccessKeyStatus(ctx, "AKIAACTIVEACTIVEACTI", store.KeyInactive)
	r.Forget("AKIAACTIVEACTIVEACTI")
	if _, err := r.SecretKey(ctx, "AKIAACTIVEACTIVEACTI", ""); !errors.Is(err, sigv4.ErrUnknownKey) {
		t.Fatalf("deactivated key: %v", err)
	}

	dev := NewResolver(Config{Store: st, Keys: kr, AllowWellKnown: true})
	if s, err := dev.SecretKey(ctx, "test", ""); err != nil || string(s) != "test" {
		t.Fatalf("dev key: %q %v", s, err)
	}
}

func TestKeyFormats(t *testing.T) {
	id := NewAccessKeyID("AKIA")
	if !regexp.MustCompile(`^AKIA[A-Z2-7]{16}$`).MatchString(id) || id == NewAccessKeyID("AKIA") {
		t.Fatalf("key id %q", id)
	}
	s := NewSecretAccessKey()
	if !regexp.MustCompile(`^[A-Za-z0-9+/]{40}$`).Match(s) {
		t.Fatalf("secret %q", s)
	}
}
