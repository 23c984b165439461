// Package credentials resolves the access key id of a signed request to its
// secret (for SigV4 verification) and to the principal that owns it. Secrets
// live sealed in the store; this package opens them with the keyring and
// keeps a short-lived in-memory cache so the hot path of every request does
// not touch the database.
package credentials

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/bulwark-security/bulwark/internal/api"
	"github.com/bulwark-security/bulwark/internal/session"
	"github.com/bulwark-security/bulwark/internal/sigv4"
	"github.com/bulwark-security/bulwark/internal/store"
)

// Opener opens values sealed by the keyring.
type Opener interface {
	Open(sealed, aad []byte) ([]byte, error)
}

// SecretAAD is the additional authenticated data that binds a sealed secret
// access key to its key id: a sealed secret copied to another row does not open.
func SecretAAD(accessKeyID string) []byte { return []byte("bulwark/access-key/" + accessKeyID) }

// Config configures a Resolver.
type Config struct {
	Store store.Store
	Keys  Opener
	// TTL is how long a resolved key is trusted before it is read again; a
	// deactivated or deleted key stops working within TTL on every server.
	// Zero means 2 seconds.
	TTL time.Duration
	// MaxEntries bounds the cache (including negative entries for unknown
	// keys, which an attacker can make up at will). Zero means 10,000.
	MaxEntries int
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// AllowWellKnown accepts WellKnownAccessKeyID; only dev mode sets it, so
	// a production server refuses the well-known key even if a store holds it.
	AllowWellKnown bool
}

// WellKnownAccessKeyID is dev mode's root access key id (its secret is
// "test" too), the credential LocalStack and moto users already type.
const WellKnownAccessKeyID = "test"

// Resolver implements sigv4.Credentials and maps keys to principals.
type Resolver struct {
	cfg   Config
	mu    sync.RWMutex
	cache map[string]*entry
}

type entry struct {
	secret    []byte
	principal api.Principal
	err       error // sigv4.ErrUnknownKey for unknown or inactive keys
	expires   time.Time
	// sessionEnd is the expiry of a temporary credential (zero otherwise).
	sessionEnd time.Time
}

// NewResolver returns a Resolver.
func NewResolver(cfg Config) *Resolver {
	if cfg.TTL <= 0 {
		cfg.TTL = 2 * time.Second
	}
	if cfg.MaxEntries <= 0 {
		cfg.MaxEntries = 10000
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Resolver{cfg: cfg, cache: make(map[string]*entry)}
}

// SecretKey implements sigv4.Credentials.
func (r *Resolver) SecretKey(ctx context.Context, accessKeyID, sessionToken string) ([]byte, error) {
	e, err := r.lookup(ctx, accessKeyID, sessionToken)
	if err != nil {
		return nil, err
	}
	return e.secret, nil
}

// Principal returns the principal that owns the key. Call it after the
// signature has been verified.
func (r *Resolver) Principal(ctx context.Context, accessKeyID, sessionToken string) (*api.Principal, error) {
	e, err := r.lookup(ctx, accessKeyID, sessionToken)
	if err != nil {
		return nil, err
	}
	p := e.principal
	return &p, nil
}

// Forget drops a key from the cache (after it is deactivated or deleted on
// this server; other servers notice within TTL).
func (r *Resolver) Forget(accessKeyID string) {
	r.mu.Lock()
	delete(r.cache, accessKeyID)
	r.mu.Unlock()
}

// ForgetAll empties the cache (dev mode's reset).
func (r *Resolver) ForgetAll() {
	r.mu.Lock()
	clear(r.cache)
	r.mu.Unlock()
}

func (r *Resolver) lookup(ctx context.Context, akid, token string) (*entry, error) {
	// AWS access key ids are 16 to 128 characters; dev mode's is "test".
	if akid == "" || len(akid) > 128 || (akid == WellKnownAccessKeyID && !r.cfg.AllowWellKnown) {
		return nil, sigv4.ErrUnknownKey
	}
	temporary := token != ""
	if temporary && !strings.HasPrefix(akid, "ASIA") {
		// A session token is only valid with the temporary key it was
		// issued with; long-term keys never carry one.
		return nil, sigv4.ErrInvalidToken
	}
	if !temporary && strings.HasPrefix(akid, "ASIA") {
		return nil, sigv4.ErrUnknownKey
	}
	cacheKey := akid
	if temporary {
		h := sha256.Sum256([]byte(token))
		cacheKey = akid + "\x00" + string(h[:])
	}
	now := r.cfg.Now()
	r.mu.RLock()
	e, ok := r.cache[cacheKey]
	r.mu.RUnlock()
	if !ok || now.After(e.expires) {
		var err error
		if temporary {
			e = r.openSession(akid, token)
		} else if e, err = r.load(ctx, akid); err != nil {
			return nil, err
		}
		e.expires = now.Add(r.cfg.TTL)
		r.mu.Lock()
		if len(r.cache) >= r.cfg.MaxEntries {
			for k := range r.cache { // evict an arbitrary entry: map order is random
				delete(r.cache, k)
				break
			}
		}
		r.cache[cacheKey] = e
		r.mu.Unlock()
	}
	if e.err != nil {
		return nil, e.err
	}
	if temporary && !now.Before(e.sessionEnd) {
		return nil, sigv4.ErrExpiredToken
	}
	return e, nil
}

// openSession opens an STS session token (no database read: the token is
// the sealed session).
func (r *Resolver) openSession(akid, token string) *entry {
	s, err := session.Open(r.cfg.Keys, akid, token)
	if err != nil {
		return &entry{err: sigv4.ErrInvalidToken}
	}
	p := s.Principal
	p.AccessKeyID = akid
	p.Temporary = true
	return &entry{secret: s.Secret, principal: p, sessionEnd: p.Expiration}
}

func (r *Resolver) load(ctx context.Context, akid string) (*entry, error) {
	k, err := r.cfg.Store.GetAccessKey(ctx, akid)
	if errors.Is(err, store.ErrNotFound) {
		return &entry{err: sigv4.ErrUnknownKey}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("load access key: %w", err)
	}
	if k.Status != store.KeyActive {
		return &entry{err: sigv4.ErrUnknownKey}, nil
	}
	secret, err := r.cfg.Keys.Open(k.SealedSecret, SecretAAD(akid))
	if err != nil {
		return nil, fmt.Errorf("open sealed secret of access key %s: %w", akid, err)
	}
	return &entry{secret: secret, principal: api.Principal{
		Type: string(k.PrincipalType), ARN: k.PrincipalARN, AccountID: k.AccountID,
		UserID: k.PrincipalID, UserName: k.UserName, AccessKeyID: akid,
	}}, nil
}

// base32 alphabet AWS uses in access key ids.
const keyIDAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"

// NewAccessKeyID returns a random 20-character key id with the prefix
// ("AKIA" for long-term keys, "ASIA" for temporary ones).
func NewAccessKeyID(prefix string) string {
	b := make([]byte, 20-len(prefix))
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = keyIDAlphabet[b[i]&31]
	}
	return prefix + string(b)
}

// NewSecretAccessKey returns a random 40-character secret (240 bits).
func NewSecretAccessKey() []byte {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	b := make([]byte, 40)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = alphabet[b[i]&63]
	}
	return b
}
