package detect

import (
	"context"
	"strconv"
	"time"

	"github.com/bulwark-security/bulwark/internal/store"
)

// Shared windows. Servers sharing a store each see only the calls they
// serve, so a burst spread over several servers (a load balancer in front)
// could stay under every server's threshold. With Config.Shared, the
// windowed detectors also count what the other servers saw: each server
// writes its per-subject counts, in buckets of shareBucket, every
// ShareEvery, and reads the others' sums for the subjects it is counting;
// a subject is hot when its local events in the window plus the others'
// reach the threshold. The others' part is as old as the last exchange and
// counts whole buckets, so the shared window is approximate to one bucket
// and the detection lags by up to one exchange, on the next event.

// shareBucket is the granularity of the shared counts.
const shareBucket = 10 * time.Second

// maxSharedSubjects bounds the subjects of one burst exchanged per round
// (the most recently active first), so a flood of distinct subjects (random
// access key ids) cannot turn into a flood of store writes.
const maxSharedSubjects = 2000

// sharer is a detector with windows that can be shared.
type sharer interface{ bursts() []*burst }

func (d *SignatureFailures) bursts() []*burst { return []*burst{d.byKey, d.byIP} }
func (d *AccessDeniedBurst) bursts() []*burst { return []*burst{d.b} }
func (d *SecretReads) bursts() []*burst       { return []*burst{d.b} }

func bucketOf(t time.Time) int64 { return t.Unix() / int64(shareBucket/time.Second) }

// shareKey names a subject's counts in the store.
func (b *burst) shareKey(subject string) string { return b.key + "|" + subject }

// count records an event of subject for sharing and returns whether the
// subject's local events in the window ending at t plus the other
// servers' reach the threshold.
func (b *burst) count(st *burstState, t time.Time) bool {
	if st.buckets == nil {
		st.buckets = make(map[int64]int64)
	}
	st.buckets[bucketOf(t)]++
	st.dirty = true
	from := bucketOf(t.Add(-b.span))
	for k := range st.buckets {
		if k < from {
			delete(st.buckets, k)
		}
	}
	return st.remote > 0 && int64(st.w.countSince(t.Add(-b.span)))+st.remote >= int64(b.threshold)
}

// enableSharing makes the engine's windowed detectors share their counts.
func (e *Engine) enableSharing() {
	for _, d := range e.cfg.Detectors {
		if s, ok := d.(sharer); ok {
			for i, b := range s.bursts() {
				b.key, b.shared = d.Name()+"#"+strconv.Itoa(i), true
			}
		}
	}
}

// Share exchanges counts with the other servers once: it writes this
// server's changed counts and reads the others' sums for the subjects it
// is counting. Run calls it every ShareEvery; tests call it directly.
func (e *Engine) Share(ctx context.Context) error {
	if e.cfg.Shared == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	type active struct {
		st  *burstState
		key string
	}
	var rows []store.DetectCount
	var all [][]active
	var spans []time.Duration
	for _, d := range e.cfg.Detectors {
		s, ok := d.(sharer)
		if !ok {
			continue
		}
		for _, b := range s.bursts() {
			var act []active
			b.subjects.each(maxSharedSubjects, func(subject string, st *burstState) {
				if len(st.buckets) == 0 {
					return
				}
				key := b.shareKey(subject)
				if st.dirty {
					for bk, n := range st.buckets {
						rows = append(rows, store.DetectCount{Key: key, Bucket: bk, Count: n})
					}
					st.dirty = false
				}
				act = append(act, active{st, key})
			})
			all, spans = append(all, act), append(spans, b.span)
		}
	}
	if err := e.cfg.Shared.PutDetectCounts(ctx, e.cfg.Server, rows); err != nil {
		return err
	}
	now := e.cfg.Now()
	for i, act := range all {
		if len(act) == 0 {
			continue
		}
		keys := make([]string, len(act))
		for j, a := range act {
			keys[j] = a.key
		}
		sums, err := e.cfg.Shared.SumDetectCounts(ctx, e.cfg.Server, keys, bucketOf(now.Add(-spans[i])))
		if err != nil {
			return err
		}
		for _, a := range act {
			a.st.remote = sums[a.key]
		}
	}
	if now.Sub(e.sharedPruned) > time.Minute {
		// Counts older than the longest window are of no use to anyone.
		if _, err := e.cfg.Shared.DeleteDetectCountsBefore(ctx, bucketOf(now.Add(-e.maxSpan()-shareBucket))); err != nil {
			return err
		}
		e.sharedPruned = now
	}
	return nil
}

// maxSpan is the longest window of a shared detector (at least an hour,
// so servers configured differently keep each other's counts).
func (e *Engine) maxSpan() time.Duration {
	longest := time.Hour
	for _, d := range e.cfg.Detectors {
		if s, ok := d.(sharer); ok {
			for _, b := range s.bursts() {
				longest = max(longest, b.span)
			}
		}
	}
	return longest
}
