package audit

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/bulwark-security/bulwark/internal/store"
)

// The journal is the trail's local write-ahead log. With a journal, a
// record is durable once its group commit is written to the journal (one
// write(2) per commit), and an indexer copies records into the store in
// large transactions behind the request path: SQLite's cost per
// transaction (locks, one WAL frame per touched page, its checksums) is
// then paid once for hundreds of records instead of once for the handful
// a group commit carries. The store stays the trail of record (verify,
// LookupEvents and digests read it); the journal only holds what the store
// may not have yet, and a server that stopped without draining it (a
// crash, a store outage) has its journal ingested at the next start.
//
// Durability is the store's: without Sync a commit is in the operating
// system's page cache when Record returns, which survives the process
// crashing, as SQLite's synchronous=NORMAL does; with Sync each commit is
// fsynced and also survives a power loss.
//
// Layout: a directory (0700) of segments "<instance>-<n>.journal" (0600),
// each starting with journalMagic and holding frames
//
//	u32 payload length | u32 CRC-32C of payload | payload
//	payload: u8 version | uvarint len | chain id | uvarint seq |
//	         prev hash (32) | hash (32) | record bytes
//
// and one lock file "<instance>.lock" per journal, held (flock) while the
// server that writes it runs, so a server starting beside a running one
// never ingests a live journal.

const (
	journalMagic   = "BWAUDJ1\n"
	journalVersion = 1
	// maxFrame bounds a frame a reader accepts: a record is bounded by
	// DecodeRecord's limit.
	maxFrame = 4*MaxElementBytes + 128<<10
	// defaultSegmentBytes rotates a segment; a rotated segment is deleted
	// once the store has every record in it.
	defaultSegmentBytes = 16 << 20
)

var crcTable = crc32.MakeTable(crc32.Castagnoli)

// Journal is an open journal. Its methods are called by one Trail: Append
// from the committing leader, Release from the indexer.
type Journal struct {
	dir      string
	instance string
	sync     bool
	segBytes int64
	lock     *os.File

	mu       sync.Mutex
	seg      *os.File
	segNo    int
	segSize  int64
	appended int64       // records appended since open
	rotated  []segmentAt // closed segments, oldest first
	broken   bool        // the current segment's tail may be torn: rotate first
	buf      []byte
}

// segmentAt is a closed segment and the appended count its last record
// brought the journal to.
type segmentAt struct {
	path string
	upTo int64
}

// JournalOptions tunes a journal.
type JournalOptions struct {
	// Sync fsyncs each commit (power-loss durable); off, a commit survives
	// a process crash only.
	Sync bool
	// SegmentBytes rotates segments; zero means 16 MiB.
	SegmentBytes int64
}

// OpenJournal creates (if needed) the journal directory and starts a new
// journal in it for this process.
func OpenJournal(dir string, opt JournalOptions) (*Journal, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create audit journal directory: %w", err)
	}
	j := &Journal{dir: dir, instance: NewChainID(), sync: opt.Sync, segBytes: opt.SegmentBytes}
	if j.segBytes <= 0 {
		j.segBytes = defaultSegmentBytes
	}
	lock, err := os.OpenFile(j.lockPath(j.instance), os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("create audit journal lock: %w", err)
	}
	if ok, err := tryLock(lock); err != nil || !ok {
		lock.Close()
		os.Remove(lock.Name())
		if err == nil {
			err = errors.New("already locked")
		}
		return nil, fmt.Errorf("lock audit journal: %w", err)
	}
	j.lock = lock
	if err := j.openSegment(); err != nil {
		j.lock.Close()
		os.Remove(j.lockPath(j.instance))
		return nil, err
	}
	return j, nil
}

// Dir is the journal's directory.
func (j *Journal) Dir() string { return j.dir }

func (j *Journal) lockPath(instance string) string {
	return filepath.Join(j.dir, instance+".lock")
}

func segmentName(instance string, n int) string {
	return fmt.Sprintf("%s-%06d.journal", instance, n)
}

