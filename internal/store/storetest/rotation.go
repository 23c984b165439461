package storetest

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bulwark-security/bulwark/internal/store"
)

// RotationStore is a store with its Secrets and Rotation parts, as both
// backends implement them.
type RotationStore = interface {
	store.Store
	store.Secrets
	store.Rotation
}

// RunRotation runs the conformance suite of store.Rotation. Each subtest
// calls open for a fresh, empty, migrated store.
func RunRotation(t *testing.T, open func(t *testing.T) RotationStore) {
	t.Helper()
	tests := []struct {
		name string
		fn   func(t *testing.T, s RotationStore)
	}{
		{"Lifecycle", testRotationLifecycle},
		{"Failure", testRotationFailure},
		{"Scheduled", testRotationScheduled},
		{"Cancel", testRotationCancel},
		{"SecretDeleted", testRotationSecretDeleted},
		{"Webhooks", testRotationWebhooks},
		{"RaceBegin", func(t *testing.T, s RotationStore) { testRotationRaceBegin(t, s, s) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := open(t)
			mustCreateAccount(t, s, acct)
			tt.fn(t, s)
		})
	}
}

// RunRotationServers checks two stores on one database (two servers) agree
// on who runs a rotation: racing BeginRotation calls for one scheduled
// occurrence start it once, and two scheduler loops over many due secrets
// run each exactly once.
func RunRotationServers(t *testing.T, a, b RotationStore) {
	mustCreateAccount(t, a, acct)
	testRotationRaceBegin(t, a, b)
	testRotationTwoSchedulers(t, a, b)
}

var rotT0 = time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)

func rotSecret(t *testing.T, s RotationStore, name string, next time.Time) string {
	t.Helper()
	arn := "arn:aws:secretsmanager:us-east-1:" + acct + ":secret:" + name + "-AbCdEf"
	sec := store.Secret{ARN: arn, AccountID: acct, Region: "us-east-1", Name: name,
		CreatedAt: rotT0, LastChangedAt: rotT0}
	if !next.IsZero() {
		sec.RotationEnabled = true
		sec.RotationLambdaARN = "arn:aws:lambda:us-east-1:" + acct + ":function:rotator"
		sec.RotationAfterDays = 30
		sec.NextRotationAt = next
	}
	if err := s.CreateSecret(t.Context(), sec, nil); err != nil {
		t.Fatalf("CreateSecret(%s): %v", name, err)
	}
	return arn
}

func lease(owner string, until time.Time) store.Lease { return store.Lease{Owner: owner, Until: until} }

