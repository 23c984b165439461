package secrets

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/bulwark-security/bulwark/internal/api"
	"github.com/bulwark-security/bulwark/internal/store"
)

// valueFields are the SecretString/SecretBinary pair of the write actions.
// SecretBinary arrives base64-encoded, as JSON 1.1 blobs do.
type valueFields struct {
	SecretString *string `json:"SecretString"`
	SecretBinary []byte  `json:"SecretBinary"`
}

// check validates the pair; required says one of them must be present.
func (v *valueFields) check(required bool) error {
	switch {
	case v.SecretString != nil && v.SecretBinary != nil:
		return invalidParam("You can't specify both a binary secret value and a string secret value in the same secret.")
	case v.SecretString != nil && (len(*v.SecretString) == 0 || len(*v.SecretString) > maxValueBytes):
		return invalidParam("SecretString must be between 1 and %d bytes.", maxValueBytes)
	case v.SecretBinary != nil && (len(v.SecretBinary) == 0 || len(v.SecretBinary) > maxValueBytes):
		return invalidParam("SecretBinary must be between 1 and %d bytes.", maxValueBytes)
	case required && !v.has():
		return invalidParam("You must provide either SecretString or SecretBinary.")
	}
	return nil
}

func (v *valueFields) has() bool { return v.SecretString != nil || v.SecretBinary != nil }

// value copies the plaintext, so the caller may wipe it.
func (v *valueFields) value() value {
	if v.SecretString != nil {
		return value{data: []byte(*v.SecretString)}
	}
	return value{data: slices.Clone(v.SecretBinary), binary: true}
}

// String keeps a value out of any log line the input might reach.
func (valueFields) String() string { return "[REDACTED]" }

// ---- CreateSecret

type createSecretInput struct {
	Name               string    `json:"Name"`
	ClientRequestToken string    `json:"ClientRequestToken"`
	Description        *string   `json:"Description"`
	KmsKeyID           string    `json:"KmsKeyId"`
	Tags               []api.Tag `json:"Tags"`
	AddReplicaRegions  []struct {
		Region   string `json:"Region"`
		KmsKeyID string `json:"KmsKeyId"`
	} `json:"AddReplicaRegions"`
	ForceOverwriteReplicaSecret bool `json:"ForceOverwriteReplicaSecret"`
	valueFields

	arn string
}

func (in *createSecretInput) Validate() error {
	switch {
	case !validName(in.Name):
		return invalidParam("Invalid name. Must be a valid name containing alphanumeric characters, or any of the following: -/_+=.@!")
	case in.ClientRequestToken != "" && !validToken(in.ClientRequestToken):
		return invalidParam("ClientRequestToken must be between 32 and 64 characters.")
	case in.Description != nil && len(*in.Description) > maxDescriptionLen:
		return invalidParam("Description must be at most %d characters.", maxDescriptionLen)
	case len(in.KmsKeyID) > maxKeyIDLen:
		return invalidParam("KmsKeyId must be at most %d characters.", maxKeyIDLen)
	case len(in.AddReplicaRegions) > 0:
		return invalidRequest("Replicating secrets to other Regions is not supported by this endpoint.")
	}
	if err := checkTags(in.Tags); err != nil {
		return err
	}
	return in.check(false)
}

func (in *createSecretInput) RequestContext(*api.Call) map[string][]string {
	m := map[string][]string{keyName: {in.Name}, keyTagKeys: tagKeyList(in.Tags)}
	if in.Description != nil {
		m[keyDescription] = []string{*in.Description}
	}
	if in.KmsKeyID != "" {
		m[keyKmsKeyArn] = []string{in.KmsKeyID}
	}
	for _, t := range in.Tags {
		m[keyRequestTag+t.Key] = []string{t.Value}
	}
	return m
}

func tagKeyList(tags []api.Tag) []string {
	out := make([]string, len(tags))
	for i, t := range tags {
		out[i] = t.Key
	}
	return out
}

// resCreate names the ARN the new secret will have (with its random
// suffix), so policies on "name-*" apply to CreateSecret as in AWS.
func (s *Service) resCreate(c *api.Call, in *createSecretInput) []string {
	in.arn = newSecretARN(c.Region, account(c), in.Name)
	return []string{in.arn}
}

type createSecretOutput struct {
	ARN               string `json:"ARN"`
	Name              string `json:"Name"`
	VersionID         string `json:"VersionId,omitempty"`
	ReplicationStatus []any  `json:"ReplicationStatus,omitempty"`
}

