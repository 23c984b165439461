package audit

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"
)

func testEvent(i int) *Event {
	return &Event{EventVersion: EventVersion, EventID: fmt.Sprintf("ev-%04d", i), EventType: "AwsApiCall",
		EventTime:   time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC).Add(time.Duration(i) * time.Second),
		EventSource: "sts.amazonaws.com", EventName: "GetCallerIdentity", AWSRegion: "us-east-1", ReadOnly: true,
		UserIdentity: UserIdentity{Type: "IAMUser", UserName: "alice", AccessKeyID: "AKIAEXAMPLE"},
		RequestID:    "req", ManagementEvent: true, EventCategory: "Management"}
}

func newTestTrail(t *testing.T, st *memAudit) *Trail {
	t.Helper()
	tr, err := NewTrail(TrailConfig{Store: st, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tr.Close)
	return tr
}

func testSigner() *Signer {
	seed := sha256.Sum256([]byte("test digest key"))
	return NewSigner(ed25519.NewKeyFromSeed(seed[:]))
}

// fill records n events (concurrently if asked, so they are
// group-committed) and signs them.
func fill(t *testing.T, st *memAudit, n int, concurrent ...bool) (*Trail, *Signer) {
	t.Helper()
	tr := newTestTrail(t, st)
	if len(concurrent) > 0 {
		recordN(t, tr, 1, n)
	} else {
		for i := 1; i <= n; i++ {
			if err := tr.Record(context.Background(), testEvent(i)); err != nil {
				t.Fatal(err)
			}
		}
	}
	s := testSigner()
	d := &Digester{Trail: tr, Store: st, Signer: s}
	if err := d.Digest(context.Background(), DigestPeriodic); err != nil {
		t.Fatal(err)
	}
	return tr, s
}

func verify(t *testing.T, st *memAudit, s *Signer) *Report {
	t.Helper()
	rep, err := Verify(context.Background(), st, s.PublicKey())
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func TestTrailGroupCommitVerifies(t *testing.T) {
	st := &memAudit{}
	_, s := fill(t, st, 200, true)
	rep := verify(t, st, s)
	if !rep.OK() || rep.Records != 200 || rep.Digests != 1 || len(rep.Unsigned) != 0 {
		t.Fatalf("report = %+v", rep)
	}
}

func TestTrailStoreFailureFailsTheCall(t *testing.T) {
	st := &memAudit{}
	tr := newTestTrail(t, st)
	if err := tr.Record(context.Background(), testEvent(1)); err != nil {
		t.Fatal(err)
	}
	st.fail = errors.New("disk full")
	if err := tr.Record(context.Background(), testEvent(2)); err == nil {
		t.Fatal("Record succeeded while the store fails")
	}
	st.fail = nil
	if err := tr.Record(context.Background(), testEvent(3)); err != nil {
		t.Fatal(err)
	}
	rep := verify(t, st, testSigner())
	if !rep.OK() || rep.Records != 2 {
		t.Fatalf("report = %+v", rep)
	}
	tr.Close()
	if err := tr.Record(context.Background(), testEvent(4)); !errors.Is(err, ErrClosed) {
		t.Fatalf("after Close: %v", err)
	}
}

// Each tampering is reported as its kind, naming the right record.
func TestVerifyNamesTheTamperedRecord(t *testing.T) {
	type want struct {
		kind string
		seq  int64
	}
	cases := []struct {
		name   string
		tamper func(st *memAudit, chain string)
		want   []want
	}{
		{"untouched", func(*memAudit, string) {}, nil},
		{"edit a record", func(st *memAudit, c string) {
			i := st.index(c, 5)
			st.recs[i].Record = bytes.Replace(st.recs[i].Record, []byte("alice"), []byte("mallory"), 1)
		}, []want{{Altered, 5}}},
		{"edit and rehash a record", func(st *memAudit, c string) {
			i := st.index(c, 5)
			st.recs[i].Record = bytes.Replace(st.recs[i].Record, []byte("alice"), []byte("mallory"), 1)
			st.recs[i].Hash = ChainHash(st.recs[i].PrevHash, RecordDigest(st.recs[i].Record))
		}, []want{{Altered, 5}}},
		{"edit a lookup column", func(st *memAudit, c string) {
			st.recs[st.index(c, 7)].EventName = "Nothing"
		}, []want{{Altered, 7}}},
		{"delete a record", func(st *memAudit, c string) {
			i := st.index(c, 5)
			st.recs = append(st.recs[:i], st.recs[i+1:]...)
		}, []want{{Deleted, 5}}},
		{"delete two records", func(st *memAudit, c string) {
			i := st.index(c, 5)
			st.recs = append(st.recs[:i], st.recs[i+1:]...)
			i = st.index(c, 6)
			st.recs = append(st.recs[:i], st.recs[i+1:]...)
		}, []want{{Deleted, 5}}},
		{"delete the first record", func(st *memAudit, c string) {
			i := st.index(c, 1)
			st.recs = append(st.recs[:i], st.recs[i+1:]...)
		}, []want{{Deleted, 1}}},
		{"delete the signed last record", func(st *memAudit, c string) {
			i := st.index(c, 20)
			st.recs = append(st.recs[:i], st.recs[i+1:]...)
		}, []want{{Deleted, 20}}},
		{"swap two records", func(st *memAudit, c string) {
			i, j := st.index(c, 5), st.index(c, 6)
			st.recs[i].Seq, st.recs[j].Seq = 6, 5
		}, []want{{Reordered, 5}, {Reordered, 6}}},
		{"insert a forged record", func(st *memAudit, c string) {
			for i := range st.recs {
				if st.recs[i].Seq >= 5 {
					st.recs[i].Seq++
				}
			}
			forged := st.recs[st.index(c, 4)]
			forged.Seq = 5
			forged.PrevHash = forged.Hash
			forged.Record = bytes.Replace(forged.Record, []byte("alice"), []byte("mallory"), 1)
			forged.Username = "mallory"
			forged.Hash = ChainHash(forged.PrevHash, RecordDigest(forged.Record))
			st.recs = append(st.recs, forged)
		}, []want{{Inserted, 5}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			st := &memAudit{}
			tr, s := fill(t, st, 20)
			tc.tamper(st, tr.ChainID())
			rep := verify(t, st, s)
			var got []want
			for _, p := range rep.Problems {
				w := want{p.Kind, p.Seq}
				if !slices.Contains(got, w) {
					got = append(got, w)
				}
			}
			slices.SortFunc(got, func(a, b want) int { return int(a.seq - b.seq) })
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("problems = %v, want %v", rep.Problems, tc.want)
			}
		})
	}
}

func TestVerifyDigests(t *testing.T) {
	cases := []struct {
		name   string
		tamper func(st *memAudit)
		want   string
	}{
		{"bad signature", func(st *memAudit) { st.digests[0].Signature[0] ^= 1 }, "signature"},
		{"edited body", func(st *memAudit) {
			st.digests[0].Body = bytes.Replace(st.digests[0].Body, []byte(`"kind":"periodic"`), []byte(`"kind":"shutdown"`), 1)
		}, "signature"},
		{"deleted digest", func(st *memAudit) { st.digests = st.digests[1:] }, "missing"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			st := &memAudit{}
			tr, s := fill(t, st, 5)
			if err := tr.Record(context.Background(), testEvent(6)); err != nil {
				t.Fatal(err)
			}
			d := &Digester{Trail: tr, Store: st, Signer: s, lastChain: tr.ChainID(), lastSeq: 5}
			if err := d.Digest(context.Background(), DigestShutdown); err != nil {
				t.Fatal(err)
			}
			if rep := verify(t, st, s); !rep.OK() {
				t.Fatalf("before tampering: %v", rep.Problems)
			}
			tc.tamper(st)
			rep := verify(t, st, s)
			if rep.OK() || !strings.Contains(fmt.Sprint(rep.Problems), tc.want) {
				t.Fatalf("problems = %v, want one about %q", rep.Problems, tc.want)
			}
		})
	}
	// Another key's signatures do not verify.
	st := &memAudit{}
	_, _ = fill(t, st, 3)
	_, other, _ := ed25519.GenerateKey(nil)
	rep, err := Verify(context.Background(), st, other.Public().(ed25519.PublicKey))
	if err != nil || rep.OK() {
		t.Fatalf("verified with another key: %v %v", rep, err)
	}
}

