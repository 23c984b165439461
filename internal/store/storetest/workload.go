package storetest

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bulwark-security/bulwark/internal/store"
)

// WorkloadStore is a store with its workload identity part.
type WorkloadStore = interface {
	store.Store
	store.Workloads
}

// RunWorkloads runs the conformance suite of store.Workloads; each subtest
// calls open for a fresh, empty, migrated store.
func RunWorkloads(t *testing.T, open func(t *testing.T) WorkloadStore) {
	t.Helper()
	tests := []struct {
		name string
		fn   func(t *testing.T, s WorkloadStore)
	}{
		{"RoundTrip", testWorkloadRoundTrip},
		{"Conflicts", testWorkloadConflicts},
		{"List", testWorkloadList},
		{"UpdateRevoke", testWorkloadUpdateRevoke},
		{"JoinTokens", testWorkloadJoinTokens},
		{"AgentTokens", testWorkloadAgentTokens},
		{"DeleteExpired", testWorkloadDeleteExpired},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.fn(t, open(t)) })
	}
}

// RunWorkloadServers checks, on two stores over one database (two
// servers), that a join token is redeemed exactly once however many
// callers race for it on either.
func RunWorkloadServers(t *testing.T, a, b WorkloadStore) {
	t.Helper()
	mustCreateAccount(t, a, acct)
	w := newWorkload("racer")
	if err := a.CreateWorkload(t.Context(), w); err != nil {
		t.Fatal(err)
	}
	for round := range 5 {
		h := hashOf(fmt.Sprint("race-", round))
		if err := b.CreateJoinToken(t.Context(), store.JoinToken{Hash: h, WorkloadARN: w.ARN, CreatedAt: at, ExpiresAt: at.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
		var wins, losses atomic.Int32
		var wg sync.WaitGroup
		for i := range 8 {
			s := a
			if i%2 == 1 {
				s = b
			}
			wg.Go(func() {
				_, err := s.RedeemJoinToken(t.Context(), h, at.Add(time.Minute),
					store.AgentToken{Hash: hashOf(fmt.Sprint("agent-", round, "-", i)), Attestation: "join_token", CreatedAt: at, ExpiresAt: at.Add(time.Hour)})
				switch {
				case err == nil:
					wins.Add(1)
				case errors.Is(err, store.ErrNotFound):
					losses.Add(1)
				default:
					t.Errorf("RedeemJoinToken: %v", err)
				}
			})
		}
		wg.Wait()
		if wins.Load() != 1 || losses.Load() != 7 {
			t.Fatalf("round %d: %d redeemed and %d refused, want 1 and 7", round, wins.Load(), losses.Load())
		}
	}
}

// us is a time as the stores return it.
func us(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

func hashOf(s string) []byte {
	h := sha256.Sum256([]byte(s))
	return h[:]
}

func newWorkload(name string) store.Workload {
	return store.Workload{
		ARN:        "arn:aws:bulwark-workloads:us-east-1:" + acct + ":workload/" + name,
		AccountID:  acct,
		Region:     "us-east-1",
		Name:       name,
		WorkloadID: "wl-" + fmt.Sprintf("%024x", sha256.Sum224([]byte(name)))[:24],
		RoleARN:    "arn:aws:iam::" + acct + ":role/" + name,
		Selectors:  []store.Tag{{Key: "jwt:sub", Value: "system:serviceaccount:prod:" + name}, {Key: "team", Value: "pay"}},
		CreatedAt:  at,
		UpdatedAt:  at,
	}
}

func wantWorkload(w store.Workload) store.Workload {
	w.CreatedAt, w.UpdatedAt = w.CreatedAt.UTC().Truncate(time.Microsecond), w.UpdatedAt.UTC().Truncate(time.Microsecond)
	if w.Selectors == nil {
		w.Selectors = []store.Tag{}
	}
	return w
}

func testWorkloadRoundTrip(t *testing.T, s WorkloadStore) {
	mustCreateAccount(t, s, acct)
	w := newWorkload("web")
	if err := s.CreateWorkload(t.Context(), w); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetWorkload(t.Context(), w.ARN)
	if err != nil {
		t.Fatal(err)
	}
	if want := wantWorkload(w); !reflect.DeepEqual(got, want) {
		t.Fatalf("GetWorkload = %+v, want %+v", got, want)
	}
	if got.Revoked() {
		t.Fatal("new workload reads as revoked")
	}
	bare := newWorkload("bare")
	bare.Selectors = nil
	if err := s.CreateWorkload(t.Context(), bare); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.GetWorkload(t.Context(), bare.ARN); got.Selectors == nil || len(got.Selectors) != 0 {
		t.Fatalf("selectors of bare workload = %#v, want empty non-nil", got.Selectors)
	}
	if _, err := s.GetWorkload(t.Context(), w.ARN+"x"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("GetWorkload(absent) = %v, want ErrNotFound", err)
	}
}

func testWorkloadConflicts(t *testing.T, s WorkloadStore) {
	mustCreateAccount(t, s, acct)
	w := newWorkload("web")
	if err := s.CreateWorkload(t.Context(), w); err != nil {
		t.Fatal(err)
	}
	sameID := newWorkload("other")
	sameID.WorkloadID = w.WorkloadID
	noAccount := newWorkload("lost")
	noAccount.AccountID = "999999999999"
	tests := []struct {
		name string
		w    store.Workload
		want error
	}{
		{"same arn", w, store.ErrConflict},
		{"same id", sameID, store.ErrConflict},
		{"no account", noAccount, store.ErrNotFound},
	}
	for _, tt := range tests {
		if err := s.CreateWorkload(t.Context(), tt.w); !errors.Is(err, tt.want) {
			t.Errorf("%s: CreateWorkload = %v, want %v", tt.name, err, tt.want)
		}
	}
}

func testWorkloadList(t *testing.T, s WorkloadStore) {
	mustCreateAccount(t, s, acct)
	for _, n := range []string{"c", "a", "b", "d"} {
		if err := s.CreateWorkload(t.Context(), newWorkload(n)); err != nil {
			t.Fatal(err)
		}
	}
	var names []string
	marker := ""
	for pages := 0; ; pages++ {
		ws, more, err := s.ListWorkloads(t.Context(), acct, "us-east-1", marker, 3)
		if err != nil {
			t.Fatal(err)
		}
		for _, w := range ws {
			names = append(names, w.Name)
		}
		if !more {
			break
		}
		marker = ws[len(ws)-1].Name
		if pages > 3 {
			t.Fatal("paging does not end")
		}
	}
	if want := []string{"a", "b", "c", "d"}; !reflect.DeepEqual(names, want) {
		t.Fatalf("listed %v, want %v", names, want)
	}
	if ws, more, err := s.ListWorkloads(t.Context(), acct, "eu-west-1", "", 10); err != nil || more || len(ws) != 0 {
		t.Fatalf("other region lists %d (more %v, err %v), want none", len(ws), more, err)
	}
}

func testWorkloadUpdateRevoke(t *testing.T, s WorkloadStore) {
	mustCreateAccount(t, s, acct)
	w := newWorkload("web")
	if err := s.CreateWorkload(t.Context(), w); err != nil {
		t.Fatal(err)
	}
	later := at.Add(time.Hour)
	newRole := "arn:aws:iam::" + acct + ":role/other"
	if err := s.UpdateWorkload(t.Context(), w.ARN, newRole, nil, later); err != nil {
		t.Fatal(err)
	}
	got, _ := s.GetWorkload(t.Context(), w.ARN)
	if got.RoleARN != newRole || len(got.Selectors) != 0 || !got.UpdatedAt.Equal(us(later)) {
		t.Fatalf("after update: %+v", got)
	}
	h := hashOf("join")
	if err := s.CreateJoinToken(t.Context(), store.JoinToken{Hash: h, WorkloadARN: w.ARN, CreatedAt: at, ExpiresAt: later}); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateAgentToken(t.Context(), store.AgentToken{Hash: hashOf("agent"), WorkloadARN: w.ARN, Attestation: "jwt", CreatedAt: at, ExpiresAt: later}); err != nil {
		t.Fatal(err)
	}
	if err := s.RevokeWorkload(t.Context(), w.ARN, later); err != nil {
		t.Fatal(err)
	}
	got, _ = s.GetWorkload(t.Context(), w.ARN)
	if !got.Revoked() || !got.RevokedAt.Equal(us(later)) {
		t.Fatalf("after revoke: RevokedAt %v", got.RevokedAt)
	}
	notFound := []struct {
		name string
		err  error
	}{
		{"revoke twice", s.RevokeWorkload(t.Context(), w.ARN, later)},
		{"revoke absent", s.RevokeWorkload(t.Context(), w.ARN+"x", later)},
		{"update revoked", s.UpdateWorkload(t.Context(), w.ARN, newRole, nil, later)},
		{"join token for revoked", s.CreateJoinToken(t.Context(), store.JoinToken{Hash: hashOf("j2"), WorkloadARN: w.ARN, CreatedAt: at, ExpiresAt: later})},
		{"agent token for revoked", s.CreateAgentToken(t.Context(), store.AgentToken{Hash: hashOf("a2"), WorkloadARN: w.ARN, Attestation: "jwt", CreatedAt: at, ExpiresAt: later})},
	}
	for _, tt := range notFound {
		if !errors.Is(tt.err, store.ErrNotFound) {
			t.Errorf("%s: %v, want ErrNotFound", tt.name, tt.err)
		}
	}
	if _, err := s.RedeemJoinToken(t.Context(), h, at.Add(time.Minute), store.AgentToken{Hash: hashOf("a3"), Attestation: "join_token", CreatedAt: at, ExpiresAt: later}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("redeem token of revoked workload: %v, want ErrNotFound", err)
	}
	if _, _, err := s.UseAgentToken(t.Context(), hashOf("agent"), at.Add(time.Minute), later); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("use agent token of revoked workload: %v, want ErrNotFound", err)
	}
	// Deleting frees the name.
	if err := s.DeleteWorkload(t.Context(), w.ARN); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteWorkload(t.Context(), w.ARN); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("delete twice: %v, want ErrNotFound", err)
	}
	again := newWorkload("web")
	again.WorkloadID = "wl-000000000000000000000001"
	if err := s.CreateWorkload(t.Context(), again); err != nil {
		t.Fatalf("register a deleted name again: %v", err)
	}
	// An active workload can be deleted too, tokens and all.
	if err := s.CreateJoinToken(t.Context(), store.JoinToken{Hash: hashOf("j9"), WorkloadARN: again.ARN, CreatedAt: at, ExpiresAt: later}); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteWorkload(t.Context(), again.ARN); err != nil {
		t.Fatal(err)
	}
	if _, err := s.RedeemJoinToken(t.Context(), hashOf("j9"), at, store.AgentToken{Hash: hashOf("a9"), Attestation: "join_token", CreatedAt: at, ExpiresAt: later}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("join token of a deleted workload: %v", err)
	}
}

func testWorkloadJoinTokens(t *testing.T, s WorkloadStore) {
	mustCreateAccount(t, s, acct)
	w := newWorkload("web")
	if err := s.CreateWorkload(t.Context(), w); err != nil {
		t.Fatal(err)
	}
	h := hashOf("join")
	exp := at.Add(10 * time.Minute)
	if err := s.CreateJoinToken(t.Context(), store.JoinToken{Hash: h, WorkloadARN: w.ARN, CreatedAt: at, ExpiresAt: exp}); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateJoinToken(t.Context(), store.JoinToken{Hash: h, WorkloadARN: w.ARN, CreatedAt: at, ExpiresAt: exp}); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("duplicate join token: %v, want ErrConflict", err)
	}
	if err := s.CreateJoinToken(t.Context(), store.JoinToken{Hash: hashOf("x"), WorkloadARN: w.ARN + "x", CreatedAt: at, ExpiresAt: exp}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("join token for absent workload: %v, want ErrNotFound", err)
	}
	agent := func(n string) store.AgentToken {
		return store.AgentToken{Hash: hashOf(n), Attestation: "join_token", CreatedAt: at, ExpiresAt: at.Add(time.Hour)}
	}
	// Expired first: the attempt must not use the token up.
	if _, err := s.RedeemJoinToken(t.Context(), h, exp, agent("a0")); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("redeem at expiry: %v, want ErrNotFound", err)
	}
	if _, err := s.RedeemJoinToken(t.Context(), hashOf("wrong"), at, agent("a1")); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("redeem unknown token: %v, want ErrNotFound", err)
	}
	got, err := s.RedeemJoinToken(t.Context(), h, at.Add(time.Minute), agent("a2"))
	if err != nil {
		t.Fatal(err)
	}
	if got.ARN != w.ARN {
		t.Fatalf("redeemed for %s, want %s", got.ARN, w.ARN)
	}
	if _, err := s.RedeemJoinToken(t.Context(), h, at.Add(2*time.Minute), agent("a3")); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("second redeem: %v, want ErrNotFound", err)
	}
	// The agent token stored with the redemption works.
	if gw, tok, err := s.UseAgentToken(t.Context(), hashOf("a2"), at.Add(time.Minute), time.Time{}); err != nil || gw.ARN != w.ARN || tok.Attestation != "join_token" || tok.WorkloadARN != w.ARN {
		t.Fatalf("UseAgentToken after redeem: %+v %+v %v", gw, tok, err)
	}
	if _, _, err := s.UseAgentToken(t.Context(), hashOf("a3"), at, time.Time{}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("agent token of a failed redeem exists: %v", err)
	}
}