func testRotationLifecycle(t *testing.T, s RotationStore) {
	ctx := t.Context()
	arn := rotSecret(t, s, "db", time.Time{})
	if _, err := s.GetSecretRotation(ctx, arn); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("GetSecretRotation(never rotated) = %v, want ErrNotFound", err)
	}
	if _, err := s.BeginRotation(ctx, arn+"x", "tok-1", time.Time{}, rotT0, lease("a", rotT0.Add(time.Minute))); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("BeginRotation(missing secret) = %v, want ErrNotFound", err)
	}
	la := lease("a", rotT0.Add(time.Minute))
	r, err := s.BeginRotation(ctx, arn, "tok-1", time.Time{}, rotT0, la)
	if err != nil {
		t.Fatalf("BeginRotation: %v", err)
	}
	if r.Token != "tok-1" || r.Step != store.StepCreate || r.LeaseOwner != "a" || !r.StartedAt.Equal(rotT0) || !r.LeaseUntil.Equal(la.Until) {
		t.Fatalf("begun rotation = %+v", r)
	}
	// Another token while it runs; the same token while a's lease is live.
	if _, err := s.BeginRotation(ctx, arn, "tok-2", time.Time{}, rotT0, lease("b", rotT0.Add(time.Minute))); !errors.Is(err, store.ErrRotationInProgress) {
		t.Errorf("BeginRotation(other token) = %v, want ErrRotationInProgress", err)
	}
	if _, err := s.BeginRotation(ctx, arn, "tok-1", time.Time{}, rotT0, lease("b", rotT0.Add(time.Minute))); !errors.Is(err, store.ErrLeaseHeld) {
		t.Errorf("BeginRotation(same token, live lease) = %v, want ErrLeaseHeld", err)
	}
	if err := s.AdvanceRotation(ctx, arn, "tok-1", store.StepCreate, store.StepSet, lease("b", rotT0)); !errors.Is(err, store.ErrLeaseLost) {
		t.Errorf("AdvanceRotation(not the owner) = %v, want ErrLeaseLost", err)
	}
	la.Until = rotT0.Add(2 * time.Minute)
	if err := s.AdvanceRotation(ctx, arn, "tok-1", store.StepCreate, store.StepSet, la); err != nil {
		t.Fatalf("AdvanceRotation: %v", err)
	}
	if err := s.AdvanceRotation(ctx, arn, "tok-1", store.StepCreate, store.StepSet, la); !errors.Is(err, store.ErrLeaseLost) {
		t.Errorf("AdvanceRotation(step already advanced) = %v, want ErrLeaseLost", err)
	}
	// a's lease expires: b resumes the same rotation where it stopped.
	later := rotT0.Add(3 * time.Minute)
	lb := lease("b", later.Add(time.Minute))
	r, err = s.BeginRotation(ctx, arn, "tok-1", time.Time{}, later, lb)
	if err != nil || r.LeaseOwner != "b" || r.Step != store.StepSet {
		t.Fatalf("BeginRotation(same token, expired lease) = %+v, %v; want b resuming at setSecret", r, err)
	}
	if err := s.FinishRotation(ctx, arn, "tok-1", la); !errors.Is(err, store.ErrLeaseLost) {
		t.Errorf("FinishRotation(lease taken over) = %v, want ErrLeaseLost", err)
	}
	for _, st := range [][2]string{{store.StepSet, store.StepTest}, {store.StepTest, store.StepFinish}} {
		if err := s.AdvanceRotation(ctx, arn, "tok-1", st[0], st[1], lb); err != nil {
			t.Fatalf("AdvanceRotation(%s): %v", st[0], err)
		}
	}
	if err := s.FinishRotation(ctx, arn, "tok-1", lb); err != nil {
		t.Fatalf("FinishRotation: %v", err)
	}
	r, err = s.GetSecretRotation(ctx, arn)
	if err != nil || r.Token != "" || r.Step != "" || r.LeaseOwner != "" || !r.LeaseUntil.IsZero() {
		t.Fatalf("after finish = %+v, %v; want idle", r, err)
	}
	if _, err := s.BeginRotation(ctx, arn, "tok-2", time.Time{}, later, lb); err != nil {
		t.Errorf("BeginRotation(next rotation) = %v", err)
	}
}

