package rotation

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/bulwark-security/bulwark/internal/store"
	"github.com/bulwark-security/bulwark/internal/store/sqlite"
)

// testStore is a store with the parts rotation uses.
type testStore interface {
	store.Store
	store.Secrets
	store.Rotation
}

const acct = "123456789012"

func openSQLite(t *testing.T, dsn string) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(t.Context(), dsn, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func newStore(t *testing.T) testStore {
	t.Helper()
	s := openSQLite(t, ":memory:")
	if err := s.CreateAccount(t.Context(), store.Account{ID: acct, CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	return s
}

// memValues implements Secrets and Values over the store with the value
// kept as is in Ciphertext: the envelope encryption is the secrets
// package's business, not what these tests check.
type memValues struct {
	st testStore
	mu sync.Mutex
}

func (m *memValues) Secret(ctx context.Context, arn string) (store.Secret, error) {
	return m.st.GetSecret(ctx, arn)
}

func (m *memValues) Versions(ctx context.Context, arn string) ([]store.SecretVersion, error) {
	return m.st.ListSecretVersions(ctx, arn)
}

func (m *memValues) PreparePending(context.Context, string, string) error { return nil }

func (m *memValues) RemoveStage(ctx context.Context, arn, stage, versionID string) error {
	v, err := m.st.GetSecretVersion(ctx, arn, versionID)
	if err != nil {
		return err
	}
	if !slices.Contains(v.Stages, stage) {
		return nil
	}
	return m.st.MoveSecretStage(ctx, arn, stage, versionID, "", time.Now())
}

func (m *memValues) UpdateRotation(ctx context.Context, arn string, fn func(*store.Secret) error) error {
	for {
		s, err := m.st.GetSecret(ctx, arn)
		if err != nil {
			return err
		}
		if err := fn(&s); err != nil {
			return err
		}
		if _, err := m.st.UpdateSecret(ctx, s); !errors.Is(err, store.ErrStale) {
			return err
		}
	}
}

func (m *memValues) Value(ctx context.Context, arn, versionID, stage string) ([]byte, error) {
	var v store.SecretVersion
	var err error
	if versionID != "" {
		v, err = m.st.GetSecretVersion(ctx, arn, versionID)
		if err == nil && stage != "" && !slices.Contains(v.Stages, stage) {
			err = store.ErrNotFound
		}
	} else {
		v, err = m.st.GetSecretVersionByStage(ctx, arn, stage)
	}
	if err != nil {
		return nil, err
	}
	return bytes.Clone(v.Ciphertext), nil
}

func (m *memValues) PutValue(ctx context.Context, arn, versionID string, value []byte, stages []string) error {
	err := m.st.PutSecretVersion(ctx, store.SecretVersion{SecretARN: arn, VersionID: versionID, KMSKeyARN: "test",
		EncryptedKey: []byte{1}, Ciphertext: bytes.Clone(value), Stages: stages}, time.Now(), 100, 200)
	if errors.Is(err, store.ErrConflict) {
		old, gerr := m.st.GetSecretVersion(ctx, arn, versionID)
		if gerr == nil && bytes.Equal(old.Ciphertext, value) {
			return nil
		}
	}
	return err
}

func (m *memValues) MoveStage(ctx context.Context, arn, stage, to, from string) error {
	if from == "" {
		v, err := m.st.GetSecretVersionByStage(ctx, arn, stage)
		if err == nil {
			from = v.VersionID
		} else if !errors.Is(err, store.ErrNotFound) {
			return err
		}
	}
	if from == to {
		return nil
	}
	return m.st.MoveSecretStage(ctx, arn, stage, from, to, time.Now())
}

// mkSecret creates a secret whose AWSCURRENT value is value.
func mkSecret(t *testing.T, st testStore, name string, value string, mod func(*store.Secret)) string {
	t.Helper()
	arn := "arn:aws:secretsmanager:us-east-1:" + acct + ":secret:" + name + "-AbCdEf"
	now := time.Now().UTC()
	sec := store.Secret{ARN: arn, AccountID: acct, Region: "us-east-1", Name: name, CreatedAt: now, LastChangedAt: now,
		RotationEnabled: true, RotationLambdaARN: "arn:aws:lambda:us-east-1:" + acct + ":function:fake"}
	if mod != nil {
		mod(&sec)
	}
	first := &store.SecretVersion{SecretARN: arn, VersionID: "00000000-0000-4000-8000-000000000000", CreatedAt: now,
		KMSKeyARN: "test", EncryptedKey: []byte{1}, Ciphertext: []byte(value), Stages: []string{store.StageCurrent}}
	if err := st.CreateSecret(t.Context(), sec, first); err != nil {
		t.Fatal(err)
	}
	return arn
}

// stagesOf maps each label to the value of the version carrying it.
func stagesOf(t *testing.T, st testStore, arn string) map[string]string {
	t.Helper()
	vs, err := st.ListSecretVersions(t.Context(), arn)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, v := range vs {
		for _, s := range v.Stages {
			out[s] = string(v.Ciphertext)
		}
	}
	return out
}

// fakeRotator performs the steps as AWS's template does for a plain value,
// and fails the steps named in failing.
type fakeRotator struct {
	v       Values
	mu      sync.Mutex
	calls   []string
	failing map[string]error
	// noFinish makes finishSecret succeed without moving AWSCURRENT.
	noFinish bool
}

func (f *fakeRotator) Step(ctx context.Context, req StepRequest) error {
	f.mu.Lock()
	f.calls = append(f.calls, req.Step)
	err := f.failing[req.Step]
	f.mu.Unlock()
	if err != nil {
		return err
	}
	switch req.Step {
	case store.StepCreate:
		if _, err := f.v.Value(ctx, req.SecretARN, req.Token, store.StagePending); err == nil {
			return nil
		}
		return f.v.PutValue(ctx, req.SecretARN, req.Token, []byte("value-"+req.Token[:8]), []string{store.StagePending})
	case store.StepFinish:
		if f.noFinish {
			return nil
		}
		return f.v.MoveStage(ctx, req.SecretARN, store.StageCurrent, req.Token, "")
	}
	return nil
}

func (f *fakeRotator) Calls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.calls)
}

type oneRotator struct{ r Rotator }

func (o oneRotator) Rotator(_ context.Context, fn string) (Rotator, error) {
	if fn == "" {
		return nil, fmt.Errorf("%w: none", ErrNoRotator)
	}
	return o.r, nil
}

// results collects the engine's results.
type results struct {
	mu  sync.Mutex
	all []Result
	ch  chan Result
}

func newResults() *results { return &results{ch: make(chan Result, 100)} }

func (r *results) add(x Result) {
	r.mu.Lock()
	r.all = append(r.all, x)
	r.mu.Unlock()
	r.ch <- x
}

func (r *results) next(t *testing.T) Result {
	t.Helper()
	select {
	case x := <-r.ch:
		return x
	case <-time.After(30 * time.Second):
		t.Fatal("no rotation result within 30s")
		return Result{}
	}
}