func testWorkloadAgentTokens(t *testing.T, s WorkloadStore) {
	mustCreateAccount(t, s, acct)
	w := newWorkload("web")
	if err := s.CreateWorkload(t.Context(), w); err != nil {
		t.Fatal(err)
	}
	h := hashOf("agent")
	exp := at.Add(time.Hour)
	if err := s.CreateAgentToken(t.Context(), store.AgentToken{Hash: h, WorkloadARN: w.ARN, Attestation: "jwt", CreatedAt: at, ExpiresAt: exp}); err != nil {
		t.Fatal(err)
	}
	// Extending never shortens.
	_, tok, err := s.UseAgentToken(t.Context(), h, at, at.Add(time.Minute))
	if err != nil || !tok.ExpiresAt.Equal(us(exp)) || !bytes.Equal(tok.Hash, h) {
		t.Fatalf("use: %+v %v", tok, err)
	}
	ext := at.Add(3 * time.Hour)
	if _, tok, err = s.UseAgentToken(t.Context(), h, at.Add(30*time.Minute), ext); err != nil || !tok.ExpiresAt.Equal(us(ext)) {
		t.Fatalf("extend: %+v %v", tok, err)
	}
	if _, _, err := s.UseAgentToken(t.Context(), h, ext, ext.Add(time.Hour)); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("use at expiry: %v, want ErrNotFound", err)
	}
	if err := s.CreateAgentToken(t.Context(), store.AgentToken{Hash: hashOf("x"), WorkloadARN: w.ARN + "x", Attestation: "jwt", CreatedAt: at, ExpiresAt: exp}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("agent token for absent workload: %v", err)
	}
}

