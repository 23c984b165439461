package rotation

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bulwark-security/bulwark/internal/store"
)

// Secrets is what rotation needs from Secrets Manager, acting as the
// service itself (never for a caller): the secret's metadata and version
// labels, the AWSPENDING version a rotation starts from, and the rotation
// fields of the secret.
type Secrets interface {
	// Secret returns the secret with the ARN (store.ErrNotFound if gone).
	Secret(ctx context.Context, arn string) (store.Secret, error)
	// Versions returns the secret's versions with their labels.
	Versions(ctx context.Context, arn string) ([]store.SecretVersion, error)
	// PreparePending makes sure version versionID exists and carries
	// AWSPENDING, creating it without a value if it does not exist, as
	// Secrets Manager does before it invokes a rotation function's
	// createSecret step.
	PreparePending(ctx context.Context, arn, versionID string) error
	// RemoveStage removes label stage from version versionID (nothing if
	// it is not there).
	RemoveStage(ctx context.Context, arn, stage, versionID string) error
	// UpdateRotation changes the secret's rotation fields with fn, retrying
	// on concurrent changes.
	UpdateRotation(ctx context.Context, arn string, fn func(*store.Secret) error) error
}

// StepRequest is one step of one rotation: what a rotation Lambda receives
// (SecretId is the secret's ARN, ClientRequestToken the new version's id).
type StepRequest struct {
	SecretARN string
	Token     string
	Step      string
	// Secret is the secret's metadata when the step started.
	Secret store.Secret
}

// Rotator performs rotation steps. Every step must be idempotent: a
// retried rotation runs a step again with the same token, as AWS retries a
// rotation Lambda.
type Rotator interface {
	Step(ctx context.Context, req StepRequest) error
}

// Rotators finds the rotator a secret's RotationLambdaARN names.
type Rotators interface {
	// Rotator returns the rotator of a function ARN, or an error wrapping
	// ErrNoRotator if none is configured.
	Rotator(ctx context.Context, functionARN string) (Rotator, error)
}

// ErrNoRotator means no webhook is registered for a function ARN and it
// names no built-in rotator.
var ErrNoRotator = errors.New("no rotator configured for the function")

// steps in the order a rotation runs them.
var steps = []string{store.StepCreate, store.StepSet, store.StepTest, store.StepFinish}

func nextStep(s string) string {
	i := slices.Index(steps, s)
	if i < 0 || i == len(steps)-1 {
		return ""
	}
	return steps[i+1]
}

// Engine runs rotations: it holds a rotation's lease while it drives the
// rotator through the remaining steps, then records success or failure.
// It is shared by the API actions (RotateSecret starts a rotation and
// returns) and the scheduler.
type Engine struct {
	cfg EngineConfig
	wg  sync.WaitGroup
	sem chan struct{}
	// queued counts rotations started but waiting for a slot.
	queued atomic.Int64
	mu     sync.Mutex
	life   context.Context
}

// EngineConfig configures an Engine. Store, Secrets and Rotators are
// required.
type EngineConfig struct {
	Store    store.Rotation
	Secrets  Secrets
	Rotators Rotators
	Logger   *slog.Logger
	Now      func() time.Time
	// Owner names this server in leases; empty means a random id.
	Owner string
	// LeaseTTL is how long a lease lasts without progress; zero means five
	// minutes. Each completed step renews it.
	LeaseTTL time.Duration
	// MaxAttempts is how many times a failing rotation is attempted before
	// it is abandoned; zero means 5.
	MaxAttempts int
	// RetryDelay is the wait before attempt n+1 (n >= 1); nil means
	// 1, 5, 15, 60 minutes...
	RetryDelay func(n int) time.Duration
	// Parallel bounds the rotations running at once; zero means 4.
	Parallel int
	// OnResult, if set, is called after every attempt (for metrics,
	// audit and tests). It must not block.
	OnResult func(Result)
}

// Result is the outcome of one attempt of a rotation.
type Result struct {
	SecretARN string
	Token     string
	// Step is the step that failed; empty on success.
	Step string
	// Err is nil on success.
	Err error
	// Abandoned is true when the rotation will not be retried.
	Abandoned bool
}

