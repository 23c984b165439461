package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/bulwark-security/bulwark/internal/store"
)

// AuditStore is a store with the audit part.
type AuditStore = interface {
	store.Store
	store.Audit
}

// RunAudit runs the conformance suite of store.Audit. Each subtest calls
// open for a fresh store.
func RunAudit(t *testing.T, open func(t *testing.T) AuditStore) {
	t.Helper()
	tests := []struct {
		name string
		fn   func(t *testing.T, s AuditStore)
	}{
		{"AppendScan", testAuditAppendScan},
		{"Lookup", testAuditLookup},
		{"Digests", testAuditDigests},
		{"ConcurrentDigests", testAuditConcurrentDigests},
		{"Retention", testAuditRetention},
		{"Reset", testAuditReset},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.fn(t, open(t)) })
	}
}

var auditT0 = time.Date(2026, 3, 14, 15, 9, 26, 0, time.UTC)

func auditRec(chain string, seq int64, name, user string, res ...store.AuditResource) store.AuditRecord {
	return store.AuditRecord{ChainID: chain, Seq: seq, EventID: fmt.Sprintf("%s-%d", chain, seq), AccountID: acct,
		EventTime: auditT0.Add(time.Duration(seq) * time.Second), EventName: name, EventSource: "iam.amazonaws.com",
		ReadOnly: seq%2 == 0, Username: user, AccessKeyID: "AKIA" + user, Resources: res,
		Record: []byte(fmt.Sprintf(`{"seq":%d}`, seq)), PrevHash: []byte{byte(seq - 1)}, Hash: []byte{byte(seq)}}
}

