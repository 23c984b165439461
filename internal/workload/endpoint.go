package workload

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Served is one workload the endpoint serves: the token that identifies it
// to the credentials endpoint and its credentials.
type Served struct {
	// Name labels logs and metrics.
	Name string
	// Token is what the workload presents (AWS_CONTAINER_AUTHORIZATION_TOKEN).
	Token Secret
	Creds *Refresher
}

// EndpointConfig tunes an Endpoint.
type EndpointConfig struct {
	Logger *slog.Logger
	Now    func() time.Time
	// AllowIMDSv1 answers IMDS GETs without a session token. Off by
	// default: IMDSv1 is what an SSRF through the application reaches.
	AllowIMDSv1 bool
	// Rate and Burst bound requests per second per listener.
	Rate  float64
	Burst int
	// Registry receives the endpoint's metrics; nil makes a private one.
	Registry *prometheus.Registry
}

// Endpoint serves credentials on loopback: the container credentials
// endpoint (one listener, the token says which workload) and IMDSv2 (one
// listener per workload, since the IMDS protocol carries no identity).
type Endpoint struct {
	cfg       EndpointConfig
	workloads []*Served
	limiter   *limiter
	requests  *prometheus.CounterVec
	registry  *prometheus.Registry

	mu       sync.Mutex
	sessions map[string]imdsSession // IMDSv2 session token -> session
}

type imdsSession struct {
	workload *Served
	expires  time.Time
}

// maxIMDSSessions bounds the IMDSv2 session table.
const maxIMDSSessions = 4096

// NewEndpoint returns an endpoint for the workloads.
func NewEndpoint(cfg EndpointConfig, workloads ...*Served) *Endpoint {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Rate <= 0 {
		cfg.Rate = 50
	}
	if cfg.Burst <= 0 {
		cfg.Burst = 100
	}
	if cfg.Registry == nil {
		cfg.Registry = prometheus.NewRegistry()
	}
	e := &Endpoint{cfg: cfg, workloads: workloads, limiter: newLimiter(cfg.Rate, cfg.Burst, cfg.Now),
		registry: cfg.Registry, sessions: make(map[string]imdsSession)}
	e.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "bulwark_agent_requests_total", Help: "Credential endpoint requests by endpoint and outcome.",
	}, []string{"endpoint", "outcome"})
	cfg.Registry.MustRegister(e.requests)
	return e
}

// forwardingHeaders mark a request relayed by a proxy: the SSRF that
// makes an application fetch a URL for an attacker. Such requests are
// refused, as IMDSv2 refuses X-Forwarded-For on its token request.
var forwardingHeaders = []string{"X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto", "X-Forwarded-Server",
	"Forwarded", "X-Real-Ip", "Via", "X-Client-Ip", "True-Client-Ip", "Cf-Connecting-Ip", "X-Cluster-Client-Ip", "X-Original-Forwarded-For"}

type httpError struct {
	status  int
	code    string
	message string
}

func (e *httpError) Error() string { return e.code + ": " + e.message }

func errf(status int, code, msg string) *httpError { return &httpError{status, code, msg} }

// IsLoopbackAddr reports whether a listen address (host:port) is on loopback.
func IsLoopbackAddr(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.Unmap().IsLoopback()
}

// guard applies the checks every request passes: from loopback, for a
// loopback host (no DNS rebinding), no forwarding headers, within the rate.
func (e *Endpoint) guard(r *http.Request) *httpError {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if ip, perr := netip.ParseAddr(host); err != nil || perr != nil || !ip.Unmap().IsLoopback() {
		return errf(http.StatusForbidden, "Forbidden", "only loopback clients are served")
	}
	for _, h := range forwardingHeaders {
		if _, ok := r.Header[h]; ok {
			return errf(http.StatusForbidden, "Forbidden", "forwarded requests are refused")
		}
	}
	if !loopbackHost(r.Host) {
		return errf(http.StatusForbidden, "Forbidden", "the Host must be a loopback address")
	}
	if !e.limiter.allow() {
		return errf(http.StatusTooManyRequests, "Throttling", "rate exceeded")
	}
	return nil
}

