package audit

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/bulwark-security/bulwark/internal/store"
)

// ErrClosed is returned by Record after Close.
var ErrClosed = errors.New("audit trail closed")

// TrailConfig configures a Trail.
type TrailConfig struct {
	Store  store.Audit
	Logger *slog.Logger
	// MaxBatch bounds the records one transaction commits; zero means 512.
	MaxBatch int
	// WriteTimeout bounds one group commit; zero means 10s.
	WriteTimeout time.Duration
	// Exporters receive every committed batch (never blocking); optional.
	Exporters []*Exporter
	// Linger is how long a leader waits for more records before it
	// commits, when the previous commit carried more than one (the server
	// is busy): fewer, larger transactions cost far less CPU and I/O per
	// record than one each. Zero means 1ms; negative disables it.
	Linger time.Duration
	// Journal, if set, is where a commit becomes durable (one write per
	// group commit); an indexer copies the records to Store in large
	// transactions behind the request path (see journal.go). Without it
	// each group commit is a store transaction.
	Journal *Journal
	// IndexDelay is how long the indexer gathers records before a store
	// transaction when nothing waits for them (Flush); zero means 20ms.
	IndexDelay time.Duration
	// MaxBacklog bounds the journaled records the store does not have yet
	// (a store outage); beyond it Record fails. Zero means 100,000.
	MaxBacklog int
}

// indexBatch bounds the records of one indexer transaction.
const indexBatch = 1024

// Trail is the durable, hash-chained audit sink. Record returns only once
// the event is durable (in the journal, or committed to the store without
// one), so the server answers no call whose record could be lost. Concurrent calls are group-committed, leader and
// followers: a call that finds no commit running commits itself (no
// hand-off to another goroutine when the server is quiet); calls arriving
// while a commit runs queue, and when it ends the first of them leads the
// next commit with the whole queue, so under load one transaction carries
// many records.
//
// Each Trail writes its own chain (one per server process, a fresh id at
// start and after a dev-mode reset), so several servers sharing one
// PostgreSQL database never contend for a chain head.
type Trail struct {
	cfg TrailConfig

	// qmu guards the queue, the leader flag and closed.
	qmu        sync.Mutex
	queue      []*pending
	committing bool
	closed     bool
	idle       *sync.Cond // signalled when a leader finishes
	lastBatch  int        // records in the previous commit
	// arrived is poked when a record queues while a leader lingers.
	arrived chan struct{}

	// mu guards the chain head, written by the leader after each commit
	// and read by digests.
	mu      sync.Mutex
	chainID string
	seq     int64  // last committed seq
	head    []byte // last committed hash (Genesis before the first)
	stale   bool   // a commit failed: reload the head before the next one
	// newChain, if set, is the chain the next commit switches to (Reset).
	newChain string
	// The last record the store has (what digests sign): with a journal
	// the indexer's progress, without one the last commit.
	storedChain string
	storedSeq   int64
	storedHead  []byte

	ix indexer // journal mode only
}

// indexer is the state of the goroutine that copies journaled records to
// the store.
type indexer struct {
	mu       sync.Mutex
	queue    []store.AuditRecord // journaled, not yet stored, in order
	appended int64               // records journaled
	indexed  int64               // records stored
	err      error               // the last store error, nil after a success
	gen      int64               // bumped by Reset, which drops the queue
	progress chan struct{}       // closed (and replaced) when indexed grows or a store write fails

	wake  chan struct{} // records queued
	flush chan struct{} // a Flush waits: skip the gathering delay
	stop  chan struct{} // Close: drain and return
	done  chan struct{}
}

type pending struct {
	rec  store.AuditRecord
	sum  [HashSize]byte
	done chan error    // the commit's outcome
	lead chan struct{} // this call leads the next commit
}

// NewChainID returns a fresh chain id: the UTC start time (so ids sort by
// age) and 64 random bits.
func NewChainID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return time.Now().UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(b[:])
}

// NewTrail returns a trail on a new chain. Close stops it.
func NewTrail(cfg TrailConfig) (*Trail, error) {
	if cfg.Store == nil || cfg.Logger == nil {
		return nil, errors.New("audit: Store and Logger are required")
	}
	if cfg.MaxBatch <= 0 {
		cfg.MaxBatch = 512
	}
	if cfg.WriteTimeout <= 0 {
		cfg.WriteTimeout = 10 * time.Second
	}
	if cfg.Linger == 0 {
		cfg.Linger = time.Millisecond
	}
	if cfg.IndexDelay <= 0 {
		cfg.IndexDelay = 20 * time.Millisecond
	}
	if cfg.MaxBacklog <= 0 {
		cfg.MaxBacklog = 100_000
	}
	id := NewChainID()
	t := &Trail{cfg: cfg, chainID: id, head: Genesis(id), storedChain: id, storedHead: Genesis(id)}
	t.idle = sync.NewCond(&t.qmu)
	t.arrived = make(chan struct{}, 1)
	if cfg.Journal != nil {
		t.ix.progress = make(chan struct{})
		t.ix.wake = make(chan struct{}, 1)
		t.ix.flush = make(chan struct{}, 1)
		t.ix.stop = make(chan struct{})
		t.ix.done = make(chan struct{})
		go t.indexLoop()
	}
	return t, nil
}