func (s *Service) createSecret(ctx context.Context, c *api.Call, in *createSecretInput) (any, error) {
	now := s.now()
	if in.ClientRequestToken == "" {
		in.ClientRequestToken = newToken()
	}
	sec := store.Secret{ARN: in.arn, AccountID: account(c), Region: c.Region, Name: in.Name,
		KMSKeyID: in.KmsKeyID, Tags: storeTags(in.Tags), CreatedAt: now, LastChangedAt: now}
	if in.Description != nil {
		sec.Description = *in.Description
	}
	if existing, err := s.cfg.Store.GetSecretByName(ctx, sec.AccountID, sec.Region, sec.Name); err == nil {
		return s.createRetry(ctx, c, &existing, in)
	} else if !errors.Is(err, store.ErrNotFound) {
		return nil, storeErr(err)
	}
	var first *store.SecretVersion
	if in.has() {
		val := in.value()
		defer val.wipe()
		v, err := s.seal(ctx, c, sec.ARN, in.ClientRequestToken, in.KmsKeyID, val)
		if err != nil {
			return nil, err
		}
		v.CreatedAt, v.Stages = now, []string{store.StageCurrent}
		first = &v
	} else if in.KmsKeyID != "" {
		if _, err := s.cfg.Keys.ResolveKey(ctx, c, in.KmsKeyID); err != nil {
			return nil, kmsErr(err, true)
		}
	}
	err := s.cfg.Store.CreateSecret(ctx, sec, first)
	if errors.Is(err, store.ErrConflict) {
		// Another request created the name first: the retry rules decide.
		existing, gerr := s.cfg.Store.GetSecretByName(ctx, sec.AccountID, sec.Region, sec.Name)
		if gerr != nil {
			return nil, storeErr(gerr)
		}
		return s.createRetry(ctx, c, &existing, in)
	}
	if err != nil {
		return nil, storeErr(err)
	}
	out := &createSecretOutput{ARN: sec.ARN, Name: sec.Name}
	if first != nil {
		out.VersionID = first.VersionID
	}
	return out, nil
}

// createRetry answers CreateSecret for a name that exists: a retry with
// the same ClientRequestToken and the same value succeeds without a new
// version; anything else is ResourceExistsException (or, for a secret
// pending deletion, InvalidRequestException), as AWS documents.
func (s *Service) createRetry(ctx context.Context, c *api.Call, existing *store.Secret, in *createSecretInput) (any, error) {
	if !existing.DeletedAt.IsZero() {
		return nil, invalidRequest("You can't create this secret because a secret with this name is already scheduled for deletion.")
	}
	exists := fail(codeExists, "The operation failed because the secret %s already exists.", in.Name)
	if !in.has() {
		return nil, exists
	}
	v, err := s.cfg.Store.GetSecretVersion(ctx, existing.ARN, in.ClientRequestToken)
	if errors.Is(err, store.ErrNotFound) {
		return nil, exists
	}
	if err != nil {
		return nil, storeErr(err)
	}
	val := in.value()
	defer val.wipe()
	same, err := s.sameValue(ctx, c, &v, val)
	if err != nil {
		return nil, err
	}
	if !same {
		return nil, errVersionExists()
	}
	return &createSecretOutput{ARN: existing.ARN, Name: existing.Name, VersionID: v.VersionID}, nil
}

func errVersionExists() error {
	return fail(codeExists, "You can't modify an existing version, you can only create a new version.")
}

// sameValue reports whether version v holds val (constant time in the
// value's content).
func (s *Service) sameValue(ctx context.Context, c *api.Call, v *store.SecretVersion, val value) (bool, error) {
	old, err := s.open(ctx, c, v)
	if err != nil {
		return false, err
	}
	defer old.wipe()
	return old.binary == val.binary && subtle.ConstantTimeCompare(old.data, val.data) == 1, nil
}

// ---- GetSecretValue

type getSecretValueInput struct {
	SecretID     string `json:"SecretId"`
	VersionID    string `json:"VersionId"`
	VersionStage string `json:"VersionStage"`
	found
}

func (in *getSecretValueInput) secretID() string { return in.SecretID }

func (in *getSecretValueInput) Validate() error {
	switch {
	case !validSecretID(in.SecretID):
		return invalidParam("SecretId must be between 1 and %d characters.", maxIDLen)
	case in.VersionID != "" && !validToken(in.VersionID):
		return invalidParam("VersionId must be between 32 and 64 characters.")
	case in.VersionStage != "" && !validStage(in.VersionStage):
		return invalidParam("VersionStage must be between 1 and %d characters.", maxStageLen)
	}
	return nil
}

