package storetest

import (
	"context"
	"fmt"
	"reflect"
	"testing"

	"github.com/bulwark-security/bulwark/internal/store"
)

// DetectStore is a store with its detector counts part, as both backends
// implement it.
type DetectStore = interface {
	store.Store
	store.DetectCounts
}

// RunDetectCounts runs the conformance suite of store.DetectCounts on a
// fresh, empty, migrated store from open.
func RunDetectCounts(t *testing.T, open func(t *testing.T) DetectStore) {
	t.Helper()
	t.Run("SharedWindows", func(t *testing.T) {
		s := open(t)
		ctx := context.Background()
		must := func(err error) {
			t.Helper()
			if err != nil {
				t.Fatal(err)
			}
		}
		must(s.PutDetectCounts(ctx, "a", []store.DetectCount{{Key: "k1", Bucket: 10, Count: 3}, {Key: "k1", Bucket: 11, Count: 1}, {Key: "k2", Bucket: 11, Count: 5}}))
		must(s.PutDetectCounts(ctx, "b", []store.DetectCount{{Key: "k1", Bucket: 11, Count: 2}, {Key: "k1", Bucket: 9, Count: 7}}))
		// Absolute counts: writing again replaces, never adds.
		must(s.PutDetectCounts(ctx, "a", []store.DetectCount{{Key: "k1", Bucket: 10, Count: 4}}))
		must(s.PutDetectCounts(ctx, "a", nil))
		for _, c := range []struct {
			server string
			keys   []string
			from   int64
			want   map[string]int64
		}{
			{"c", []string{"k1", "k2", "k3"}, 10, map[string]int64{"k1": 4 + 1 + 2, "k2": 5}},
			{"a", []string{"k1", "k2"}, 10, map[string]int64{"k1": 2}}, // its own counts left out
			{"b", []string{"k1"}, 0, map[string]int64{"k1": 5}},
			{"c", []string{"k1"}, 12, map[string]int64{}},
		} {
			got, err := s.SumDetectCounts(ctx, c.server, c.keys, c.from)
			must(err)
			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("Sum(server %s, %v, from %d) = %v, want %v", c.server, c.keys, c.from, got, c.want)
			}
		}
		// More keys than one query holds.
		var keys []string
		var rows []store.DetectCount
		for i := range 1200 {
			k := fmt.Sprintf("many/%d", i)
			keys = append(keys, k)
			rows = append(rows, store.DetectCount{Key: k, Bucket: 20, Count: 1})
		}
		must(s.PutDetectCounts(ctx, "a", rows))
		got, err := s.SumDetectCounts(ctx, "b", keys, 20)
		must(err)
		if len(got) != 1200 {
			t.Fatalf("Sum over 1,200 keys found %d", len(got))
		}
		n, err := s.DeleteDetectCountsBefore(ctx, 11)
		must(err)
		if n != 2 { // a k1@10 and b k1@9
			t.Fatalf("DeleteDetectCountsBefore(11) = %d, want 2", n)
		}
	})
}
