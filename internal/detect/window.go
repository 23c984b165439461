package detect

import (
	"container/list"
	"time"
)

// lru is a map bounded to max entries that forgets the least recently
// used one when full, so no input (keys from unsigned requests, spoofed
// source addresses) can grow a detector's memory without limit.
type lru[V any] struct {
	max   int
	order *list.List // front = most recent; values are *entry[V]
	items map[string]*list.Element
}

type entry[V any] struct {
	key string
	val V
}

func newLRU[V any](max int) *lru[V] {
	return &lru[V]{max: max, order: list.New(), items: make(map[string]*list.Element)}
}

// get returns the value of key, creating it with mk if absent, and marks
// it most recently used.
func (l *lru[V]) get(key string, mk func() V) V {
	if el, ok := l.items[key]; ok {
		l.order.MoveToFront(el)
		return el.Value.(*entry[V]).val
	}
	if l.order.Len() >= l.max {
		oldest := l.order.Back()
		l.order.Remove(oldest)
		delete(l.items, oldest.Value.(*entry[V]).key)
	}
	v := mk()
	l.items[key] = l.order.PushFront(&entry[V]{key: key, val: v})
	return v
}

func (l *lru[V]) len() int { return l.order.Len() }

// each calls fn for at most max entries, the most recently used first.
func (l *lru[V]) each(max int, fn func(key string, v V)) {
	n := 0
	for el := l.order.Front(); el != nil && n < max; el = el.Next() {
		en := el.Value.(*entry[V])
		fn(en.key, en.val)
		n++
	}
}

// window is a sliding window of event times: it keeps at most threshold
// times, so it fires when threshold events fall within span, exactly,
// in O(threshold) memory.
type window struct {
	times []time.Time // ring, oldest at head
	head  int
	// firing is true while the condition holds, so a burst is reported
	// once when it starts and then as it continues.
	firing bool
}

// add records an event at t and reports whether threshold events now fall
// within span.
func (w *window) add(t time.Time, threshold int, span time.Duration) bool {
	if threshold <= 1 {
		return true
	}
	if len(w.times) < threshold {
		w.times = append(w.times, t)
	} else {
		w.times[w.head] = t
		w.head = (w.head + 1) % threshold
	}
	if len(w.times) < threshold {
		return false
	}
	oldest := w.times[w.head%len(w.times)]
	return t.Sub(oldest) <= span
}

// countSince is how many of the window's events happened at or after t.
func (w *window) countSince(t time.Time) int {
	n := 0
	for _, x := range w.times {
		if !x.Before(t) {
			n++
		}
	}
	return n
}

// oldest is the time of the oldest event in the window.
func (w *window) oldest() time.Time {
	if len(w.times) == 0 {
		return time.Time{}
	}
	return w.times[w.head%len(w.times)]
}
