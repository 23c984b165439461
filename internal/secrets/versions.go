package secrets

import (
	"context"
	"errors"
	"slices"

	"github.com/bulwark-security/bulwark/internal/api"
	"github.com/bulwark-security/bulwark/internal/awsproto"
	"github.com/bulwark-security/bulwark/internal/store"
)

// The methods below are the in-process API that secret rotation (its
// RotateSecret and CancelRotateSecret actions, scheduler and rotators)
// builds on. They apply the same rules as the API actions but do no
// authorisation of their own: the caller has already decided. c is the
// call on whose behalf KMS is asked (kms:ViaService
// secretsmanager.<region>.amazonaws.com); a scheduled rotation passes a call
// for the principal it acts as.
//
// A rotation, as AWS's four steps, maps onto them like this:
//
//	createSecret: ReadVersion(AWSCURRENT) then PutVersion(token, new value, [AWSPENDING])
//	setSecret / testSecret: ReadVersion(token) or ReadVersion(AWSPENDING)
//	finishSecret: MoveStage(AWSCURRENT, from current, to token), then
//	              MoveStage(AWSPENDING, from token, to "")
//
// and UpdateRotation records the rotation fields (RotationEnabled,
// RotationLambdaARN, rules, LastRotatedDate, NextRotationDate), which
// DescribeSecret and ListSecrets return.

// Secret returns a secret's metadata by ARN, name or partial ARN in c's
// account and region; the error is the API's (ResourceNotFoundException).
func (s *Service) Secret(ctx context.Context, c *api.Call, id string) (store.Secret, error) {
	var f found
	s.resolve(c, id, &f)
	sec, err := f.get()
	if err != nil {
		return store.Secret{}, err
	}
	return *sec, nil
}

// PutVersion stores value as version versionID of the secret arn with the
// staging labels, encrypted under the secret's KMS key, as PutSecretValue
// does: when the version exists with the same value it succeeds without a
// change (so a retried step is harmless); with another value it fails with
// ResourceExistsException. Labels move from the versions that had them;
// AWSCURRENT moving gives the old version AWSPREVIOUS. A secret pending
// deletion is refused. The value is not kept.
func (s *Service) PutVersion(ctx context.Context, c *api.Call, arn, versionID string, val []byte, binary bool, stages []string) (store.SecretVersion, error) {
	if !validToken(versionID) {
		return store.SecretVersion{}, invalidParam("ClientRequestToken must be between 32 and 64 characters.")
	}
	if len(val) == 0 || len(val) > maxValueBytes {
		return store.SecretVersion{}, invalidParam("The secret value must be between 1 and %d bytes.", maxValueBytes)
	}
	sec, err := s.cfg.Store.GetSecret(ctx, arn)
	if err != nil {
		return store.SecretVersion{}, storeErr(err)
	}
	if !sec.DeletedAt.IsZero() {
		return store.SecretVersion{}, errMarkedForDeletion()
	}
	v := value{data: slices.Clone(val), binary: binary}
	defer v.wipe()
	return s.addVersion(ctx, c, &sec, versionID, sec.KMSKeyID, v, stages)
}

// PreparePending creates the value-less version versionID labelled
// AWSPENDING, as RotateSecret does in AWS before the rotation function's
// createSecret step, unless the version exists (a resumed rotation). The
// label moves from whichever version had it.
func (s *Service) PreparePending(ctx context.Context, arn, versionID string) error {
	if !validToken(versionID) {
		return invalidParam("ClientRequestToken must be between 32 and 64 characters.")
	}
	if _, err := s.cfg.Store.GetSecretVersion(ctx, arn, versionID); err == nil {
		return nil
	} else if !errors.Is(err, store.ErrNotFound) {
		return storeErr(err)
	}
	v := store.SecretVersion{SecretARN: arn, VersionID: versionID, Stages: []string{store.StagePending}}
	err := s.cfg.Store.PutSecretVersion(ctx, v, s.now(), keepDeprecated, maxVersions)
	if err != nil && !errors.Is(err, store.ErrConflict) {
		return storeErr(err)
	}
	return nil
}

// MoveStage moves staging label stage of the secret arn from version from
// to version to atomically: it fails (InvalidRequestException, retryable)
// unless the label is on from at that moment ("" = on no version); to ""
// removes it. Moving AWSCURRENT gives from AWSPREVIOUS.
func (s *Service) MoveStage(ctx context.Context, arn, stage, from, to string) error {
	if !validStage(stage) {
		return invalidParam("VersionStage must be between 1 and %d characters.", maxStageLen)
	}
	return s.casStage(ctx, arn, stage, from, to)
}

// ReadVersion decrypts the version of the secret arn named by versionID,
// or else by stage (AWSCURRENT if both are empty), on behalf of c. The
// caller must clear the returned plaintext when done.
func (s *Service) ReadVersion(ctx context.Context, c *api.Call, arn, versionID, stage string) (plaintext []byte, binary bool, v store.SecretVersion, err error) {
	v, err = s.pickVersion(ctx, arn, versionID, stage)
	if err != nil {
		return nil, false, v, err
	}
	val, err := s.open(ctx, c, &v)
	if err != nil {
		return nil, false, v, err
	}
	return val.data, val.binary, v, nil
}

// Versions lists the secret's versions with their labels, newest first.
func (s *Service) Versions(ctx context.Context, arn string) ([]store.SecretVersion, error) {
	vs, err := s.cfg.Store.ListSecretVersions(ctx, arn)
	if err != nil {
		return nil, storeErr(err)
	}
	return vs, nil
}

// UpdateRotation changes the secret's metadata with fn (meant for the
// rotation fields), retrying on concurrent changes; fn may run more than
// once and may return an error to abort.
func (s *Service) UpdateRotation(ctx context.Context, arn string, fn func(*store.Secret) error) (store.Secret, error) {
	return s.mutate(ctx, arn, fn)
}

// Extend adds actions to the service's table (RotateSecret,
// CancelRotateSecret). Call it before the server's registry is built.
func (s *Service) Extend(rows ...api.Action) { s.svc.Actions = append(s.svc.Actions, rows...) }

// IsNotFound reports whether err is the API's ResourceNotFoundException.
func IsNotFound(err error) bool {
	var e *awsproto.Error
	return errors.As(err, &e) && e.Code == codeNotFound
}

// Forget drops the compiled resource policies (after a dev-mode reset).
func (s *Service) Forget() {
	s.policies.mu.Lock()
	s.policies.m = nil
	s.policies.mu.Unlock()
}
