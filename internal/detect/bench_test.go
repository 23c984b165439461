package detect

import (
	"context"
	"testing"
	"time"

	"github.com/bulwark-security/bulwark/internal/audit"
)

// BenchmarkObserve is the cost a request pays for the detectors: one copy
// into the queue.
func BenchmarkObserve(b *testing.B) {
	e, err := New(Config{Hub: nil, Region: "us-east-1", AccountID: acct})
	if err == nil || e != nil {
		b.Fatal("New without a hub succeeded")
	}
	e = &Engine{cfg: Config{QueueSize: 1 << 16}, queue: make(chan audit.Event, 1<<16)}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		for {
			select {
			case <-e.queue:
			case <-ctx.Done():
				return
			}
		}
	}()
	ev := ev(0, bob, "secretsmanager.amazonaws.com", "GetSecretValue", "", "10.0.0.1", map[string]string{"secretId": "db"})
	b.ReportAllocs()
	for b.Loop() {
		e.Observe(ev)
	}
}

// BenchmarkInspect is the detectors' work per event (off the request
// path): a successful secret read by a user from a known address.
func BenchmarkInspect(b *testing.B) {
	dets := All(Options{})
	e := ev(0, bob, "secretsmanager.amazonaws.com", "GetSecretValue", "", "10.0.0.1", map[string]string{"secretId": "db"})
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		e.EventTime = t0.Add(time.Duration(i) * time.Second) // one read a second: under the threshold
		for _, d := range dets {
			d.Inspect(e)
		}
	}
}
