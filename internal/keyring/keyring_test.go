package keyring

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func newRing(t testing.TB) *Keyring {
	t.Helper()
	k, err := New(bytes.Repeat([]byte{7}, KeySize))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestRoundTrip(t *testing.T) {
	k := newRing(t)
	tests := []struct {
		name      string
		plaintext []byte
		aad       []byte
	}{
		{"secret access key", []byte("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"), []byte("AKIAIOSFODNN7EXAMPLE")},
		{"empty plaintext", []byte{}, []byte("row")},
		{"nil plaintext and aad", nil, nil},
		{"binary", []byte{0, 0xff, 0, 1}, []byte{0}},
		{"64 KiB", bytes.Repeat([]byte("s"), 64<<10), []byte("arn:aws:secretsmanager:us-east-1:123456789012:secret:x")},
		{"max sizes", bytes.Repeat([]byte{1}, MaxPlaintext), bytes.Repeat([]byte{2}, MaxAAD)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sealed, err := k.Seal(tt.plaintext, tt.aad)
			if err != nil {
				t.Fatal(err)
			}
			if len(sealed) != len(tt.plaintext)+Overhead {
				t.Errorf("sealed %d bytes, want %d", len(sealed), len(tt.plaintext)+Overhead)
			}
			if len(tt.plaintext) >= 4 && bytes.Contains(sealed, tt.plaintext) {
				t.Error("sealed value contains the plaintext")
			}
			got, err := k.Open(sealed, tt.aad)
			if err != nil {
				t.Fatal(err)
			}
			if got == nil || !bytes.Equal(got, tt.plaintext) {
				t.Errorf("Open = %q (nil=%v)", got, got == nil)
			}
		})
	}
}

func TestSealIsRandomized(t *testing.T) {
	k := newRing(t)
	a, _ := k.Seal([]byte("same"), []byte("row"))
	b, _ := k.Seal([]byte("same"), []byte("row"))
	if bytes.Equal(a[offWrapN:], b[offWrapN:]) {
		t.Fatal("two seals of the same value are identical")
	}
	if !bytes.Equal(a[:offWrapN], b[:offWrapN]) || a[0] != version1 {
		t.Fatal("header differs between seals")
	}
}

func TestSizeLimits(t *testing.T) {
	k := newRing(t)
	if _, err := k.Seal(make([]byte, MaxPlaintext+1), nil); err == nil {
		t.Error("Seal accepted an oversized plaintext")
	}
	if _, err := k.Seal(nil, make([]byte, MaxAAD+1)); err == nil {
		t.Error("Seal accepted an oversized aad")
	}
	sealed, _ := k.Seal([]byte("x"), nil)
	if _, err := k.Open(sealed, make([]byte, MaxAAD+1)); !errors.Is(err, ErrOpen) {
		t.Errorf("Open(oversized aad) = %v", err)
	}
	if _, err := k.Open(make([]byte, Overhead+MaxPlaintext+1), nil); !errors.Is(err, ErrOpen) {
		t.Errorf("Open(oversized) = %v", err)
	}
}

func TestTamperEveryByte(t *testing.T) {
	k := newRing(t)
	aad := []byte("AKIAIOSFODNN7EXAMPLE")
	sealed, err := k.Seal([]byte("wJalrXUtnFEMI/K7MDENG"), aad)
	if err != nil {
		t.Fatal(err)
	}
	for i := range sealed {
		for _, flip := range []byte{0x01, 0x80, 0xff} {
			bad := bytes.Clone(sealed)
			bad[i] ^= flip
			if _, err := k.Open(bad, aad); !errors.Is(err, ErrOpen) {
				t.Fatalf("byte %d ^ %#x: Open = %v, want ErrOpen", i, flip, err)
			}
		}
	}
	for n := range len(sealed) {
		if _, err := k.Open(sealed[:n], aad); !errors.Is(err, ErrOpen) {
			t.Fatalf("truncated to %d: Open = %v, want ErrOpen", n, err)
		}
	}
	if _, err := k.Open(append(bytes.Clone(sealed), 0), aad); !errors.Is(err, ErrOpen) {
		t.Fatalf("extended: Open = %v, want ErrOpen", err)
	}
	if _, err := k.Open(sealed, aad); err != nil {
		t.Fatalf("original no longer opens: %v", err)
	}
}