// openSegment starts the next segment; j.mu held (or not yet shared).
func (j *Journal) openSegment() error {
	j.segNo++
	path := filepath.Join(j.dir, segmentName(j.instance, j.segNo))
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("create audit journal segment: %w", err)
	}
	if _, err := f.Write([]byte(journalMagic)); err != nil {
		f.Close()
		os.Remove(path)
		return fmt.Errorf("write audit journal segment: %w", err)
	}
	if j.sync {
		if err := syncDir(j.dir); err != nil {
			f.Close()
			os.Remove(path)
			return err
		}
	}
	j.seg, j.segSize, j.broken = f, int64(len(journalMagic)), false
	return nil
}

// rotate closes the current segment (it is deleted once indexed) and
// opens the next; j.mu held.
func (j *Journal) rotate() error {
	if j.seg != nil {
		j.rotated = append(j.rotated, segmentAt{path: j.seg.Name(), upTo: j.appended})
		j.seg.Close()
		j.seg = nil
	}
	return j.openSegment()
}

// Append writes recs (chained, in order) as one write. When it fails,
// nothing of recs counts as written: the segment is cut back, or if that
// fails, abandoned (a reader stops at its torn tail, and a later frame for
// the same chain and seq replaces an earlier one).
func (j *Journal) Append(recs []store.AuditRecord) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.lock == nil {
		return errors.New("audit journal closed")
	}
	if j.broken || j.seg == nil || j.segSize >= j.segBytes {
		if err := j.rotate(); err != nil {
			return err
		}
	}
	b := j.buf[:0]
	for i := range recs {
		b = appendFrame(b, &recs[i])
	}
	j.buf = b
	if cap(j.buf) > 1<<20 {
		j.buf = nil // do not pin one huge batch's buffer
	}
	n, err := j.seg.Write(b)
	if err == nil && j.sync {
		err = j.seg.Sync()
	}
	if err != nil {
		if n > 0 {
			if terr := j.seg.Truncate(j.segSize); terr != nil {
				j.broken = true
			}
		}
		return fmt.Errorf("write audit journal: %w", err)
	}
	j.segSize += int64(n)
	j.appended += int64(len(recs))
	return nil
}

// Release deletes the rotated segments whose records are all in the store
// (indexed is how many appended records the store has).
func (j *Journal) Release(indexed int64) {
	j.mu.Lock()
	var done []string
	for len(j.rotated) > 0 && j.rotated[0].upTo <= indexed {
		done = append(done, j.rotated[0].path)
		j.rotated = j.rotated[1:]
	}
	j.mu.Unlock()
	for _, p := range done {
		_ = os.Remove(p)
	}
}

// Close closes the journal. With drained (the store has every record) it
// deletes the journal's files; otherwise it leaves them for the next
// start's recovery.
func (j *Journal) Close(drained bool) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.lock == nil {
		return nil
	}
	var errs []error
	if j.seg != nil {
		errs = append(errs, j.seg.Close())
		if drained {
			errs = append(errs, os.Remove(j.seg.Name()))
		}
		j.seg = nil
	}
	if drained {
		for _, s := range j.rotated {
			errs = append(errs, ignoreNotExist(os.Remove(s.path)))
		}
		j.rotated = nil
		errs = append(errs, os.Remove(j.lockPath(j.instance)))
	}
	errs = append(errs, j.lock.Close())
	j.lock = nil
	return errors.Join(errs...)
}

func ignoreNotExist(err error) error {
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	return err
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sync audit journal directory: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync audit journal directory: %w", err)
	}
	return nil
}

func appendFrame(b []byte, r *store.AuditRecord) []byte {
	start := len(b)
	b = append(b, 0, 0, 0, 0, 0, 0, 0, 0) // length and CRC, filled below
	b = append(b, journalVersion)
	b = binary.AppendUvarint(b, uint64(len(r.ChainID)))
	b = append(b, r.ChainID...)
	b = binary.AppendUvarint(b, uint64(r.Seq))
	b = append(b, r.PrevHash...)
	b = append(b, r.Hash...)
	b = append(b, r.Record...)
	payload := b[start+8:]
	binary.LittleEndian.PutUint32(b[start:], uint32(len(payload)))
	binary.LittleEndian.PutUint32(b[start+4:], crc32.Checksum(payload, crcTable))
	return b
}

// errTorn ends a segment at a frame that is incomplete or fails its
// checksum: the tail of a write that never finished.
var errTorn = errors.New("torn frame")

