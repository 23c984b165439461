package kms

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/bulwark-security/bulwark/internal/authz"
	"github.com/bulwark-security/bulwark/internal/keyring"
	"github.com/bulwark-security/bulwark/internal/store"
	"github.com/bulwark-security/bulwark/internal/store/postgres"
	"github.com/bulwark-security/bulwark/internal/store/sqlite"
)

type kmsBackend interface {
	store.Store
	store.KMS
	store.IAM
}

// fillKeys creates a key of every spec (one rotated) through the service
// and returns every version's plaintext material, opened from the store,
// plus a data key's plaintext.
func fillKeys(t *testing.T, st kmsBackend, ring *keyring.Keyring) [][]byte {
	t.Helper()
	ctx := t.Context()
	if err := st.CreateAccount(ctx, store.Account{ID: acct, CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	keys, err := New(Config{Store: st, Keyring: ring, Authorizer: &authz.Policies{Source: &authz.StoreSource{IAM: st}}})
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, keys: keys, ring: ring, now: time.Now()}
	var ids []string
	for _, in := range []m{{}, {"KeySpec": "RSA_2048", "KeyUsage": "SIGN_VERIFY"}, {"KeySpec": "ECC_NIST_P256"},
		{"KeySpec": "HMAC_256", "KeyUsage": "GENERATE_VERIFY_MAC"}} {
		ids = append(ids, h.createKey(in))
	}
	h.ok(h.root(), "RotateKeyOnDemand", m{"KeyId": ids[0]})
	dk := h.ok(h.root(), "GenerateDataKey", m{"KeyId": ids[0], "KeySpec": "AES_256"})
	secrets := [][]byte{unb64(t, dk["Plaintext"])}
	for _, id := range ids {
		mats, err := st.ListKMSKeyMaterial(ctx, id)
		if err != nil || len(mats) == 0 {
			t.Fatalf("material of %s: %v", id, err)
		}
		for _, mat := range mats {
			raw, err := ring.Open(mat.Sealed, materialAAD(id, mat.Version))
			if err != nil {
				t.Fatalf("open material: %v", err)
			}
			secrets = append(secrets, raw)
		}
	}
	return secrets
}

// encodings are the forms a secret could take in storage.
func encodings(secret []byte) [][]byte {
	return [][]byte{secret, []byte(hex.EncodeToString(secret)), []byte(base64.StdEncoding.EncodeToString(secret)),
		[]byte(base64.RawURLEncoding.EncodeToString(secret))}
}

// TestNoKeyMaterialAtRestSQLite searches every file SQLite leaves on disk
// for the key material and data keys, in raw, hex and base64 form.
func TestNoKeyMaterialAtRestSQLite(t *testing.T) {
	dir := t.TempDir()
	ring, err := keyring.New(randomKey())
	if err != nil {
		t.Fatal(err)
	}
	st, err := sqlite.Open(t.Context(), filepath.Join(dir, "bulwark.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	secrets := fillKeys(t, st, ring)
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	var disk []byte
	files, _ := filepath.Glob(filepath.Join(dir, "*"))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		disk = append(disk, b...)
	}
	if !bytes.Contains(disk, []byte("kms_key_material")) {
		t.Fatal("the search does not see the KMS tables")
	}
	for i, s := range secrets {
		for _, enc := range encodings(s) {
			if bytes.Contains(disk, enc) {
				t.Errorf("secret %d found in the SQLite files", i)
			}
		}
	}
}

// TestNoKeyMaterialAtRestPostgreSQL reads back every KMS row as text.
func TestNoKeyMaterialAtRestPostgreSQL(t *testing.T) {
	dsn := os.Getenv("BULWARK_TEST_POSTGRES_DSN")
	if dsn == "" {
		dsn = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
	}
	ctx := t.Context()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		if errors.Is(err, syscall.ECONNREFUSED) && os.Getenv("CI") == "" {
			t.Skipf("PostgreSQL not running: %v", err)
		}
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	schema := "bulwark_kms_" + strings.ToLower(rand.Text()[:10])
	t.Cleanup(func() {
		c, err := pgx.Connect(context.Background(), dsn)
		if err == nil {
			c.Exec(context.Background(), `DROP SCHEMA IF EXISTS `+schema+` CASCADE`)
			c.Close(context.Background())
		}
	})
	sep := "?"
	if strings.Contains(dsn, "?") {
		sep = "&"
	}
	st, err := postgres.Open(ctx, dsn+sep+"search_path="+schema, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	secrets := fillKeys(t, st, mustRing(t))
	var dump strings.Builder
	for _, table := range []string{"kms_keys", "kms_key_material", "kms_aliases", "kms_grants"} {
		rows, err := conn.Query(ctx, `SELECT row_to_json(t)::text FROM `+schema+`.`+table+` t`)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var s string
			if err := rows.Scan(&s); err != nil {
				t.Fatal(err)
			}
			dump.WriteString(s)
		}
		rows.Close()
	}
	if !strings.Contains(dump.String(), "SYMMETRIC_DEFAULT") {
		t.Fatal("the dump does not see the KMS rows")
	}
	for i, s := range secrets {
		for _, enc := range encodings(s) {
			if strings.Contains(dump.String(), string(enc)) {
				t.Errorf("secret %d found in PostgreSQL", i)
			}
		}
	}
}

func randomKey() []byte {
	b := make([]byte, 32)
	rand.Read(b)
	return b
}

func mustRing(t *testing.T) *keyring.Keyring {
	r, err := keyring.New(randomKey())
	if err != nil {
		t.Fatal(err)
	}
	return r
}