// ChainID returns the id of the chain the trail writes.
func (t *Trail) ChainID() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.chainID
}

// Head returns the chain id, seq and hash of the last record the store
// has: what a digest may sign, since verify reads the store.
func (t *Trail) Head() (chainID string, seq int64, hash []byte) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.storedChain, t.storedSeq, append([]byte(nil), t.storedHead...)
}

// Reset makes the trail start a new chain with its next record (after a
// dev-mode reset emptied the store).
func (t *Trail) Reset() {
	t.mu.Lock()
	t.newChain = NewChainID()
	t.mu.Unlock()
	if t.cfg.Journal != nil {
		// Records not yet stored went with the store.
		t.ix.mu.Lock()
		t.ix.indexed += int64(len(t.ix.queue))
		t.ix.queue = nil
		t.ix.gen++
		t.ix.mu.Unlock()
	}
}

// Record implements Sink: it returns nil once the event is durable. It
// fills the fields every record has if the producer left them empty, and
// hides secret-bearing fields again in parameters a producer rendered
// without Render (fail closed: no producer can put a secret in the trail).
// It waits for the commit even if ctx ends first (a commit is bounded by
// WriteTimeout): the call fails or succeeds with its record.
func (t *Trail) Record(_ context.Context, e *Event) error {
	normalize(e)
	b, err := e.AppendJSON(make([]byte, 0, 1024))
	if err != nil {
		return fmt.Errorf("encode audit record: %w", err)
	}
	p := &pending{rec: indexOf(e), done: make(chan error, 1), lead: make(chan struct{}, 1)}
	p.rec.Record = b
	p.sum = RecordDigest(b)
	t.qmu.Lock()
	if t.closed {
		t.qmu.Unlock()
		return ErrClosed
	}
	t.queue = append(t.queue, p)
	if t.committing {
		select {
		case t.arrived <- struct{}{}:
		default:
		}
		t.qmu.Unlock()
		select {
		case err := <-p.done:
			return err
		case <-p.lead:
		}
		t.qmu.Lock()
	}
	t.committing = true
	if t.cfg.Linger > 0 && t.lastBatch > 1 && len(t.queue) < min(t.lastBatch, t.cfg.MaxBatch) {
		// Busy: wait (at most Linger) until as many records as last time
		// are queued; under steady load that is the number of callers.
		want := min(t.lastBatch, t.cfg.MaxBatch)
		timer := time.NewTimer(t.cfg.Linger)
		for len(t.queue) < want {
			t.qmu.Unlock()
			select {
			case <-t.arrived:
				t.qmu.Lock()
				continue
			case <-timer.C:
			}
			t.qmu.Lock()
			break
		}
		timer.Stop()
	}
	// Lead: commit the queue (which holds p), then pass the lead on.
	n := min(len(t.queue), t.cfg.MaxBatch)
	t.lastBatch = n
	batch := t.queue[:n:n]
	t.queue = append([]*pending(nil), t.queue[n:]...)
	t.qmu.Unlock()
	t.commit(batch)
	t.qmu.Lock()
	if len(t.queue) > 0 {
		t.queue[0].lead <- struct{}{}
	} else {
		t.committing = false
		t.idle.Broadcast()
	}
	t.qmu.Unlock()
	return <-p.done
}

// Close waits for the commits in progress and refuses further records
// (ErrClosed). With a journal it then gives the indexer up to WriteTimeout
// to store what is journaled, and deletes the journal if it did (else the
// next start recovers it).
func (t *Trail) Close() {
	t.qmu.Lock()
	already := t.closed
	t.closed = true
	for t.committing {
		t.idle.Wait()
	}
	t.qmu.Unlock()
	if t.cfg.Journal == nil || already {
		return
	}
	close(t.ix.stop)
	<-t.ix.done
	t.ix.mu.Lock()
	drained := t.ix.indexed == t.ix.appended
	left := t.ix.appended - t.ix.indexed
	t.ix.mu.Unlock()
	if !drained {
		t.cfg.Logger.Error("audit records left in the journal, not yet in the store; the next start stores them",
			"records", left, "journal", t.cfg.Journal.Dir())
	}
	if err := t.cfg.Journal.Close(drained); err != nil {
		t.cfg.Logger.Error("close audit journal", "err", err)
	}
}

