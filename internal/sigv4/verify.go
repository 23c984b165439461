package sigv4

import (
	"context"
	"crypto/hmac"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Credentials resolves an access key id, and the session token presented with
// it ("" if none), to the secret access key. It returns ErrUnknownKey,
// ErrExpiredToken or ErrInvalidToken for the client's faults; any other error
// is an internal failure. The returned slice is only read.
type Credentials interface {
	SecretKey(ctx context.Context, accessKeyID, sessionToken string) ([]byte, error)
}

// Config configures a Verifier.
type Config struct {
	// Credentials resolves access keys. Required.
	Credentials Credentials
	// Region is the region this server answers for; "" means "us-east-1".
	// IAM is global and always signed for us-east-1, which is accepted for
	// service "iam" whatever Region is.
	Region string
	// Services, when not empty, lists the credential-scope service names the
	// server answers for; any other is SignatureDoesNotMatch. Empty accepts
	// every service (the server routes by it anyway).
	Services []string
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
	// MaxSkew is the allowed clock difference for header authentication;
	// 0 means 15 minutes, AWS's value.
	MaxSkew time.Duration
	// KeyCacheSize bounds the number of cached signing keys; 0 means 4096.
	KeyCacheSize int
}

// Verifier checks SigV4 signatures. It is safe for concurrent use. Make one
// with NewVerifier; the zero Verifier is not usable.
type Verifier struct {
	creds    Credentials
	region   string
	services map[string]bool
	now      func() time.Time
	skew     time.Duration
	keys     *keyCache
}

// NewVerifier returns a Verifier for cfg.
func NewVerifier(cfg Config) (*Verifier, error) {
	if cfg.Credentials == nil {
		return nil, errors.New("sigv4: Config.Credentials is required")
	}
	v := &Verifier{creds: cfg.Credentials, region: cfg.Region, now: cfg.Now, skew: cfg.MaxSkew}
	if v.region == "" {
		v.region = "us-east-1"
	}
	if v.now == nil {
		v.now = time.Now
	}
	if v.skew <= 0 {
		v.skew = 15 * time.Minute
	}
	if len(cfg.Services) > 0 {
		v.services = make(map[string]bool, len(cfg.Services))
		for _, s := range cfg.Services {
			v.services[s] = true
		}
	}
	size := cfg.KeyCacheSize
	if size <= 0 {
		size = 4096
	}
	v.keys = newKeyCache(size)
	return v, nil
}

var bufPool = sync.Pool{New: func() any {
	b := make([]byte, 0, 2048)
	return &b
}}

// Verify checks the signature of r, whose body has already been read into
// body (nil when empty), against what Parse found in it. The order of the
// checks and the error each gives are listed in the package documentation.
// An error is a *Error unless resolving the access key failed internally.
func (v *Verifier) Verify(ctx context.Context, p *Parsed, r *http.Request, body []byte) error {
	if p == nil || r == nil || p.scope == "" || len(p.amzDate) != len(amzDateLayout) {
		return errIncomplete("The request signature could not be parsed.")
	}

	// 1. Credential scope.
	if p.terminator != terminator {
		return errMismatch(fmt.Sprintf("Credential should be scoped with a valid terminator: 'aws4_request', not '%s'.", quote(p.terminator)))
	}
	if v.services != nil && !v.services[p.Service] {
		return errMismatch(fmt.Sprintf("Credential should be scoped to correct service, not '%s'.", quote(p.Service)))
	}
	if p.Region != v.region && (p.Service != "iam" || p.Region != "us-east-1") {
		return errMismatch(fmt.Sprintf("Credential should be scoped to a valid region, not '%s'.", quote(p.Region)))
	}
	if p.Date != p.amzDate[:8] {
		return errMismatch(fmt.Sprintf("Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '%s' != '%s', from '%s'.",
			quote(p.Date), p.amzDate[:8], p.amzDate))
	}

	// 2. Headers that must be signed.
	if !p.signs("host") {
		return errIncomplete(msgHostNotSigned)
	}
	switch {
	case p.timeHeader == "x-amz-date" && !p.signs("x-amz-date"):
		return errIncomplete("'X-Amz-Date' must be a 'SignedHeader' in the AWS Authorization.")
	case p.timeHeader == "date" && !p.signs("date"):
		return errIncomplete("'Date' must be a 'SignedHeader' in the AWS Authorization.")
	case p.tokenInHeader && !p.signs("x-amz-security-token"):
		return errIncomplete("'X-Amz-Security-Token' must be a 'SignedHeader' in the AWS Authorization.")
	}

	// 3. Time.
	now := v.now().UTC()
	if p.Time.After(now.Add(v.skew)) {
		return errMismatch(fmt.Sprintf("Signature not yet current: %s is still later than %s (%s + %d min.)",
			p.amzDate, now.Add(v.skew).Format(amzDateLayout), now.Format(amzDateLayout), int(v.skew/time.Minute)))
	}
	if p.Presigned {
		window := v.skew
		if p.hasExpires {
			window = p.Expires
		}
		if now.After(p.Time.Add(window)) {
			return errRequestExpired(msgPresignExpired)
		}
	} else if p.Time.Before(now.Add(-v.skew)) {
		return errMismatch(fmt.Sprintf("Signature expired: %s is now earlier than %s (%s - %d min.)",
			p.amzDate, now.Add(-v.skew).Format(amzDateLayout), now.Format(amzDateLayout), int(v.skew/time.Minute)))
	}

	// 4. Payload hash.
	computed := hexSHA256(body)
	payload, n := computed, len(computed)
	switch h := p.PayloadHash; {
	case h == "":
	case h == unsignedPayload:
		n = copy(payload[:], unsignedPayload)
	case strings.HasPrefix(h, "STREAMING-"):
		return errIncomplete("Chunked (STREAMING-*) payload signing is not supported by this endpoint.")
	case h != string(computed[:]):
		return newError(CodeContentSHA256Mismatch, http.StatusBadRequest, msgContentMismatch)
	}

	// 5. The secret.
	secret, err := v.creds.SecretKey(ctx, p.AccessKeyID, p.SessionToken)
	switch {
	case err == nil:
	case errors.Is(err, ErrUnknownKey), errors.Is(err, ErrInvalidToken):
		return errInvalidClientToken()
	case errors.Is(err, ErrExpiredToken):
		return errExpiredToken()
	default:
		return fmt.Errorf("sigv4: resolve access key %q: %w", quote(p.AccessKeyID), err)
	}

	// 6. The signature.
	var want [32]byte
	if !decodeHex32(&want, p.Signature) {
		return errMismatch(msgSignatureMismatch)
	}
	key := v.keys.signingKey(p.cacheID, secret, p.Date, p.Region, p.Service)
	path := wirePath(r)
	in := signingInput{
		path:             path,
		presigned:        p.Presigned,
		signedHeaders:    p.SignedHeaders,
		signedHeadersRaw: p.signedHeadersRaw,
		amzDate:          p.amzDate,
		scope:            p.scope,
		payloadHash:      payload[:n],
	}
	bp := bufPool.Get().(*[]byte)
	got, buf := signature(&key, r, &in, *bp)
	ok := hmac.Equal(got[:], want[:])
	if !ok {
		// Other ways real clients build the canonical request, tried only
		// after a mismatch: botocore and the AWS test suite's "normalized"
		// cases sign "/a/b" for "/a/./b//", and botocore signs a query that
		// is already in the URL as it is, without re-encoding it.
		np, normalizable := normalizePath(path)
		rawQuery := r.URL != nil && r.URL.RawQuery != ""
		for _, alt := range [...]struct{ norm, raw bool }{{true, false}, {false, true}, {true, true}} {
			if ok || (alt.norm && !normalizable) || (alt.raw && !rawQuery) {
				continue
			}
			in.path, in.rawQuery = path, alt.raw
			if alt.norm {
				in.path = np
			}
			got, buf = signature(&key, r, &in, buf)
			ok = hmac.Equal(got[:], want[:])
		}
	}
	if cap(buf) <= 64<<10 {
		*bp = buf[:0]
		bufPool.Put(bp)
	}
	if !ok {
		return errMismatch(msgSignatureMismatch)
	}
	return nil
}

func (p *Parsed) signs(name string) bool {
	for _, h := range p.SignedHeaders {
		if h == name {
			return true
		}
	}
	return false
}

// decodeHex32 decodes a 64-digit hex string without allocating.
func decodeHex32(dst *[32]byte, s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < 32; i++ {
		hi, ok1 := fromHex(s[2*i])
		lo, ok2 := fromHex(s[2*i+1])
		if !ok1 || !ok2 {
			return false
		}
		dst[i] = hi<<4 | lo
	}
	return true
}

func fromHex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}
