// Package bootstrap prepares a fresh deployment: on first start with an empty
// store it creates the account and the root principal's access key, and on
// every start it writes that credential, mode 0600, as an AWS shared
// credentials file (profile "bulwark") so the aws CLI and SDKs can use it.
// Several servers starting together on one database agree on one root key.
package bootstrap

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"time"

	"github.com/bulwark-security/bulwark/internal/credentials"
	"github.com/bulwark-security/bulwark/internal/store"
)

// Profile is the profile name written to the credentials file.
const Profile = "bulwark"

// Meta keys.
const (
	metaRootKey = "bootstrap/root-access-key-id"
	metaCanary  = "bootstrap/keyring-canary"
)

// Keyring seals and opens values.
type Keyring interface {
	Seal(plaintext, aad []byte) ([]byte, error)
	Open(sealed, aad []byte) ([]byte, error)
}

// Config is what bootstrap needs.
type Config struct {
	Store     store.Store
	Keyring   Keyring
	AccountID string
	// DataDir receives the credentials and config files; empty writes none.
	DataDir  string
	Region   string
	Endpoint string // written as endpoint_url in the config file
	// RootAccessKeyID and RootSecret, when set, are the root credential to
	// create instead of random ones (dev mode's well-known test/test).
	RootAccessKeyID string
	RootSecret      []byte
	Now             func() time.Time
	// Wait bounds how long a server waits for another one that is
	// bootstrapping the same database. Zero means 15 seconds.
	Wait time.Duration
}

// Result describes the root credential.
type Result struct {
	AccountID       string
	RootARN         string
	RootAccessKeyID string
	// CredentialsFile and ConfigFile are the paths written, if any.
	CredentialsFile string
	ConfigFile      string
	// Created is true when this call created the account.
	Created bool
}

var accountIDRE = regexp.MustCompile(`^[0-9]{12}$`)

// RootARN is the ARN of an account's root principal.
func RootARN(account string) string { return "arn:aws:iam::" + account + ":root" }

// Run bootstraps the store if it is empty and writes the credential files.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	if !accountIDRE.MatchString(cfg.AccountID) {
		return nil, fmt.Errorf("account id %q: must be 12 digits", cfg.AccountID)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Wait == 0 {
		cfg.Wait = 15 * time.Second
	}
	if err := checkCanary(ctx, cfg); err != nil {
		return nil, err
	}
	res := &Result{AccountID: cfg.AccountID, RootARN: RootARN(cfg.AccountID)}
	akid, err := rootKeyID(ctx, cfg, res)
	if err != nil {
		return nil, err
	}
	res.RootAccessKeyID = akid
	if cfg.DataDir != "" {
		if err := writeFiles(ctx, cfg, res); err != nil {
			return nil, err
		}
	}
	return res, nil
}

// checkCanary makes sure this server's root key is the one the database was
// sealed with: a server started with a different BULWARK_ROOT_KEY against a
// shared database must stop at once, not fail every request.
func checkCanary(ctx context.Context, cfg Config) error {
	aad := []byte(metaCanary)
	sealed, err := cfg.Keyring.Seal([]byte("bulwark"), aad)
	if err != nil {
		return fmt.Errorf("seal keyring canary: %w", err)
	}
	if _, err := cfg.Store.PutMetaIfAbsent(ctx, metaCanary, sealed); err != nil {
		return fmt.Errorf("store keyring canary: %w", err)
	}
	stored, err := cfg.Store.GetMeta(ctx, metaCanary)
	if err != nil {
		return fmt.Errorf("read keyring canary: %w", err)
	}
	if _, err := cfg.Keyring.Open(stored, aad); err != nil {
		return errors.New("the root key does not open this store's data: every server sharing a database needs the same root key (BULWARK_ROOT_KEY or the data directory's root.key)")
	}
	return nil
}

// rootKeyID returns the root access key id, creating the account and key if
// this is the first start. Exactly one of several racing servers creates
// them; the others wait for its marker.
func rootKeyID(ctx context.Context, cfg Config, res *Result) (string, error) {
	if b, err := cfg.Store.GetMeta(ctx, metaRootKey); err == nil {
		return string(b), nil
	} else if !errors.Is(err, store.ErrNotFound) {
		return "", fmt.Errorf("read bootstrap marker: %w", err)
	}
	now := cfg.Now().UTC()
	err := cfg.Store.CreateAccount(ctx, store.Account{ID: cfg.AccountID, CreatedAt: now})
	switch {
	case err == nil:
		res.Created = true
		akid, err := createRootKey(ctx, cfg, now)
		if err != nil {
			return "", err
		}
		return claimMarker(ctx, cfg, akid)
	case errors.Is(err, store.ErrConflict):
		return waitForMarker(ctx, cfg)
	default:
		return "", fmt.Errorf("create account %s: %w", cfg.AccountID, err)
	}
}