// NewEngine returns an engine.
func NewEngine(cfg EngineConfig) (*Engine, error) {
	if cfg.Store == nil || cfg.Secrets == nil || cfg.Rotators == nil {
		return nil, errors.New("rotation: Store, Secrets and Rotators are required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Owner == "" {
		cfg.Owner = "bulwark-" + rand.Text()
	}
	if cfg.LeaseTTL <= 0 {
		cfg.LeaseTTL = 5 * time.Minute
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = 5
	}
	if cfg.RetryDelay == nil {
		cfg.RetryDelay = defaultRetryDelay
	}
	if cfg.Parallel <= 0 {
		cfg.Parallel = 4
	}
	return &Engine{cfg: cfg, sem: make(chan struct{}, cfg.Parallel), life: context.Background()}, nil
}

func defaultRetryDelay(n int) time.Duration {
	d := []time.Duration{time.Minute, 5 * time.Minute, 15 * time.Minute, time.Hour}
	return d[min(n, len(d))-1]
}

func (e *Engine) now() time.Time { return e.cfg.Now().UTC() }

func (e *Engine) lease() store.Lease {
	return store.Lease{Owner: e.cfg.Owner, Until: e.now().Add(e.cfg.LeaseTTL)}
}

// bind makes rotations started from now on stop when ctx ends (the
// scheduler's Run binds the server's lifetime).
func (e *Engine) bind(ctx context.Context) {
	e.mu.Lock()
	e.life = ctx
	e.mu.Unlock()
}

// free is how many more rotations could run at once now.
func (e *Engine) free() int { return cap(e.sem) - len(e.sem) - int(e.queued.Load()) }

// Wait waits for the rotations started in the background.
func (e *Engine) Wait() { e.wg.Wait() }

// Begin starts (or, with the same token, resumes) a rotation of the secret
// and runs it in the background. scheduledFor is the scheduled occurrence,
// zero for RotateSecret. The store's errors (ErrRotationInProgress,
// ErrLeaseHeld, ErrAlreadyScheduled, ErrNotFound) are returned as is.
func (e *Engine) Begin(ctx context.Context, arn, token string, scheduledFor time.Time) error {
	l := e.lease()
	st, err := e.cfg.Store.BeginRotation(ctx, arn, token, scheduledFor, e.now(), l)
	if err != nil {
		return err
	}
	e.background(st, l)
	return nil
}

// Resume takes over an in-progress rotation whose lease expired or whose
// retry is due, and runs it in the background.
func (e *Engine) Resume(ctx context.Context, arn, token string) error {
	l := e.lease()
	st, err := e.cfg.Store.ResumeRotation(ctx, arn, token, e.now(), l)
	if err != nil {
		return err
	}
	e.background(st, l)
	return nil
}

func (e *Engine) background(st store.SecretRotation, l store.Lease) {
	e.mu.Lock()
	ctx := e.life
	e.mu.Unlock()
	e.queued.Add(1)
	e.wg.Go(func() {
		select {
		case e.sem <- struct{}{}:
			e.queued.Add(-1)
		case <-ctx.Done():
			e.queued.Add(-1)
			return // the lease expires; another server (or restart) resumes it
		}
		defer func() { <-e.sem }()
		e.run(ctx, st, l)
	})
}

// run drives one leased rotation from its current step to the end.
func (e *Engine) run(ctx context.Context, st store.SecretRotation, l store.Lease) {
	log := e.cfg.Logger.With("secret", st.SecretARN, "rotation", st.Token)
	step := st.Step
	fail := func(step string, err error) {
		e.fail(ctx, log, st, step, err, l)
	}
	sec, err := e.cfg.Secrets.Secret(ctx, st.SecretARN)
	if err != nil {
		fail(step, fmt.Errorf("read secret: %w", err))
		return
	}
	if !sec.DeletedAt.IsZero() {
		fail(step, errors.New("the secret is scheduled for deletion"))
		return
	}
	rot, err := e.cfg.Rotators.Rotator(ctx, sec.RotationLambdaARN)
	if err != nil {
		fail(step, err)
		return
	}
	if step == store.StepCreate {
		done, err := e.alreadyCurrent(ctx, st)
		if err != nil {
			fail(step, err)
			return
		}
		if done {
			// The version is already AWSCURRENT: a retry after finishSecret.
			e.succeed(ctx, log, st, l)
			return
		}
		if err := e.cfg.Secrets.PreparePending(ctx, st.SecretARN, st.Token); err != nil {
			fail(step, fmt.Errorf("prepare the AWSPENDING version: %w", err))
			return
		}
	}
	for step != "" {
		if err := ctx.Err(); err != nil {
			return // shutting down: the lease expires and the rotation resumes
		}
		log.Debug("rotation step", "step", step)
		if err := rot.Step(ctx, StepRequest{SecretARN: st.SecretARN, Token: st.Token, Step: step, Secret: sec}); err != nil {
			fail(step, err)
			return
		}
		next := nextStep(step)
		if next == "" {
			break
		}
		l.Until = e.now().Add(e.cfg.LeaseTTL)
		if err := e.cfg.Store.AdvanceRotation(ctx, st.SecretARN, st.Token, step, next, l); err != nil {
			log.Warn("rotation stopped: lease lost", "step", step, "err", err)
			return
		}
		step = next
	}
	done, err := e.alreadyCurrent(ctx, st)
	if err == nil && !done {
		err = errors.New("finishSecret returned without moving AWSCURRENT to the new version")
	}
	if err != nil {
		fail(store.StepFinish, err)
		return
	}
	e.succeed(ctx, log, st, l)
}

// alreadyCurrent reports whether the rotation's version carries AWSCURRENT.
func (e *Engine) alreadyCurrent(ctx context.Context, st store.SecretRotation) (bool, error) {
	vs, err := e.cfg.Secrets.Versions(ctx, st.SecretARN)
	if err != nil {
		return false, fmt.Errorf("list versions: %w", err)
	}
	for _, v := range vs {
		if v.VersionID == st.Token {
			return slices.Contains(v.Stages, store.StageCurrent), nil
		}
	}
	return false, nil
}

func (e *Engine) succeed(ctx context.Context, log *slog.Logger, st store.SecretRotation, l store.Lease) {
	// As Secrets Manager does after finishSecret, the new version keeps
	// only AWSCURRENT.
	if err := e.cfg.Secrets.RemoveStage(ctx, st.SecretARN, store.StagePending, st.Token); err != nil {
		e.fail(ctx, log, st, store.StepFinish, fmt.Errorf("remove AWSPENDING from the new version: %w", err), l)
		return
	}
	now := e.now()
	err := e.cfg.Secrets.UpdateRotation(ctx, st.SecretARN, func(s *store.Secret) error {
		s.LastRotatedAt = now
		s.NextRotationAt = time.Time{}
		if s.RotationEnabled {
			sched, err := ParseRules(RulesOf(s))
			if err != nil {
				return fmt.Errorf("stored rotation rules: %w", err)
			}
			s.NextRotationAt = sched.Next(now)
		}
		return nil
	})
	if err != nil {
		// The rotation itself is complete; only the dates are stale.
		log.Error("rotation done but its dates were not recorded", "err", err)
	}
	if err := e.cfg.Store.FinishRotation(ctx, st.SecretARN, st.Token, l); err != nil {
		log.Warn("finish rotation", "err", err)
	}
	log.Info("secret rotated")
	e.report(Result{SecretARN: st.SecretARN, Token: st.Token})
}

func (e *Engine) fail(ctx context.Context, log *slog.Logger, st store.SecretRotation, step string, cause error, l store.Lease) {
	now := e.now()
	attempts := st.Attempts + 1
	var retryAt time.Time
	if attempts < e.cfg.MaxAttempts {
		retryAt = now.Add(e.cfg.RetryDelay(attempts))
	}
	msg := failureMessage(cause)
	log.Warn("rotation step failed", "step", step, "attempt", attempts, "retry_at", retryAt, "err", msg)
	// A cancelled context (shutdown) still records the failure.
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := e.cfg.Store.FailRotation(wctx, st.SecretARN, st.Token, step, msg, now, retryAt, l); err != nil {
		log.Warn("record rotation failure", "err", err)
		return
	}
	if retryAt.IsZero() {
		// Abandoned: the schedule goes on from the next window, or the
		// occurrence this rotation was for would block every later one.
		if err := e.cfg.Secrets.UpdateRotation(wctx, st.SecretARN, func(s *store.Secret) error {
			if !s.RotationEnabled {
				return nil
			}
			sched, err := ParseRules(RulesOf(s))
			if err != nil {
				return fmt.Errorf("stored rotation rules: %w", err)
			}
			s.NextRotationAt = sched.Next(now)
			return nil
		}); err != nil {
			log.Warn("schedule the next rotation after an abandoned one", "err", err)
		}
	}
	e.report(Result{SecretARN: st.SecretARN, Token: st.Token, Step: step, Err: cause, Abandoned: retryAt.IsZero()})
}

func (e *Engine) report(r Result) {
	if e.cfg.OnResult != nil {
		e.cfg.OnResult(r)
	}
}

// maxFailureLen bounds the failure message kept in the store.
const maxFailureLen = 1024

// failureMessage is the error's text, bounded. Rotators never put secret
// material in their errors (the webhook client keeps only the status and
// a bounded, sanitised excerpt of the endpoint's answer).
func failureMessage(err error) string {
	s := err.Error()
	if len(s) > maxFailureLen {
		s = s[:maxFailureLen] + "..."
	}
	return s
}

// RulesOf returns a secret's stored rotation rules.
func RulesOf(s *store.Secret) Rules {
	return Rules{AutomaticallyAfterDays: s.RotationAfterDays, Duration: s.RotationDuration,
		ScheduleExpression: s.RotationSchedule}
}
