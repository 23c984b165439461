package kms

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/bulwark-security/bulwark/internal/api"
	"github.com/bulwark-security/bulwark/internal/store"
)

// Rotation periods (KMS API reference, EnableKeyRotation).
const (
	minRotationDays     = 90
	maxRotationDays     = 2560
	defaultRotationDays = 365
	// maxOnDemandRotations is AWS's lifetime limit of on-demand rotations.
	maxOnDemandRotations = 25
)

func day(n int) time.Duration { return time.Duration(n) * 24 * time.Hour }

// rotatable refuses keys that cannot rotate: only symmetric encryption
// keys of AWS_KMS origin do.
func rotatable(key *store.KMSKey) error {
	if key.KeySpec != specSymmetric || key.Origin != "AWS_KMS" {
		return kmsErr(codeUnsupported, "%s does not support automatic key rotation: only symmetric encryption keys do.", key.ARN)
	}
	return nil
}

type enableKeyRotationInput struct {
	keyInput
	RotationPeriodInDays *int `json:"RotationPeriodInDays"`
}

// Validate implements api.Validator.
func (in *enableKeyRotationInput) Validate() error {
	if d := in.RotationPeriodInDays; d != nil && (*d < minRotationDays || *d > maxRotationDays) {
		return validation("1 validation error detected: Value '%d' at 'rotationPeriodInDays' failed to satisfy constraint: Member must have value between %d and %d", *d, minRotationDays, maxRotationDays)
	}
	return nil
}

func (k *Keys) enableKeyRotation(ctx context.Context, _ *api.Call, in *enableKeyRotationInput) (any, error) {
	days := pageLimit(in.RotationPeriodInDays, defaultRotationDays)
	_, err := k.update(ctx, &in.t, func(key *store.KMSKey) error {
		if err := customerManaged(key); err != nil {
			return err
		}
		if err := rotatable(key); err != nil {
			return err
		}
		if key.State == stateDisabled {
			return kmsErr(codeDisabled, "%s is disabled.", key.ARN)
		}
		if err := notPending(key); err != nil {
			return err
		}
		key.RotationPeriodDays = days
		key.NextRotation = k.now().Add(day(days))
		return nil
	})
	return nil, err
}

func (k *Keys) disableKeyRotation(ctx context.Context, _ *api.Call, in *keyInput) (any, error) {
	_, err := k.update(ctx, &in.t, func(key *store.KMSKey) error {
		if err := customerManaged(key); err != nil {
			return err
		}
		if err := rotatable(key); err != nil {
			return err
		}
		if key.State == stateDisabled {
			return kmsErr(codeDisabled, "%s is disabled.", key.ARN)
		}
		if err := notPending(key); err != nil {
			return err
		}
		key.RotationPeriodDays, key.NextRotation = 0, time.Time{}
		return nil
	})
	return nil, err
}

type getKeyRotationStatusOutput struct {
	KeyRotationEnabled        bool   `json:"KeyRotationEnabled"`
	KeyId                     string `json:"KeyId"`
	RotationPeriodInDays      int    `json:"RotationPeriodInDays,omitempty"`
	NextRotationDate          *epoch `json:"NextRotationDate,omitempty"`
	OnDemandRotationStartDate *epoch `json:"OnDemandRotationStartDate,omitempty"`
}

func (k *Keys) getKeyRotationStatus(_ context.Context, _ *api.Call, in *keyInput) (any, error) {
	key := &in.t.key
	if err := rotatable(key); err != nil {
		return nil, err
	}
	if err := notPending(key); err != nil {
		return nil, err
	}
	out := getKeyRotationStatusOutput{KeyId: key.ARN}
	if key.RotationPeriodDays > 0 {
		out.KeyRotationEnabled = true
		out.RotationPeriodInDays = key.RotationPeriodDays
		out.NextRotationDate = epochPtr(key.NextRotation)
	}
	return out, nil
}

func (k *Keys) rotateKeyOnDemand(ctx context.Context, _ *api.Call, in *keyInput) (any, error) {
	key := in.t.key
	if err := customerManaged(&key); err != nil {
		return nil, err
	}
	if err := rotatable(&key); err != nil {
		return nil, err
	}
	if err := usable(&key); err != nil {
		return nil, err
	}
	mats, err := k.cfg.Store.ListKMSKeyMaterial(ctx, key.KeyID)
	if err != nil {
		return nil, internal(err)
	}
	onDemand := 0
	for _, m := range mats {
		if m.RotationType == "ON_DEMAND" {
			onDemand++
		}
	}
	if onDemand >= maxOnDemandRotations {
		return nil, kmsErr(codeLimitExceeded, "%s has been rotated on demand %d times, the limit.", key.ARN, maxOnDemandRotations)
	}
	if err := k.rotate(ctx, &key, "ON_DEMAND"); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return nil, kmsErr("ConflictException", "%s is being rotated.", key.ARN)
		}
		return nil, internal(err)
	}
	return keyIDOutput{KeyId: key.KeyID}, nil
}

