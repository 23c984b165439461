// Package keyring seals every secret Bulwark keeps at rest (secret access
// keys, key material, secret values) with AES-256-GCM envelope encryption
// under a root key.
//
// # Root key
//
// The root key is 32 bytes. Load takes it from BULWARK_ROOT_KEY (base64) when
// set, otherwise from <data dir>/root.key, which it creates on first use with
// 32 random bytes and mode 0600, and refuses if it is readable by group or
// others or has the wrong size. Servers that share one PostgreSQL database
// must share the root key. The root key itself is never used to encrypt:
// HKDF-SHA256 derives from it a key-encryption key and a public key id.
//
// # Sealed format (version 1)
//
//	offset  size  field
//	0       1     version (1)
//	1       8     root key id: SHA-256(HKDF(root, "key id"))[:8], never the key
//	9       12    nonce for wrapping the data key
//	21      48    data key (32) sealed with the key-encryption key, tag (16)
//	69      12    nonce for the payload
//	81      n+16  plaintext sealed with the data key, tag (16)
//
// Every Seal draws a fresh 256-bit data key. The wrapped data key is
// authenticated with bytes 0..8 as additional data, and the payload with bytes
// 0..68 followed by the caller's aad, so any changed byte, a value sealed
// under another root key, or a value moved to a row with another aad fails to
// open.
//
// # Rotation
//
// A Keyring holds one or more root keys: it seals with the first (current)
// key and opens with whichever key the id in the value names. Rotation is
// therefore: start with NewWithPrevious(new, old), re-seal stored values,
// then drop the old key. The version byte leaves room for a new format.
package keyring

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
)

const (
	// KeySize is the size of a root key and of every data key.
	KeySize = 32
	// MaxPlaintext bounds what one Seal accepts; Bulwark's largest secrets
	// (Secrets Manager values, 64 KiB) fit with room to spare.
	MaxPlaintext = 1 << 20
	// MaxAAD bounds the additional data (row identifiers, ARNs).
	MaxAAD = 8 << 10
	// Overhead is how many bytes Seal adds to the plaintext.
	Overhead = offPayload + tagSize

	version1   = 1
	keyIDSize  = 8
	nonceSize  = 12
	tagSize    = 16
	offKeyID   = 1
	offWrapN   = offKeyID + keyIDSize           // 9
	offWrapped = offWrapN + nonceSize           // 21
	offNonce   = offWrapped + KeySize + tagSize // 69
	offPayload = offNonce + nonceSize           // 81
)

// ErrOpen is returned (wrapped) for every sealed value that cannot be opened:
// malformed, tampered with, sealed with another aad, or under an unknown root
// key.
var ErrOpen = errors.New("keyring: cannot open sealed value")

// Keyring seals and opens values. It is safe for concurrent use. The zero
// value is not usable; create one with Load, New or NewWithPrevious.
type Keyring struct {
	keys []rootKey // keys[0] seals
}

type rootKey struct {
	id  [keyIDSize]byte
	kek cipher.AEAD
}

// New returns a keyring with a single root key (for tests and the ephemeral
// dev mode). It keeps no reference to rootKey; the caller may clear it.
func New(rootKey []byte) (*Keyring, error) {
	return NewWithPrevious(rootKey)
}

// NewWithPrevious returns a keyring that seals with current and can still
// open values sealed under any of previous.
func NewWithPrevious(current []byte, previous ...[]byte) (*Keyring, error) {
	k := &Keyring{}
	for i, raw := range append([][]byte{current}, previous...) {
		rk, err := deriveRootKey(raw)
		if err != nil {
			return nil, fmt.Errorf("root key %d: %w", i, err)
		}
		for _, have := range k.keys {
			if have.id == rk.id {
				return nil, fmt.Errorf("root key %d: duplicate key", i)
			}
		}
		k.keys = append(k.keys, rk)
	}
	return k, nil
}

func deriveRootKey(raw []byte) (rootKey, error) {
	if len(raw) != KeySize {
		return rootKey{}, fmt.Errorf("keyring: root key is %d bytes, want %d", len(raw), KeySize)
	}
	kekBytes, err := hkdf.Key(sha256.New, raw, nil, "bulwark keyring v1 key-encryption key", KeySize)
	if err != nil {
		return rootKey{}, fmt.Errorf("keyring: derive key-encryption key: %w", err)
	}
	defer clear(kekBytes)
	idSeed, err := hkdf.Key(sha256.New, raw, nil, "bulwark keyring v1 key id", KeySize)
	if err != nil {
		return rootKey{}, fmt.Errorf("keyring: derive key id: %w", err)
	}
	defer clear(idSeed)
	kek, err := newGCM(kekBytes)
	if err != nil {
		return rootKey{}, err
	}
	rk := rootKey{kek: kek}
	sum := sha256.Sum256(idSeed)
	copy(rk.id[:], sum[:keyIDSize])
	return rk, nil
}