func TestRetentionKeepsTheChainVerifiable(t *testing.T) {
	st := &memAudit{}
	tr, s := fill(t, st, 30)
	cutoff := testEvent(11).EventTime
	n, err := Retain(context.Background(), st, s, time.Now(), cutoff)
	if err != nil || n != 10 {
		t.Fatalf("Retain = %d, %v", n, err)
	}
	rep := verify(t, st, s)
	if !rep.OK() || rep.Records != 20 {
		t.Fatalf("after retention: %+v", rep)
	}
	// Running it again deletes nothing and writes no digest.
	before := len(st.digests)
	if n, err := Retain(context.Background(), st, s, time.Now(), cutoff); err != nil || n != 0 || len(st.digests) != before {
		t.Fatalf("second Retain = %d, %v, digests %d -> %d", n, err, before, len(st.digests))
	}
	// Deleting a kept record is still caught.
	i := st.index(tr.ChainID(), 11)
	st.recs = append(st.recs[:i], st.recs[i+1:]...)
	rep = verify(t, st, s)
	if rep.OK() || rep.Problems[0].Kind != Deleted || rep.Problems[0].Seq != 11 {
		t.Fatalf("problems = %v", rep.Problems)
	}
}

func TestTrailResetStartsANewChain(t *testing.T) {
	st := &memAudit{}
	tr := newTestTrail(t, st)
	_ = tr.Record(context.Background(), testEvent(1))
	old := tr.ChainID()
	st.recs = nil // the store was reset
	tr.Reset()
	if err := tr.Record(context.Background(), testEvent(2)); err != nil {
		t.Fatal(err)
	}
	if tr.ChainID() == old {
		t.Fatal("same chain after Reset")
	}
	if rep := verify(t, st, testSigner()); !rep.OK() {
		t.Fatal(rep.Problems)
	}
}