func testRotationFailure(t *testing.T, s RotationStore) {
	ctx := t.Context()
	arn := rotSecret(t, s, "db", time.Time{})
	l := lease("a", rotT0.Add(time.Minute))
	if _, err := s.BeginRotation(ctx, arn, "tok-1", time.Time{}, rotT0, l); err != nil {
		t.Fatal(err)
	}
	retry := rotT0.Add(10 * time.Minute)
	if err := s.FailRotation(ctx, arn, "tok-1", store.StepSet, "endpoint said 500", rotT0, retry, l); err != nil {
		t.Fatalf("FailRotation(retry): %v", err)
	}
	r, err := s.GetSecretRotation(ctx, arn)
	if err != nil || r.Token != "tok-1" || r.Attempts != 1 || r.Failure != "endpoint said 500" ||
		r.FailureStep != store.StepSet || !r.FailedAt.Equal(rotT0) || !r.RetryAt.Equal(retry) || r.LeaseOwner != "" {
		t.Fatalf("after failure = %+v, %v", r, err)
	}
	// Not due before RetryAt, due after.
	due, err := s.DueRotations(ctx, rotT0.Add(time.Minute), 10)
	if err != nil || len(due) != 0 {
		t.Errorf("DueRotations(before retry) = %+v, %v", due, err)
	}
	if _, err := s.ResumeRotation(ctx, arn, "tok-1", rotT0.Add(time.Minute), l); !errors.Is(err, store.ErrLeaseHeld) {
		t.Errorf("ResumeRotation(before retry) = %v, want ErrLeaseHeld", err)
	}
	due, err = s.DueRotations(ctx, retry, 10)
	if err != nil || len(due) != 1 || due[0].Token != "tok-1" || due[0].SecretARN != arn {
		t.Fatalf("DueRotations(at retry) = %+v, %v", due, err)
	}
	if _, err := s.ResumeRotation(ctx, arn, "other", retry, l); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("ResumeRotation(wrong token) = %v, want ErrNotFound", err)
	}
	l2 := lease("b", retry.Add(time.Minute))
	if _, err := s.ResumeRotation(ctx, arn, "tok-1", retry, l2); err != nil {
		t.Fatalf("ResumeRotation: %v", err)
	}
	if _, err := s.ResumeRotation(ctx, arn, "tok-1", retry, lease("c", retry.Add(time.Minute))); !errors.Is(err, store.ErrLeaseHeld) {
		t.Errorf("ResumeRotation(twice) = %v, want ErrLeaseHeld", err)
	}
	// Giving up ends the rotation but keeps the failure.
	if err := s.FailRotation(ctx, arn, "tok-1", store.StepTest, "login failed", retry, time.Time{}, l2); err != nil {
		t.Fatalf("FailRotation(abandon): %v", err)
	}
	r, err = s.GetSecretRotation(ctx, arn)
	if err != nil || r.Token != "" || r.Attempts != 2 || r.FailureStep != store.StepTest {
		t.Fatalf("after abandon = %+v, %v", r, err)
	}
	if err := s.FailRotation(ctx, arn, "tok-1", store.StepTest, "x", retry, time.Time{}, l2); !errors.Is(err, store.ErrLeaseLost) {
		t.Errorf("FailRotation(not in progress) = %v, want ErrLeaseLost", err)
	}
}

func testRotationScheduled(t *testing.T, s RotationStore) {
	ctx := t.Context()
	t1 := rotT0.Add(time.Hour)
	a := rotSecret(t, s, "a", t1)
	rotSecret(t, s, "later", rotT0.Add(48*time.Hour))
	rotSecret(t, s, "off", time.Time{})
	due, err := s.DueRotations(ctx, t1, 10)
	if err != nil || len(due) != 1 || due[0].SecretARN != a || due[0].Token != "" || !due[0].ScheduledFor.Equal(t1) {
		t.Fatalf("DueRotations = %+v, %v; want %s scheduled for %v", due, err, a, t1)
	}
	l := lease("a", t1.Add(time.Minute))
	if _, err := s.BeginRotation(ctx, a, "tok-1", t1, t1, l); err != nil {
		t.Fatalf("BeginRotation(scheduled): %v", err)
	}
	if err := s.FinishRotation(ctx, a, "tok-1", l); err != nil {
		t.Fatal(err)
	}
	// The occurrence is done: not due any more, and not startable again by
	// a server that listed it before.
	if due, err := s.DueRotations(ctx, t1, 10); err != nil || len(due) != 0 {
		t.Errorf("DueRotations(after the run) = %+v, %v", due, err)
	}
	if _, err := s.BeginRotation(ctx, a, "tok-2", t1, t1, lease("b", t1.Add(time.Minute))); !errors.Is(err, store.ErrAlreadyScheduled) {
		t.Errorf("BeginRotation(same occurrence again) = %v, want ErrAlreadyScheduled", err)
	}
	// A manual rotation does not consume a scheduled occurrence.
	if _, err := s.BeginRotation(ctx, a, "tok-3", time.Time{}, t1, l); err != nil {
		t.Fatalf("BeginRotation(manual): %v", err)
	}
	if r, _ := s.GetSecretRotation(ctx, a); !r.ScheduledFor.Equal(t1) {
		t.Errorf("ScheduledFor after a manual rotation = %v, want %v", r.ScheduledFor, t1)
	}
	// Disabled or deleted secrets are never due.
	sec, err := s.GetSecret(ctx, rotSecret(t, s, "gone", t1))
	if err != nil {
		t.Fatal(err)
	}
	sec.DeletedAt, sec.PurgeAt = t1, t1.Add(7*24*time.Hour)
	if _, err := s.UpdateSecret(ctx, sec); err != nil {
		t.Fatal(err)
	}
	if due, err := s.DueRotations(ctx, t1, 10); err != nil || len(due) != 0 {
		t.Errorf("DueRotations(in progress with a live lease, deleted secret) = %+v, %v; want none", due, err)
	}
}

