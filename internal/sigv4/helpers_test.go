package sigv4

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"testing"
	"time"
)

const (
	testAKID   = "AKIDBULWARKTEST00001"
	testSecret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYBULWARKKEY"
	testToken  = "FwoGZXIvYXdzEBulwarkSessionToken+/=="
	tempAKID   = "ASIABULWARKTEMP00001"
	tempSecret = "tempSecretKeyForSessionCredentials0000000"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// memCreds is a Credentials for tests: long-term keys, and temporary keys
// valid only with their session token.
type memCreds struct {
	keys    map[string]string
	tokens  map[string]string // akid -> required session token
	expired map[string]bool
	fail    error
}

func newMemCreds() *memCreds {
	return &memCreds{
		keys:    map[string]string{testAKID: testSecret, tempAKID: tempSecret, "AKIDEXAMPLE": "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"},
		tokens:  map[string]string{tempAKID: testToken},
		expired: map[string]bool{},
	}
}

func (c *memCreds) SecretKey(_ context.Context, akid, token string) ([]byte, error) {
	if c.fail != nil {
		return nil, c.fail
	}
	s, ok := c.keys[akid]
	if !ok {
		return nil, ErrUnknownKey
	}
	if want, temp := c.tokens[akid]; temp {
		if token != want {
			return nil, ErrInvalidToken
		}
		if c.expired[akid] {
			return nil, ErrExpiredToken
		}
	} else if token != "" && akid != "AKIDEXAMPLE" {
		return nil, ErrInvalidToken
	}
	return []byte(s), nil
}

func newTestVerifier(t testing.TB, now time.Time, mod ...func(*Config)) *Verifier {
	t.Helper()
	cfg := Config{Credentials: newMemCreds(), Region: "us-east-1", Now: func() time.Time { return now }}
	for _, m := range mod {
		m(&cfg)
	}
	v, err := NewVerifier(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// codeOf returns the AWS code of err, "" for nil and "internal" for others.
func codeOf(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return "internal"
}
