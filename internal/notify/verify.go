package notify

import (
	"bytes"
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"
)

// MaxMessageBytes bounds a message body a Verifier accepts: SNS's 256 KiB
// payload plus its envelope, JSON-escaped.
const MaxMessageBytes = 1 << 20

const maxCertBytes = 64 << 10

// ErrInvalidMessage is wrapped by every Verify failure.
var ErrInvalidMessage = errors.New("sns: invalid message")

// awsCertHost is the host AWS documents for SigningCertURL.
var awsCertHost = regexp.MustCompile(`^sns\.[a-z0-9-]+\.amazonaws\.com(\.cn)?$`)

// AWSCertURL is the SigningCertURL rule for messages from AWS: https and a
// host sns.<region>.amazonaws.com (or .com.cn).
func AWSCertURL(u *url.URL) bool {
	return u.Scheme == "https" && awsCertHost.MatchString(u.Hostname()) && u.Port() == "" &&
		strings.HasSuffix(u.Path, ".pem")
}

// BulwarkCertURL returns the SigningCertURL rule for messages from a Bulwark
// server reached at endpoint ("https://bulwark.example:8443"): same scheme,
// host and port, and the path Bulwark serves its certificate at. Use
// https endpoints outside tests, as AWS requires for SNS.
func BulwarkCertURL(endpoint string) (func(*url.URL) bool, error) {
	base, err := url.Parse(endpoint)
	if err != nil || (base.Scheme != "https" && base.Scheme != "http") || base.Host == "" {
		return nil, fmt.Errorf("sns: bad Bulwark endpoint %q", endpoint)
	}
	return func(u *url.URL) bool {
		if u.Scheme != base.Scheme || !strings.EqualFold(u.Host, base.Host) || u.RawQuery != "" || u.User != nil {
			return false
		}
		file, ok := strings.CutPrefix(u.Path, CertPathPrefix)
		if !ok || strings.Contains(file, "/") {
			return false
		}
		_, ok = certIDFromFileName(file)
		return ok
	}, nil
}

// Verifier checks SNS messages as a receiving endpoint must ("Verifying the
// signatures of Amazon SNS messages"): a known Type and SignatureVersion, a
// SigningCertURL the receiver trusts, a certificate valid now, and the
// RSA signature over the canonical string. It caches certificates by URL.
type Verifier struct {
	// CertURL decides which SigningCertURLs may be fetched; it is required
	// (AWSCertURL for AWS, BulwarkCertURL for Bulwark).
	CertURL func(*url.URL) bool
	// TopicARNs, if set, are the only topics accepted.
	TopicARNs []string
	// Client fetches certificates; nil means a client with a 10 s timeout.
	Client *http.Client
	// Now is the clock; nil means time.Now.
	Now func() time.Time

	mu    sync.Mutex
	certs map[string]*x509.Certificate
}

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalidMessage, fmt.Sprintf(format, args...))
}

// ParseMessage decodes an SNS message body without verifying it.
func ParseMessage(body []byte) (*Message, error) {
	if len(body) > MaxMessageBytes {
		return nil, invalid("message of %d bytes is too large", len(body))
	}
	var m Message
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&m); err != nil {
		return nil, invalid("not a JSON message: %v", err)
	}
	if dec.More() {
		return nil, invalid("trailing data after the message")
	}
	return &m, nil
}

// Verify parses and verifies body and returns the message.
func (v *Verifier) Verify(ctx context.Context, body []byte) (*Message, error) {
	m, err := ParseMessage(body)
	if err != nil {
		return nil, err
	}
	if err := v.VerifyMessage(ctx, m); err != nil {
		return nil, err
	}
	return m, nil
}

// VerifyMessage verifies a parsed message.
func (v *Verifier) VerifyMessage(ctx context.Context, m *Message) error {
	if v.CertURL == nil {
		return errors.New("sns: Verifier.CertURL is required")
	}
	h, ok := signatureHash(m.SignatureVersion)
	if !ok {
		return invalid("unsupported SignatureVersion %q", m.SignatureVersion)
	}
	msg, err := StringToSign(m)
	if err != nil {
		return invalid("unknown Type %q", m.Type)
	}
	if len(v.TopicARNs) > 0 && !contains(v.TopicARNs, m.TopicArn) {
		return invalid("unexpected TopicArn %q", m.TopicArn)
	}
	sig, err := base64.StdEncoding.DecodeString(m.Signature)
	if err != nil || len(sig) == 0 {
		return invalid("Signature is not base64")
	}
	u, err := url.Parse(m.SigningCertURL)
	if err != nil || !v.CertURL(u) {
		return invalid("untrusted SigningCertURL %q", m.SigningCertURL)
	}
	cert, err := v.cert(ctx, u.String())
	if err != nil {
		return err
	}
	now := time.Now
	if v.Now != nil {
		now = v.Now
	}
	if t := now(); t.Before(cert.NotBefore) || t.After(cert.NotAfter) {
		return invalid("signing certificate is not valid now")
	}
	pub, ok := cert.PublicKey.(*rsa.PublicKey)
	if !ok {
		return invalid("signing certificate key is not RSA")
	}
	d := h.New()
	d.Write(msg)
	if err := rsa.VerifyPKCS1v15(pub, h, d.Sum(nil), sig); err != nil {
		return invalid("signature does not verify")
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func (v *Verifier) cert(ctx context.Context, certURL string) (*x509.Certificate, error) {
	v.mu.Lock()
	c := v.certs[certURL]
	v.mu.Unlock()
	if c != nil {
		return c, nil
	}
	client := v.Client
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, certURL, nil)
	if err != nil {
		return nil, fmt.Errorf("sns: certificate request: %w", err)
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("sns: fetch signing certificate: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("sns: fetch signing certificate: HTTP %d", resp.StatusCode)
	}
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxCertBytes+1))
	if err != nil {
		return nil, fmt.Errorf("sns: read signing certificate: %w", err)
	}
	if len(raw) > maxCertBytes {
		return nil, errors.New("sns: signing certificate too large")
	}
	block, _ := pem.Decode(raw)
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, errors.New("sns: signing certificate is not PEM")
	}
	c, err = x509.ParseCertificate(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("sns: parse signing certificate: %w", err)
	}
	v.mu.Lock()
	if v.certs == nil {
		v.certs = make(map[string]*x509.Certificate)
	}
	if len(v.certs) < 64 {
		v.certs[certURL] = c
	}
	v.mu.Unlock()
	return c, nil
}