func testRotationCancel(t *testing.T, s RotationStore) {
	ctx := t.Context()
	arn := rotSecret(t, s, "db", time.Time{})
	if tok, err := s.CancelRotation(ctx, arn); err != nil || tok != "" {
		t.Errorf("CancelRotation(never rotated) = %q, %v", tok, err)
	}
	l := lease("a", rotT0.Add(time.Minute))
	if _, err := s.BeginRotation(ctx, arn, "tok-1", time.Time{}, rotT0, l); err != nil {
		t.Fatal(err)
	}
	if tok, err := s.CancelRotation(ctx, arn); err != nil || tok != "tok-1" {
		t.Fatalf("CancelRotation = %q, %v", tok, err)
	}
	if err := s.AdvanceRotation(ctx, arn, "tok-1", store.StepCreate, store.StepSet, l); !errors.Is(err, store.ErrLeaseLost) {
		t.Errorf("AdvanceRotation(cancelled) = %v, want ErrLeaseLost", err)
	}
	if _, err := s.BeginRotation(ctx, arn, "tok-2", time.Time{}, rotT0, lease("b", rotT0.Add(time.Minute))); err != nil {
		t.Errorf("BeginRotation(after cancel) = %v", err)
	}
}

func testRotationSecretDeleted(t *testing.T, s RotationStore) {
	ctx := t.Context()
	arn := rotSecret(t, s, "db", time.Time{})
	if _, err := s.BeginRotation(ctx, arn, "tok-1", time.Time{}, rotT0, lease("a", rotT0.Add(time.Minute))); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteSecret(ctx, arn); err != nil {
		t.Fatalf("DeleteSecret(with rotation state): %v", err)
	}
	if _, err := s.GetSecretRotation(ctx, arn); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetSecretRotation(deleted secret) = %v, want ErrNotFound", err)
	}
}

func testRotationWebhooks(t *testing.T, s RotationStore) {
	ctx := t.Context()
	fn := "arn:aws:lambda:us-east-1:" + acct + ":function:rotator"
	w := store.RotationWebhook{FunctionARN: fn, AccountID: acct, URL: "https://rotator.example/hook",
		SealedKey: []byte("sealed"), CreatedAt: at, UpdatedAt: at}
	if _, err := s.GetRotationWebhook(ctx, fn); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("GetRotationWebhook(missing) = %v", err)
	}
	if err := s.PutRotationWebhook(ctx, store.RotationWebhook{FunctionARN: fn, AccountID: "999999999999",
		URL: "https://x", SealedKey: []byte{1}, CreatedAt: at, UpdatedAt: at}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("PutRotationWebhook(unknown account) = %v, want ErrNotFound", err)
	}
	if err := s.PutRotationWebhook(ctx, w); err != nil {
		t.Fatal(err)
	}
	w2 := w
	w2.URL, w2.CAPEM, w2.SealedKey, w2.CreatedAt, w2.UpdatedAt = "https://rotator.example/v2", "-----BEGIN CERTIFICATE-----", []byte("sealed2"), at.Add(time.Hour), at.Add(time.Hour)
	if err := s.PutRotationWebhook(ctx, w2); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetRotationWebhook(ctx, fn)
	if err != nil || got.URL != w2.URL || string(got.SealedKey) != "sealed2" || got.CAPEM != w2.CAPEM || got.AccountID != acct {
		t.Fatalf("GetRotationWebhook = %+v, %v", got, err)
	}
	checkTime(t, "CreatedAt (kept on replace)", got.CreatedAt, wantTime)
	checkTime(t, "UpdatedAt", got.UpdatedAt, wantTime.Add(time.Hour))
	list, err := s.ListRotationWebhooks(ctx, acct)
	if err != nil || len(list) != 1 || list[0].FunctionARN != fn {
		t.Fatalf("ListRotationWebhooks = %+v, %v", list, err)
	}
	if err := s.DeleteRotationWebhook(ctx, fn); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteRotationWebhook(ctx, fn); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("DeleteRotationWebhook(twice) = %v, want ErrNotFound", err)
	}
}

