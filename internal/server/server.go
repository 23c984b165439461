// Package server is Bulwark's HTTP front: it carries every AWS-style call
// down one path, written once here,
//
//	read body (bounded) -> sigv4.Parse -> route by credential scope
//	-> sigv4.Verify -> resolve principal -> decode action input
//	-> authz.Authorize -> handler -> audit.Record -> encode
//
// so that every call, including one that fails early, is measured and
// audited, and no handler can skip authentication or authorisation. It also
// serves /healthz, /readyz and /metrics.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/bulwark-security/bulwark/internal/api"
	"github.com/bulwark-security/bulwark/internal/audit"
	"github.com/bulwark-security/bulwark/internal/authz"
	"github.com/bulwark-security/bulwark/internal/awsproto"
	"github.com/bulwark-security/bulwark/internal/sigv4"
)

// Principals resolves a verified access key to its principal.
type Principals interface {
	Principal(ctx context.Context, accessKeyID, sessionToken string) (*api.Principal, error)
}

// Config holds the server's collaborators. All fields are required unless
// marked optional.
type Config struct {
	Logger     *slog.Logger
	Registry   *api.Registry
	Verifier   *sigv4.Verifier
	Principals Principals
	Authorizer authz.Authorizer
	Audit      audit.Sink
	Region     string
	// MaxBodyBytes bounds request bodies; zero means awsproto.DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// Ready reports whether the server can take traffic (store reachable);
	// optional.
	Ready func(ctx context.Context) error
	// Now is the clock; optional.
	Now func() time.Time
	// FailureSealer, if set, seals the details of each denial into the
	// AccessDenied message (sts:DecodeAuthorizationMessage opens it); optional.
	FailureSealer authz.Sealer
	// AfterWrite, if set, runs after every successful action that is not
	// read-only: the authorizer's policy cache uses it to see this server's
	// own IAM changes on the very next request; optional.
	AfterWrite func(c *api.Call)
	// Extra routes (dev mode endpoints); optional.
	Extra map[string]http.Handler
	// Collectors are more metrics for /metrics (the modules' own, such as
	// SNS delivery outcomes); optional.
	Collectors []prometheus.Collector
}

// Server is the HTTP handler for the API and the operational endpoints.
type Server struct {
	cfg      Config
	metrics  *metrics
	mux      *http.ServeMux
	draining atomic.Bool
}

// New checks cfg and returns a Server.
func New(cfg Config) (*Server, error) {
	if cfg.Logger == nil || cfg.Registry == nil || cfg.Verifier == nil || cfg.Principals == nil ||
		cfg.Authorizer == nil || cfg.Audit == nil || cfg.Region == "" {
		return nil, errors.New("server: Logger, Registry, Verifier, Principals, Authorizer, Audit and Region are required")
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = awsproto.DefaultMaxBodyBytes
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	s := &Server{cfg: cfg, metrics: newMetrics(), mux: http.NewServeMux()}
	for _, c := range cfg.Collectors {
		if err := s.metrics.registry.Register(c); err != nil {
			return nil, fmt.Errorf("server: register metrics: %w", err)
		}
	}
	s.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok\n"))
	})
	s.mux.HandleFunc("GET /readyz", s.readyz)
	s.mux.Handle("GET /metrics", promhttp.HandlerFor(s.metrics.registry, promhttp.HandlerOpts{}))
	for pattern, h := range cfg.Extra {
		s.mux.Handle(pattern, h)
	}
	s.mux.HandleFunc("/", s.serveAPI)
	return s, nil
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// Drain makes /readyz fail so load balancers stop sending traffic while
// in-flight requests finish.
func (s *Server) Drain() { s.draining.Store(true) }

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if s.draining.Load() {
		http.Error(w, "draining", http.StatusServiceUnavailable)
		return
	}
	if s.cfg.Ready != nil {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := s.cfg.Ready(ctx); err != nil {
			s.cfg.Logger.Warn("not ready", "err", err)
			http.Error(w, "not ready", http.StatusServiceUnavailable)
			return
		}
	}
	_, _ = w.Write([]byte("ready\n"))
}

