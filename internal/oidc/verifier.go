package oidc

import (
	"context"
	"crypto/sha1" //nolint:gosec // IAM thumbprints are SHA-1 by definition; they select a pinned certificate, the chain is still verified.
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"
)

// Defaults for Config's zero fields.
const (
	DefaultTimeout         = 5 * time.Second
	DefaultCacheTTL        = 10 * time.Minute
	DefaultRefetchInterval = time.Minute
	DefaultMaxBodyBytes    = 1 << 20
	// DefaultSkew is the clock skew allowed between the issuer and
	// Bulwark: a token is accepted up to five minutes after its exp (as IAM
	// does, citing OpenID Connect Core 1.0 §3.1.3.7), and nbf and iat may
	// lie up to five minutes in the future.
	DefaultSkew = 5 * time.Minute
)

// Config tunes a Verifier; the zero value uses the defaults.
type Config struct {
	// Now is the clock.
	Now func() time.Time
	// Timeout bounds each HTTPS fetch (discovery document, JWKS).
	Timeout time.Duration
	// CacheTTL is how long fetched keys are used before refetching.
	CacheTTL time.Duration
	// RefetchInterval is the least time between two fetches prompted by
	// an unknown key id (key rotation).
	RefetchInterval time.Duration
	// MaxBodyBytes bounds the discovery document and the JWKS.
	MaxBodyBytes int64
	// Skew is the leeway for exp, nbf and iat; negative means none.
	Skew time.Duration
	// RootCAs replaces the system roots (tests); nil means the system's.
	RootCAs *x509.CertPool
}

// Provider is the IAM OIDC provider a token claims to come from.
type Provider struct {
	// URL is the issuer (https://host/path).
	URL string
	// ClientIDs are the accepted audiences.
	ClientIDs []string
	// Thumbprints are hex SHA-1 thumbprints of certificates trusted as
	// roots of the issuer's TLS chain, besides the system roots.
	Thumbprints []string
}

// Result is what a verified token says.
type Result struct {
	// Audience is the token audience that matched a client id.
	Audience string
	Claims   Claims
}

// Verifier verifies ID tokens; it is safe for concurrent use.
type Verifier struct {
	cfg   Config
	mu    sync.Mutex
	cache map[string]*entry
}

// entry is the cached key set of one issuer (and thumbprint list).
type entry struct {
	mu        sync.Mutex // held while fetching, so one fetch per issuer at a time
	keys      []key
	fetchedAt time.Time
	triedAt   time.Time
	// failErr is the last failed fetch when no keys are cached; it is
	// answered without a new fetch until failBackoff has passed, so a
	// down issuer does not queue every request behind a timeout.
	failErr error
}

const failBackoff = 5 * time.Second

