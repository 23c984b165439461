package rotation

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/bulwark-security/bulwark/internal/store"
)

func newEngine(t *testing.T, st testStore, rot Rotator, mod func(*EngineConfig)) (*Engine, *results) {
	t.Helper()
	res := newResults()
	cfg := EngineConfig{Store: st, Secrets: &memValues{st: st}, Rotators: oneRotator{rot}, OnResult: res.add,
		RetryDelay: func(int) time.Duration { return time.Hour }}
	if mod != nil {
		mod(&cfg)
	}
	e, err := NewEngine(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Wait)
	return e, res
}

const tok1 = "11111111-1111-4111-8111-111111111111"

func TestEngineRotates(t *testing.T) {
	st := newStore(t)
	arn := mkSecret(t, st, "db", "old", func(s *store.Secret) { s.RotationAfterDays = 30 })
	rot := &fakeRotator{v: &memValues{st: st}}
	e, res := newEngine(t, st, rot, nil)
	before := time.Now().UTC()
	if err := e.Begin(t.Context(), arn, tok1, time.Time{}); err != nil {
		t.Fatal(err)
	}
	if r := res.next(t); r.Err != nil {
		t.Fatalf("rotation failed: %+v", r)
	}
	if got, want := rot.Calls(), []string{"createSecret", "setSecret", "testSecret", "finishSecret"}; !slices.Equal(got, want) {
		t.Errorf("steps = %v, want %v", got, want)
	}
	stages := stagesOf(t, st, arn)
	if stages["AWSCURRENT"] != "value-11111111" || stages["AWSPREVIOUS"] != "old" {
		t.Errorf("stages after rotation = %v", stages)
	}
	if _, ok := stages["AWSPENDING"]; ok {
		t.Errorf("AWSPENDING left after a finished rotation: %v", stages)
	}
	sec, _ := st.GetSecret(t.Context(), arn)
	if sec.LastRotatedAt.Before(before.Truncate(time.Microsecond)) {
		t.Errorf("LastRotatedAt = %v, want after %v", sec.LastRotatedAt, before)
	}
	if want := sec.LastRotatedAt.Truncate(24 * time.Hour).Add(30 * 24 * time.Hour); !sec.NextRotationAt.Equal(want) {
		t.Errorf("NextRotationAt = %v, want %v", sec.NextRotationAt, want)
	}
	r, err := st.GetSecretRotation(t.Context(), arn)
	if err != nil || r.Token != "" || r.Failure != "" {
		t.Errorf("rotation state = %+v, %v; want idle without failure", r, err)
	}
	// RotateSecret again with the same token: already AWSCURRENT, nothing runs.
	if err := e.Begin(t.Context(), arn, tok1, time.Time{}); err != nil {
		t.Fatal(err)
	}
	if r := res.next(t); r.Err != nil {
		t.Fatalf("repeated rotation failed: %+v", r)
	}
	if n := len(rot.Calls()); n != 4 {
		t.Errorf("repeating a finished rotation ran %d steps, want none more", n-4)
	}
}