// rotate adds new material to key and makes it current. The store makes
// the change only if the current version is still key's, so when several
// servers rotate the same key at once exactly one succeeds (the others
// get store.ErrConflict). An automatic rotation schedules the next one.
func (k *Keys) rotate(ctx context.Context, key *store.KMSKey, kind string) error {
	raw, _, err := newMaterial(key.KeySpec)
	if err != nil {
		return err
	}
	next := key.CurrentVersion + 1
	sealed, err := k.sealMaterial(key.KeyID, next, raw)
	if err != nil {
		return err
	}
	now := k.now()
	nextRotation := key.NextRotation
	if key.RotationPeriodDays > 0 && (kind == "AUTOMATIC" || nextRotation.IsZero()) {
		nextRotation = now.Add(day(key.RotationPeriodDays))
	}
	err = k.cfg.Store.RotateKMSKey(ctx, key.KeyID, key.CurrentVersion,
		store.KMSKeyMaterial{Sealed: sealed, RotationType: kind, CreatedAt: now}, nextRotation)
	k.changed(key.KeyID)
	if err != nil {
		return fmt.Errorf("rotate key %s: %w", key.KeyID, err)
	}
	return nil
}

type listKeyRotationsInput struct {
	keyInput
	Limit  *int   `json:"Limit"`
	Marker string `json:"Marker"`
}

// Validate implements api.Validator.
func (in *listKeyRotationsInput) Validate() error { return checkPage(in.Limit, in.Marker) }

type rotationEntry struct {
	KeyId        string `json:"KeyId"`
	RotationDate epoch  `json:"RotationDate"`
	RotationType string `json:"RotationType"`
}

type listKeyRotationsOutput struct {
	Rotations  []rotationEntry `json:"Rotations"`
	NextMarker string          `json:"NextMarker,omitempty"`
	Truncated  bool            `json:"Truncated"`
}

func (k *Keys) listKeyRotations(ctx context.Context, _ *api.Call, in *listKeyRotationsInput) (any, error) {
	key := &in.t.key
	if err := rotatable(key); err != nil {
		return nil, err
	}
	mats, err := k.cfg.Store.ListKMSKeyMaterial(ctx, key.KeyID)
	if err != nil {
		return nil, internal(err)
	}
	var all []rotationEntry
	for _, m := range mats {
		if m.Version > 1 {
			all = append(all, rotationEntry{KeyId: key.ARN, RotationDate: epoch(m.CreatedAt), RotationType: m.RotationType})
		}
	}
	start := 0
	if in.Marker != "" {
		n := 0
		if _, err := fmt.Sscanf(in.Marker, "%d", &n); err != nil || n < 0 || n > len(all) {
			return nil, kmsErr(codeInvalidMarker, "Invalid marker")
		}
		start = n
	}
	limit := pageLimit(in.Limit, 100)
	out := listKeyRotationsOutput{Rotations: []rotationEntry{}}
	all = all[start:]
	if len(all) > limit {
		all = all[:limit]
		out.Truncated, out.NextMarker = true, fmt.Sprint(start+limit)
	}
	out.Rotations = append(out.Rotations, all...)
	return out, nil
}

// Run rotates keys whose automatic rotation is due and deletes keys whose
// deletion date has passed, every interval, until ctx is done. Several
// servers may run it on one database: rotation and deletion are
// conditional in the store, so each due key is rotated or deleted once.
func (k *Keys) Run(ctx context.Context, interval time.Duration) error {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if _, _, err := k.Tick(ctx); err != nil && ctx.Err() == nil {
			k.cfg.Logger.Error("kms maintenance", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// Tick does one round of Run's work and reports how many keys this call
// rotated and deleted.
func (k *Keys) Tick(ctx context.Context) (rotated, deleted int, err error) {
	rot, rem, err := k.cfg.Store.DueKMSKeys(ctx, k.now(), 100)
	if err != nil {
		return 0, 0, fmt.Errorf("due keys: %w", err)
	}
	var errs []error
	for i := range rot {
		err := k.rotate(ctx, &rot[i], "AUTOMATIC")
		switch {
		case err == nil:
			rotated++
			k.cfg.Logger.Info("rotated KMS key", "keyId", rot[i].KeyID, "version", rot[i].CurrentVersion+1)
		case errors.Is(err, store.ErrConflict), errors.Is(err, store.ErrNotFound):
			// Another server rotated it (or it was deleted) meanwhile.
		default:
			errs = append(errs, err)
		}
	}
	for i := range rem {
		err := k.cfg.Store.DeleteKMSKey(ctx, rem[i].KeyID, rem[i].Gen)
		k.changed(rem[i].KeyID)
		switch {
		case err == nil:
			deleted++
			k.material.forget(rem[i].KeyID)
			k.policies.forget(rem[i].KeyID)
			k.cfg.Logger.Info("deleted KMS key", "keyId", rem[i].KeyID)
		case errors.Is(err, store.ErrConflict), errors.Is(err, store.ErrNotFound):
		default:
			errs = append(errs, fmt.Errorf("delete key %s: %w", rem[i].KeyID, err))
		}
	}
	return rotated, deleted, errors.Join(errs...)
}
