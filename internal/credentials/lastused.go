package credentials

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/bulwark-security/bulwark/internal/audit"
	"github.com/bulwark-security/bulwark/internal/store"
)

// LastUsed records when each long-term access key was last used, for
// iam:GetAccessKeyLastUsed. It watches the audit stream (it is an
// audit.Subscriber) and writes in the background: a write per request
// would double the cost of every call, and AWS itself documents this
// information as delayed. A key's use is written at most once per
// Interval unless the service or region changes.
type LastUsed struct {
	Store    store.Store
	Logger   *slog.Logger
	Interval time.Duration // default one minute

	mu      sync.Mutex
	pending map[string]keyUse
	written map[string]keyUse
}

type keyUse struct {
	at              time.Time
	region, service string
}

// Observe implements audit.Subscriber. Only calls whose signature was
// verified count (the record then names the principal's type), and only
// long-term keys: session keys ("ASIA...") are not IAM access keys.
func (l *LastUsed) Observe(e *audit.Event) {
	id := e.UserIdentity.AccessKeyID
	if e.UserIdentity.Type == "" || id == "" || strings.HasPrefix(id, "ASIA") {
		return
	}
	u := keyUse{at: e.EventTime, region: e.AWSRegion, service: strings.TrimSuffix(e.EventSource, ".amazonaws.com")}
	l.mu.Lock()
	defer l.mu.Unlock()
	if w, ok := l.written[id]; ok && w.region == u.region && w.service == u.service && u.at.Sub(w.at) < l.interval() {
		return
	}
	if p, ok := l.pending[id]; ok && p.at.After(u.at) {
		return
	}
	if l.pending == nil {
		l.pending = make(map[string]keyUse)
	}
	l.pending[id] = u
}

func (l *LastUsed) interval() time.Duration {
	if l.Interval > 0 {
		return l.Interval
	}
	return time.Minute
}

// Flush writes the pending uses. A key deleted since is skipped.
func (l *LastUsed) Flush(ctx context.Context) error {
	l.mu.Lock()
	pending := l.pending
	l.pending = nil
	l.mu.Unlock()
	var errs []error
	for id, u := range pending {
		err := l.Store.TouchAccessKey(ctx, id, u.at, u.region, u.service)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			errs = append(errs, err)
			continue
		}
		l.mu.Lock()
		if l.written == nil {
			l.written = make(map[string]keyUse)
		}
		l.written[id] = u
		l.mu.Unlock()
	}
	return errors.Join(errs...)
}

// Run flushes every few seconds until ctx is done, then once more.
func (l *LastUsed) Run(ctx context.Context) error {
	t := time.NewTicker(5 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer cancel()
			return l.Flush(fctx)
		case <-t.C:
			if err := l.Flush(ctx); err != nil && l.Logger != nil {
				l.Logger.Warn("record access key last use", "err", err)
			}
		}
	}
}

// Forget drops what was recorded (after a dev-mode reset).
func (l *LastUsed) Forget() {
	l.mu.Lock()
	l.pending, l.written = nil, nil
	l.mu.Unlock()
}