func TestEngineFailureLeavesCurrent(t *testing.T) {
	for _, step := range []string{"createSecret", "setSecret", "testSecret", "finishSecret"} {
		t.Run(step, func(t *testing.T) {
			st := newStore(t)
			arn := mkSecret(t, st, "db", "old", nil)
			rot := &fakeRotator{v: &memValues{st: st}, failing: map[string]error{step: errors.New("boom in " + step)}}
			e, res := newEngine(t, st, rot, nil)
			if err := e.Begin(t.Context(), arn, tok1, time.Time{}); err != nil {
				t.Fatal(err)
			}
			r := res.next(t)
			if r.Err == nil || r.Step != step || r.Abandoned {
				t.Fatalf("result = %+v, want a retryable failure in %s", r, step)
			}
			if got := stagesOf(t, st, arn)["AWSCURRENT"]; got != "old" {
				t.Errorf("AWSCURRENT after a failed %s = %q, want the old value", step, got)
			}
			state, _ := st.GetSecretRotation(t.Context(), arn)
			if state.Token != tok1 || state.Step != step || state.Failure != "boom in "+step || state.FailureStep != step ||
				state.Attempts != 1 || state.RetryAt.IsZero() || state.LeaseOwner != "" {
				t.Errorf("state after failure = %+v", state)
			}
			// Another token is refused while this rotation is unfinished.
			if err := e.Begin(t.Context(), arn, "22222222-2222-4222-8222-222222222222", time.Time{}); !errors.Is(err, store.ErrRotationInProgress) {
				t.Errorf("Begin(other token) = %v, want ErrRotationInProgress", err)
			}
			// The retry (same token) resumes at the failed step.
			rot.mu.Lock()
			rot.failing = nil
			done := len(rot.calls)
			rot.mu.Unlock()
			if err := e.Begin(t.Context(), arn, tok1, time.Time{}); err != nil {
				t.Fatal(err)
			}
			if r := res.next(t); r.Err != nil {
				t.Fatalf("retry failed: %+v", r)
			}
			resumed := rot.Calls()[done:]
			want := slices.Clone(steps[slices.Index(steps, step):])
			if step == store.StepCreate {
				want = steps
			}
			if !slices.Equal(resumed, want) {
				t.Errorf("retry ran %v, want %v", resumed, want)
			}
			stages := stagesOf(t, st, arn)
			if stages["AWSCURRENT"] != "value-11111111" || stages["AWSPREVIOUS"] != "old" {
				t.Errorf("stages after the retry = %v", stages)
			}
		})
	}
}

func TestEngineAbandons(t *testing.T) {
	st := newStore(t)
	due := time.Now().UTC().Add(-time.Hour)
	arn := mkSecret(t, st, "db", "old", func(s *store.Secret) { s.RotationAfterDays, s.NextRotationAt = 2, due })
	rot := &fakeRotator{v: &memValues{st: st}, noFinish: true}
	e, res := newEngine(t, st, rot, func(c *EngineConfig) { c.MaxAttempts = 1 })
	if err := e.Begin(t.Context(), arn, tok1, time.Time{}); err != nil {
		t.Fatal(err)
	}
	r := res.next(t)
	if r.Err == nil || r.Step != store.StepFinish || !r.Abandoned {
		t.Fatalf("result = %+v, want finishSecret abandoned", r)
	}
	stages := stagesOf(t, st, arn)
	if stages["AWSCURRENT"] != "old" || stages["AWSPENDING"] != "value-11111111" {
		t.Errorf("stages = %v; want AWSCURRENT old, the new version left AWSPENDING", stages)
	}
	state, _ := st.GetSecretRotation(t.Context(), arn)
	if state.Token != "" || state.FailureStep != store.StepFinish {
		t.Errorf("state = %+v, want no rotation in progress and the failure kept", state)
	}
	if sec, _ := st.GetSecret(t.Context(), arn); !sec.NextRotationAt.After(time.Now()) {
		t.Errorf("NextRotationAt after an abandoned rotation = %v, want the next window", sec.NextRotationAt)
	}
	// A new rotation may start.
	rot.noFinish = false
	if err := e.Begin(t.Context(), arn, "33333333-3333-4333-8333-333333333333", time.Time{}); err != nil {
		t.Fatal(err)
	}
	if r := res.next(t); r.Err != nil {
		t.Fatalf("next rotation: %+v", r)
	}
	if got := stagesOf(t, st, arn); got["AWSCURRENT"] != "value-33333333" || got["AWSPREVIOUS"] != "old" {
		t.Errorf("stages after the next rotation = %v", got)
	}
}

func TestEngineNoRotator(t *testing.T) {
	st := newStore(t)
	arn := mkSecret(t, st, "db", "old", func(s *store.Secret) { s.RotationLambdaARN = "" })
	e, res := newEngine(t, st, &fakeRotator{}, nil)
	if err := e.Begin(t.Context(), arn, tok1, time.Time{}); err != nil {
		t.Fatal(err)
	}
	if r := res.next(t); !errors.Is(r.Err, ErrNoRotator) {
		t.Errorf("result = %+v, want ErrNoRotator", r)
	}
}