func newGCM(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("keyring: aes: %w", err)
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("keyring: gcm: %w", err)
	}
	return gcm, nil
}

// KeyID returns the hex id of the current root key, safe to log: it
// identifies the key without revealing anything about it.
func (k *Keyring) KeyID() string {
	if k == nil || len(k.keys) == 0 {
		return ""
	}
	return hex.EncodeToString(k.keys[0].id[:])
}

// Seal encrypts plaintext under a fresh data key, wraps the data key with the
// current root key and binds the result to aad (for example the row's key).
// The same aad must be given to Open.
func (k *Keyring) Seal(plaintext, aad []byte) ([]byte, error) {
	if k == nil || len(k.keys) == 0 {
		return nil, errors.New("keyring: seal: keyring has no root key")
	}
	if len(plaintext) > MaxPlaintext {
		return nil, fmt.Errorf("keyring: seal: plaintext is %d bytes, limit %d", len(plaintext), MaxPlaintext)
	}
	if len(aad) > MaxAAD {
		return nil, fmt.Errorf("keyring: seal: aad is %d bytes, limit %d", len(aad), MaxAAD)
	}
	rk := k.keys[0]
	// The data key is cleared on return; the AES key schedule crypto/aes
	// expands from it cannot be, and is left to the garbage collector.
	dataKey := make([]byte, KeySize)
	defer clear(dataKey)
	rand.Read(dataKey) // never fails; the runtime aborts if randomness is unavailable

	out := make([]byte, offPayload, Overhead+len(plaintext))
	out[0] = version1
	copy(out[offKeyID:], rk.id[:])
	rand.Read(out[offWrapN:offWrapped])
	rand.Read(out[offNonce:offPayload])
	rk.kek.Seal(out[offWrapped:offWrapped], out[offWrapN:offWrapped], dataKey, out[:offWrapN])

	gcm, err := newGCM(dataKey)
	if err != nil {
		return nil, err
	}
	return gcm.Seal(out, out[offNonce:offPayload], plaintext, payloadAAD(out[:offNonce], aad)), nil
}

// Open authenticates and decrypts a value made by Seal with the same aad.
// Every failure wraps ErrOpen.
func (k *Keyring) Open(sealed, aad []byte) ([]byte, error) {
	switch {
	case k == nil || len(k.keys) == 0:
		return nil, fmt.Errorf("%w: keyring has no root key", ErrOpen)
	case len(sealed) < Overhead:
		return nil, fmt.Errorf("%w: %d bytes is too short", ErrOpen, len(sealed))
	case len(sealed) > Overhead+MaxPlaintext:
		return nil, fmt.Errorf("%w: %d bytes is too long", ErrOpen, len(sealed))
	case len(aad) > MaxAAD:
		return nil, fmt.Errorf("%w: aad is %d bytes, limit %d", ErrOpen, len(aad), MaxAAD)
	case sealed[0] != version1:
		return nil, fmt.Errorf("%w: unknown format version %d", ErrOpen, sealed[0])
	}
	var rk *rootKey
	for i := range k.keys {
		if string(k.keys[i].id[:]) == string(sealed[offKeyID:offWrapN]) {
			rk = &k.keys[i]
			break
		}
	}
	if rk == nil {
		return nil, fmt.Errorf("%w: sealed under root key %x, which this keyring does not hold", ErrOpen, sealed[offKeyID:offWrapN])
	}
	dataKey, err := rk.kek.Open(make([]byte, 0, KeySize), sealed[offWrapN:offWrapped], sealed[offWrapped:offNonce], sealed[:offWrapN])
	if err != nil {
		return nil, fmt.Errorf("%w: data key does not authenticate", ErrOpen)
	}
	defer clear(dataKey)
	gcm, err := newGCM(dataKey)
	if err != nil {
		return nil, err
	}
	plaintext, err := gcm.Open(nil, sealed[offNonce:offPayload], sealed[offPayload:], payloadAAD(sealed[:offNonce], aad))
	if err != nil {
		return nil, fmt.Errorf("%w: value does not authenticate (altered, or another aad)", ErrOpen)
	}
	if plaintext == nil {
		plaintext = []byte{}
	}
	return plaintext, nil
}

// payloadAAD is the fixed-size header followed by the caller's aad; the
// header's fixed size keeps the concatenation unambiguous.
func payloadAAD(header, aad []byte) []byte {
	b := make([]byte, 0, len(header)+len(aad))
	return append(append(b, header...), aad...)
}
