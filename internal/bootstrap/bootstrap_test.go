package bootstrap

import (
	"context"
	"crypto/rand"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/bulwark-security/bulwark/internal/keyring"
	"github.com/bulwark-security/bulwark/internal/store"
	"github.com/bulwark-security/bulwark/internal/store/sqlite"
)

// testKeyring is AES-GCM with a fixed key; the real one is internal/keyring.
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

func openStore(t *testing.T, path string) store.Store {
	t.Helper()
	s, err := sqlite.Open(context.Background(), path, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestFirstStartAndRestart(t *testing.T) {
	dir := t.TempDir()
	st := openStore(t, filepath.Join(dir, "b.db"))
	kr := newTestKeyring()
	cfg := Config{Store: st, Keyring: kr, AccountID: "111122223333", DataDir: dir, Region: "us-east-1", Endpoint: "http://127.0.0.1:4747"}
	res, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Created || res.RootARN != "arn:aws:iam::111122223333:root" || !strings.HasPrefix(res.RootAccessKeyID, "AKIA") {
		t.Fatalf("first start: %+v", res)
	}
	creds, err := os.ReadFile(res.CredentialsFile)
	if err != nil {
		t.Fatal(err)
	}
	fi, _ := os.Stat(res.CredentialsFile)
	if fi.Mode().Perm() != 0o600 || !strings.Contains(string(creds), "[bulwark]\naws_access_key_id = "+res.RootAccessKeyID) {
		t.Fatalf("credentials file (%v): %s", fi.Mode(), creds)
	}
	conf, _ := os.ReadFile(res.ConfigFile)
	if string(conf) != "[profile bulwark]\nregion = us-east-1\nendpoint_url = http://127.0.0.1:4747\n" {
		t.Fatalf("config file: %q", conf)
	}
	k, err := st.GetAccessKey(context.Background(), res.RootAccessKeyID)
	if err != nil || k.PrincipalType != store.PrincipalRoot || strings.Contains(string(k.SealedSecret), strings.Split(string(creds), "aws_secret_access_key = ")[1][:20]) {
		t.Fatalf("stored key: %+v %v", k, err)
	}

	// A second start reuses the credential and rewrites a deleted file.
	os.Remove(res.CredentialsFile)
	res2, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	creds2, _ := os.ReadFile(res2.CredentialsFile)
	if res2.Created || res2.RootAccessKeyID != res.RootAccessKeyID || string(creds2) != string(creds) {
		t.Fatalf("restart: %+v", res2)
	}

	// Another root key cannot use this store.
	cfg.Keyring = newTestKeyring()
	if _, err := Run(context.Background(), cfg); err == nil || !strings.Contains(err.Error(), "same root key") {
		t.Fatalf("wrong root key: %v", err)
	}
}

// TestRacingServers: several servers bootstrapping one database agree on
// one root key.
func TestRacingServers(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "b.db")
	kr := newTestKeyring()
	openStore(t, path) // migrate once
	var wg sync.WaitGroup
	ids := make([]string, 6)
	errs := make([]error, 6)
	for i := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			st := openStore(t, path)
			res, err := Run(context.Background(), Config{Store: st, Keyring: kr, AccountID: "111122223333", Region: "us-east-1"})
			if err == nil {
				ids[i] = res.RootAccessKeyID
			}
			errs[i] = err
		}()
	}
	wg.Wait()
	for i := range ids {
		if errs[i] != nil || ids[i] != ids[0] {
			t.Fatalf("server %d: %q %v (first %q)", i, ids[i], errs[i], ids[0])
		}
	}
}

func TestDevCredential(t *testing.T) {
	st := openStore(t, ":memory:")
	res, err := Run(context.Background(), Config{Store: st, Keyring: newTestKeyring(), AccountID: "123456789012",
		Region: "us-east-1", RootAccessKeyID: "test", RootSecret: []byte("test")})
	if err != nil || res.RootAccessKeyID != "test" || res.CredentialsFile != "" {
		t.Fatalf("%+v %v", res, err)
	}
	if _, err := Run(context.Background(), Config{Store: st, Keyring: newTestKeyring(), AccountID: "12345"}); err == nil {
		t.Fatal("bad account id accepted")
	}
}