func testWorkloadDeleteExpired(t *testing.T, s WorkloadStore) {
	mustCreateAccount(t, s, acct)
	w := newWorkload("web")
	if err := s.CreateWorkload(t.Context(), w); err != nil {
		t.Fatal(err)
	}
	mk := func(n string, exp time.Time) {
		if err := s.CreateJoinToken(t.Context(), store.JoinToken{Hash: hashOf("j" + n), WorkloadARN: w.ARN, CreatedAt: at, ExpiresAt: exp}); err != nil {
			t.Fatal(err)
		}
		if err := s.CreateAgentToken(t.Context(), store.AgentToken{Hash: hashOf("a" + n), WorkloadARN: w.ARN, Attestation: "jwt", CreatedAt: at, ExpiresAt: exp}); err != nil {
			t.Fatal(err)
		}
	}
	mk("old", at.Add(time.Minute))
	mk("new", at.Add(time.Hour))
	n, err := s.DeleteExpiredWorkloadTokens(t.Context(), at.Add(10*time.Minute))
	if err != nil || n != 2 {
		t.Fatalf("DeleteExpiredWorkloadTokens = %d, %v; want 2", n, err)
	}
	if _, _, err := s.UseAgentToken(t.Context(), hashOf("anew"), at, time.Time{}); err != nil {
		t.Fatalf("unexpired agent token deleted: %v", err)
	}
}
