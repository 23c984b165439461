package storetest

import (
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/bulwark-security/bulwark/internal/store"
)

// FindingsStore is a store with its findings part, as both backends
// implement it.
type FindingsStore = interface {
	store.Store
	store.Findings
}

// RunFindings runs the conformance suite of store.Findings. Each subtest
// calls open for a fresh, empty, migrated store, as Run does.
func RunFindings(t *testing.T, open func(t *testing.T) FindingsStore) {
	t.Helper()
	tests := []struct {
		name string
		fn   func(t *testing.T, s FindingsStore)
	}{
		{"RoundTrip", testFindingRoundTrip},
		{"CompareAndSwap", testFindingCAS},
		{"ListFiltersAndOrder", testFindingList},
		{"ListPaging", testFindingPaging},
		{"Retention", testFindingRetention},
		{"RaceReplace", testFindingRaceReplace},
		{"Reset", testFindingReset},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.fn(t, open(t)) })
	}
}

const productARN = "arn:aws:securityhub:us-east-1::product/bulwark/detect"

func finding(id string, updated time.Time, sev int) store.FindingRecord {
	return store.FindingRecord{
		ProductARN: productARN, ID: id, AccountID: acct, GeneratorID: "gen-" + id[len(id)-1:],
		Severity: sev, WorkflowStatus: "NEW", RecordState: "ACTIVE", Title: "title " + id,
		CreatedAt: at, UpdatedAt: updated, Doc: []byte(`{"Id":"` + id + `","Title":"é \u0000 \"q\""}`),
	}
}

func testFindingRoundTrip(t *testing.T, s FindingsStore) {
	ctx := t.Context()
	r := finding("f-1", at.Add(time.Second), 70)
	if err := s.CreateFinding(ctx, r); err != nil {
		t.Fatalf("CreateFinding: %v", err)
	}
	if err := s.CreateFinding(ctx, r); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("CreateFinding twice = %v, want ErrConflict", err)
	}
	got, err := s.GetFinding(ctx, productARN, "f-1")
	if err != nil {
		t.Fatalf("GetFinding: %v", err)
	}
	want := r
	want.Rev = 1
	want.CreatedAt = wantTime
	want.UpdatedAt = at.Add(time.Second).UTC().Truncate(time.Microsecond)
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("GetFinding = %+v\nwant %+v", got, want)
	}
	if _, err := s.GetFinding(ctx, productARN, "f-2"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("GetFinding(absent) = %v, want ErrNotFound", err)
	}
	if _, err := s.GetFinding(ctx, "arn:other", "f-1"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("GetFinding(other product) = %v, want ErrNotFound", err)
	}
}

func testFindingCAS(t *testing.T, s FindingsStore) {
	ctx := t.Context()
	r := finding("f-1", at, 40)
	if err := s.CreateFinding(ctx, r); err != nil {
		t.Fatal(err)
	}
	r.WorkflowStatus, r.Doc = "RESOLVED", []byte(`{"v":2}`)
	if err := s.ReplaceFinding(ctx, r, 1); err != nil {
		t.Fatalf("ReplaceFinding(rev 1): %v", err)
	}
	if err := s.ReplaceFinding(ctx, r, 1); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("ReplaceFinding(stale rev) = %v, want ErrConflict", err)
	}
	got, err := s.GetFinding(ctx, productARN, "f-1")
	if err != nil {
		t.Fatal(err)
	}
	if got.Rev != 2 || got.WorkflowStatus != "RESOLVED" || string(got.Doc) != `{"v":2}` {
		t.Fatalf("after replace: rev %d status %s doc %s", got.Rev, got.WorkflowStatus, got.Doc)
	}
	missing := finding("f-9", at, 1)
	if err := s.ReplaceFinding(ctx, missing, 1); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("ReplaceFinding(absent) = %v, want ErrNotFound", err)
	}
}

func ids(rs []store.FindingRecord) []string {
	out := []string{}
	for _, r := range rs {
		out = append(out, r.ID)
	}
	return out
}