// NewVerifier returns a Verifier with cfg's zero fields defaulted.
func NewVerifier(cfg Config) *Verifier {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.CacheTTL <= 0 {
		cfg.CacheTTL = DefaultCacheTTL
	}
	if cfg.RefetchInterval <= 0 {
		cfg.RefetchInterval = DefaultRefetchInterval
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if cfg.Skew < 0 {
		cfg.Skew = 0
	} else if cfg.Skew == 0 {
		cfg.Skew = DefaultSkew
	}
	return &Verifier{cfg: cfg, cache: make(map[string]*entry)}
}

// IssuerID is how IAM names an issuer: the https URL without its scheme
// and trailing slash, host in lower case ("host/path"); it is the last
// part of the provider ARN and the prefix of the provider's condition keys.
func IssuerID(issuer string) (string, error) {
	u, err := url.Parse(issuer)
	if err != nil || u.Scheme != "https" || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" ||
		u.Opaque != "" || strings.ContainsAny(issuer, " \t\r\n") {
		return "", invalid("The ID Token provided has an invalid iss claim.")
	}
	return strings.ToLower(u.Host) + strings.TrimSuffix(u.EscapedPath(), "/"), nil
}

// Verify checks t against p: algorithm, signature (with the issuer's
// published keys), issuer, audience and validity period. Errors are
// *Error values.
func (v *Verifier) Verify(ctx context.Context, t *JWT, p Provider) (*Result, error) {
	if _, ok := algorithms[t.Header.Alg]; !ok {
		return nil, invalid(fmt.Sprintf("The ID Token's signing algorithm %q is not supported.", truncate(t.Header.Alg, 16)))
	}
	if len(t.Header.Crit) > 0 {
		return nil, invalid("The ID Token uses critical header extensions that are not supported.")
	}
	want, err := IssuerID(p.URL)
	if err != nil {
		return nil, err
	}
	got, err := IssuerID(t.Claims.Issuer)
	if err != nil {
		return nil, err
	}
	if got != want {
		return nil, invalid(msgBadIssuer)
	}
	if err := v.verifySignature(ctx, t, p); err != nil {
		return nil, err
	}
	// Claims are only examined once the signature proves who wrote them.
	c := &t.Claims
	aud := ""
	for _, a := range c.Audience {
		if slices.Contains(p.ClientIDs, a) {
			aud = a
			break
		}
	}
	if aud == "" {
		return nil, invalid(msgBadAud)
	}
	now := v.cfg.Now()
	if !c.HasExpiry {
		return nil, invalid("The ID Token provided has no exp claim.")
	}
	skew := int64(v.cfg.Skew / time.Second)
	if now.Unix() >= c.Expiry+skew {
		return nil, &Error{Kind: KindExpired, Message: fmt.Sprintf("Token expired: current date/time %d must be before the expiration date/time %d",
			now.Unix(), c.Expiry)}
	}
	if c.HasNotBefore && now.Unix()+skew < c.NotBefore {
		return nil, invalid(msgNotYet)
	}
	if c.HasIssuedAt && now.Unix()+skew < c.IssuedAt {
		return nil, invalid(msgIssuedLate)
	}
	if c.Subject == "" {
		return nil, invalid("The ID Token provided has no sub claim.")
	}
	return &Result{Audience: aud, Claims: *c}, nil
}

func (v *Verifier) verifySignature(ctx context.Context, t *JWT, p Provider) error {
	keys, err := v.keys(ctx, p, t.Header.Kid)
	if err != nil {
		return err
	}
	found := false
	for i := range keys {
		k := &keys[i]
		if (t.Header.Kid != "" && k.kid != t.Header.Kid) || !k.usable(t.Header.Alg) {
			continue
		}
		found = true
		if verifySignature(t, k) {
			return nil
		}
	}
	if !found {
		return invalid(msgNoKey)
	}
	return invalid(msgBadSig)
}

// keys returns the issuer's keys, fetching them when the cache is empty or
// stale, or when kid is unknown and no fetch happened in the last
// RefetchInterval.
func (v *Verifier) keys(ctx context.Context, p Provider, kid string) ([]key, error) {
	tps := make([]string, len(p.Thumbprints))
	for i, tp := range p.Thumbprints {
		tps[i] = strings.ToLower(tp)
	}
	slices.Sort(tps)
	ck := p.URL + "\x00" + strings.Join(tps, ",")
	v.mu.Lock()
	e := v.cache[ck]
	if e == nil {
		e = &entry{}
		v.cache[ck] = e
	}
	v.mu.Unlock()

	e.mu.Lock()
	defer e.mu.Unlock()
	now := v.cfg.Now()
	fresh := e.keys != nil && now.Sub(e.fetchedAt) < v.cfg.CacheTTL
	known := kid == "" || slices.ContainsFunc(e.keys, func(k key) bool { return k.kid == kid })
	if fresh && (known || now.Sub(e.triedAt) < v.cfg.RefetchInterval) {
		return e.keys, nil
	}
	if !fresh && e.failErr != nil && now.Sub(e.triedAt) < failBackoff {
		return nil, e.failErr
	}
	e.triedAt = now
	keys, err := v.fetch(ctx, p.URL, tps)
	if err != nil {
		if fresh {
			return e.keys, nil // rotation check failed; the cached keys still stand
		}
		e.failErr = err
		return nil, err
	}
	e.keys, e.fetchedAt, e.failErr = keys, now, nil
	return keys, nil
}

// fetch reads the discovery document and then the JWKS it names.
func (v *Verifier) fetch(ctx context.Context, issuer string, thumbprints []string) ([]key, error) {
	ctx, cancel := context.WithTimeout(ctx, v.cfg.Timeout)
	defer cancel()
	body, err := v.get(ctx, strings.TrimSuffix(issuer, "/")+"/.well-known/openid-configuration", thumbprints)
	if err != nil {
		return nil, communication("fetch discovery document: %w", err)
	}
	var doc struct {
		Issuer  string `json:"issuer"`
		JWKSURI string `json:"jwks_uri"`
	}
	if err := strictObject(body, &doc); err != nil {
		return nil, communication("decode discovery document: %w", err)
	}
	// OpenID Connect Discovery 1.0 §4.3: the document's issuer must be
	// the issuer it was fetched for.
	want, _ := IssuerID(issuer)
	if got, err := IssuerID(doc.Issuer); err != nil || got != want {
		return nil, communication("discovery document names issuer %q", truncate(doc.Issuer, 200))
	}
	if u, err := url.Parse(doc.JWKSURI); err != nil || u.Scheme != "https" || u.Host == "" {
		return nil, communication("discovery document has no https jwks_uri")
	}
	body, err = v.get(ctx, doc.JWKSURI, thumbprints)
	if err != nil {
		return nil, communication("fetch JWKS: %w", err)
	}
	keys, err := parseJWKS(body)
	if err != nil {
		return nil, communication("%w", err)
	}
	return keys, nil
}

// get fetches an https URL with the thumbprint TLS policy, without
// redirects, cookies or connection reuse, reading at most MaxBodyBytes.
func (v *Verifier) get(ctx context.Context, rawURL string, thumbprints []string) ([]byte, error) {
	u, err := url.Parse(rawURL)
	if err != nil || u.Scheme != "https" {
		return nil, fmt.Errorf("refusing non-https URL")
	}
	tr := &http.Transport{
		Proxy:               http.ProxyFromEnvironment,
		DisableKeepAlives:   true,
		TLSHandshakeTimeout: v.cfg.Timeout,
		TLSClientConfig: &tls.Config{
			MinVersion: tls.VersionTLS12,
			// Verification is done by VerifyConnection below (system
			// roots, then pinned thumbprints); it still checks the
			// chain and the host name.
			InsecureSkipVerify: true, //nolint:gosec
			VerifyConnection:   verifyConnection(u.Hostname(), v.cfg.RootCAs, thumbprints),
		},
	}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: v.cfg.Timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return errors.New("redirects are not followed") }}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s answered HTTP %d", u.Host, resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, v.cfg.MaxBodyBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", u.Host, err)
	}
	if int64(len(body)) > v.cfg.MaxBodyBytes {
		return nil, fmt.Errorf("%s sent more than %d bytes", u.Host, v.cfg.MaxBodyBytes)
	}
	return body, nil
}

