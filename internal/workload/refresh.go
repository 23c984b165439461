package workload

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"
)

// Fetcher gets fresh credentials from the server.
type Fetcher func(ctx context.Context) (Credentials, error)

// Refresher holds one workload's current credentials in memory (never on
// disk) and replaces them well before they expire: at two thirds of their
// lifetime or Margin before expiry, whichever comes first. A refusal from
// the server (the workload was revoked, its role's trust policy no longer
// allows it) drops the credentials at once, so the workload gets nothing
// more; a failure (server down) keeps them while they are valid and
// retries with backoff.
type Refresher struct {
	Name   string
	Fetch  Fetcher
	Margin time.Duration
	Logger *slog.Logger
	Now    func() time.Time
	// OnRefresh, if set, is told the outcome of every fetch (metrics).
	OnRefresh func(name string, c *Credentials, err error)

	mu      sync.RWMutex
	cur     *Credentials
	fetched time.Time
	kick    chan struct{}
	first   chan struct{}
	once    sync.Once
}

func (r *Refresher) init() {
	r.once.Do(func() {
		r.kick = make(chan struct{}, 1)
		r.first = make(chan struct{})
		if r.Now == nil {
			r.Now = time.Now
		}
		if r.Logger == nil {
			r.Logger = slog.New(slog.DiscardHandler)
		}
	})
}

// minValidity is the least remaining lifetime credentials are handed out
// with, so a client does not sign a request with a key that expires in
// flight.
const minValidity = 2 * time.Second

// Get returns the current credentials if they are valid for a while yet.
func (r *Refresher) Get() (Credentials, bool) {
	r.init()
	r.mu.RLock()
	c := r.cur
	r.mu.RUnlock()
	if c == nil || r.Now().Add(minValidity).After(c.Expiration) {
		if c != nil {
			r.Kick()
		}
		return Credentials{}, false
	}
	return *c, true
}

// Tried is closed once the first fetch has finished, well or not.
func (r *Refresher) Tried() <-chan struct{} {
	r.init()
	return r.first
}

// Kick asks the refresh loop to fetch now.
func (r *Refresher) Kick() {
	r.init()
	select {
	case r.kick <- struct{}{}:
	default:
	}
}

// nextRefresh is when credentials fetched at fetched should be replaced.
func nextRefresh(fetched, exp time.Time, margin time.Duration) time.Time {
	life := exp.Sub(fetched)
	at := fetched.Add(life * 2 / 3)
	if m := exp.Add(-margin); m.Before(at) {
		at = m
	}
	// Never sooner than a third of the lifetime: a margin longer than
	// the lifetime must not make the loop spin.
	if min := fetched.Add(life / 3); at.Before(min) {
		at = min
	}
	return at
}

// Run refreshes until ctx is done.
func (r *Refresher) Run(ctx context.Context) {
	r.init()
	backoff := time.Second
	var tried sync.Once
	defer tried.Do(func() { close(r.first) })
	for {
		c, err := r.Fetch(ctx)
		if ctx.Err() != nil {
			return
		}
		now := r.Now()
		if r.OnRefresh != nil {
			r.OnRefresh(r.Name, &c, err)
		}
		var wait time.Duration
		if err == nil {
			r.mu.Lock()
			r.cur, r.fetched = &c, now
			r.mu.Unlock()
			backoff = time.Second
			wait = nextRefresh(now, c.Expiration, r.Margin).Sub(now)
			r.Logger.Info("workload credentials refreshed", "workload", r.Name, "credentials", c)
		} else {
			var ae *APIError
			if errors.As(err, &ae) && ae.Permanent() {
				r.mu.Lock()
				r.cur = nil
				r.mu.Unlock()
				r.Logger.Warn("server refused workload credentials; serving none", "workload", r.Name, "err", err)
			} else {
				r.Logger.Warn("workload credential refresh failed; retrying", "workload", r.Name, "err", err)
			}
			wait = backoff
			backoff = min(backoff*2, 30*time.Second)
			r.mu.RLock()
			if r.cur != nil {
				// Retry in time to replace credentials before they expire.
				if until := r.cur.Expiration.Sub(now) / 2; until < wait {
					wait = max(until, 100*time.Millisecond)
				}
			}
			r.mu.RUnlock()
		}
		tried.Do(func() { close(r.first) })
		t := time.NewTimer(max(wait, 0))
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		case <-r.kick:
			t.Stop()
			// A kick (credentials about to lapse) fetches at once, but
			// never more than once a second, so clients cannot make the
			// agent hammer a struggling server.
			if d := time.Second - r.Now().Sub(now); d > 0 {
				select {
				case <-ctx.Done():
					return
				case <-time.After(d):
				}
			}
		}
	}
}