func loopbackHost(h string) bool {
	if host, _, err := net.SplitHostPort(h); err == nil {
		h = host
	}
	if strings.EqualFold(h, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(strings.Trim(h, "[]"))
	return err == nil && ip.Unmap().IsLoopback()
}

// lookup finds the workload whose token matches, comparing with every
// token in constant time.
func (e *Endpoint) lookup(token string) *Served {
	var found *Served
	for _, w := range e.workloads {
		if w.Token.EqualString(token) {
			found = w
		}
	}
	return found
}

// containerCredentials is the JSON the SDKs' container provider reads.
type containerCredentials struct {
	AccessKeyID     string `json:"AccessKeyId"`
	SecretAccessKey string `json:"SecretAccessKey"`
	Token           string `json:"Token"`
	Expiration      string `json:"Expiration"`
	RoleArn         string `json:"RoleArn"`
}

func (e *Endpoint) writeError(w http.ResponseWriter, endpoint string, he *httpError) {
	e.requests.WithLabelValues(endpoint, he.code).Inc()
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(he.status)
	_ = json.NewEncoder(w).Encode(map[string]string{"code": he.code, "message": he.message})
}

// Handler serves the container credentials endpoint at /v1/credentials,
// and /healthz and /metrics.
func (e *Endpoint) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/v1/credentials", e.serveContainer)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		if he := e.guard(r); he != nil {
			e.writeError(w, "healthz", he)
			return
		}
		ready := 0
		for _, s := range e.workloads {
			if _, ok := s.Creds.Get(); ok {
				ready++
			}
		}
		fmt.Fprintf(w, "ok %d/%d workloads have credentials\n", ready, len(e.workloads))
	})
	metrics := promhttp.HandlerFor(e.registry, promhttp.HandlerOpts{})
	mux.Handle("GET /metrics", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if he := e.guard(r); he != nil {
			e.writeError(w, "metrics", he)
			return
		}
		metrics.ServeHTTP(w, r)
	}))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		e.writeError(w, "other", errf(http.StatusNotFound, "NotFound", "not found"))
	})
	return mux
}

// ContainerPath is the credentials endpoint's path.
const ContainerPath = "/v1/credentials"

func (e *Endpoint) serveContainer(w http.ResponseWriter, r *http.Request) {
	const ep = "container"
	if he := e.guard(r); he != nil {
		e.writeError(w, ep, he)
		return
	}
	if r.Method != http.MethodGet {
		e.writeError(w, ep, errf(http.StatusMethodNotAllowed, "MethodNotAllowed", "use GET"))
		return
	}
	auth := r.Header.Get("Authorization")
	if auth == "" {
		e.writeError(w, ep, errf(http.StatusUnauthorized, "MissingAuthorization", "the Authorization header is required"))
		return
	}
	s := e.lookup(auth)
	if s == nil {
		e.writeError(w, ep, errf(http.StatusForbidden, "InvalidAuthorization", "the authorization token is not valid"))
		return
	}
	c, ok := s.Creds.Get()
	if !ok {
		e.writeError(w, ep, errf(http.StatusServiceUnavailable, "CredentialsUnavailable", "no credentials for the workload"))
		return
	}
	e.requests.WithLabelValues(ep, "ok").Inc()
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(containerCredentials{AccessKeyID: c.AccessKeyID, SecretAccessKey: c.SecretAccessKey,
		Token: c.SessionToken, Expiration: c.Expiration.UTC().Format(time.RFC3339), RoleArn: c.RoleARN})
}

// IMDS paths.
const (
	imdsTokenPath = "/latest/api/token"
	imdsCredsPath = "/latest/meta-data/iam/security-credentials/"
	imdsTTLHeader = "X-Aws-Ec2-Metadata-Token-Ttl-Seconds"
	imdsTokHeader = "X-Aws-Ec2-Metadata-Token"
	maxIMDSTTL    = 21600
)

// IMDSHandler serves IMDSv2 for one workload (on its own listener).
func (e *Endpoint) IMDSHandler(s *Served) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { e.serveIMDS(w, r, s) })
}

func (e *Endpoint) imdsError(w http.ResponseWriter, he *httpError) {
	e.requests.WithLabelValues("imds", he.code).Inc()
	w.Header().Set("Content-Type", "text/plain")
	w.WriteHeader(he.status)
	fmt.Fprintln(w, http.StatusText(he.status))
}