func testAuditAppendScan(t *testing.T, s AuditStore) {
	ctx := context.Background()
	var recs []store.AuditRecord
	for i := int64(1); i <= 5; i++ {
		recs = append(recs, auditRec("a", i, "GetUser", "alice"))
	}
	if err := s.AppendAuditRecords(ctx, recs); err != nil {
		t.Fatal(err)
	}
	if err := s.AppendAuditRecords(ctx, []store.AuditRecord{auditRec("b", 1, "GetUser", "bob")}); err != nil {
		t.Fatal(err)
	}
	// A duplicate (chain, seq) fails the whole batch.
	err := s.AppendAuditRecords(ctx, []store.AuditRecord{auditRec("b", 2, "X", "bob"), auditRec("a", 3, "X", "bob")})
	if !errors.Is(err, store.ErrConflict) {
		t.Fatalf("duplicate seq: %v", err)
	}
	if last, err := s.LastAuditRecord(ctx, "b"); err != nil || last.Seq != 1 {
		t.Fatalf("LastAuditRecord(b) = %d, %v (the failed batch must not be half-written)", last.Seq, err)
	}
	if _, err := s.LastAuditRecord(ctx, "none"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("LastAuditRecord(none): %v", err)
	}
	chains, err := s.AuditChains(ctx)
	if err != nil || fmt.Sprint(chains) != "[a b]" {
		t.Fatalf("AuditChains = %v, %v", chains, err)
	}
	var got []store.AuditRecord
	if err := s.ScanAuditChain(ctx, "a", 2, func(r store.AuditRecord) error { got = append(got, r); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || got[0].Seq != 3 || got[2].Seq != 5 {
		t.Fatalf("scan after 2 = %v", got)
	}
	w := recs[2]
	g := got[0]
	if g.ChainID != w.ChainID || g.EventID != w.EventID || g.AccountID != w.AccountID || !g.EventTime.Equal(w.EventTime) ||
		g.EventTime.Location() != time.UTC || g.EventName != w.EventName || g.EventSource != w.EventSource ||
		g.ReadOnly != w.ReadOnly || g.Username != w.Username || g.AccessKeyID != w.AccessKeyID ||
		!bytes.Equal(g.Record, w.Record) || !bytes.Equal(g.PrevHash, w.PrevHash) || !bytes.Equal(g.Hash, w.Hash) {
		t.Fatalf("round trip:\n got %+v\nwant %+v", g, w)
	}
	first, err := s.FirstAuditRecordSince(ctx, "a", auditT0.Add(3*time.Second))
	if err != nil || first.Seq != 3 {
		t.Fatalf("FirstAuditRecordSince = %d, %v", first.Seq, err)
	}
	if _, err := s.FirstAuditRecordSince(ctx, "a", auditT0.Add(time.Hour)); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("FirstAuditRecordSince(future): %v", err)
	}
}

func testAuditLookup(t *testing.T, s AuditStore) {
	ctx := context.Background()
	role := store.AuditResource{Type: "AWS::IAM::Role", Name: "arn:aws:iam::123456789012:role/r"}
	var recs []store.AuditRecord
	for i := int64(1); i <= 10; i++ {
		name, user := "GetUser", "alice"
		if i%3 == 0 {
			name, user = "CreateRole", "bob"
		}
		var res []store.AuditResource
		if name == "CreateRole" {
			res = []store.AuditResource{role}
		}
		recs = append(recs, auditRec("c", i, name, user, res...))
	}
	other := auditRec("d", 1, "GetUser", "alice")
	other.AccountID = "999999999999"
	if err := s.AppendAuditRecords(ctx, append(recs, other)); err != nil {
		t.Fatal(err)
	}
	seqs := func(rs []store.AuditRecord) string {
		var out []int64
		for _, r := range rs {
			out = append(out, r.Seq)
		}
		return fmt.Sprint(out)
	}
	cases := []struct {
		name string
		q    store.AuditQuery
		want string
	}{
		{"all newest first", store.AuditQuery{}, "[10 9 8 7 6 5 4 3 2 1]"},
		{"limit", store.AuditQuery{Limit: 3}, "[10 9 8]"},
		{"cursor", store.AuditQuery{After: &store.AuditCursor{EventTime: recs[7].EventTime, ChainID: "c", Seq: 8}, Limit: 3}, "[7 6 5]"},
		{"event name", store.AuditQuery{Attribute: store.AuditByEventName, Value: "CreateRole"}, "[9 6 3]"},
		{"username", store.AuditQuery{Attribute: store.AuditByUsername, Value: "alice", Limit: 2}, "[10 8]"},
		{"event id", store.AuditQuery{Attribute: store.AuditByEventID, Value: "c-4"}, "[4]"},
		{"access key", store.AuditQuery{Attribute: store.AuditByAccessKeyID, Value: "AKIAbob"}, "[9 6 3]"},
		{"read only", store.AuditQuery{Attribute: store.AuditByReadOnly, Value: "true", Limit: 2}, "[10 8]"},
		{"read only bad value", store.AuditQuery{Attribute: store.AuditByReadOnly, Value: "yes"}, "[]"},
		{"event source", store.AuditQuery{Attribute: store.AuditByEventSource, Value: "sts.amazonaws.com"}, "[]"},
		{"resource name", store.AuditQuery{Attribute: store.AuditByResourceName, Value: role.Name}, "[9 6 3]"},
		{"resource type", store.AuditQuery{Attribute: store.AuditByResourceType, Value: role.Type, Limit: 1}, "[9]"},
		{"time range", store.AuditQuery{Start: recs[2].EventTime, End: recs[4].EventTime}, "[5 4 3]"},
		{"unstorable value", store.AuditQuery{Attribute: store.AuditByUsername, Value: "a\x00b"}, "[]"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.q.AccountID = acct
			got, err := s.LookupAuditRecords(ctx, tc.q)
			if err != nil {
				t.Fatal(err)
			}
			if seqs(got) != tc.want {
				t.Fatalf("got %s, want %s", seqs(got), tc.want)
			}
		})
	}
	got, err := s.LookupAuditRecords(ctx, store.AuditQuery{AccountID: acct, Attribute: store.AuditByEventID, Value: "c-3"})
	if err != nil || len(got) != 1 || len(got[0].Resources) != 1 || got[0].Resources[0] != role {
		t.Fatalf("resources = %+v, %v", got, err)
	}
}