// readFrames reads a segment's frames until EOF or a torn frame; it
// returns the frames before it and whether it stopped at a torn one.
func readFrames(r io.Reader, fn func(store.AuditRecord) error) (torn bool, err error) {
	br := bufio.NewReaderSize(r, 64<<10)
	magic := make([]byte, len(journalMagic))
	if _, err := io.ReadFull(br, magic); err != nil {
		return true, nil // created but never written
	}
	if string(magic) != journalMagic {
		return false, errors.New("not an audit journal segment")
	}
	var hdr [8]byte
	for {
		if _, err := io.ReadFull(br, hdr[:]); err != nil {
			if errors.Is(err, io.EOF) {
				return false, nil
			}
			return true, nil
		}
		n := binary.LittleEndian.Uint32(hdr[:4])
		if n == 0 || n > maxFrame {
			return true, nil
		}
		payload := make([]byte, n)
		if _, err := io.ReadFull(br, payload); err != nil {
			return true, nil
		}
		if crc32.Checksum(payload, crcTable) != binary.LittleEndian.Uint32(hdr[4:]) {
			return true, nil
		}
		rec, err := decodeFrame(payload)
		if err != nil {
			return true, nil
		}
		if err := fn(rec); err != nil {
			return false, err
		}
	}
}

func decodeFrame(p []byte) (store.AuditRecord, error) {
	var r store.AuditRecord
	if len(p) < 1 || p[0] != journalVersion {
		return r, errTorn
	}
	p = p[1:]
	n, k := binary.Uvarint(p)
	if k <= 0 || n > 256 || uint64(len(p)-k) < n {
		return r, errTorn
	}
	r.ChainID = string(p[k : k+int(n)])
	p = p[k+int(n):]
	seq, k := binary.Uvarint(p)
	if k <= 0 || seq == 0 || seq > 1<<62 || len(p)-k < 2*HashSize {
		return r, errTorn
	}
	r.Seq = int64(seq)
	p = p[k:]
	r.PrevHash = append([]byte(nil), p[:HashSize]...)
	r.Hash = append([]byte(nil), p[HashSize:2*HashSize]...)
	r.Record = p[2*HashSize:]
	return r, nil
}

// JournalBacklog is what a journal directory holds that its server did
// not drain: records and the segments they are in.
type JournalBacklog struct {
	Records  int
	Segments int
	Torn     int // segments that ended in a torn frame
}

// journalInstances lists the journal instances in dir (their lock files
// and segment files), segments in order.
func journalInstances(dir string) (map[string][]string, error) {
	ents, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read audit journal directory: %w", err)
	}
	inst := make(map[string][]string)
	for _, e := range ents {
		name := e.Name()
		switch {
		case strings.HasSuffix(name, ".lock"):
			id := strings.TrimSuffix(name, ".lock")
			if _, ok := inst[id]; !ok {
				inst[id] = nil
			}
		case strings.HasSuffix(name, ".journal"):
			base := strings.TrimSuffix(name, ".journal")
			i := strings.LastIndexByte(base, '-')
			if i < 0 {
				continue
			}
			if _, err := strconv.Atoi(base[i+1:]); err != nil {
				continue
			}
			inst[base[:i]] = append(inst[base[:i]], filepath.Join(dir, name))
		}
	}
	for id := range inst {
		sort.Strings(inst[id]) // zero-padded numbers sort in order
	}
	return inst, nil
}

// RecoverJournals copies into the store the records that journals left in
// dir by servers no longer running hold and the store lacks, then deletes
// those journals. A later frame for the same chain and seq replaces an
// earlier one (a failed write that was retried); a torn frame ends its
// segment (a write that never finished, so never acknowledged). Journals
// of running servers (locked) are left alone. It returns how many records
// it added.
func RecoverJournals(ctx context.Context, dir string, st store.Audit, logger *slog.Logger) (int, error) {
	inst, err := journalInstances(dir)
	if err != nil {
		return 0, err
	}
	added := 0
	for id, segs := range inst {
		lock, err := os.OpenFile(filepath.Join(dir, id+".lock"), os.O_RDWR|os.O_CREATE, 0o600)
		if err != nil {
			return added, fmt.Errorf("open audit journal lock: %w", err)
		}
		ok, err := tryLock(lock)
		if err != nil || !ok {
			lock.Close()
			continue // a running server's journal
		}
		n, err := recoverInstance(ctx, segs, st, logger)
		added += n
		if err != nil {
			lock.Close()
			return added, fmt.Errorf("recover audit journal %s: %w", id, err)
		}
		for _, s := range segs {
			if err := ignoreNotExist(os.Remove(s)); err != nil {
				lock.Close()
				return added, fmt.Errorf("remove recovered audit journal: %w", err)
			}
		}
		os.Remove(lock.Name())
		lock.Close()
		if n > 0 {
			logger.Warn("audit journal recovered: records a stopped server had not yet stored", "journal", id, "records", n)
		}
	}
	return added, nil
}

