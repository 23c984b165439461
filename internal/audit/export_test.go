package audit

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestFileDestinationRotates(t *testing.T) {
	dir := t.TempDir()
	var n atomic.Int64
	d := &FileDestination{Dir: dir, RotateBytes: 100, Now: func() time.Time { return time.Unix(n.Add(1), 0) }}
	line := []byte(strings.Repeat("x", 40))
	for i := 0; i < 5; i++ {
		if err := d.Deliver(context.Background(), [][]byte{line, line}); err != nil {
			t.Fatal(err)
		}
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "audit-*.jsonl"))
	total := 0
	for _, f := range files {
		b, _ := os.ReadFile(f)
		st, _ := os.Stat(f)
		if len(b) > 100 || st.Mode().Perm() != 0o600 {
			t.Errorf("%s: %d bytes, mode %v", f, len(b), st.Mode())
		}
		total += strings.Count(string(b), "\n")
	}
	if len(files) != 5 || total != 10 {
		t.Fatalf("%d files, %d lines", len(files), total)
	}
}

func TestWebhookExportRetries(t *testing.T) {
	var mu sync.Mutex
	var got []string
	var calls atomic.Int64
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) <= 2 {
			http.Error(w, "busy", http.StatusServiceUnavailable)
			return
		}
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = append(got, string(b))
		mu.Unlock()
	}))
	defer hs.Close()
	x := NewExporter("webhook", &WebhookDestination{URL: hs.URL}, slog.New(slog.NewTextHandler(io.Discard, nil)), 4)
	x.Backoff = time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = x.Run(ctx); close(done) }()
	x.Offer([][]byte{[]byte(`{"a":1}`), []byte(`{"b":2}`)})
	deadline := time.Now().Add(5 * time.Second)
	for {
		mu.Lock()
		n := len(got)
		mu.Unlock()
		if n == 1 || time.Now().After(deadline) {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	<-done
	if len(got) != 1 || got[0] != "{\"a\":1}\n{\"b\":2}\n" || calls.Load() != 3 {
		t.Fatalf("webhook got %q after %d calls", got, calls.Load())
	}
	// A full queue drops (and counts) instead of blocking.
	y := NewExporter("slow", &WebhookDestination{URL: hs.URL}, slog.New(slog.NewTextHandler(io.Discard, nil)), 1)
	y.Offer([][]byte{[]byte("1")})
	y.Offer([][]byte{[]byte("2"), []byte("3")})
	if y.Dropped() != 2 {
		t.Fatalf("dropped = %d", y.Dropped())
	}
}