func testAuditDigests(t *testing.T, s AuditStore) {
	ctx := context.Background()
	for i := int64(1); i <= 3; i++ {
		err := s.AppendAuditDigest(ctx, func(prev int64, body, sig []byte) (store.AuditDigest, error) {
			if prev != i-1 {
				return store.AuditDigest{}, fmt.Errorf("prev = %d, want %d", prev, i-1)
			}
			if i > 1 && string(body) != fmt.Sprintf("body%d", i-1) {
				return store.AuditDigest{}, fmt.Errorf("prev body = %q", body)
			}
			return store.AuditDigest{Seq: prev + 1, ChainID: "a", CreatedAt: wantTime,
				Body: []byte(fmt.Sprintf("body%d", prev+1)), Signature: []byte{byte(prev)}}, nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	// A failing build writes nothing and does not use up a number.
	boom := errors.New("boom")
	if err := s.AppendAuditDigest(ctx, func(int64, []byte, []byte) (store.AuditDigest, error) {
		return store.AuditDigest{}, boom
	}); !errors.Is(err, boom) {
		t.Fatalf("failing build: %v", err)
	}
	var got []store.AuditDigest
	if err := s.ScanAuditDigests(ctx, func(d store.AuditDigest) error { got = append(got, d); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || got[2].Seq != 3 || string(got[2].Body) != "body3" || !got[2].CreatedAt.Equal(wantTime) {
		t.Fatalf("digests = %+v", got)
	}
}

// Digest writers racing (several servers) each get their own number and
// see their predecessor.
func testAuditConcurrentDigests(t *testing.T, s AuditStore) {
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for w := 0; w < 8; w++ {
		wg.Go(func() {
			errs <- s.AppendAuditDigest(ctx, func(prev int64, body, sig []byte) (store.AuditDigest, error) {
				if prev > 0 && string(body) != fmt.Sprintf("body%d", prev) {
					return store.AuditDigest{}, fmt.Errorf("prev %d has body %q", prev, body)
				}
				return store.AuditDigest{Seq: prev + 1, ChainID: "a", CreatedAt: wantTime,
					Body: []byte(fmt.Sprintf("body%d", prev+1)), Signature: []byte{1}}, nil
			})
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	var n int64
	if err := s.ScanAuditDigests(ctx, func(d store.AuditDigest) error {
		n++
		if d.Seq != n {
			return fmt.Errorf("digest %d at position %d", d.Seq, n)
		}
		return nil
	}); err != nil || n != 8 {
		t.Fatalf("scan: %d digests, %v", n, err)
	}
}

func testAuditRetention(t *testing.T, s AuditStore) {
	ctx := context.Background()
	role := store.AuditResource{Type: "AWS::IAM::Role", Name: "arn:aws:iam::123456789012:role/r"}
	var recs []store.AuditRecord
	for i := int64(1); i <= 6; i++ {
		recs = append(recs, auditRec("a", i, "X", "u", role))
	}
	if err := s.AppendAuditRecords(ctx, recs); err != nil {
		t.Fatal(err)
	}
	n, err := s.DeleteAuditRecords(ctx, "a", 4)
	if err != nil || n != 3 {
		t.Fatalf("DeleteAuditRecords = %d, %v", n, err)
	}
	first, err := s.FirstAuditRecordSince(ctx, "a", time.Unix(0, 0))
	if err != nil || first.Seq != 4 {
		t.Fatalf("first kept = %d, %v", first.Seq, err)
	}
	got, err := s.LookupAuditRecords(ctx, store.AuditQuery{AccountID: acct, Attribute: store.AuditByResourceName, Value: role.Name})
	if err != nil || len(got) != 3 {
		t.Fatalf("lookup after retention = %d, %v", len(got), err)
	}
}

func testAuditReset(t *testing.T, s AuditStore) {
	ctx := context.Background()
	if err := s.AppendAuditRecords(ctx, []store.AuditRecord{auditRec("a", 1, "X", "u")}); err != nil {
		t.Fatal(err)
	}
	mk := func(prev int64, _, _ []byte) (store.AuditDigest, error) {
		return store.AuditDigest{Seq: prev + 1, ChainID: "a", CreatedAt: wantTime, Body: []byte("b"), Signature: []byte{1}}, nil
	}
	if err := s.AppendAuditDigest(ctx, mk); err != nil {
		t.Fatal(err)
	}
	if err := s.Reset(ctx); err != nil {
		t.Fatal(err)
	}
	if chains, err := s.AuditChains(ctx); err != nil || len(chains) != 0 {
		t.Fatalf("chains after reset = %v, %v", chains, err)
	}
	// The digest head is seeded again: numbering restarts at 1.
	if err := s.AppendAuditDigest(ctx, func(prev int64, b, sig []byte) (store.AuditDigest, error) {
		if prev != 0 {
			return store.AuditDigest{}, fmt.Errorf("prev = %d after reset", prev)
		}
		return mk(prev, b, sig)
	}); err != nil {
		t.Fatal(err)
	}
}