// verifyConnection accepts a server chain that verifies for host against
// roots (nil: the system's), or against those presented certificates whose
// SHA-1 thumbprint is listed. Listing a thumbprint trusts that
// certificate as a root; the leaf must still chain to it and name host.
func verifyConnection(host string, roots *x509.CertPool, thumbprints []string) func(tls.ConnectionState) error {
	return func(cs tls.ConnectionState) error {
		certs := cs.PeerCertificates
		if len(certs) == 0 {
			return errors.New("server sent no certificate")
		}
		inter := x509.NewCertPool()
		for _, c := range certs[1:] {
			inter.AddCert(c)
		}
		opts := x509.VerifyOptions{DNSName: host, Roots: roots, Intermediates: inter}
		_, err := certs[0].Verify(opts)
		if err == nil {
			return nil
		}
		pinned := x509.NewCertPool()
		n := 0
		for _, c := range certs {
			sum := sha1.Sum(c.Raw) //nolint:gosec
			if slices.Contains(thumbprints, hex.EncodeToString(sum[:])) {
				pinned.AddCert(c)
				n++
			}
		}
		if n == 0 {
			return fmt.Errorf("verify %s certificate: %w", host, err)
		}
		opts.Roots = pinned
		if _, err := certs[0].Verify(opts); err != nil {
			return fmt.Errorf("verify %s certificate against pinned thumbprint: %w", host, err)
		}
		return nil
	}
}

// Parse is ParseJWT followed by Verify.
func (v *Verifier) Parse(ctx context.Context, token string, p Provider) (*Result, error) {
	t, err := ParseJWT(token)
	if err != nil {
		return nil, err
	}
	return v.Verify(ctx, t, p)
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
