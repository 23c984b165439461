package rotation

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode"

	"github.com/bulwark-security/bulwark/rotationhook"
)

// WebhookClient calls rotation webhooks: one signed POST per step, with a
// timeout per attempt, bounded response reading, and retries with backoff
// on transport errors, 429 and 5xx.
type WebhookClient struct {
	// Transport is the base transport (nil: a clone of
	// http.DefaultTransport); a webhook with its own CA gets a copy with
	// those roots.
	Transport *http.Transport
	// Timeout bounds one attempt; zero means 30 seconds.
	Timeout time.Duration
	// Attempts per step; zero means 3.
	Attempts int
	// Backoff is the wait before retry n (n >= 1); nil means 1s, 2s, 4s...
	Backoff func(n int) time.Duration
	Now     func() time.Time
}

// maxAnswer bounds how much of an endpoint's answer is read (and kept, as
// a sanitised excerpt, in a failure message).
const (
	maxAnswer  = 4096
	maxExcerpt = 200
)

// webhook is a rotator that calls one endpoint.
type webhook struct {
	c    *WebhookClient
	url  string
	key  []byte
	http *http.Client
}

func (c *WebhookClient) rotator(rawURL, caPEM string, key []byte) (*webhook, error) {
	tr := c.Transport
	if tr == nil {
		tr = http.DefaultTransport.(*http.Transport)
	}
	tr = tr.Clone()
	if caPEM != "" {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM([]byte(caPEM)) {
			return nil, errors.New("webhook CA certificates do not parse")
		}
		if tr.TLSClientConfig == nil {
			tr.TLSClientConfig = &tls.Config{}
		}
		tr.TLSClientConfig.RootCAs = pool
	}
	if tr.TLSClientConfig == nil {
		tr.TLSClientConfig = &tls.Config{}
	}
	tr.TLSClientConfig.MinVersion = tls.VersionTLS12
	tr.Proxy = nil // rotation calls go to the endpoint, never through a proxy from the environment
	// Each rotation builds its own transport and calls are minutes apart:
	// keep no idle connections behind.
	tr.DisableKeepAlives = true
	return &webhook{c: c, url: rawURL, key: key, http: &http.Client{
		Transport: tr,
		// A redirect would send the signed event somewhere unregistered.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}, nil
}

// Step implements Rotator.
func (w *webhook) Step(ctx context.Context, req StepRequest) error {
	body, err := json.Marshal(rotationhook.Event{SecretID: req.SecretARN, ClientRequestToken: req.Token, Step: req.Step})
	if err != nil {
		return fmt.Errorf("encode event: %w", err)
	}
	attempts := w.c.Attempts
	if attempts <= 0 {
		attempts = 3
	}
	var last error
	for n := 1; n <= attempts; n++ {
		if n > 1 {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(w.backoff(n - 1)):
			}
		}
		retry, err := w.call(ctx, body)
		if err == nil {
			return nil
		}
		last = err
		if !retry {
			break
		}
	}
	return fmt.Errorf("webhook %s step %s: %w", hostOf(w.url), req.Step, last)
}

func (w *webhook) backoff(n int) time.Duration {
	if w.c.Backoff != nil {
		return w.c.Backoff(n)
	}
	return time.Second << min(n-1, 5)
}

// call makes one attempt and reports whether a failure may be retried.
func (w *webhook) call(ctx context.Context, body []byte) (retry bool, err error) {
	timeout := w.c.Timeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.url, bytes.NewReader(body))
	if err != nil {
		return false, fmt.Errorf("build request: %w", err)
	}
	now := time.Now
	if w.c.Now != nil {
		now = w.c.Now
	}
	ts, sig := rotationhook.Sign(w.key, now(), body)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Bulwark-SecretsManager-Rotation/1")
	req.Header.Set(rotationhook.HeaderTimestamp, ts)
	req.Header.Set(rotationhook.HeaderSignature, sig)
	resp, err := w.http.Do(req)
	if err != nil {
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err // the URL is named once, by Step
		}
		return true, err
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return false, nil
	}
	err = fmt.Errorf("answered %s", resp.Status)
	if ex := excerpt(answer); ex != "" {
		err = fmt.Errorf("answered %s: %s", resp.Status, ex)
	}
	return resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500, err
}

// excerpt keeps a short, printable prefix of an endpoint's answer.
func excerpt(b []byte) string {
	s := strings.Map(func(r rune) rune {
		if unicode.IsPrint(r) {
			return r
		}
		return ' '
	}, string(b))
	s = strings.TrimSpace(s)
	if len(s) > maxExcerpt {
		s = s[:maxExcerpt] + "..."
	}
	return s
}

func hostOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(bad URL)"
	}
	return u.Host
}

// CheckWebhookURL validates an endpoint URL: absolute https with a host,
// no user info, no fragment, at most 2048 characters.
func CheckWebhookURL(raw string) error {
	if len(raw) > 2048 {
		return errors.New("the URL is longer than 2048 characters")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return errors.New("the URL does not parse")
	}
	switch {
	case u.Scheme != "https":
		return errors.New("the URL must use https")
	case u.Host == "" || u.Hostname() == "":
		return errors.New("the URL must name a host")
	case u.User != nil:
		return errors.New("the URL must not carry user information")
	case u.Fragment != "":
		return errors.New("the URL must not have a fragment")
	}
	if p := u.Port(); p != "" {
		if _, err := net.LookupPort("tcp", p); err != nil {
			return errors.New("the URL's port is not valid")
		}
	}
	return nil
}