func (in *getSecretValueInput) RequestContext(*api.Call) map[string][]string {
	m := in.context()
	if in.VersionID != "" {
		m[keyVersionID] = []string{in.VersionID}
	}
	if in.VersionStage != "" {
		m[keyVersionStage] = []string{in.VersionStage}
	}
	return m
}

type secretValueOutput struct {
	ARN           string   `json:"ARN"`
	Name          string   `json:"Name"`
	VersionID     string   `json:"VersionId"`
	SecretBinary  []byte   `json:"SecretBinary,omitempty"`
	SecretString  *string  `json:"SecretString,omitempty"`
	VersionStages []string `json:"VersionStages"`
	CreatedDate   epoch    `json:"CreatedDate"`
}

func (o secretValueOutput) String() string { return "secret value of " + o.ARN + " [REDACTED]" }

func (s *Service) getSecretValue(ctx context.Context, c *api.Call, in *getSecretValueInput) (any, error) {
	sec, err := in.live()
	if err != nil {
		return nil, err
	}
	v, err := s.pickVersion(ctx, sec.ARN, in.VersionID, in.VersionStage)
	if err != nil {
		return nil, err
	}
	out, err := s.readValue(ctx, c, sec, &v)
	if err != nil {
		return nil, err
	}
	s.touch(ctx, sec, &v)
	return out, nil
}

// pickVersion finds the version a GetSecretValue names: by id (checking
// the stage if both are given), by stage, or AWSCURRENT.
func (s *Service) pickVersion(ctx context.Context, arn, versionID, stage string) (store.SecretVersion, error) {
	var v store.SecretVersion
	var err error
	if versionID != "" {
		v, err = s.cfg.Store.GetSecretVersion(ctx, arn, versionID)
		if errors.Is(err, store.ErrNotFound) {
			return v, errVersionNotFound("VersionId", versionID)
		}
		if err == nil && stage != "" && !slices.Contains(v.Stages, stage) {
			return v, fail(codeNotFound, "You provided a VersionStage that is not associated to the provided VersionId.")
		}
	} else {
		if stage == "" {
			stage = store.StageCurrent
		}
		v, err = s.cfg.Store.GetSecretVersionByStage(ctx, arn, stage)
		if errors.Is(err, store.ErrNotFound) {
			return v, errVersionNotFound("staging label", stage)
		}
	}
	if err != nil {
		return v, storeErr(err)
	}
	return v, nil
}

// readValue decrypts a version into the GetSecretValue shape.
func (s *Service) readValue(ctx context.Context, c *api.Call, sec *store.Secret, v *store.SecretVersion) (*secretValueOutput, error) {
	val, err := s.open(ctx, c, v)
	if err != nil {
		return nil, err
	}
	out := &secretValueOutput{ARN: sec.ARN, Name: sec.Name, VersionID: v.VersionID,
		VersionStages: v.Stages, CreatedDate: epoch(v.CreatedAt)}
	if out.VersionStages == nil {
		out.VersionStages = []string{}
	}
	if val.binary {
		out.SecretBinary = val.data
	} else {
		str := string(val.data)
		val.wipe()
		out.SecretString = &str
	}
	return out, nil
}

// touch records today as the LastAccessedDate of the secret and the
// version read, writing at most once a day per secret and version. A
// failure is logged: the read already succeeded.
func (s *Service) touch(ctx context.Context, sec *store.Secret, v *store.SecretVersion) {
	now := s.now()
	day := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
	if !sec.LastAccessedAt.Before(day) && !v.LastAccessedAt.Before(day) {
		return
	}
	if err := s.cfg.Store.TouchSecret(ctx, sec.ARN, v.VersionID, day); err != nil {
		s.cfg.Logger.Warn("record secret access", "arn", sec.ARN, "err", err)
	}
}

// ---- PutSecretValue

type putSecretValueInput struct {
	SecretID           string   `json:"SecretId"`
	ClientRequestToken string   `json:"ClientRequestToken"`
	VersionStages      []string `json:"VersionStages"`
	RotationToken      string   `json:"RotationToken"`
	valueFields
	found
}

func (in *putSecretValueInput) secretID() string { return in.SecretID }

