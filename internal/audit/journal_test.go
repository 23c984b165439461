package audit

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bulwark-security/bulwark/internal/store"
)

var discard = slog.New(slog.NewTextHandler(io.Discard, nil))

func journalTrail(t *testing.T, st *memAudit, dir string, segBytes int64, cfg TrailConfig) (*Trail, *Journal) {
	t.Helper()
	j, err := OpenJournal(dir, JournalOptions{SegmentBytes: segBytes})
	if err != nil {
		t.Fatal(err)
	}
	cfg.Store, cfg.Logger, cfg.Journal = st, discard, j
	tr, err := NewTrail(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return tr, j
}

// crash stops a journal the way a killed process does: its files stay and
// its lock goes.
func (j *Journal) crash() {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.seg != nil {
		j.seg.Close()
	}
	j.lock.Close()
	j.lock = nil
}

// recordN records events from..to concurrently, so they are group-committed.
func recordN(t *testing.T, tr *Trail, from, to int) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, to-from+1)
	for i := from; i <= to; i++ {
		wg.Go(func() { errs <- tr.Record(context.Background(), testEvent(i)) })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
}

func journalFiles(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}

func TestJournalTrailStoresEverythingAndVerifies(t *testing.T) {
	st := &memAudit{}
	dir := t.TempDir()
	// Small segments: the run rotates and releases several.
	tr, _ := journalTrail(t, st, dir, 4<<10, TrailConfig{})
	recordN(t, tr, 1, 300)
	if err := tr.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := len(st.recs); n != 300 {
		t.Fatalf("store has %d records after Flush, want 300", n)
	}
	chain, seq, hash := tr.Head()
	last, err := st.LastAuditRecord(context.Background(), chain)
	if err != nil || last.Seq != seq || !bytes.Equal(last.Hash, hash) || seq != 300 {
		t.Fatalf("Head = %d, store's last = %d (%v)", seq, last.Seq, err)
	}
	if files := journalFiles(t, dir); len(files) > 3 {
		t.Errorf("indexed segments were not released: %v", files)
	}
	s := testSigner()
	if err := (&Digester{Trail: tr, Store: st, Signer: s}).Digest(context.Background(), DigestShutdown); err != nil {
		t.Fatal(err)
	}
	tr.Close()
	if files := journalFiles(t, dir); len(files) != 0 {
		t.Errorf("a drained journal left files: %v", files)
	}
	if rep := verify(t, st, s); !rep.OK() {
		t.Fatalf("verify: %v", rep.Problems)
	}
	// The records are what a direct commit would store: their lookup
	// columns match the record bytes.
	for _, r := range st.recs {
		if p := checkColumns(&r); p != "" {
			t.Fatalf("record %d: %s", r.Seq, p)
		}
	}
}

