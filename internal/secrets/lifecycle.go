package secrets

import (
	"context"

	"slices"
	"strconv"
	"time"

	"github.com/bulwark-security/bulwark/internal/api"
	"github.com/bulwark-security/bulwark/internal/store"
)

// ---- DeleteSecret / RestoreSecret

type deleteSecretInput struct {
	SecretID                   string `json:"SecretId"`
	RecoveryWindowInDays       *int64 `json:"RecoveryWindowInDays"`
	ForceDeleteWithoutRecovery *bool  `json:"ForceDeleteWithoutRecovery"`
	found
}

func (in *deleteSecretInput) secretID() string { return in.SecretID }

func (in *deleteSecretInput) force() bool {
	return in.ForceDeleteWithoutRecovery != nil && *in.ForceDeleteWithoutRecovery
}

func (in *deleteSecretInput) Validate() error {
	switch {
	case !validSecretID(in.SecretID):
		return invalidParam("SecretId must be between 1 and %d characters.", maxIDLen)
	case in.RecoveryWindowInDays != nil && in.force():
		return invalidParam("You can't use ForceDeleteWithoutRecovery in conjunction with RecoveryWindowInDays.")
	case in.RecoveryWindowInDays != nil && (*in.RecoveryWindowInDays < 7 || *in.RecoveryWindowInDays > 30):
		return invalidParam("The RecoveryWindowInDays value must be between 7 and 30 days (inclusive).")
	}
	return nil
}

func (in *deleteSecretInput) RequestContext(*api.Call) map[string][]string {
	m := in.context()
	if in.RecoveryWindowInDays != nil {
		m[keyRecoveryWindow] = []string{strconv.FormatInt(*in.RecoveryWindowInDays, 10)}
	}
	if in.ForceDeleteWithoutRecovery != nil {
		m[keyForceDelete] = []string{strconv.FormatBool(*in.ForceDeleteWithoutRecovery)}
	}
	return m
}

type deleteSecretOutput struct {
	ARN          string `json:"ARN"`
	Name         string `json:"Name"`
	DeletionDate epoch  `json:"DeletionDate"`
}

func (s *Service) deleteSecret(ctx context.Context, _ *api.Call, in *deleteSecretInput) (any, error) {
	sec, err := in.get()
	if err != nil {
		return nil, err
	}
	now := s.now()
	if in.force() {
		if err := s.cfg.Store.DeleteSecret(ctx, sec.ARN); err != nil {
			return nil, storeErr(err)
		}
		s.cfg.Logger.Info("secret deleted without recovery", "arn", sec.ARN)
		return &deleteSecretOutput{ARN: sec.ARN, Name: sec.Name, DeletionDate: epoch(now)}, nil
	}
	days := int64(30)
	if in.RecoveryWindowInDays != nil {
		days = *in.RecoveryWindowInDays
	}
	up, err := s.mutate(ctx, sec.ARN, func(m *store.Secret) error {
		if !m.DeletedAt.IsZero() {
			return invalidRequest("You can't perform this operation on the secret because it was already scheduled for deletion.")
		}
		m.DeletedAt, m.PurgeAt = now, now.Add(time.Duration(days)*24*time.Hour)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &deleteSecretOutput{ARN: up.ARN, Name: up.Name, DeletionDate: epoch(up.PurgeAt)}, nil
}

func (s *Service) restoreSecret(ctx context.Context, _ *api.Call, in *secretIDInput) (any, error) {
	sec, err := in.get()
	if err != nil {
		return nil, err
	}
	up, err := s.mutate(ctx, sec.ARN, func(m *store.Secret) error {
		m.DeletedAt, m.PurgeAt = time.Time{}, time.Time{}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &arnNameOutput{ARN: up.ARN, Name: up.Name}, nil
}

// Run removes secrets whose recovery window has ended, every
// PurgeInterval, until ctx is done. Several servers may run it against one
// database: the store removes each secret once.
func (s *Service) Run(ctx context.Context) error {
	t := time.NewTicker(s.cfg.PurgeInterval)
	defer t.Stop()
	for {
		s.Purge(ctx)
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// Purge removes every secret due for deletion now and returns how many.
func (s *Service) Purge(ctx context.Context) int {
	total := 0
	for {
		arns, err := s.cfg.Store.PurgeSecrets(ctx, s.now(), 100)
		total += len(arns)
		for _, a := range arns {
			s.cfg.Logger.Info("secret deleted at the end of its recovery window", "arn", a)
		}
		if err != nil {
			if ctx.Err() == nil {
				s.cfg.Logger.Error("purge secrets", "err", err)
			}
			return total
		}
		if len(arns) < 100 {
			return total
		}
	}
}

// ---- TagResource / UntagResource

type tagInput struct {
	SecretID string    `json:"SecretId"`
	Tags     []api.Tag `json:"Tags"`
	found
}

func (in *tagInput) secretID() string { return in.SecretID }

func (in *tagInput) Validate() error {
	if !validSecretID(in.SecretID) {
		return invalidParam("SecretId must be between 1 and %d characters.", maxIDLen)
	}
	if in.Tags == nil {
		return invalidParam("Tags is required.")
	}
	return checkTags(in.Tags)
}

func (in *tagInput) RequestContext(*api.Call) map[string][]string {
	m := in.context()
	m[keyTagKeys] = tagKeyList(in.Tags)
	for _, t := range in.Tags {
		m[keyRequestTag+t.Key] = []string{t.Value}
	}
	return m
}

func (s *Service) tagResource(ctx context.Context, _ *api.Call, in *tagInput) (any, error) {
	sec, err := in.live()
	if err != nil {
		return nil, err
	}
	_, err = s.mutate(ctx, sec.ARN, func(m *store.Secret) error {
		for _, t := range in.Tags {
			i := slices.IndexFunc(m.Tags, func(o store.Tag) bool { return o.Key == t.Key })
			if i >= 0 {
				m.Tags[i].Value = t.Value
			} else {
				m.Tags = append(m.Tags, store.Tag{Key: t.Key, Value: t.Value})
			}
		}
		if len(m.Tags) > maxTags {
			return invalidParam("Number of tags exceeds the limit of %d.", maxTags)
		}
		return nil
	})
	return nil, err
}

type untagInput struct {
	SecretID string   `json:"SecretId"`
	TagKeys  []string `json:"TagKeys"`
	found
}

func (in *untagInput) secretID() string { return in.SecretID }

func (in *untagInput) Validate() error {
	if !validSecretID(in.SecretID) {
		return invalidParam("SecretId must be between 1 and %d characters.", maxIDLen)
	}
	if in.TagKeys == nil || len(in.TagKeys) > maxTags {
		return invalidParam("TagKeys must have at most %d keys.", maxTags)
	}
	for _, k := range in.TagKeys {
		if k == "" || len(k) > 128 {
			return invalidParam("Invalid tag key.")
		}
	}
	return nil
}

func (in *untagInput) RequestContext(*api.Call) map[string][]string {
	m := in.context()
	m[keyTagKeys] = in.TagKeys
	return m
}

func (s *Service) untagResource(ctx context.Context, _ *api.Call, in *untagInput) (any, error) {
	sec, err := in.live()
	if err != nil {
		return nil, err
	}
	_, err = s.mutate(ctx, sec.ARN, func(m *store.Secret) error {
		m.Tags = slices.DeleteFunc(m.Tags, func(t store.Tag) bool { return slices.Contains(in.TagKeys, t.Key) })
		return nil
	})
	return nil, err
}