func testFindingList(t *testing.T, s FindingsStore) {
	ctx := t.Context()
	// f-1..f-4 updated one second apart, severities out of order.
	sev := []int{40, 90, 1, 70}
	for i := range 4 {
		r := finding(fmt.Sprintf("f-%d", i+1), at.Add(time.Duration(i)*time.Second), sev[i])
		if i == 3 {
			r.AccountID, r.WorkflowStatus = "210987654321", "SUPPRESSED"
		}
		if err := s.CreateFinding(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name string
		q    store.FindingQuery
		want []string
	}{
		{"updated asc", store.FindingQuery{Limit: 10}, []string{"f-1", "f-2", "f-3", "f-4"}},
		{"updated desc", store.FindingQuery{Desc: true, Limit: 10}, []string{"f-4", "f-3", "f-2", "f-1"}},
		{"created ties by id", store.FindingQuery{Sort: store.SortCreatedAt, Limit: 10}, []string{"f-1", "f-2", "f-3", "f-4"}},
		{"severity desc", store.FindingQuery{Sort: store.SortSeverity, Desc: true, Limit: 10}, []string{"f-2", "f-4", "f-1", "f-3"}},
		{"limit", store.FindingQuery{Limit: 2}, []string{"f-1", "f-2"}},
		{"account", store.FindingQuery{AccountIDs: []string{acct}, Limit: 10}, []string{"f-1", "f-2", "f-3"}},
		{"two accounts", store.FindingQuery{AccountIDs: []string{acct, "210987654321"}, Limit: 10}, []string{"f-1", "f-2", "f-3", "f-4"}},
		{"workflow", store.FindingQuery{WorkflowStatuses: []string{"SUPPRESSED"}, Limit: 10}, []string{"f-4"}},
		{"ids", store.FindingQuery{IDs: []string{"f-3", "f-1"}, Limit: 10}, []string{"f-1", "f-3"}},
		{"generator and product", store.FindingQuery{GeneratorIDs: []string{"gen-2"}, ProductARNs: []string{productARN}, Limit: 10}, []string{"f-2"}},
		{"record state none", store.FindingQuery{RecordStates: []string{"ARCHIVED"}, Limit: 10}, []string{}},
		{"after", store.FindingQuery{After: &store.FindingCursor{Time: at.Add(time.Second), ProductARN: productARN, ID: "f-2"}, Limit: 10}, []string{"f-3", "f-4"}},
		{"after desc", store.FindingQuery{Desc: true, After: &store.FindingCursor{Time: at.Add(time.Second), ProductARN: productARN, ID: "f-2"}, Limit: 10}, []string{"f-1"}},
		{"after severity", store.FindingQuery{Sort: store.SortSeverity, After: &store.FindingCursor{Severity: 40, ProductARN: productARN, ID: "f-1"}, Limit: 10}, []string{"f-4", "f-2"}},
	}
	for _, tt := range tests {
		got, err := s.ListFindings(ctx, tt.q)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if g := ids(got); !reflect.DeepEqual(g, tt.want) {
			t.Errorf("%s: got %v, want %v", tt.name, g, tt.want)
		}
	}
	for _, limit := range []int{0, 1001} {
		if _, err := s.ListFindings(ctx, store.FindingQuery{Limit: limit}); err == nil {
			t.Errorf("ListFindings(limit %d) succeeded", limit)
		}
	}
}

// testFindingPaging walks a listing with equal sort keys page by page: the
// (ProductARN, ID) tie-break must neither skip nor repeat a record.
func testFindingPaging(t *testing.T, s FindingsStore) {
	ctx := t.Context()
	var want []string
	for i := range 25 {
		id := fmt.Sprintf("f-%02d", i)
		if err := s.CreateFinding(ctx, finding(id, at.Add(time.Duration(i/5)*time.Second), 0)); err != nil {
			t.Fatal(err)
		}
		want = append(want, id)
	}
	for _, desc := range []bool{false, true} {
		var got []string
		var after *store.FindingCursor
		for page := 0; page < 20; page++ {
			rs, err := s.ListFindings(ctx, store.FindingQuery{Desc: desc, After: after, Limit: 4})
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, ids(rs)...)
			if len(rs) < 4 {
				break
			}
			last := rs[len(rs)-1]
			after = &store.FindingCursor{Time: last.UpdatedAt, ProductARN: last.ProductARN, ID: last.ID}
		}
		w := want
		if desc {
			w = make([]string, len(want))
			for i, id := range want {
				w[len(want)-1-i] = id
			}
		}
		if !reflect.DeepEqual(got, w) {
			t.Errorf("desc=%v: pages gave %v, want %v", desc, got, w)
		}
	}
}

func testFindingRetention(t *testing.T, s FindingsStore) {
	ctx := t.Context()
	for i := range 5 {
		if err := s.CreateFinding(ctx, finding(fmt.Sprintf("f-%d", i), at.Add(time.Duration(i)*time.Hour), 0)); err != nil {
			t.Fatal(err)
		}
	}
	n, err := s.DeleteFindingsUpdatedBefore(ctx, at.Add(3*time.Hour), 2)
	if err != nil || n != 2 {
		t.Fatalf("DeleteFindingsUpdatedBefore(limit 2) = %d, %v; want 2", n, err)
	}
	n, err = s.DeleteFindingsUpdatedBefore(ctx, at.Add(3*time.Hour), 100)
	if err != nil || n != 1 {
		t.Fatalf("DeleteFindingsUpdatedBefore = %d, %v; want 1", n, err)
	}
	rs, err := s.ListFindings(ctx, store.FindingQuery{Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	if g := ids(rs); !reflect.DeepEqual(g, []string{"f-3", "f-4"}) {
		t.Fatalf("left %v, want [f-3 f-4]", g)
	}
}

// testFindingRaceReplace: writers that re-read and retry on ErrConflict
// never lose an update.
func testFindingRaceReplace(t *testing.T, s FindingsStore) {
	ctx := t.Context()
	if err := s.CreateFinding(ctx, finding("f-1", at, 0)); err != nil {
		t.Fatal(err)
	}
	const writers, each = 4, 10
	var wg sync.WaitGroup
	errc := make(chan error, writers)
	for range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range each {
				for {
					r, err := s.GetFinding(ctx, productARN, "f-1")
					if err != nil {
						errc <- err
						return
					}
					r.Severity++
					err = s.ReplaceFinding(ctx, r, r.Rev)
					if errors.Is(err, store.ErrConflict) {
						continue
					}
					if err != nil {
						errc <- err
						return
					}
					break
				}
			}
		}()
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Fatal(err)
	}
	r, err := s.GetFinding(ctx, productARN, "f-1")
	if err != nil {
		t.Fatal(err)
	}
	if r.Severity != writers*each || r.Rev != writers*each+1 {
		t.Fatalf("severity %d rev %d, want %d and %d", r.Severity, r.Rev, writers*each, writers*each+1)
	}
}

func testFindingReset(t *testing.T, s FindingsStore) {
	ctx := t.Context()
	if err := s.CreateFinding(ctx, finding("f-1", at, 0)); err != nil {
		t.Fatal(err)
	}
	if err := s.Reset(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetFinding(ctx, productARN, "f-1"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("after Reset: %v, want ErrNotFound", err)
	}
}