// Flush waits until the store has every record committed before the call
// (a no-op without a journal, where commits go to the store): LookupEvents
// reads its own writes.
func (t *Trail) Flush(ctx context.Context) error {
	if t.cfg.Journal == nil {
		return nil
	}
	t.ix.mu.Lock()
	target := t.ix.appended
	for t.ix.indexed < target {
		ch := t.ix.progress
		t.ix.mu.Unlock()
		select {
		case t.ix.flush <- struct{}{}:
		default:
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("wait for the audit store: %w", ctx.Err())
		case <-t.ix.done:
			return ErrClosed
		}
		t.ix.mu.Lock()
	}
	t.ix.mu.Unlock()
	return nil
}

// Backlog is how many journaled records the store does not have yet, and
// the last error storing them (nil once a write succeeds).
func (t *Trail) Backlog() (int64, error) {
	t.ix.mu.Lock()
	defer t.ix.mu.Unlock()
	return t.ix.appended - t.ix.indexed, t.ix.err
}

// indexLoop copies journaled records to the store: it waits for records,
// gathers for IndexDelay unless a Flush waits (larger transactions cost
// less per record), and stores them in order, retrying with backoff while
// the store fails. On stop it drains for up to WriteTimeout.
func (t *Trail) indexLoop() {
	defer close(t.ix.done)
	var deadline time.Time // set once stopping
	backoff := 50 * time.Millisecond
	for {
		select {
		case <-t.ix.wake:
			t.gather()
		case <-t.ix.stop:
			deadline = time.Now().Add(t.cfg.WriteTimeout)
		}
		for {
			t.ix.mu.Lock()
			n := min(len(t.ix.queue), indexBatch)
			batch, gen := t.ix.queue[:n:n], t.ix.gen
			t.ix.mu.Unlock()
			if n == 0 {
				break
			}
			stored, err := t.storeBatch(batch)
			t.ix.mu.Lock()
			t.ix.err = err
			// Reset may have dropped the queue meanwhile.
			if stored > 0 && gen == t.ix.gen {
				t.ix.queue = t.ix.queue[stored:]
				if len(t.ix.queue) == 0 {
					t.ix.queue = nil
				}
				t.ix.indexed += int64(stored)
				last := batch[stored-1]
				t.mu.Lock()
				t.storedChain, t.storedSeq, t.storedHead = last.ChainID, last.Seq, last.Hash
				t.mu.Unlock()
			}
			close(t.ix.progress)
			t.ix.progress = make(chan struct{})
			indexed := t.ix.indexed
			t.ix.mu.Unlock()
			if err == nil {
				backoff = 50 * time.Millisecond
				t.cfg.Journal.Release(indexed)
				continue
			}
			t.cfg.Logger.Error("audit store write failed; records stay in the journal and are retried",
				"records", n, "retry_in", backoff, "err", err)
			if !deadline.IsZero() && time.Now().Add(backoff).After(deadline) {
				return
			}
			select {
			case <-time.After(backoff):
			case <-t.ix.flush: // someone waits: try again now
			case <-t.ix.stop:
				if deadline.IsZero() {
					deadline = time.Now().Add(t.cfg.WriteTimeout)
				}
			}
			backoff = min(2*backoff, 5*time.Second)
		}
		if !deadline.IsZero() {
			return
		}
	}
}

// storeBatch writes batch to the store and returns how many of its
// records (a prefix) the store has. A failed write may still have
// committed (a timeout after the commit): the store's last record of the
// chain says what it holds, so a retry never inserts a record twice.
func (t *Trail) storeBatch(batch []store.AuditRecord) (int, error) {
	ctx, cancel := context.WithTimeout(context.Background(), t.cfg.WriteTimeout)
	defer cancel()
	err := t.cfg.Store.AppendAuditRecords(ctx, batch)
	if err == nil {
		return len(batch), nil
	}
	err = fmt.Errorf("append %d audit records: %w", len(batch), err)
	last, lerr := t.cfg.Store.LastAuditRecord(ctx, batch[0].ChainID)
	if lerr != nil {
		return 0, err
	}
	n := 0
	for n < len(batch) && batch[n].ChainID == last.ChainID && batch[n].Seq <= last.Seq {
		n++
	}
	if n == len(batch) {
		return n, nil
	}
	return n, err
}