// waitForMarker waits for the server that created the account to finish. If
// that server died half-way, it adopts an existing root key or makes one.
func waitForMarker(ctx context.Context, cfg Config) (string, error) {
	deadline := time.Now().Add(cfg.Wait)
	for time.Now().Before(deadline) {
		b, err := cfg.Store.GetMeta(ctx, metaRootKey)
		if err == nil {
			return string(b), nil
		}
		if !errors.Is(err, store.ErrNotFound) {
			return "", fmt.Errorf("read bootstrap marker: %w", err)
		}
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	keys, err := cfg.Store.ListAccessKeys(ctx, RootARN(cfg.AccountID))
	if err != nil {
		return "", fmt.Errorf("list root keys: %w", err)
	}
	akid := ""
	if len(keys) > 0 {
		akid = keys[0].AccessKeyID
	} else if akid, err = createRootKey(ctx, cfg, cfg.Now().UTC()); err != nil {
		return "", err
	}
	return claimMarker(ctx, cfg, akid)
}

// claimMarker records akid as the root key unless another server already
// recorded one, and returns the key that won.
func claimMarker(ctx context.Context, cfg Config, akid string) (string, error) {
	if _, err := cfg.Store.PutMetaIfAbsent(ctx, metaRootKey, []byte(akid)); err != nil {
		return "", fmt.Errorf("store bootstrap marker: %w", err)
	}
	b, err := cfg.Store.GetMeta(ctx, metaRootKey)
	if err != nil {
		return "", fmt.Errorf("read bootstrap marker: %w", err)
	}
	return string(b), nil
}

func createRootKey(ctx context.Context, cfg Config, now time.Time) (string, error) {
	akid, secret := cfg.RootAccessKeyID, cfg.RootSecret
	if akid == "" {
		akid, secret = credentials.NewAccessKeyID("AKIA"), credentials.NewSecretAccessKey()
	}
	sealed, err := cfg.Keyring.Seal(secret, credentials.SecretAAD(akid))
	if err != nil {
		return "", fmt.Errorf("seal root secret: %w", err)
	}
	err = cfg.Store.CreateAccessKey(ctx, store.AccessKey{
		AccessKeyID: akid, AccountID: cfg.AccountID, PrincipalType: store.PrincipalRoot,
		PrincipalARN: RootARN(cfg.AccountID), PrincipalID: cfg.AccountID,
		Status: store.KeyActive, SealedSecret: sealed, CreatedAt: now,
	})
	if err != nil {
		return "", fmt.Errorf("create root access key: %w", err)
	}
	return akid, nil
}

// writeFiles writes <DataDir>/credentials and <DataDir>/config for the
// profile, opening the sealed secret from the store (so a deleted file is
// rewritten on the next start).
func writeFiles(ctx context.Context, cfg Config, res *Result) error {
	k, err := cfg.Store.GetAccessKey(ctx, res.RootAccessKeyID)
	if err != nil {
		return fmt.Errorf("load root access key: %w", err)
	}
	secret, err := cfg.Keyring.Open(k.SealedSecret, credentials.SecretAAD(k.AccessKeyID))
	if err != nil {
		return fmt.Errorf("open root secret: %w", err)
	}
	var creds bytes.Buffer
	fmt.Fprintf(&creds, "[%s]\naws_access_key_id = %s\naws_secret_access_key = %s\n", Profile, k.AccessKeyID, secret)
	clear(secret)
	defer clear(creds.Bytes())
	res.CredentialsFile = filepath.Join(cfg.DataDir, "credentials")
	if err := writeFile0600(res.CredentialsFile, creds.Bytes()); err != nil {
		return err
	}
	conf := fmt.Sprintf("[profile %s]\nregion = %s\n", Profile, cfg.Region)
	if cfg.Endpoint != "" {
		conf += "endpoint_url = " + cfg.Endpoint + "\n"
	}
	res.ConfigFile = filepath.Join(cfg.DataDir, "config")
	return writeFile0600(res.ConfigFile, []byte(conf))
}

// writeFile0600 writes atomically (temp file + rename) with mode 0600.
func writeFile0600(path string, data []byte) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create %s: %w", dir, err)
	}
	f, err := os.CreateTemp(dir, ".tmp-"+filepath.Base(path)+"-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return fmt.Errorf("chmod %s: %w", tmp, err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("sync %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("close %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("rename to %s: %w", path, err)
	}
	return nil
}