// recoveryBatch bounds the records one recovery transaction stores.
const recoveryBatch = 512

// readInstance reads a journal's segments: each chain's frames by seq (a
// later frame for a seq replaces an earlier one) and how many segments
// ended in a torn frame.
func readInstance(segs []string) (map[string]map[int64]store.AuditRecord, int, error) {
	byChain := make(map[string]map[int64]store.AuditRecord)
	tornSegs := 0
	for _, path := range segs {
		f, err := os.Open(path)
		if err != nil {
			return nil, 0, err
		}
		torn, err := readFrames(f, func(r store.AuditRecord) error {
			m := byChain[r.ChainID]
			if m == nil {
				m = make(map[int64]store.AuditRecord)
				byChain[r.ChainID] = m
			}
			m[r.Seq] = r
			return nil
		})
		f.Close()
		if err != nil {
			return nil, 0, fmt.Errorf("%s: %w", filepath.Base(path), err)
		}
		if torn {
			tornSegs++
		}
	}
	return byChain, tornSegs, nil
}

// missing returns the seqs of m the store lacks (after the chain's last
// stored record), in order.
func missing(ctx context.Context, st store.Audit, chain string, m map[int64]store.AuditRecord) ([]int64, error) {
	last := int64(0)
	switch r, err := st.LastAuditRecord(ctx, chain); {
	case err == nil:
		last = r.Seq
	case !errors.Is(err, store.ErrNotFound):
		return nil, err
	}
	seqs := make([]int64, 0, len(m))
	for s := range m {
		if s > last {
			seqs = append(seqs, s)
		}
	}
	sort.Slice(seqs, func(a, b int) bool { return seqs[a] < seqs[b] })
	return seqs, nil
}

func recoverInstance(ctx context.Context, segs []string, st store.Audit, logger *slog.Logger) (int, error) {
	byChain, torn, err := readInstance(segs)
	if err != nil {
		return 0, err
	}
	if torn > 0 {
		logger.Warn("audit journal segments end in an incomplete write; what follows it was never acknowledged", "segments", torn)
	}
	added := 0
	for chain, m := range byChain {
		seqs, err := missing(ctx, st, chain, m)
		if err != nil {
			return added, err
		}
		for len(seqs) > 0 {
			n := min(len(seqs), recoveryBatch)
			batch := make([]store.AuditRecord, 0, n)
			for _, s := range seqs[:n] {
				r := m[s]
				e, err := DecodeRecord(r.Record)
				if err != nil {
					return added, fmt.Errorf("chain %s record %d: %w", chain, s, err)
				}
				x := indexOf(e)
				x.ChainID, x.Seq, x.Record, x.PrevHash, x.Hash = r.ChainID, r.Seq, r.Record, r.PrevHash, r.Hash
				batch = append(batch, x)
			}
			if err := st.AppendAuditRecords(ctx, batch); err != nil {
				return added, err
			}
			added += n
			seqs = seqs[n:]
		}
	}
	return added, nil
}

// InspectJournals reports the records the journals in dir hold that the
// store lacks, without changing anything: bulwark audit verify's note
// about a server that stopped before storing them.
func InspectJournals(ctx context.Context, dir string, st store.Audit) (JournalBacklog, error) {
	var b JournalBacklog
	inst, err := journalInstances(dir)
	if err != nil {
		return b, err
	}
	for _, segs := range inst {
		byChain, torn, err := readInstance(segs)
		if err != nil {
			return b, err
		}
		b.Segments += len(segs)
		b.Torn += torn
		for chain, m := range byChain {
			seqs, err := missing(ctx, st, chain, m)
			if err != nil {
				return b, err
			}
			b.Records += len(seqs)
		}
	}
	return b, nil
}