func (in *putSecretValueInput) Validate() error {
	switch {
	case !validSecretID(in.SecretID):
		return invalidParam("SecretId must be between 1 and %d characters.", maxIDLen)
	case in.ClientRequestToken != "" && !validToken(in.ClientRequestToken):
		return invalidParam("ClientRequestToken must be between 32 and 64 characters.")
	case in.VersionStages != nil && len(in.VersionStages) == 0, len(in.VersionStages) > maxStagesPerVer:
		return invalidParam("VersionStages must have between 1 and %d items.", maxStagesPerVer)
	}
	for _, st := range in.VersionStages {
		if !validStage(st) {
			return invalidParam("Each staging label must be between 1 and %d characters.", maxStageLen)
		}
	}
	return in.check(true)
}

type putSecretValueOutput struct {
	ARN           string   `json:"ARN"`
	Name          string   `json:"Name"`
	VersionID     string   `json:"VersionId"`
	VersionStages []string `json:"VersionStages"`
}

func (s *Service) putSecretValue(ctx context.Context, c *api.Call, in *putSecretValueInput) (any, error) {
	sec, err := in.live()
	if err != nil {
		return nil, err
	}
	if in.ClientRequestToken == "" {
		in.ClientRequestToken = newToken()
	}
	stages := in.VersionStages
	if stages == nil {
		stages = []string{store.StageCurrent}
	}
	val := in.value()
	defer val.wipe()
	v, err := s.addVersion(ctx, c, sec, in.ClientRequestToken, sec.KMSKeyID, val, stages)
	if err != nil {
		return nil, err
	}
	return &putSecretValueOutput{ARN: sec.ARN, Name: sec.Name, VersionID: v.VersionID, VersionStages: v.Stages}, nil
}

// addVersion stores val as version token with stages, unless the version
// exists: then it succeeds only if it holds the same value (a retry).
func (s *Service) addVersion(ctx context.Context, c *api.Call, sec *store.Secret, token, keyID string, val value, stages []string) (store.SecretVersion, error) {
	for attempt := 0; ; attempt++ {
		existing, err := s.cfg.Store.GetSecretVersion(ctx, sec.ARN, token)
		if err == nil && isPlaceholder(&existing) {
			// A rotation's AWSPENDING version, created by RotateSecret
			// before its createSecret step: this call gives it its value.
			v, err := s.seal(ctx, c, sec.ARN, token, keyID, val)
			if err != nil {
				return v, err
			}
			v.Stages = slices.Clone(stages)
			err = s.cfg.Store.FillSecretVersion(ctx, v, s.now())
			if errors.Is(err, store.ErrConflict) && attempt == 0 {
				continue // a concurrent call filled it: compare with it
			}
			if err != nil {
				return v, storeErr(err)
			}
			return s.cfg.Store.GetSecretVersion(ctx, sec.ARN, token)
		}
		if err == nil {
			same, err := s.sameValue(ctx, c, &existing, val)
			if err != nil {
				return existing, err
			}
			if !same {
				return existing, errVersionExists()
			}
			return existing, nil
		}
		if !errors.Is(err, store.ErrNotFound) {
			return existing, storeErr(err)
		}
		v, err := s.seal(ctx, c, sec.ARN, token, keyID, val)
		if err != nil {
			return v, err
		}
		v.Stages = slices.Clone(stages)
		err = s.cfg.Store.PutSecretVersion(ctx, v, s.now(), keepDeprecated, maxVersions)
		if errors.Is(err, store.ErrConflict) && attempt == 0 {
			continue // a concurrent retry stored it: compare with it
		}
		if err != nil {
			return v, storeErr(err)
		}
		return v, nil
	}
}

// ---- UpdateSecret

type updateSecretInput struct {
	SecretID           string  `json:"SecretId"`
	ClientRequestToken string  `json:"ClientRequestToken"`
	Description        *string `json:"Description"`
	KmsKeyID           *string `json:"KmsKeyId"`
	valueFields
	found
}

func (in *updateSecretInput) secretID() string { return in.SecretID }

func (in *updateSecretInput) Validate() error {
	switch {
	case !validSecretID(in.SecretID):
		return invalidParam("SecretId must be between 1 and %d characters.", maxIDLen)
	case in.ClientRequestToken != "" && !validToken(in.ClientRequestToken):
		return invalidParam("ClientRequestToken must be between 32 and 64 characters.")
	case in.Description != nil && len(*in.Description) > maxDescriptionLen:
		return invalidParam("Description must be at most %d characters.", maxDescriptionLen)
	case in.KmsKeyID != nil && len(*in.KmsKeyID) > maxKeyIDLen:
		return invalidParam("KmsKeyId must be at most %d characters.", maxKeyIDLen)
	}
	return in.check(false)
}

