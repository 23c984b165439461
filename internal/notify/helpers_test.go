package notify

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/bulwark-security/bulwark/internal/api"
	"github.com/bulwark-security/bulwark/internal/authz"
	"github.com/bulwark-security/bulwark/internal/keyring"
	"github.com/bulwark-security/bulwark/internal/store"
	"github.com/bulwark-security/bulwark/internal/store/sqlite"
)

const acct = "123456789012"

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type fixture struct {
	svc   *Service
	st    *sqlite.Store
	clock *clock
	// srv is this "Bulwark" server: it serves the certificate and the
	// unsigned ConfirmSubscription/Unsubscribe GETs.
	srv *httptest.Server
}

// newFixture builds a service over an in-memory store, with an HTTP server
// standing in for Bulwark's endpoint.
func newFixture(t *testing.T) *fixture {
	t.Helper()
	st, err := sqlite.Open(context.Background(), ":memory:", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.CreateAccount(context.Background(), store.Account{ID: acct, CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	keys, err := keyring.New(make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{st: st, clock: &clock{t: time.Now().UTC()}}
	mux := http.NewServeMux()
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	f.svc, err = New(Config{Store: st, Meta: st, Keys: keys, Authorizer: authz.RootOnly{}, Region: "us-east-1",
		Endpoint: f.srv.URL, Now: f.clock.Now, Delivery: DeliveryConfig{Timeout: 5 * time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	// f.svc is read per request: tests may swap the service (a restart).
	mux.HandleFunc(CertRoute, func(w http.ResponseWriter, r *http.Request) { f.svc.CertHandler().ServeHTTP(w, r) })
	// The unsigned GETs of SubscribeURL and UnsubscribeURL, as the server
	// routes them to the Unauthenticated actions.
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		sns := f.svc.API()
		if _, err := api.NewRegistry(sns); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		q := r.URL.Query()
		a := sns.Action(q.Get("Action"))
		if a == nil || !a.Unauthenticated || q.Get("Version") != Version {
			http.Error(w, "bad action", http.StatusBadRequest)
			return
		}
		c := &api.Call{Service: sns, Action: a, Region: "us-east-1", Time: f.clock.Now(), Params: q,
			Principal: &api.Principal{Type: api.PrincipalTypeWebIdentity}}
		op, err := a.Bind(c)
		if err == nil {
			_, err = op.Run(r.Context())
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		w.WriteHeader(http.StatusOK)
	})
	return f
}

var rootPrincipal = &api.Principal{Type: "Root", ARN: "arn:aws:iam::" + acct + ":root", AccountID: acct, UserID: acct}

// call runs an action's handler as the account root (authorisation is the
// server's business and is tested there).
func (f *fixture) call(t *testing.T, action string, params url.Values) (any, error) {
	t.Helper()
	return f.callAs(t, rootPrincipal, action, params)
}

func (f *fixture) callAs(t *testing.T, p *api.Principal, action string, params url.Values) (any, error) {
	t.Helper()
	sns := f.svc.API()
	if _, err := api.NewRegistry(sns); err != nil {
		t.Fatal(err)
	}
	a := sns.Action(action)
	if a == nil {
		t.Fatalf("no action %s", action)
	}
	c := &api.Call{Service: sns, Action: a, Region: "us-east-1", Time: f.clock.Now(), Params: params, Principal: p}
	op, err := a.Bind(c)
	if err != nil {
		return nil, err
	}
	return op.Run(context.Background())
}

func (f *fixture) verifier(t *testing.T) *Verifier {
	t.Helper()
	allowed, err := BulwarkCertURL(f.srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	return &Verifier{CertURL: allowed}
}

// endpoint is a subscriber that records what it receives and answers with
// the statuses it is told to, then 200.
type endpoint struct {
	srv      *httptest.Server
	mu       sync.Mutex
	bodies   [][]byte
	headers  []http.Header
	statuses []int
}

func newEndpoint(t *testing.T, statuses ...int) *endpoint {
	e := &endpoint{statuses: statuses}
	e.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		e.mu.Lock()
		e.bodies = append(e.bodies, b)
		e.headers = append(e.headers, r.Header.Clone())
		status := http.StatusOK
		if len(e.statuses) > 0 {
			status, e.statuses = e.statuses[0], e.statuses[1:]
		}
		e.mu.Unlock()
		w.WriteHeader(status)
	}))
	t.Cleanup(e.srv.Close)
	return e
}

func (e *endpoint) received() ([][]byte, []http.Header) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([][]byte(nil), e.bodies...), append([]http.Header(nil), e.headers...)
}