func (e *Endpoint) serveIMDS(w http.ResponseWriter, r *http.Request, s *Served) {
	if he := e.guard(r); he != nil {
		e.imdsError(w, he)
		return
	}
	if r.URL.Path == imdsTokenPath {
		e.imdsToken(w, r, s)
		return
	}
	if r.Method != http.MethodGet {
		e.imdsError(w, errf(http.StatusMethodNotAllowed, "MethodNotAllowed", ""))
		return
	}
	tok := r.Header.Get(imdsTokHeader)
	if tok == "" && !e.cfg.AllowIMDSv1 {
		e.imdsError(w, errf(http.StatusUnauthorized, "IMDSv1Refused", ""))
		return
	}
	if tok != "" && !e.validSession(tok, s) {
		e.imdsError(w, errf(http.StatusUnauthorized, "InvalidSession", ""))
		return
	}
	c, ok := s.Creds.Get()
	roleName := ""
	if ok {
		roleName = c.RoleARN[strings.LastIndexByte(c.RoleARN, '/')+1:]
	}
	switch {
	case r.URL.Path == imdsCredsPath || r.URL.Path == strings.TrimSuffix(imdsCredsPath, "/"):
		if !ok {
			e.imdsError(w, errf(http.StatusNotFound, "CredentialsUnavailable", ""))
			return
		}
		e.requests.WithLabelValues("imds", "ok").Inc()
		w.Header().Set("Content-Type", "text/plain")
		fmt.Fprint(w, roleName)
	case strings.HasPrefix(r.URL.Path, imdsCredsPath):
		if !ok || r.URL.Path[len(imdsCredsPath):] != roleName {
			e.imdsError(w, errf(http.StatusNotFound, "NotFound", ""))
			return
		}
		e.requests.WithLabelValues("imds", "ok").Inc()
		w.Header().Set("Content-Type", "text/plain")
		w.Header().Set("Cache-Control", "no-store")
		_ = json.NewEncoder(w).Encode(map[string]string{
			"Code": "Success", "LastUpdated": e.cfg.Now().UTC().Format(time.RFC3339), "Type": "AWS-HMAC",
			"AccessKeyId": c.AccessKeyID, "SecretAccessKey": c.SecretAccessKey, "Token": c.SessionToken,
			"Expiration": c.Expiration.UTC().Format(time.RFC3339),
		})
	default:
		e.imdsError(w, errf(http.StatusNotFound, "NotFound", ""))
	}
}

// ParseIMDSTTL reads the TTL header of a token request: whole seconds
// from 1 to 21600, as IMDS accepts.
func ParseIMDSTTL(v string) (time.Duration, error) {
	if v == "" || len(v) > 5 {
		return 0, errors.New("missing or oversized TTL")
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > maxIMDSTTL || strconv.Itoa(n) != v {
		return 0, errors.New("TTL must be 1 to 21600 seconds")
	}
	return time.Duration(n) * time.Second, nil
}

func (e *Endpoint) imdsToken(w http.ResponseWriter, r *http.Request, s *Served) {
	if r.Method != http.MethodPut {
		e.imdsError(w, errf(http.StatusMethodNotAllowed, "MethodNotAllowed", ""))
		return
	}
	ttl, err := ParseIMDSTTL(r.Header.Get(imdsTTLHeader))
	if err != nil {
		e.imdsError(w, errf(http.StatusBadRequest, "BadTTL", ""))
		return
	}
	now := e.cfg.Now()
	tok := NewSecret(localTokenPrefix)
	e.mu.Lock()
	if len(e.sessions) >= maxIMDSSessions {
		for k, v := range e.sessions {
			if now.After(v.expires) {
				delete(e.sessions, k)
			}
		}
	}
	full := len(e.sessions) >= maxIMDSSessions
	if !full {
		e.sessions[string(tok.Hash())] = imdsSession{workload: s, expires: now.Add(ttl)}
	}
	e.mu.Unlock()
	if full {
		e.imdsError(w, errf(http.StatusServiceUnavailable, "TooManySessions", ""))
		return
	}
	e.requests.WithLabelValues("imds_token", "ok").Inc()
	w.Header().Set("Content-Type", "text/plain")
	w.Header().Set(imdsTTLHeader, strconv.Itoa(int(ttl/time.Second)))
	fmt.Fprint(w, tok.Reveal())
}

// validSession checks an IMDSv2 session token; the table is keyed by the
// token's SHA-256, so the map lookup leaks nothing about the token.
func (e *Endpoint) validSession(tok string, s *Served) bool {
	sec, ok := ParseSecret(localTokenPrefix, tok)
	if !ok {
		return false
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	sess, ok := e.sessions[string(sec.Hash())]
	if !ok {
		return false
	}
	if e.cfg.Now().After(sess.expires) {
		delete(e.sessions, string(sec.Hash()))
		return false
	}
	return sess.workload == s
}

// limiter is a token bucket.
type limiter struct {
	mu     sync.Mutex
	rate   float64
	burst  float64
	tokens float64
	last   time.Time
	now    func() time.Time
}

func newLimiter(rate float64, burst int, now func() time.Time) *limiter {
	return &limiter{rate: rate, burst: float64(burst), tokens: float64(burst), last: now(), now: now}
}

func (l *limiter) allow() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	l.tokens = min(l.burst, l.tokens+now.Sub(l.last).Seconds()*l.rate)
	l.last = now
	if l.tokens < 1 {
		return false
	}
	l.tokens--
	return true
}
