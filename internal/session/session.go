// Package session issues and opens STS session tokens. A token is the
// session itself (temporary access key, its secret, the principal, expiry,
// session policies and tags) sealed with the keyring's AES-256-GCM envelope
// and bound to its access key id: it cannot be read, forged or altered, and
// a token presented with another access key id does not open. Verifying a
// temporary credential therefore needs no database read.
package session

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/bulwark-security/bulwark/internal/api"
)

// prefix marks Bulwark session tokens (and their format version), so a
// token from elsewhere fails fast.
const prefix = "BWK1"

// MaxTokenBytes bounds a token accepted from the network. Session policies
// (2,048 characters packed), 10 policy ARNs and 50 tags fit well inside it.
const MaxTokenBytes = 16 << 10

// ErrInvalid means the token is malformed, altered, or not for this key.
var ErrInvalid = errors.New("session: invalid token")

// Sealer seals values (the keyring).
type Sealer interface {
	Seal(plaintext, aad []byte) ([]byte, error)
}

// Opener opens sealed values (the keyring).
type Opener interface {
	Open(sealed, aad []byte) ([]byte, error)
}

// Session is what a token carries.
type Session struct {
	AccessKeyID string        `json:"k"`
	Secret      []byte        `json:"s"`
	Principal   api.Principal `json:"p"`
}

func aad(accessKeyID string) []byte { return []byte("bulwark/sts-session/" + accessKeyID) }

// Seal returns the session token for s.
func Seal(k Sealer, s *Session) (string, error) {
	if s.AccessKeyID == "" || len(s.Secret) == 0 || s.Principal.Expiration.IsZero() {
		return "", errors.New("session: access key, secret and expiration are required")
	}
	plain, err := json.Marshal(s)
	if err != nil {
		return "", fmt.Errorf("encode session: %w", err)
	}
	defer clear(plain)
	sealed, err := k.Seal(plain, aad(s.AccessKeyID))
	if err != nil {
		return "", fmt.Errorf("seal session: %w", err)
	}
	tok := prefix + base64.StdEncoding.EncodeToString(sealed)
	if len(tok) > MaxTokenBytes {
		return "", fmt.Errorf("session token of %d bytes exceeds %d", len(tok), MaxTokenBytes)
	}
	return tok, nil
}

// Open returns the session in token if it was sealed for accessKeyID. It
// does not check expiry: the caller compares Principal.Expiration with its
// clock (so that expired tokens get ExpiredToken, not InvalidClientTokenId).
func Open(k Opener, accessKeyID, token string) (*Session, error) {
	if len(token) > MaxTokenBytes || !strings.HasPrefix(token, prefix) {
		return nil, ErrInvalid
	}
	sealed, err := base64.StdEncoding.DecodeString(token[len(prefix):])
	if err != nil {
		return nil, ErrInvalid
	}
	plain, err := k.Open(sealed, aad(accessKeyID))
	if err != nil {
		return nil, ErrInvalid
	}
	defer clear(plain)
	var s Session
	if err := json.Unmarshal(plain, &s); err != nil || s.AccessKeyID != accessKeyID {
		return nil, ErrInvalid
	}
	return &s, nil
}

// Expired reports whether the session has expired at now.
func (s *Session) Expired(now time.Time) bool { return !now.Before(s.Principal.Expiration) }
