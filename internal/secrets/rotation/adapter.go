package rotation

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/bulwark-security/bulwark/internal/api"
	"github.com/bulwark-security/bulwark/internal/awsproto"
	"github.com/bulwark-security/bulwark/internal/store"
)

// Adapter gives the engine and the built-in rotators Secrets Manager's
// in-process API. It acts as the service itself: KMS sees the secret's
// account root principal via Secrets Manager, the authority the account
// gave the service when it configured rotation with a built-in rotator.
type Adapter struct {
	Svc   SecretsService
	Store store.Secrets
	Now   func() time.Time
}

var (
	_ Secrets = (*Adapter)(nil)
	_ Values  = (*Adapter)(nil)
)

func (a *Adapter) now() time.Time {
	if a.Now != nil {
		return a.Now().UTC()
	}
	return time.Now().UTC()
}

// serviceCall is the call built-in rotation makes for a secret.
func serviceCall(svc SecretsService, sec *store.Secret, now time.Time) *api.Call {
	return &api.Call{
		RequestID: newToken(),
		Service:   svc.API(),
		Action:    findAction(svc.API(), "RotateSecret"),
		Principal: &api.Principal{Type: "Root", ARN: "arn:aws:iam::" + sec.AccountID + ":root",
			AccountID: sec.AccountID, UserID: sec.AccountID},
		Region:          sec.Region,
		UserAgent:       "bulwark-rotation",
		SecureTransport: true,
		Time:            now,
	}
}

// Secret implements Secrets.
func (a *Adapter) Secret(ctx context.Context, arn string) (store.Secret, error) {
	return a.Store.GetSecret(ctx, arn)
}

// Versions implements Secrets.
func (a *Adapter) Versions(ctx context.Context, arn string) ([]store.SecretVersion, error) {
	return a.Svc.Versions(ctx, arn)
}

// PreparePending implements Secrets: the value-less AWSPENDING version
// AWS creates before the createSecret step, so a rotation function written
// for AWS (which looks its token up among the secret's versions) runs
// unchanged.
func (a *Adapter) PreparePending(ctx context.Context, arn, token string) error {
	return a.Svc.PreparePending(ctx, arn, token)
}

// RemoveStage implements Secrets.
func (a *Adapter) RemoveStage(ctx context.Context, arn, stage, versionID string) error {
	vs, err := a.Svc.Versions(ctx, arn)
	if err != nil {
		return err
	}
	for _, v := range vs {
		if v.VersionID == versionID && slices.Contains(v.Stages, stage) {
			return a.Svc.MoveStage(ctx, arn, stage, versionID, "")
		}
	}
	return nil
}

// UpdateRotation implements Secrets.
func (a *Adapter) UpdateRotation(ctx context.Context, arn string, fn func(*store.Secret) error) error {
	_, err := a.Svc.UpdateRotation(ctx, arn, fn)
	return err
}

// Value implements Values.
func (a *Adapter) Value(ctx context.Context, arn, versionID, stage string) ([]byte, error) {
	sec, err := a.Store.GetSecret(ctx, arn)
	if err != nil {
		return nil, err
	}
	b, binary, _, err := a.Svc.ReadVersion(ctx, serviceCall(a.Svc, &sec, a.now()), arn, versionID, stage)
	if err != nil {
		if isNotFound(err) {
			return nil, fmt.Errorf("%w: %v", store.ErrNotFound, err)
		}
		return nil, err
	}
	if binary {
		clear(b)
		return nil, errors.New("the secret holds SecretBinary, not a JSON SecretString")
	}
	return b, nil
}

// PutValue implements Values.
func (a *Adapter) PutValue(ctx context.Context, arn, versionID string, value []byte, stages []string) error {
	sec, err := a.Store.GetSecret(ctx, arn)
	if err != nil {
		return err
	}
	_, err = a.Svc.PutVersion(ctx, serviceCall(a.Svc, &sec, a.now()), arn, versionID, value, false, stages)
	return err
}

// MoveStage implements Values: from "" means whichever version has the
// label now.
func (a *Adapter) MoveStage(ctx context.Context, arn, stage, to, from string) error {
	if from == "" {
		vs, err := a.Svc.Versions(ctx, arn)
		if err != nil {
			return err
		}
		for _, v := range vs {
			if slices.Contains(v.Stages, stage) {
				from = v.VersionID
			}
		}
	}
	if from == to {
		return nil
	}
	return a.Svc.MoveStage(ctx, arn, stage, from, to)
}

// isNotFound reports whether err is ResourceNotFoundException.
func isNotFound(err error) bool {
	var e *awsproto.Error
	if errors.As(err, &e) {
		return e.Code == codeNotFound
	}
	return errors.Is(err, store.ErrNotFound)
}
