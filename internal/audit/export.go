package audit

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"
)

// Exports copy committed records elsewhere, off the request path: the trail
// hands each committed batch to Exporter.Offer, which queues it without
// blocking (a full queue drops the batch and counts it: the store, not the
// export, is the record of truth) and a worker delivers it, retrying with
// backoff.

// Destination receives batches of record lines (each a CloudTrail JSON
// record, without newline).
type Destination interface {
	Deliver(ctx context.Context, lines [][]byte) error
	Close() error
}

// Exporter queues committed records for one destination.
type Exporter struct {
	Name    string
	Dest    Destination
	Logger  *slog.Logger
	queue   chan [][]byte
	dropped atomic.Int64
	// MaxAttempts bounds deliveries of one batch; zero means 8.
	MaxAttempts int
	// Backoff is the first retry delay (doubling, capped at 1m); zero means 1s.
	Backoff time.Duration
}

// NewExporter returns an exporter with a queue of size batches.
func NewExporter(name string, dest Destination, logger *slog.Logger, size int) *Exporter {
	return &Exporter{Name: name, Dest: dest, Logger: logger, queue: make(chan [][]byte, size)}
}

// Offer queues a batch; it never blocks.
func (x *Exporter) Offer(lines [][]byte) {
	select {
	case x.queue <- lines:
	default:
		if n := x.dropped.Add(int64(len(lines))); n == int64(len(lines)) || n%1000 == 0 {
			x.Logger.Warn("audit export queue full; records dropped from the export (they are in the store)",
				"export", x.Name, "dropped", n)
		}
	}
}

// Dropped is how many records the queue has dropped.
func (x *Exporter) Dropped() int64 { return x.dropped.Load() }

// Run delivers queued batches until ctx is done, then delivers what is
// still queued (one attempt each) and closes the destination.
func (x *Exporter) Run(ctx context.Context) error {
	defer x.Dest.Close()
	for {
		select {
		case lines := <-x.queue:
			x.deliver(ctx, lines)
		case <-ctx.Done():
			for {
				select {
				case lines := <-x.queue:
					if err := x.Dest.Deliver(context.Background(), lines); err != nil {
						x.Logger.Error("audit export failed at shutdown", "export", x.Name, "records", len(lines), "err", err)
					}
				default:
					return nil
				}
			}
		}
	}
}

func (x *Exporter) deliver(ctx context.Context, lines [][]byte) {
	attempts, wait := x.MaxAttempts, x.Backoff
	if attempts <= 0 {
		attempts = 8
	}
	if wait <= 0 {
		wait = time.Second
	}
	for i := 1; ; i++ {
		err := x.Dest.Deliver(ctx, lines)
		if err == nil {
			return
		}
		if i == attempts || ctx.Err() != nil {
			x.dropped.Add(int64(len(lines)))
			x.Logger.Error("audit export gave up on a batch (the records are in the store)", "export", x.Name,
				"records", len(lines), "attempts", i, "err", err)
			return
		}
		x.Logger.Warn("audit export failed; retrying", "export", x.Name, "attempt", i, "in", wait, "err", err)
		select {
		case <-time.After(wait):
		case <-ctx.Done():
		}
		wait = min(2*wait, time.Minute)
	}
}

// FileDestination appends records to JSON-lines files in a directory,
// starting a new file (audit-<UTC time>.jsonl) when one reaches
// RotateBytes. Files are created 0600.
type FileDestination struct {
	Dir         string
	RotateBytes int64
	Now         func() time.Time

	f    *os.File
	w    *bufio.Writer
	size int64
}

func (d *FileDestination) open() error {
	if err := os.MkdirAll(d.Dir, 0o700); err != nil {
		return fmt.Errorf("create export directory: %w", err)
	}
	now := time.Now
	if d.Now != nil {
		now = d.Now
	}
	name := filepath.Join(d.Dir, "audit-"+now().UTC().Format("20060102T150405.000000000Z")+".jsonl")
	f, err := os.OpenFile(name, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("open export file: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("stat export file: %w", err)
	}
	d.f, d.w, d.size = f, bufio.NewWriterSize(f, 64<<10), st.Size()
	return nil
}

// Deliver implements Destination.
func (d *FileDestination) Deliver(_ context.Context, lines [][]byte) error {
	for _, l := range lines {
		if d.f != nil && d.RotateBytes > 0 && d.size+int64(len(l))+1 > d.RotateBytes && d.size > 0 {
			if err := d.Close(); err != nil {
				return err
			}
		}
		if d.f == nil {
			if err := d.open(); err != nil {
				return err
			}
		}
		// l is shared with other exporters: never append to it.
		n, err := d.w.Write(l)
		if err == nil {
			err = d.w.WriteByte('\n')
			n++
		}
		d.size += int64(n)
		if err != nil {
			return fmt.Errorf("write export file: %w", err)
		}
	}
	if d.w != nil {
		if err := d.w.Flush(); err != nil {
			return fmt.Errorf("write export file: %w", err)
		}
	}
	return nil
}

// Close implements Destination.
func (d *FileDestination) Close() error {
	if d.f == nil {
		return nil
	}
	err := errors.Join(d.w.Flush(), d.f.Sync(), d.f.Close())
	d.f, d.w, d.size = nil, nil, 0
	if err != nil {
		return fmt.Errorf("close export file: %w", err)
	}
	return nil
}

// WebhookDestination POSTs each batch as application/x-ndjson. A 2xx
// answer is success; anything else is retried by the exporter.
type WebhookDestination struct {
	URL    string
	Client *http.Client
}

// Deliver implements Destination.
func (d *WebhookDestination) Deliver(ctx context.Context, lines [][]byte) error {
	body := bytes.Join(lines, []byte("\n"))
	body = append(body, '\n')
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.URL, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("audit webhook request: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-ndjson")
	req.Header.Set("User-Agent", "bulwark-audit-export")
	c := d.Client
	if c == nil {
		c = http.DefaultClient
	}
	resp, err := c.Do(req)
	if err != nil {
		return fmt.Errorf("audit webhook: %w", err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("audit webhook answered %s", resp.Status)
	}
	return nil
}

// Close implements Destination.
func (d *WebhookDestination) Close() error { return nil }
