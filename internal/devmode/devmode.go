// Package devmode serves the endpoints that exist only in `bulwark server
// --dev`: POST /_bulwark/reset wipes every service's state back to a fresh
// bootstrap without restarting the process, and GET /_bulwark/info describes
// the server. Dev mode never weakens authorisation: the reset is accepted
// only from a loopback peer, and only when signed by the account's root
// credential or carrying the configured dev token.
package devmode

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/bulwark-security/bulwark/internal/api"
	"github.com/bulwark-security/bulwark/internal/awsproto"
	"github.com/bulwark-security/bulwark/internal/sigv4"
)

// Config configures the dev endpoints.
type Config struct {
	Logger     *slog.Logger
	Verifier   *sigv4.Verifier
	Principals interface {
		Principal(ctx context.Context, accessKeyID, sessionToken string) (*api.Principal, error)
	}
	// Reset wipes and re-bootstraps all state.
	Reset func(ctx context.Context) error
	// Token, if non-empty, is accepted instead of a root signature as
	// "Authorization: Bearer <token>" (BULWARK_DEV_TOKEN).
	Token string
	// Info is served by GET /_bulwark/info.
	Info Info
}

// Info describes a dev server.
type Info struct {
	Version   string   `json:"version"`
	Mode      string   `json:"mode"`
	AccountID string   `json:"accountId"`
	Region    string   `json:"region"`
	Services  []string `json:"services"`
	Endpoint  string   `json:"endpoint"`
}

// Routes returns the dev endpoints, for server.Config.Extra.
func Routes(cfg Config) map[string]http.Handler {
	h := &handler{cfg: cfg}
	return map[string]http.Handler{
		"POST /_bulwark/reset": http.HandlerFunc(h.reset),
		"GET /_bulwark/info":   http.HandlerFunc(h.info),
	}
}

// Absent returns the routes a normal server registers instead: every
// /_bulwark/ path is 404, so none of the dev endpoints exist.
func Absent() map[string]http.Handler {
	return map[string]http.Handler{"/_bulwark/": http.NotFoundHandler()}
}

type handler struct {
	cfg Config
	mu  sync.Mutex // one reset at a time
}

func (h *handler) info(w http.ResponseWriter, r *http.Request) {
	if !loopback(r) {
		writeErr(w, awsproto.Errorf(http.StatusForbidden, "AccessDenied", "dev endpoints answer loopback clients only"))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(h.cfg.Info)
}

func (h *handler) reset(w http.ResponseWriter, r *http.Request) {
	if !loopback(r) {
		writeErr(w, awsproto.Errorf(http.StatusForbidden, "AccessDenied", "dev endpoints answer loopback clients only"))
		return
	}
	if err := h.authenticate(r); err != nil {
		h.cfg.Logger.Warn("dev reset refused", "remote", r.RemoteAddr, "err", err)
		writeErr(w, awsproto.As(err))
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	start := time.Now()
	if err := h.cfg.Reset(r.Context()); err != nil {
		h.cfg.Logger.Error("dev reset failed", "err", err)
		writeErr(w, awsproto.InternalFailure(err))
		return
	}
	d := time.Since(start)
	h.cfg.Logger.Info("dev reset: state wiped and re-bootstrapped", "duration", d)
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"reset": true, "durationMs": float64(d.Microseconds()) / 1000})
}

// authenticate accepts the dev token or a SigV4 signature by root.
func (h *handler) authenticate(r *http.Request) error {
	if tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
		if h.cfg.Token != "" && subtle.ConstantTimeCompare([]byte(tok), []byte(h.cfg.Token)) == 1 {
			return nil
		}
		return awsproto.Errorf(http.StatusForbidden, "AccessDenied", "invalid dev token")
	}
	body, err := awsproto.ReadBody(r, 4096)
	if err != nil {
		return err
	}
	p, err := sigv4.Parse(r)
	if err != nil {
		return sigErr(err)
	}
	if err := h.cfg.Verifier.Verify(r.Context(), p, r, body); err != nil {
		return sigErr(err)
	}
	pr, err := h.cfg.Principals.Principal(r.Context(), p.AccessKeyID, p.SessionToken)
	if err != nil {
		return sigErr(err)
	}
	if !pr.IsRoot() {
		return awsproto.Errorf(http.StatusForbidden, "AccessDenied", "User: %s is not authorized to reset a dev server: only the root credential may", pr.ARN)
	}
	return nil
}

func sigErr(err error) error {
	var se *sigv4.Error
	if errors.As(err, &se) {
		return &awsproto.Error{Code: se.Code, Message: se.Message, Status: se.Status, Sender: true}
	}
	if errors.Is(err, sigv4.ErrUnknownKey) || errors.Is(err, sigv4.ErrInvalidToken) || errors.Is(err, sigv4.ErrExpiredToken) {
		return awsproto.Errorf(http.StatusForbidden, "InvalidClientTokenId", "The security token included in the request is invalid.")
	}
	return awsproto.InternalFailure(err)
}

func loopback(r *http.Request) bool {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return false
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.Unmap().IsLoopback()
}

func writeErr(w http.ResponseWriter, e *awsproto.Error) {
	awsproto.WriteJSONError(w, awsproto.NewRequestID(), e)
}