// gather waits up to IndexDelay for a full batch, unless a Flush waits or
// the trail closes.
func (t *Trail) gather() {
	t.ix.mu.Lock()
	n := len(t.ix.queue)
	t.ix.mu.Unlock()
	if n >= indexBatch {
		return
	}
	timer := time.NewTimer(t.cfg.IndexDelay)
	defer timer.Stop()
	select {
	case <-timer.C:
	case <-t.ix.flush:
	case <-t.ix.stop:
	}
}

// commit chains and stores one batch and answers its callers.
func (t *Trail) commit(batch []*pending) {
	ctx, cancel := context.WithTimeout(context.Background(), t.cfg.WriteTimeout)
	defer cancel()
	err := t.commitErr(ctx, batch)
	if err != nil {
		t.cfg.Logger.Error("audit trail write failed; failing the calls it records", "records", len(batch), "err", err)
	}
	for _, p := range batch {
		p.done <- err
	}
}

func (t *Trail) commitErr(ctx context.Context, batch []*pending) error {
	t.mu.Lock()
	if t.newChain != "" {
		t.chainID, t.seq, t.head, t.stale, t.newChain = t.newChain, 0, Genesis(t.newChain), false, ""
	}
	chainID, seq, head, stale := t.chainID, t.seq, t.head, t.stale
	t.mu.Unlock()
	if stale {
		// A failed commit may still have reached the store: continue from
		// what the store holds.
		last, err := t.cfg.Store.LastAuditRecord(ctx, chainID)
		switch {
		case err == nil:
			seq, head = last.Seq, last.Hash
		case errors.Is(err, store.ErrNotFound):
			seq, head = 0, Genesis(chainID)
		default:
			return fmt.Errorf("reload chain head: %w", err)
		}
	}
	recs := make([]store.AuditRecord, len(batch))
	prev := head
	for i, p := range batch {
		r := p.rec
		r.ChainID, r.Seq, r.PrevHash = chainID, seq+int64(i)+1, prev
		r.Hash = ChainHash(prev, p.sum)
		prev = r.Hash
		recs[i] = r
	}
	if t.cfg.Journal != nil {
		if err := t.journal(recs); err != nil {
			return err
		}
		t.mu.Lock()
		if t.chainID == chainID {
			t.seq, t.head = recs[len(recs)-1].Seq, prev
		}
		t.mu.Unlock()
	} else {
		if err := t.cfg.Store.AppendAuditRecords(ctx, recs); err != nil {
			t.mu.Lock()
			if t.chainID == chainID {
				t.stale = true
			}
			t.mu.Unlock()
			return fmt.Errorf("append %d audit records: %w", len(recs), err)
		}
		t.mu.Lock()
		if t.chainID == chainID {
			t.seq, t.head, t.stale = recs[len(recs)-1].Seq, prev, false
			t.storedChain, t.storedSeq, t.storedHead = chainID, t.seq, prev
		}
		t.mu.Unlock()
	}
	if len(t.cfg.Exporters) > 0 {
		lines := make([][]byte, len(recs))
		for i := range recs {
			lines[i] = recs[i].Record
		}
		for _, x := range t.cfg.Exporters {
			x.Offer(lines)
		}
	}
	return nil
}

// journal makes recs durable in the journal and queues them for the
// store. It refuses them when the store is too far behind (fail closed: a
// store outage must not grow the journal without bound).
func (t *Trail) journal(recs []store.AuditRecord) error {
	t.ix.mu.Lock()
	behind, lastErr := t.ix.appended-t.ix.indexed, t.ix.err
	t.ix.mu.Unlock()
	if behind+int64(len(recs)) > int64(t.cfg.MaxBacklog) {
		return fmt.Errorf("audit store is %d records behind the journal (last error: %v)", behind, lastErr)
	}
	if err := t.cfg.Journal.Append(recs); err != nil {
		return err
	}
	t.ix.mu.Lock()
	t.ix.queue = append(t.ix.queue, recs...)
	t.ix.appended += int64(len(recs))
	t.ix.mu.Unlock()
	select {
	case t.ix.wake <- struct{}{}:
	default:
	}
	return nil
}

// normalize makes e a complete record.
func normalize(e *Event) {
	if e.EventVersion == "" {
		e.EventVersion = EventVersion
	}
	if e.EventID == "" {
		var b [16]byte
		_, _ = rand.Read(b[:])
		e.EventID = hex.EncodeToString(b[:])
	}
	if e.EventType == "" {
		e.EventType = "AwsApiCall"
	}
	if e.EventCategory == "" {
		e.EventCategory = "Management"
	}
	if e.EventTime.IsZero() {
		e.EventTime = time.Now().UTC()
	}
	e.RequestParameters = Rerender(e.RequestParameters)
	e.ResponseElements = Rerender(e.ResponseElements)
}
