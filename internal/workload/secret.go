package workload

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"log/slog"
	"strings"
)

// Token prefixes say what a secret is when it turns up somewhere (a log, a
// paste), as GitHub's token prefixes do.
const (
	joinTokenPrefix  = "bwj_"
	agentTokenPrefix = "bwa_"
	// localTokenPrefix marks the per-workload tokens of the agent's
	// credentials endpoint and IMDSv2 sessions.
	localTokenPrefix = "bwl_"
	// tokenLen is the length of every token: a prefix and 43 characters of
	// unpadded base64url for 32 random bytes.
	tokenLen = 4 + 43
)

// Secret is a bearer token. Its String and LogValue never show the value.
type Secret struct{ v string }

// NewSecret returns a fresh 256-bit random token with a prefix.
func NewSecret(prefix string) Secret {
	var b [32]byte
	_, _ = rand.Read(b[:]) // crypto/rand never fails (Go 1.24+)
	return Secret{prefix + base64.RawURLEncoding.EncodeToString(b[:])}
}

// ParseSecret accepts a token with the prefix and the exact shape NewSecret
// makes, and nothing else, so oversized or odd input stops here.
func ParseSecret(prefix, s string) (Secret, bool) {
	if len(s) != tokenLen || !strings.HasPrefix(s, prefix) {
		return Secret{}, false
	}
	b, err := base64.RawURLEncoding.Strict().DecodeString(s[len(prefix):])
	if err != nil || len(b) != 32 {
		return Secret{}, false
	}
	return Secret{s}, true
}

// Reveal returns the token itself, for the one place it is handed out.
func (s Secret) Reveal() string { return s.v }

// IsZero reports whether s holds no token.
func (s Secret) IsZero() bool { return s.v == "" }

// Hash is what the store keeps: SHA-256 of a 256-bit random value, so a
// lookup by hash leaks nothing useful through timing and a copy of the
// database attests nothing.
func (s Secret) Hash() []byte {
	h := sha256.Sum256([]byte(s.v))
	return h[:]
}

// Equal compares in constant time.
func (s Secret) Equal(o Secret) bool {
	return len(s.v) == len(o.v) && subtle.ConstantTimeCompare([]byte(s.v), []byte(o.v)) == 1
}

// EqualString compares with a presented value in constant time (for equal
// lengths; every valid token has the same length).
func (s Secret) EqualString(v string) bool {
	return s.v != "" && len(v) == len(s.v) && subtle.ConstantTimeCompare([]byte(s.v), []byte(v)) == 1
}

func (s Secret) String() string { return "[redacted]" }

// LogValue implements slog.LogValuer.
func (s Secret) LogValue() slog.Value { return slog.StringValue("[redacted]") }