func TestWrongAAD(t *testing.T) {
	k := newRing(t)
	sealed, _ := k.Seal([]byte("secret"), []byte("AKIAROWONE0000000001"))
	for _, aad := range [][]byte{[]byte("AKIAROWTWO0000000002"), nil, []byte("AKIAROWONE000000000"), []byte("AKIAROWONE00000000010")} {
		if _, err := k.Open(sealed, aad); !errors.Is(err, ErrOpen) {
			t.Errorf("Open(aad %q) = %v, want ErrOpen", aad, err)
		}
	}
}

func TestWrongRootKey(t *testing.T) {
	a := newRing(t)
	b, err := New(bytes.Repeat([]byte{8}, KeySize))
	if err != nil {
		t.Fatal(err)
	}
	sealed, _ := a.Seal([]byte("secret"), nil)
	if _, err := b.Open(sealed, nil); !errors.Is(err, ErrOpen) {
		t.Fatalf("Open under another root key = %v, want ErrOpen", err)
	}
	// Same id but a different key must still fail (ids are only a hint).
	forged := bytes.Clone(sealed)
	bs, _ := b.Seal([]byte("x"), nil)
	copy(forged[offKeyID:offWrapN], bs[offKeyID:offWrapN])
	if _, err := b.Open(forged, nil); !errors.Is(err, ErrOpen) {
		t.Fatalf("Open with a forged key id = %v, want ErrOpen", err)
	}
	if a.KeyID() == b.KeyID() || len(a.KeyID()) != 16 {
		t.Fatalf("key ids %q %q", a.KeyID(), b.KeyID())
	}
}

func TestRotation(t *testing.T) {
	oldKey, newKey := bytes.Repeat([]byte{1}, KeySize), bytes.Repeat([]byte{2}, KeySize)
	old, _ := New(oldKey)
	sealedOld, _ := old.Seal([]byte("before"), []byte("r"))
	ring, err := NewWithPrevious(newKey, oldKey)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := ring.Open(sealedOld, []byte("r")); err != nil || string(got) != "before" {
		t.Fatalf("open old value = %q, %v", got, err)
	}
	sealedNew, _ := ring.Seal([]byte("after"), []byte("r"))
	if _, err := old.Open(sealedNew, []byte("r")); !errors.Is(err, ErrOpen) {
		t.Fatal("new value sealed with the old key")
	}
	if _, err := NewWithPrevious(newKey, newKey); err == nil {
		t.Fatal("duplicate keys accepted")
	}
}

func TestNewKeySize(t *testing.T) {
	for _, n := range []int{0, 16, 31, 33, 64} {
		if _, err := New(make([]byte, n)); err == nil {
			t.Errorf("New(%d bytes) succeeded", n)
		}
	}
}

func TestLoadCreatesKeyFile(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	k1, err := Load(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, RootKeyFile)
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 || fi.Size() != KeySize {
		t.Fatalf("root.key mode %v size %d", fi.Mode().Perm(), fi.Size())
	}
	if di, _ := os.Stat(dir); di.Mode().Perm() != 0o700 {
		t.Errorf("data dir mode %v, want 0700", di.Mode().Perm())
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("data dir holds %d entries, want only root.key", len(entries))
	}
	sealed, _ := k1.Seal([]byte("persisted"), nil)
	k2, err := Load(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	if got, err := k2.Open(sealed, nil); err != nil || string(got) != "persisted" {
		t.Fatalf("second Load cannot open the first's value: %q, %v", got, err)
	}
}

func TestLoadRefusesBadKeyFile(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T, path string)
		want  string
	}{
		{"world readable", func(t *testing.T, path string) { writeKey(t, path, KeySize, 0o644) }, "mode"},
		{"group readable", func(t *testing.T, path string) { writeKey(t, path, KeySize, 0o640) }, "mode"},
		{"too short", func(t *testing.T, path string) { writeKey(t, path, 16, 0o600) }, "bytes"},
		{"too long", func(t *testing.T, path string) { writeKey(t, path, 33, 0o600) }, "bytes"},
		{"empty", func(t *testing.T, path string) { writeKey(t, path, 0, 0o600) }, "bytes"},
		{"directory", func(t *testing.T, path string) { os.Mkdir(path, 0o700) }, "regular"},
		{"symlink", func(t *testing.T, path string) {
			target := path + ".real"
			writeKey(t, target, KeySize, 0o600)
			if err := os.Symlink(target, path); err != nil {
				t.Skip(err)
			}
		}, "regular"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, RootKeyFile)
			tt.setup(t, path)
			before, _ := os.ReadFile(path)
			_, err := Load(dir, "")
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Load = %v, want an error about %q", err, tt.want)
			}
			if after, _ := os.ReadFile(path); !bytes.Equal(before, after) {
				t.Fatal("Load changed the refused file")
			}
		})
	}
}

