package keyring

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
)

// RootKeyFile is the name of the root key file inside the data directory.
const RootKeyFile = "root.key"

// Load returns the keyring for a data directory. The root key comes from
// rootKeyB64 (the BULWARK_ROOT_KEY value: standard base64 of 32 bytes) when
// it is non-empty; otherwise from <dataDir>/root.key, created with 32 random
// bytes and mode 0600 if absent. An existing file that group or others can
// access, that is not a regular file, or that is not exactly 32 bytes is
// refused rather than used or replaced. Errors never include key bytes.
func Load(dataDir string, rootKeyB64 string) (*Keyring, error) {
	if rootKeyB64 != "" {
		raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(rootKeyB64))
		if err != nil {
			return nil, errors.New("keyring: BULWARK_ROOT_KEY is not valid standard base64")
		}
		defer clear(raw)
		if len(raw) != KeySize {
			return nil, fmt.Errorf("keyring: BULWARK_ROOT_KEY decodes to %d bytes, want %d", len(raw), KeySize)
		}
		return New(raw)
	}
	if dataDir == "" {
		return nil, errors.New("keyring: no data directory and no BULWARK_ROOT_KEY")
	}
	raw, err := loadOrCreate(filepath.Join(dataDir, RootKeyFile))
	if err != nil {
		return nil, err
	}
	defer clear(raw)
	return New(raw)
}

func loadOrCreate(path string) ([]byte, error) {
	raw, err := readKeyFile(path)
	if !errors.Is(err, fs.ErrNotExist) {
		return raw, err
	}
	if err := createKeyFile(path); err != nil {
		return nil, err
	}
	// Read back what is on disk: if another process created the file first,
	// its key is the one every process must use.
	return readKeyFile(path)
}

// readKeyFile reads the key after checking, on the opened file, that it is a
// regular owner-only file of the right size. The path itself must not be a
// symlink (another user could point it elsewhere).
func readKeyFile(path string) ([]byte, error) {
	li, err := os.Lstat(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		return nil, fmt.Errorf("keyring: stat %s: %w", path, err)
	}
	if !li.Mode().IsRegular() {
		return nil, fmt.Errorf("keyring: %s is not a regular file (%v); refusing to use it", path, li.Mode().Type())
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("keyring: open %s: %w", path, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("keyring: stat %s: %w", path, err)
	}
	if !os.SameFile(li, fi) {
		return nil, fmt.Errorf("keyring: %s changed while being opened; refusing to use it", path)
	}
	if runtime.GOOS != "windows" && fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("keyring: %s has mode %v; it must be accessible by its owner only (chmod 600)", path, fi.Mode().Perm())
	}
	if fi.Size() != KeySize {
		return nil, fmt.Errorf("keyring: %s is %d bytes, want %d; refusing to use or replace it", path, fi.Size(), KeySize)
	}
	raw := make([]byte, KeySize)
	if _, err := io.ReadFull(f, raw); err != nil {
		clear(raw)
		return nil, fmt.Errorf("keyring: read %s: %w", path, err)
	}
	return raw, nil
}

// createKeyFile writes a new random key to a temporary file and hard-links it
// into place: the link fails if the key already exists, so concurrent first
// starts cannot replace each other's key, and a crash never leaves a partial
// key under the final name.
func createKeyFile(path string) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("keyring: create data directory %s: %w", dir, err)
	}
	tmp, err := os.CreateTemp(dir, ".root.key-*") // mode 0600
	if err != nil {
		return fmt.Errorf("keyring: create root key: %w", err)
	}
	tmpName := tmp.Name()
	defer os.Remove(tmpName)
	raw := make([]byte, KeySize)
	defer clear(raw)
	rand.Read(raw)
	if _, err := tmp.Write(raw); err != nil {
		tmp.Close()
		return fmt.Errorf("keyring: write root key: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("keyring: sync root key: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("keyring: close root key: %w", err)
	}
	if err := os.Link(tmpName, path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return nil // another process won; the caller reads its key
		}
		return fmt.Errorf("keyring: install root key %s: %w", path, err)
	}
	// Make the new directory entry durable before any value is sealed with it.
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}