// testRotationRaceBegin races 20 BeginRotation calls, alternating between
// a and b, for one scheduled occurrence: exactly one starts it.
func testRotationRaceBegin(t *testing.T, a, b RotationStore) {
	ctx := t.Context()
	t1 := rotT0.Add(time.Hour)
	arn := rotSecret(t, a, "race", t1)
	stores := []RotationStore{a, b}
	errs := race(20, func(i int) error {
		_, err := stores[i%2].BeginRotation(ctx, arn, fmt.Sprintf("tok-%02d", i), t1, t1,
			lease(fmt.Sprintf("owner-%d", i), t1.Add(time.Minute)))
		if errors.Is(err, store.ErrRotationInProgress) || errors.Is(err, store.ErrAlreadyScheduled) {
			return store.ErrLeaseHeld
		}
		return err
	})
	if ok, refused := tally(t, errs, store.ErrLeaseHeld); ok != 1 || refused != 19 {
		t.Errorf("racing scheduled starts: %d started, %d refused; want 1 and 19", ok, refused)
	}
}

// testRotationTwoSchedulers runs two scheduler loops (one per store) over
// 15 due secrets, each loop listing due rotations, starting them and
// finishing them as a real scheduler does; every occurrence must run once.
func testRotationTwoSchedulers(t *testing.T, a, b RotationStore) {
	ctx := t.Context()
	t1 := rotT0.Add(2 * time.Hour)
	for i := range 15 {
		rotSecret(t, a, fmt.Sprintf("sched-%02d", i), t1.Add(-time.Duration(i)*time.Minute))
	}
	var mu sync.Mutex
	runs := make(map[string]int)
	var total atomic.Int64
	var wg sync.WaitGroup
	for i, s := range []RotationStore{a, b, a, b} {
		owner := fmt.Sprintf("scheduler-%d", i)
		wg.Go(func() {
			for range 10 {
				due, err := s.DueRotations(ctx, t1, 100)
				if err != nil {
					t.Errorf("DueRotations: %v", err)
					return
				}
				for _, d := range due {
					if d.Token != "" {
						continue
					}
					l := lease(owner, t1.Add(time.Minute))
					tok := fmt.Sprintf("%s-%d", owner, total.Add(1))
					_, err := s.BeginRotation(ctx, d.SecretARN, tok, d.ScheduledFor, t1, l)
					if err != nil {
						if !errors.Is(err, store.ErrAlreadyScheduled) && !errors.Is(err, store.ErrLeaseHeld) &&
							!errors.Is(err, store.ErrRotationInProgress) {
							t.Errorf("BeginRotation: %v", err)
						}
						continue
					}
					mu.Lock()
					runs[d.SecretARN]++
					mu.Unlock()
					if err := s.FinishRotation(ctx, d.SecretARN, tok, l); err != nil {
						t.Errorf("FinishRotation: %v", err)
					}
				}
			}
		})
	}
	wg.Wait()
	// The race test's secret is due too, but its occurrence was started
	// there: resuming it is not starting it again.
	if len(runs) != 15 {
		t.Errorf("%d secrets rotated, want 15", len(runs))
	}
	for arn, n := range runs {
		if n != 1 {
			t.Errorf("%s rotated %d times, want exactly once", arn, n)
		}
	}
}