// serveAPI handles one AWS-style call.
func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	s.metrics.inflight.Inc()
	defer s.metrics.inflight.Dec()

	c := &api.Call{
		RequestID:       awsproto.NewRequestID(),
		Region:          s.cfg.Region,
		UserAgent:       r.UserAgent(),
		SecureTransport: r.TLS != nil,
		Time:            s.cfg.Now().UTC(),
		SourceIP:        remoteIP(r),
	}
	var tr trace
	body, err := s.process(r, c, &tr)

	ev := s.event(c, &tr, err)
	if aerr := s.cfg.Audit.Record(r.Context(), ev); aerr != nil {
		// Vault's rule: a call that cannot be audited does not happen.
		body, err = nil, awsproto.InternalFailure(fmt.Errorf("record audit event: %w", aerr))
	}
	s.write(w, r, c, body, err)
	s.observe(c, err, time.Since(start))
}

// trace collects what the audit record needs from the request path.
type trace struct {
	// claimedKey is the access key id the request claims, for the record
	// of a call whose signature fails.
	claimedKey string
	// op is the bound operation (its decoded input and resources), nil if
	// the call failed before its input was decoded.
	op *api.Op
	// result is the handler's result, nil unless it succeeded.
	result any
}

// process runs the request path and returns the encoded success body.
func (s *Server) process(r *http.Request, c *api.Call, tr *trace) ([]byte, error) {
	ctx := r.Context()
	body, err := awsproto.ReadBody(r, s.cfg.MaxBodyBytes)
	if err != nil {
		return nil, err
	}
	parsed, err := sigv4.Parse(r)
	if err != nil {
		if isUnsigned(r, err) {
			return s.processUnsigned(r, c, body, sigError(err), tr)
		}
		return nil, sigError(err)
	}
	tr.claimedKey = parsed.AccessKeyID
	svc := s.cfg.Registry.Service(parsed.Service)
	if svc == nil {
		return nil, awsproto.Errorf(http.StatusBadRequest, "InvalidAction",
			"This endpoint does not serve the service %q named in the credential scope.", truncate(parsed.Service, 64))
	}
	c.Service = svc
	if err := s.cfg.Verifier.Verify(ctx, parsed, r, body); err != nil {
		return nil, sigError(err)
	}
	if c.Principal, err = s.cfg.Principals.Principal(ctx, parsed.AccessKeyID, parsed.SessionToken); err != nil {
		return nil, sigError(err)
	}
	if c.Action, err = s.route(r, c, body); err != nil {
		return nil, err
	}
	op, err := c.Action.Bind(c)
	if err != nil {
		return nil, err
	}
	tr.op = op
	if c.Action.Unauthenticated {
		// The request's own proof (a web identity token) decides, in the
		// handler; the signer's identity policies do not apply.
		return s.run(ctx, c, op, tr)
	}
	areq := &authz.Request{Call: c, Action: c.Action, Resources: op.Resources, Context: op.Context,
		RequireResourceAllow: c.Action.RequireResourceAllow}
	if c.Action.ResourcePolicy != nil && len(op.Resources) == 1 {
		if areq.ResourcePolicy, err = c.Action.ResourcePolicy(ctx, c, op.Resources[0]); err != nil {
			return nil, err
		}
	}
	dec, err := s.cfg.Authorizer.Authorize(ctx, areq)
	if err != nil {
		return nil, awsproto.InternalFailure(fmt.Errorf("authorize %s: %w", c.Action.IAMAction, err))
	}
	if !dec.Allowed {
		return nil, authz.DeniedWithMessage(s.cfg.FailureSealer, areq, dec)
	}
	return s.run(ctx, c, op, tr)
}

// isUnsigned reports whether a request failed SigV4 parsing only because
// it carries no signature at all: no Authorization header and no
// presigned X-Amz-Signature.
func isUnsigned(r *http.Request, err error) bool {
	var se *sigv4.Error
	return errors.As(err, &se) && se.Code == sigv4.CodeMissingAuthenticationToken &&
		r.Header.Get("Authorization") == "" && r.Header.Get("X-Amz-Target") == "" &&
		!r.URL.Query().Has("X-Amz-Signature")
}