func TestRecordJSONIsCloudTrailShaped(t *testing.T) {
	e := testEvent(1)
	e.RequestParameters = Render(struct {
		RoleArn string
		Policy  string `json:"Policy"`
	}{RoleArn: "arn:aws:iam::111122223333:role/r"}, nil)
	b, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"eventVersion", "userIdentity", "eventTime", "eventSource", "eventName", "awsRegion",
		"sourceIPAddress", "requestParameters", "responseElements", "requestID", "eventID", "readOnly", "eventType",
		"managementEvent", "eventCategory"} {
		if _, ok := m[k]; !ok {
			t.Errorf("record has no %s: %s", k, b)
		}
	}
	if m["eventTime"] != "2026-01-02T03:04:06Z" {
		t.Errorf("eventTime = %v", m["eventTime"])
	}
	back, err := DecodeRecord(b)
	if err != nil || back.EventID != e.EventID || !back.EventTime.Equal(e.EventTime) {
		t.Fatalf("DecodeRecord = %+v, %v", back, err)
	}
}

func FuzzDecodeRecord(f *testing.F) {
	b, _ := json.Marshal(testEvent(1))
	f.Add(b)
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"eventVersion":"1.08","eventID":"x","eventType":"AwsApiCall","eventTime":"2026-01-01T00:00:00Z","requestParameters":{"a":[1,{"b":null}]}}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, data []byte) {
		e, err := DecodeRecord(data)
		if err != nil {
			return
		}
		// A decoded record re-encodes and decodes to the same index.
		b, err := json.Marshal(e)
		if err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		e2, err := DecodeRecord(b)
		if err != nil {
			t.Fatalf("decode re-encoded: %v", err)
		}
		a, c := indexOf(e), indexOf(e2)
		if a.EventID != c.EventID || !a.EventTime.Equal(c.EventTime) || a.Username != c.Username {
			t.Fatalf("index changed: %+v vs %+v", a, c)
		}
		// The verifier's column check never panics on it either.
		r := a
		r.Record = data
		_ = checkColumns(&r)
	})
}

func TestDigesterUndigested(t *testing.T) {
	st := &memAudit{}
	tr, s := fill(t, st, 3)
	d := &Digester{Trail: tr, Store: st, Signer: s}
	if n := d.Undigested(); n != 3 {
		t.Fatalf("Undigested = %d before any digest", n)
	}
	if err := d.Digest(context.Background(), DigestPeriodic); err != nil {
		t.Fatal(err)
	}
	_ = tr.Record(context.Background(), testEvent(9))
	if n := d.Undigested(); n != 1 {
		t.Fatalf("Undigested = %d", n)
	}
}
