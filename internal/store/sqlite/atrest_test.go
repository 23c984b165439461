package sqlite

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/bulwark-security/bulwark/internal/keyring"
	"github.com/bulwark-security/bulwark/internal/store"
)

// TestNoPlaintextAtRest stores a sealed secret access key and searches every
// file the database leaves on disk for the plaintext secret: it must not be
// there, while the sealed bytes must be (proving the search looks in the
// right place).
func TestNoPlaintextAtRest(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "bulwark-data")
	ring, err := keyring.Load(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	raw := make([]byte, 30)
	rand.Read(raw)
	secret := []byte(base64.StdEncoding.EncodeToString(raw)) // 40 characters, like an AWS secret key
	const keyID = "AKIAATREST0000000001"
	sealed, err := ring.Seal(secret, []byte(keyID))
	if err != nil {
		t.Fatal(err)
	}

	s, err := Open(t.Context(), filepath.Join(dir, "bulwark.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	if err := s.CreateAccount(ctx, store.Account{ID: "123456789012", CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateAccessKey(ctx, store.AccessKey{
		AccessKeyID: keyID, AccountID: "123456789012", PrincipalType: store.PrincipalRoot,
		PrincipalARN: "arn:aws:iam::123456789012:root", PrincipalID: "123456789012",
		Status: store.KeyActive, SealedSecret: sealed, CreatedAt: time.Now(),
	}); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetAccessKey(ctx, keyID)
	if err != nil {
		t.Fatal(err)
	}
	if opened, err := ring.Open(got.SealedSecret, []byte(keyID)); err != nil || !bytes.Equal(opened, secret) {
		t.Fatalf("stored secret does not open: %v", err)
	}
	// The sealed value is bound to its row: under another id it does not open.
	if _, err := ring.Open(got.SealedSecret, []byte("AKIAOTHERROW00000001")); err == nil {
		t.Fatal("sealed secret opened for another row")
	}

	search := func(when string, wantFiles ...string) {
		t.Helper()
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		seen := map[string]bool{}
		foundSealed := false
		for _, e := range entries {
			data, err := os.ReadFile(filepath.Join(dir, e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			seen[e.Name()] = true
			if bytes.Contains(data, secret) {
				t.Errorf("%s: plaintext secret found in %s", when, e.Name())
			}
			foundSealed = foundSealed || bytes.Contains(data, sealed)
		}
		for _, f := range wantFiles {
			if !seen[f] {
				t.Errorf("%s: %s missing; files: %v", when, f, entries)
			}
		}
		if !foundSealed {
			t.Errorf("%s: sealed secret not found on disk; the search is looking in the wrong place", when)
		}
	}
	// While open the row lives in the WAL; after Close it is checkpointed
	// into the database file.
	search("while open", "bulwark.db", "bulwark.db-wal", "bulwark.db-shm", keyring.RootKeyFile)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	search("after close", "bulwark.db")
}