// processUnsigned serves an unsigned query-protocol request if it names an
// action marked api.Action.Unauthenticated (with its service's Version);
// any other unsigned request gets missing, the MissingAuthenticationToken
// error it would have had anyway.
func (s *Server) processUnsigned(r *http.Request, c *api.Call, body []byte, missing error, tr *trace) ([]byte, error) {
	q, err := awsproto.DecodeQuery(r, body)
	if err != nil {
		return nil, missing
	}
	for _, svc := range s.cfg.Registry.Services() {
		if svc.Protocol != api.Query || q.Version != svc.Version {
			continue
		}
		a := svc.Action(q.Action)
		if a == nil || !a.Unauthenticated {
			continue
		}
		c.Service, c.Action, c.Params = svc, a, q.Params
		c.Principal = &api.Principal{Type: api.PrincipalTypeWebIdentity}
		op, err := a.Bind(c)
		if err != nil {
			return nil, err
		}
		tr.op = op
		return s.run(r.Context(), c, op, tr)
	}
	return nil, missing
}

// run performs an authorised (or self-authorising) operation and encodes
// its result.
func (s *Server) run(ctx context.Context, c *api.Call, op *api.Op, tr *trace) ([]byte, error) {
	svc := c.Service
	result, err := op.Run(ctx)
	if err != nil {
		return nil, err
	}
	tr.result = result
	if s.cfg.AfterWrite != nil && !c.Action.Access.ReadOnly() {
		s.cfg.AfterWrite(c)
	}
	if svc.Protocol == api.JSON || svc.Protocol == api.RESTJSON {
		return awsproto.EncodeJSON(result)
	}
	return awsproto.QueryResponse(svc.XMLNamespace, c.Action.Name, c.RequestID, result)
}

// route finds the action: from X-Amz-Target for JSON services, from the
// method and path for REST-JSON services, from the Action parameter (and
// its Version) for query services.
func (s *Server) route(r *http.Request, c *api.Call, body []byte) (*api.Action, error) {
	svc := c.Service
	if svc.Protocol == api.RESTJSON {
		a := svc.Route(r.Method, r.URL.Path)
		if a == nil {
			return nil, awsproto.UnknownRoute(r.Method)
		}
		if err := awsproto.CheckRESTJSONRequest(r); err != nil {
			return nil, err
		}
		c.Body = body
		return a, nil
	}
	if svc.Protocol == api.JSON {
		if err := awsproto.CheckJSONRequest(r); err != nil {
			return nil, err
		}
		prefix, op, err := awsproto.JSONTarget(r)
		if err != nil {
			return nil, err
		}
		a := svc.Action(op)
		if prefix != svc.TargetPrefix || a == nil {
			return nil, awsproto.UnknownOperation()
		}
		c.Body = body
		return a, nil
	}
	q, err := awsproto.DecodeQuery(r, body)
	if err != nil {
		return nil, err
	}
	a := svc.Action(q.Action)
	if a == nil || q.Version != svc.Version {
		return nil, awsproto.InvalidAction(truncate(q.Action, 128), truncate(q.Version, 32))
	}
	c.Params = q.Params
	return a, nil
}

// sigError maps a sigv4 failure to the public error; anything else (a
// store failure while resolving a key) is internal.
func sigError(err error) error {
	var se *sigv4.Error
	if errors.As(err, &se) {
		// The sigv4 error stays in the chain: JSON services spell some
		// codes differently (write picks the spelling).
		return (&awsproto.Error{Code: se.Code, Message: se.Message, Status: se.Status, Sender: true}).WithCause(se)
	}
	switch {
	case errors.Is(err, sigv4.ErrUnknownKey), errors.Is(err, sigv4.ErrInvalidToken):
		return &awsproto.Error{Code: "InvalidClientTokenId", Status: http.StatusForbidden, Sender: true,
			Message: "The security token included in the request is invalid."}
	case errors.Is(err, sigv4.ErrExpiredToken):
		return &awsproto.Error{Code: "ExpiredToken", Status: http.StatusForbidden, Sender: true,
			Message: "The security token included in the request is expired"}
	}
	return awsproto.InternalFailure(err)
}