func TestJournalRecoveryAfterCrash(t *testing.T) {
	dir := t.TempDir()
	// The crashed server's store connection stays down (its indexer lives
	// on in this test process); the next server's store is st.
	tr, j := journalTrail(t, &memAudit{fail: errors.New("store down")}, dir, 0, TrailConfig{WriteTimeout: 100 * time.Millisecond})
	defer tr.Close()
	recordN(t, tr, 1, 40)
	chain := tr.ChainID()
	j.crash()
	st := &memAudit{}

	// A live journal (locked) is not touched.
	live, err := OpenJournal(dir, JournalOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer live.Close(true)
	if err := live.Append([]store.AuditRecord{{ChainID: "live", Seq: 1, PrevHash: make([]byte, 32), Hash: make([]byte, 32), Record: []byte(`{}`)}}); err != nil {
		t.Fatal(err)
	}

	b, err := InspectJournals(context.Background(), dir, st)
	if err != nil || b.Records != 41 {
		t.Fatalf("InspectJournals = %+v, %v; want 41 records (40 crashed + 1 live)", b, err)
	}
	n, err := RecoverJournals(context.Background(), dir, st, discard)
	if err != nil || n != 40 {
		t.Fatalf("RecoverJournals = %d, %v; want 40", n, err)
	}
	last, err := st.LastAuditRecord(context.Background(), chain)
	if err != nil || last.Seq != 40 {
		t.Fatalf("chain's last stored record = %d, %v", last.Seq, err)
	}
	for _, r := range st.recs {
		if p := checkColumns(&r); p != "" {
			t.Fatalf("recovered record %d: %s", r.Seq, p)
		}
	}
	if rep := verify(t, st, testSigner()); !rep.OK() {
		t.Fatalf("verify after recovery: %v", rep.Problems)
	}
	// Recovery is idempotent, and the live journal is still there.
	if n, err := RecoverJournals(context.Background(), dir, st, discard); err != nil || n != 0 {
		t.Fatalf("second recovery = %d, %v", n, err)
	}
	if _, err := os.Stat(filepath.Join(dir, live.instance+".lock")); err != nil {
		t.Fatalf("live journal removed: %v", err)
	}
}

func TestJournalRecoverySkipsWhatTheStoreHas(t *testing.T) {
	old := &memAudit{}
	dir := t.TempDir()
	tr, j := journalTrail(t, old, dir, 0, TrailConfig{WriteTimeout: 100 * time.Millisecond})
	defer tr.Close()
	recordN(t, tr, 1, 10)
	if err := tr.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	old.mu.Lock()
	old.fail = errors.New("store down")
	st := &memAudit{recs: slices.Clone(old.recs)}
	old.mu.Unlock()
	recordN(t, tr, 11, 15)
	j.crash()
	n, err := RecoverJournals(context.Background(), dir, st, discard)
	if err != nil || n != 5 {
		t.Fatalf("RecoverJournals = %d, %v; want the 5 the store lacked", n, err)
	}
	if rep := verify(t, st, testSigner()); !rep.OK() {
		t.Fatalf("verify: %v", rep.Problems)
	}
}

func TestJournalTornTailAndRewrittenFrames(t *testing.T) {
	dir := t.TempDir()
	j, err := OpenJournal(dir, JournalOptions{})
	if err != nil {
		t.Fatal(err)
	}
	tr, _ := NewTrail(TrailConfig{Store: &memAudit{}, Logger: discard})
	// Build three chained records the way a trail does.
	recs := chained(tr.ChainID(), 3)
	if err := j.Append(recs[:2]); err != nil {
		t.Fatal(err)
	}
	// A failed write of record 3 that was retried: the segment holds a
	// first version (different bytes) before the acknowledged one.
	bogus := recs[2]
	bogus.Record = []byte(`{"eventVersion":"1.08","eventID":"old","eventType":"AwsApiCall","eventTime":"2026-01-01T00:00:00Z"}`)
	if err := j.Append([]store.AuditRecord{bogus}); err != nil {
		t.Fatal(err)
	}
	if err := j.Append(recs[2:]); err != nil {
		t.Fatal(err)
	}
	// And a torn frame at the end: half of a fourth write.
	frame := appendFrame(nil, &recs[0])
	j.mu.Lock()
	if _, err := j.seg.Write(frame[:len(frame)/2]); err != nil {
		t.Fatal(err)
	}
	j.mu.Unlock()
	j.crash()

	st := &memAudit{}
	n, err := RecoverJournals(context.Background(), dir, st, discard)
	if err != nil || n != 3 {
		t.Fatalf("RecoverJournals = %d, %v; want 3", n, err)
	}
	if got := st.recs[2].Record; !bytes.Equal(got, recs[2].Record) {
		t.Fatalf("record 3 is the superseded write: %s", got)
	}
	if rep := verify(t, st, testSigner()); !rep.OK() {
		t.Fatalf("verify: %v", rep.Problems)
	}
}

// chained returns n records of chain as the trail would write them.
func chained(chain string, n int) []store.AuditRecord {
	prev := Genesis(chain)
	var out []store.AuditRecord
	for i := 1; i <= n; i++ {
		e := testEvent(i)
		b, err := e.AppendJSON(nil)
		if err != nil {
			panic(err)
		}
		r := indexOf(e)
		r.ChainID, r.Seq, r.Record, r.PrevHash = chain, int64(i), b, prev
		r.Hash = ChainHash(prev, RecordDigest(b))
		prev = r.Hash
		out = append(out, r)
	}
	return out
}

func TestJournalBacklogFailsClosed(t *testing.T) {
	st := &memAudit{fail: errors.New("store down")}
	tr, _ := journalTrail(t, st, t.TempDir(), 0, TrailConfig{MaxBacklog: 20})
	defer tr.Close()
	recordN(t, tr, 1, 20) // durable in the journal though the store is down
	if err := tr.Record(context.Background(), testEvent(21)); err == nil {
		t.Fatal("a record beyond the backlog bound was accepted")
	}
	for {
		n, err := tr.Backlog()
		if n != 20 {
			t.Fatalf("Backlog = %d, want 20", n)
		}
		if err != nil {
			break // the indexer tried and reports the store's error
		}
		time.Sleep(5 * time.Millisecond)
	}
	st.mu.Lock()
	st.fail = nil
	st.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := tr.Flush(ctx); err != nil {
		t.Fatalf("the indexer did not catch up after the store came back: %v", err)
	}
	if err := tr.Record(context.Background(), testEvent(21)); err != nil {
		t.Fatalf("record after recovery: %v", err)
	}
	if err := tr.Flush(ctx); err != nil || len(st.recs) != 21 {
		t.Fatalf("store has %d records (%v)", len(st.recs), err)
	}
}

func TestJournalFilesArePrivate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "j")
	j, err := OpenJournal(dir, JournalOptions{Sync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close(true)
	if err := j.Append(chained("c", 1)); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(dir)
	if err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("journal directory mode %v (%v)", fi.Mode().Perm(), err)
	}
	for _, name := range journalFiles(t, dir) {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Fatalf("%s mode %v (%v)", name, fi.Mode().Perm(), err)
		}
	}
}

