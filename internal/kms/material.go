package kms

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/bulwark-security/bulwark/internal/store"
)

// Key specs (AWS KMS KeySpec).
const (
	specSymmetric = "SYMMETRIC_DEFAULT"
	specRSA2048   = "RSA_2048"
	specRSA3072   = "RSA_3072"
	specRSA4096   = "RSA_4096"
	specP256      = "ECC_NIST_P256"
	specP384      = "ECC_NIST_P384"
	specHMAC256   = "HMAC_256"

	usageEncrypt = "ENCRYPT_DECRYPT"
	usageSign    = "SIGN_VERIFY"
	usageMAC     = "GENERATE_VERIFY_MAC"
)

// specUsages lists the key usages each supported key spec allows; the
// first is the default.
var specUsages = map[string][]string{
	specSymmetric: {usageEncrypt},
	specRSA2048:   {usageEncrypt, usageSign},
	specRSA3072:   {usageEncrypt, usageSign},
	specRSA4096:   {usageEncrypt, usageSign},
	specP256:      {usageSign},
	specP384:      {usageSign},
	specHMAC256:   {usageMAC},
}

func rsaBits(spec string) int {
	switch spec {
	case specRSA2048:
		return 2048
	case specRSA3072:
		return 3072
	case specRSA4096:
		return 4096
	}
	return 0
}

// material is opened key material, ready to use.
type material struct {
	aead cipher.AEAD // symmetric keys
	rsa  *rsa.PrivateKey
	ec   *ecdsa.PrivateKey
	mac  []byte // HMAC keys
}

// newMaterial generates key material for a spec and returns its encoding
// (raw bytes for symmetric and HMAC keys, PKCS #8 DER otherwise) and, for
// asymmetric keys, the DER SubjectPublicKeyInfo.
func newMaterial(spec string) (raw, public []byte, err error) {
	switch spec {
	case specSymmetric, specHMAC256:
		raw = make([]byte, 32)
		rand.Read(raw)
		return raw, nil, nil
	case specP256, specP384:
		curve := elliptic.P256()
		if spec == specP384 {
			curve = elliptic.P384()
		}
		k, err := ecdsa.GenerateKey(curve, rand.Reader)
		if err != nil {
			return nil, nil, fmt.Errorf("generate %s key: %w", spec, err)
		}
		return marshalPair(k, &k.PublicKey)
	}
	if bits := rsaBits(spec); bits > 0 {
		k, err := rsa.GenerateKey(rand.Reader, bits)
		if err != nil {
			return nil, nil, fmt.Errorf("generate %s key: %w", spec, err)
		}
		return marshalPair(k, &k.PublicKey)
	}
	return nil, nil, fmt.Errorf("unsupported key spec %q", spec)
}

func marshalPair(priv, pub any) ([]byte, []byte, error) {
	raw, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, nil, fmt.Errorf("marshal private key: %w", err)
	}
	public, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, nil, fmt.Errorf("marshal public key: %w", err)
	}
	return raw, public, nil
}

// openMaterial parses raw material of a spec.
func openMaterial(spec string, raw []byte) (*material, error) {
	switch spec {
	case specSymmetric:
		if len(raw) != 32 {
			return nil, errors.New("symmetric key material is not 32 bytes")
		}
		block, err := aes.NewCipher(raw)
		if err != nil {
			return nil, err
		}
		gcm, err := cipher.NewGCM(block)
		if err != nil {
			return nil, err
		}
		return &material{aead: gcm}, nil
	case specHMAC256:
		if len(raw) != 32 {
			return nil, errors.New("HMAC key material is not 32 bytes")
		}
		return &material{mac: raw}, nil
	}
	k, err := x509.ParsePKCS8PrivateKey(raw)
	clear(raw)
	if err != nil {
		return nil, fmt.Errorf("parse private key: %w", err)
	}
	switch k := k.(type) {
	case *rsa.PrivateKey:
		return &material{rsa: k}, nil
	case *ecdsa.PrivateKey:
		return &material{ec: k}, nil
	}
	return nil, fmt.Errorf("unexpected private key type %T", k)
}

// materialAAD binds sealed material to its key and version, so a row
// copied to another key or version does not open.
func materialAAD(keyID string, version int) []byte {
	return []byte("bulwark/kms/material/v1\x00" + keyID + "\x00" + strconv.Itoa(version))
}

// materialCache holds opened material. Material of a (key, version) never
// changes, so entries are never stale; whether the key may be used is
// decided from the key's state read on every call, not from the cache.
// The bound keeps memory (and the amount of key material in memory) in
// check; a full cache drops an arbitrary entry.
type materialCache struct {
	mu  sync.Mutex
	max int
	m   map[matKey]*material
}

type matKey struct {
	id      string
	version int
}

func newMaterialCache(max int) *materialCache {
	return &materialCache{max: max, m: make(map[matKey]*material)}
}

func (c *materialCache) get(id string, version int) *material {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m[matKey{id, version}]
}

func (c *materialCache) put(id string, version int, m *material) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= c.max {
		for k := range c.m {
			delete(c.m, k)
			break
		}
	}
	c.m[matKey{id, version}] = m
}

// forget drops every version of a key (disabled, pending deletion,
// deleted), so its material does not linger in memory.
func (c *materialCache) forget(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k := range c.m {
		if k.id == id {
			delete(c.m, k)
		}
	}
}

func (c *materialCache) reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	clear(c.m)
}

// rowCache keeps key rows read from the store for a short time (see
// Config.KeyCacheTTL), so a request does not read its key twice and a
// busy key is not read on every call. Writes through this server drop the
// key's entry at once.
type rowCache struct {
	mu  sync.Mutex
	max int
	ttl time.Duration
	m   map[string]rowEntry
}

type rowEntry struct {
	key store.KMSKey
	at  time.Time
}

func newRowCache(max int, ttl time.Duration) *rowCache {
	return &rowCache{max: max, ttl: ttl, m: make(map[string]rowEntry)}
}

func (c *rowCache) get(id string) (store.KMSKey, bool) {
	if c.ttl <= 0 {
		return store.KMSKey{}, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[id]
	if !ok || time.Since(e.at) > c.ttl {
		return store.KMSKey{}, false
	}
	return e.key, true
}

func (c *rowCache) put(key store.KMSKey) {
	if c.ttl <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if old, ok := c.m[key.KeyID]; ok && old.key.Gen > key.Gen {
		return
	}
	if len(c.m) >= c.max {
		for id := range c.m {
			delete(c.m, id)
			break
		}
	}
	c.m[key.KeyID] = rowEntry{key: key, at: time.Now()}
}

func (c *rowCache) forget(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.m, id)
}

func (c *rowCache) reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	clear(c.m)
}