func (s *Server) write(w http.ResponseWriter, r *http.Request, c *api.Call, body []byte, err error) {
	jsonProto := (c.Service != nil && c.Service.Protocol == api.JSON) ||
		(c.Service == nil && r.Header.Get("X-Amz-Target") != "")
	restJSON := c.Service != nil && c.Service.Protocol == api.RESTJSON
	if err == nil {
		if restJSON {
			awsproto.WriteRESTJSONResponse(w, c.RequestID, body)
		} else if jsonProto {
			awsproto.WriteJSONResponse(w, c.RequestID, body)
		} else {
			awsproto.WriteQueryResponse(w, c.RequestID, body)
		}
		return
	}
	e := awsproto.As(err)
	if e.Status >= 500 {
		if r.Context().Err() != nil {
			// The client went away mid-request: its problem, not ours.
			s.cfg.Logger.Debug("request abandoned by the client", "requestID", c.RequestID, "err", err)
		} else {
			s.cfg.Logger.Error("request failed", "requestID", c.RequestID, "err", err)
		}
	}
	if jsonProto || restJSON {
		var se *sigv4.Error
		if errors.As(err, &se) {
			je := *e
			je.Code, je.Status = se.JSON()
			e = &je
		}
		if restJSON {
			awsproto.WriteRESTJSONError(w, c.RequestID, e)
		} else {
			awsproto.WriteJSONError(w, c.RequestID, e)
		}
		return
	}
	ns := ""
	if c.Service != nil {
		ns = c.Service.XMLNamespace
	}
	awsproto.WriteQueryError(w, ns, c.RequestID, e)
}

// event builds the call's CloudTrail record: who (the verified principal
// and its session, or only the claimed key), what (the decoded input and the
// result, rendered with every secret-bearing field hidden), and how it
// ended.
func (s *Server) event(c *api.Call, tr *trace, err error) *audit.Event {
	ev := &audit.Event{
		EventVersion: audit.EventVersion, EventID: awsproto.NewRequestID(), EventTime: c.Time,
		AWSRegion: c.Region, UserAgent: truncate(c.UserAgent, 1024), RequestID: c.RequestID,
		UserIdentity: audit.UserIdentity{AccessKeyID: truncate(tr.claimedKey, 128)},
		EventType:    "AwsApiCall", ManagementEvent: true, EventCategory: "Management",
	}
	if c.SourceIP.IsValid() {
		ev.SourceIPAddress = c.SourceIP.String()
	}
	if c.Service != nil {
		ev.EventSource = c.Service.EventSource
	}
	var hidden []string
	if c.Action != nil {
		ev.EventName = c.Action.Name
		ev.ReadOnly = c.Action.Access.ReadOnly()
		hidden = c.Action.AuditHidden
	}
	if p := c.Principal; p != nil {
		ev.UserIdentity = audit.IdentityOf(p)
		ev.RecipientAccountID = p.AccountID
	}
	if tr.op != nil {
		ev.RequestParameters = audit.Render(tr.op.Input, hidden)
		ev.Resources = audit.ResourcesOf(tr.op.Resources)
		// A call with no verified principal (a web identity token that
		// failed) is recorded for the account that owns its resource, as
		// CloudTrail delivers it to the role's account.
		if ev.RecipientAccountID == "" && len(ev.Resources) > 0 {
			ev.RecipientAccountID = ev.Resources[0].AccountID
		}
	}
	if err != nil {
		e := awsproto.As(err)
		ev.ErrorCode, ev.ErrorMessage = e.Code, e.Message
		if tr.op != nil && e.Message != "" {
			// A message that echoes the input must not carry a value the
			// record hides.
			ev.ErrorMessage = audit.RedactMessage(e.Message, audit.HiddenValues(tr.op.Input, hidden))
		}
	} else if tr.result != nil {
		ev.ResponseElements = audit.Render(tr.result, hidden)
	}
	return ev
}

func (s *Server) observe(c *api.Call, err error, d time.Duration) {
	svc, act := "unknown", "unknown"
	if c.Service != nil {
		svc = c.Service.SigningName
	}
	if c.Action != nil {
		act = c.Action.Name
	}
	outcome := "ok"
	if err != nil {
		e := awsproto.As(err)
		switch {
		case e.Status >= 500:
			outcome = "server_error"
		case e.Code == "AccessDenied" || e.Code == "AccessDeniedException":
			outcome = "denied"
		default:
			outcome = "client_error"
		}
	}
	s.metrics.requests.WithLabelValues(svc, act, outcome).Inc()
	s.metrics.latency.WithLabelValues(svc, act).Observe(d.Seconds())
	if s.cfg.Logger.Enabled(context.Background(), slog.LevelDebug) {
		s.cfg.Logger.Debug("request", "requestID", c.RequestID, "service", svc, "action", act,
			"outcome", outcome, "duration", d)
	}
}

// remoteIP is the peer address. Forwarding headers are not trusted: a
// proxy in front must be configured explicitly (not yet supported).
func remoteIP(r *http.Request) netip.Addr {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	ip, _ := netip.ParseAddr(host)
	return ip.Unmap()
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