// FuzzJournalFrames: a segment of any bytes is read without a panic, and
// only frames whose checksum holds come out.
func FuzzJournalFrames(f *testing.F) {
	var seg []byte
	seg = append(seg, journalMagic...)
	for _, r := range chained("c", 2) {
		seg = appendFrame(seg, &r)
	}
	f.Add(seg)
	f.Add(seg[:len(seg)-3])
	f.Add([]byte(journalMagic + "\xff\xff\xff\xff\x00\x00\x00\x00"))
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = readFrames(bytes.NewReader(b), func(r store.AuditRecord) error {
			if len(r.PrevHash) != HashSize || len(r.Hash) != HashSize || r.Seq < 1 {
				t.Fatalf("bad frame came out: %+v", r)
			}
			return nil
		})
	})
}

// commitThenFail commits its first write but reports an error, as a
// timeout that fires after the commit does.
type commitThenFail struct {
	*memAudit
	failed atomic.Bool
}

func (c *commitThenFail) AppendAuditRecords(ctx context.Context, recs []store.AuditRecord) error {
	err := c.memAudit.AppendAuditRecords(ctx, recs)
	if err == nil && c.failed.CompareAndSwap(false, true) {
		return errors.New("context deadline exceeded after commit")
	}
	return err
}

// TestJournalIndexerSurvivesAmbiguousCommit: a store write that committed
// but reported an error is not retried into a duplicate (which would wedge
// the indexer on a key conflict until the backlog bound failed every call).
func TestJournalIndexerSurvivesAmbiguousCommit(t *testing.T) {
	st := &memAudit{}
	j, err := OpenJournal(t.TempDir(), JournalOptions{})
	if err != nil {
		t.Fatal(err)
	}
	tr, err := NewTrail(TrailConfig{Store: &commitThenFail{memAudit: st}, Logger: discard, Journal: j})
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	recordN(t, tr, 1, 10)
	recordN(t, tr, 11, 20)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := tr.Flush(ctx); err != nil {
		t.Fatalf("indexer wedged: %v", err)
	}
	if n, err := tr.Backlog(); n != 0 || err != nil || len(st.recs) != 20 {
		t.Fatalf("backlog %d (%v), store has %d records", n, err, len(st.recs))
	}
	if rep := verify(t, st, testSigner()); !rep.OK() {
		t.Fatalf("verify: %v", rep.Problems)
	}
}