func writeKey(t *testing.T, path string, size int, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, make([]byte, size), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil { // beat the umask
		t.Fatal(err)
	}
}

func TestLoadFromEnvironment(t *testing.T) {
	key := make([]byte, KeySize)
	rand.Read(key)
	b64 := base64.StdEncoding.EncodeToString(key)
	tests := []struct {
		name    string
		value   string
		wantErr bool
	}{
		{"valid", b64, false},
		{"valid with newline", b64 + "\n", false},
		{"16 bytes", base64.StdEncoding.EncodeToString(key[:16]), true},
		{"33 bytes", base64.StdEncoding.EncodeToString(append(bytes.Clone(key), 1)), true},
		{"not base64", "not base64!!", true},
		{"url alphabet", strings.NewReplacer("+", "-", "/", "_").Replace(base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{0xfb}, KeySize))), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			k, err := Load(dir, tt.value)
			if (err != nil) != tt.wantErr {
				t.Fatalf("Load = %v, wantErr %v", err, tt.wantErr)
			}
			if err != nil && strings.Contains(err.Error(), strings.TrimSpace(tt.value)) {
				t.Fatal("error echoes the key")
			}
			if _, statErr := os.Stat(filepath.Join(dir, RootKeyFile)); statErr == nil {
				t.Error("Load wrote root.key although the key came from the environment")
			}
			if err == nil {
				want, _ := New(key)
				if k.KeyID() != want.KeyID() {
					t.Error("environment key not used")
				}
			}
		})
	}
}

func TestLoadConcurrentFirstStart(t *testing.T) {
	dir := t.TempDir()
	const n = 8
	ids := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			k, err := Load(dir, "")
			errs[i] = err
			if err == nil {
				ids[i] = k.KeyID()
			}
		})
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("Load %d: %v", i, errs[i])
		}
		if ids[i] != ids[0] {
			t.Fatalf("Load %d got key %s, Load 0 got %s", i, ids[i], ids[0])
		}
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("%d entries left in the data dir, want 1", len(entries))
	}
}

func FuzzOpen(f *testing.F) {
	k, err := New(bytes.Repeat([]byte{7}, KeySize))
	if err != nil {
		f.Fatal(err)
	}
	for _, pt := range []string{"", "x", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"} {
		sealed, _ := k.Seal([]byte(pt), []byte("aad"))
		f.Add(sealed, []byte("aad"))
	}
	f.Add([]byte{}, []byte{})
	f.Add(bytes.Repeat([]byte{1}, Overhead), []byte{})
	f.Fuzz(func(t *testing.T, sealed, aad []byte) {
		pt, err := k.Open(sealed, aad)
		if err != nil {
			if !errors.Is(err, ErrOpen) {
				t.Fatalf("error does not wrap ErrOpen: %v", err)
			}
			return
		}
		// Only a genuine value opens: re-sealing it must round-trip.
		again, err := k.Seal(pt, aad)
		if err != nil {
			t.Fatal(err)
		}
		if back, err := k.Open(again, aad); err != nil || !bytes.Equal(back, pt) {
			t.Fatalf("round trip of an opened value failed: %v", err)
		}
	})
}

func BenchmarkSeal(b *testing.B) {
	k := newRing(b)
	pt := []byte("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
	b.ReportAllocs()
	for b.Loop() {
		k.Seal(pt, []byte("AKIAIOSFODNN7EXAMPLE"))
	}
}

func BenchmarkOpen(b *testing.B) {
	k := newRing(b)
	sealed, _ := k.Seal([]byte("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"), []byte("AKIAIOSFODNN7EXAMPLE"))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := k.Open(sealed, []byte("AKIAIOSFODNN7EXAMPLE")); err != nil {
			b.Fatal(err)
		}
	}
}

func TestZeroKeyring(t *testing.T) {
	var k Keyring
	if _, err := k.Seal([]byte("x"), nil); err == nil {
		t.Error("zero Keyring sealed")
	}
	if _, err := k.Open(make([]byte, Overhead), nil); !errors.Is(err, ErrOpen) {
		t.Errorf("zero Keyring Open = %v", err)
	}
	if k.KeyID() != "" {
		t.Error("zero Keyring has a key id")
	}
}