func (in *updateSecretInput) RequestContext(*api.Call) map[string][]string {
	m := in.context()
	if in.Description != nil {
		m[keyDescription] = []string{*in.Description}
	}
	if in.KmsKeyID != nil && *in.KmsKeyID != "" {
		m[keyKmsKeyArn] = []string{*in.KmsKeyID}
	}
	return m
}

func (s *Service) updateSecret(ctx context.Context, c *api.Call, in *updateSecretInput) (any, error) {
	sec, err := in.live()
	if err != nil {
		return nil, err
	}
	keyID := sec.KMSKeyID
	keyChanged := false
	if in.KmsKeyID != nil {
		keyID = *in.KmsKeyID
		if keyID != sec.KMSKeyID {
			newARN, err := s.cfg.Keys.ResolveKey(ctx, c, keyID)
			if err != nil {
				return nil, kmsErr(err, true)
			}
			oldARN, err := s.cfg.Keys.ResolveKey(ctx, c, sec.KMSKeyID)
			keyChanged = err != nil || oldARN != newARN
		}
	}
	if in.Description != nil || in.KmsKeyID != nil {
		up, err := s.mutate(ctx, sec.ARN, func(m *store.Secret) error {
			if !m.DeletedAt.IsZero() {
				return errMarkedForDeletion()
			}
			if in.Description != nil {
				m.Description = *in.Description
			}
			m.KMSKeyID = keyID
			m.LastChangedAt = s.now()
			return nil
		})
		if err != nil {
			return nil, err
		}
		sec = &up
	}
	if keyChanged {
		if err := s.reencrypt(ctx, c, sec.ARN, keyID); err != nil {
			return nil, err
		}
	}
	out := &createSecretOutput{ARN: sec.ARN, Name: sec.Name}
	if in.has() {
		token := in.ClientRequestToken
		if token == "" {
			token = newToken()
		}
		val := in.value()
		defer val.wipe()
		v, err := s.addVersion(ctx, c, sec, token, keyID, val, []string{store.StageCurrent})
		if err != nil {
			return nil, err
		}
		out.VersionID = v.VersionID
	}
	return out, nil
}

// mutate applies fn to the secret's metadata and stores it, re-reading
// and retrying when another request changed the secret in between.
func (s *Service) mutate(ctx context.Context, arn string, fn func(*store.Secret) error) (store.Secret, error) {
	for attempt := 0; ; attempt++ {
		sec, err := s.cfg.Store.GetSecret(ctx, arn)
		if err != nil {
			return sec, storeErr(err)
		}
		if err := fn(&sec); err != nil {
			return sec, err
		}
		up, err := s.cfg.Store.UpdateSecret(ctx, sec)
		if errors.Is(err, store.ErrStale) && attempt < 5 {
			continue
		}
		if err != nil {
			return up, storeErr(fmt.Errorf("update %s: %w", arn, err))
		}
		return up, nil
	}
}

// reencrypt seals the labelled versions AWSCURRENT, AWSPENDING and
// AWSPREVIOUS again under the secret's new key, as AWS does when the key
// changes. A version the caller cannot decrypt (no kms:Decrypt on the old
// key) stays under the old key, as in AWS; failing to encrypt under the new
// key fails the call.
func (s *Service) reencrypt(ctx context.Context, c *api.Call, arn, keyID string) error {
	vs, err := s.cfg.Store.ListSecretVersions(ctx, arn)
	if err != nil {
		return storeErr(err)
	}
	for i := range vs {
		v := &vs[i]
		if !slices.ContainsFunc(v.Stages, func(st string) bool {
			return st == store.StageCurrent || st == store.StagePending || st == store.StagePrevious
		}) {
			continue
		}
		val, err := s.open(ctx, c, v)
		if err != nil {
			s.cfg.Logger.Info("secret version left under its previous key", "arn", arn, "version", v.VersionID, "err", err)
			continue
		}
		nv, err := s.seal(ctx, c, arn, v.VersionID, keyID, val)
		val.wipe()
		if err != nil {
			return err
		}
		if err := s.cfg.Store.ReencryptSecretVersion(ctx, nv); err != nil && !errors.Is(err, store.ErrNotFound) {
			return storeErr(err)
		}
	}
	return nil
}
