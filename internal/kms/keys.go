package kms

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/bulwark-security/bulwark/internal/api"
	"github.com/bulwark-security/bulwark/internal/awsproto"
	"github.com/bulwark-security/bulwark/internal/store"
)

// epoch encodes a time as KMS does: fractional seconds since 1970.
type epoch time.Time

// MarshalJSON implements json.Marshaler.
func (e epoch) MarshalJSON() ([]byte, error) {
	t := time.Time(e)
	return strconv.AppendFloat(nil, float64(t.UnixMilli())/1000, 'f', -1, 64), nil
}

func epochPtr(t time.Time) *epoch {
	if t.IsZero() {
		return nil
	}
	e := epoch(t)
	return &e
}

// keyInput is the KeyId every key action takes, and the key it resolved to.
type keyInput struct {
	KeyId string `json:"KeyId"`
	t     target
}

func (in *keyInput) keyRef() string { return in.KeyId }
func (in *keyInput) tgt() *target   { return &in.t }

// RequestContext implements api.ContextProvider: the key's condition keys.
func (in *keyInput) RequestContext(c *api.Call) map[string][]string { return in.t.context(c) }

func (t *target) context(c *api.Call) map[string][]string {
	if t.err != nil {
		return map[string][]string{"kms:CallerAccount": {c.Principal.AccountID}}
	}
	m := keyContext(c, &t.key, t.entry)
	if t.alias != "" {
		m["kms:RequestAlias"] = []string{t.alias}
	}
	return m
}

// grantTokens is the GrantTokens parameter: checked, otherwise unused
// (grants take effect at once here, so tokens are never needed).
type grantTokens []string

func (g grantTokens) check() error {
	if len(g) > 10 {
		return validation("1 validation error detected: Value at 'grantTokens' failed to satisfy constraint: Member must have length less than or equal to 10")
	}
	for _, t := range g {
		if len(t) == 0 || len(t) > 8192 {
			return kmsErr(codeInvalidGrantToken, "Invalid grant token")
		}
	}
	return nil
}

// KeyMetadata is the KMS KeyMetadata shape.
type KeyMetadata struct {
	AWSAccountId          string   `json:"AWSAccountId"`
	KeyId                 string   `json:"KeyId"`
	Arn                   string   `json:"Arn"`
	CreationDate          epoch    `json:"CreationDate"`
	Enabled               bool     `json:"Enabled"`
	Description           string   `json:"Description"`
	KeyUsage              string   `json:"KeyUsage"`
	KeyState              string   `json:"KeyState"`
	DeletionDate          *epoch   `json:"DeletionDate,omitempty"`
	Origin                string   `json:"Origin"`
	KeyManager            string   `json:"KeyManager"`
	CustomerMasterKeySpec string   `json:"CustomerMasterKeySpec"`
	KeySpec               string   `json:"KeySpec"`
	EncryptionAlgorithms  []string `json:"EncryptionAlgorithms,omitempty"`
	SigningAlgorithms     []string `json:"SigningAlgorithms,omitempty"`
	MacAlgorithms         []string `json:"MacAlgorithms,omitempty"`
	MultiRegion           bool     `json:"MultiRegion"`
}

func metadata(k *store.KMSKey) KeyMetadata {
	return KeyMetadata{
		AWSAccountId: k.AccountID, KeyId: k.KeyID, Arn: k.ARN, CreationDate: epoch(k.CreatedAt),
		Enabled: k.State == stateEnabled, Description: k.Description, KeyUsage: k.KeyUsage, KeyState: k.State,
		DeletionDate: epochPtr(k.DeletionDate), Origin: k.Origin, KeyManager: k.Manager,
		CustomerMasterKeySpec: k.KeySpec, KeySpec: k.KeySpec,
		EncryptionAlgorithms: encryptionAlgorithms(k), SigningAlgorithms: signingAlgorithms(k), MacAlgorithms: macAlgorithms(k),
	}
}

func encryptionAlgorithms(k *store.KMSKey) []string {
	switch {
	case k.KeyUsage != usageEncrypt:
		return nil
	case k.KeySpec == specSymmetric:
		return []string{algSymmetric}
	}
	return []string{algOAEPSHA1, algOAEPSHA256}
}

func signingAlgorithms(k *store.KMSKey) []string {
	if k.KeyUsage != usageSign {
		return nil
	}
	switch k.KeySpec {
	case specP256:
		return []string{"ECDSA_SHA_256"}
	case specP384:
		return []string{"ECDSA_SHA_384"}
	}
	return []string{"RSASSA_PKCS1_V1_5_SHA_256", "RSASSA_PKCS1_V1_5_SHA_384", "RSASSA_PKCS1_V1_5_SHA_512",
		"RSASSA_PSS_SHA_256", "RSASSA_PSS_SHA_384", "RSASSA_PSS_SHA_512"}
}

func macAlgorithms(k *store.KMSKey) []string {
	if k.KeyUsage != usageMAC {
		return nil
	}
	return []string{"HMAC_SHA_256"}
}

// newKeyID returns a random (version 4) UUID.
func newKeyID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return uuidString(b)
}

// --- CreateKey

type kmsTag struct {
	TagKey   string `json:"TagKey"`
	TagValue string `json:"TagValue"`
}

type createKeyInput struct {
	Policy                         string   `json:"Policy"`
	Description                    string   `json:"Description"`
	KeyUsage                       string   `json:"KeyUsage"`
	CustomerMasterKeySpec          string   `json:"CustomerMasterKeySpec"`
	KeySpec                        string   `json:"KeySpec"`
	Origin                         string   `json:"Origin"`
	CustomKeyStoreId               string   `json:"CustomKeyStoreId"`
	BypassPolicyLockoutSafetyCheck bool     `json:"BypassPolicyLockoutSafetyCheck"`
	Tags                           []kmsTag `json:"Tags"`
	MultiRegion                    bool     `json:"MultiRegion"`
	XksKeyId                       string   `json:"XksKeyId"`
}

const maxDescription = 8192

// Validate implements api.Validator.
func (in *createKeyInput) Validate() error {
	if in.KeySpec == "" {
		in.KeySpec = in.CustomerMasterKeySpec
	} else if in.CustomerMasterKeySpec != "" && in.CustomerMasterKeySpec != in.KeySpec {
		return validation("You cannot specify KeySpec and CustomerMasterKeySpec in the same request. CustomerMasterKeySpec parameter is deprecated. Use KeySpec parameter instead.")
	}
	if in.KeySpec == "" {
		in.KeySpec = specSymmetric
	}
	usages, ok := specUsages[in.KeySpec]
	if !ok {
		return validation("1 validation error detected: Value '%s' at 'keySpec' failed to satisfy constraint: Member must satisfy enum value set: [RSA_2048, RSA_3072, RSA_4096, ECC_NIST_P256, ECC_NIST_P384, HMAC_256, SYMMETRIC_DEFAULT]", in.KeySpec)
	}
	if in.KeyUsage == "" {
		if in.KeySpec != specSymmetric && in.KeySpec != specHMAC256 && len(usages) > 1 {
			return validation("You must specify a KeyUsage value for an asymmetric KMS key.")
		}
		in.KeyUsage = usages[0]
	}
	switch in.KeyUsage {
	case usageEncrypt, usageSign, usageMAC:
	default:
		return validation("1 validation error detected: Value '%s' at 'keyUsage' failed to satisfy constraint: Member must satisfy enum value set: [ENCRYPT_DECRYPT, SIGN_VERIFY, GENERATE_VERIFY_MAC]", in.KeyUsage)
	}
	found := false
	for _, u := range usages {
		found = found || u == in.KeyUsage
	}
	if !found {
		return validation("KeyUsage %s is not compatible with KeySpec %s", in.KeyUsage, in.KeySpec)
	}
	switch in.Origin {
	case "", "AWS_KMS":
		in.Origin = "AWS_KMS"
	case "EXTERNAL", "AWS_CLOUDHSM", "EXTERNAL_KEY_STORE":
		return kmsErr(codeUnsupported, "Origin %s is not supported by this endpoint.", in.Origin)
	default:
		return validation("1 validation error detected: Value '%s' at 'origin' failed to satisfy constraint: Member must satisfy enum value set: [EXTERNAL, AWS_CLOUDHSM, AWS_KMS, EXTERNAL_KEY_STORE]", in.Origin)
	}
	if in.CustomKeyStoreId != "" || in.XksKeyId != "" {
		return kmsErr(codeUnsupported, "Custom key stores are not supported by this endpoint.")
	}
	if in.MultiRegion {
		return kmsErr(codeUnsupported, "Multi-Region keys are not supported by this endpoint.")
	}
	if len(in.Description) > maxDescription {
		return validation("1 validation error detected: Value at 'description' failed to satisfy constraint: Member must have length less than or equal to %d", maxDescription)
	}
	if in.Policy != "" {
		if _, err := parseKeyPolicy(in.Policy); err != nil {
			return err
		}
	}
	return checkTags(in.Tags)
}

// RequestContext implements api.ContextProvider.
func (in *createKeyInput) RequestContext(c *api.Call) map[string][]string {
	m := map[string][]string{
		"kms:CallerAccount": {c.Principal.AccountID},
		"kms:KeySpec":       {in.KeySpec}, "kms:KeyUsage": {in.KeyUsage}, "kms:KeyOrigin": {in.Origin},
		"kms:CustomerMasterKeySpec": {in.KeySpec}, "kms:CustomerMasterKeyUsage": {in.KeyUsage},
		"kms:MultiRegion": {"false"},
	}
	return tagContext(m, in.Tags)
}

const maxTags = 50

func checkTags(tags []kmsTag) error {
	if len(tags) > maxTags {
		return kmsErr(codeTag, "Too many tags: %d, the limit is %d.", len(tags), maxTags)
	}
	seen := make(map[string]bool, len(tags))
	for _, t := range tags {
		switch {
		case len(t.TagKey) == 0 || len(t.TagKey) > 128:
			return kmsErr(codeTag, "Tag keys must be 1 to 128 characters long.")
		case len(t.TagValue) > 256:
			return kmsErr(codeTag, "Tag values must be at most 256 characters long.")
		case strings.HasPrefix(strings.ToLower(t.TagKey), "aws:"):
			return kmsErr(codeTag, "Tags beginning with aws: are reserved.")
		case seen[t.TagKey]:
			return kmsErr(codeTag, "Duplicate tag key %s.", t.TagKey)
		}
		seen[t.TagKey] = true
	}
	return nil
}

func tagContext(m map[string][]string, tags []kmsTag) map[string][]string {
	if len(tags) == 0 {
		return m
	}
	keys := make([]string, 0, len(tags))
	for _, t := range tags {
		m["aws:RequestTag/"+t.TagKey] = []string{t.TagValue}
		keys = append(keys, t.TagKey)
	}
	m["aws:TagKeys"] = keys
	return m
}

func storeTags(tags []kmsTag) []store.Tag {
	if len(tags) == 0 {
		return nil
	}
	out := make([]store.Tag, len(tags))
	for i, t := range tags {
		out[i] = store.Tag{Key: t.TagKey, Value: t.TagValue}
	}
	return out
}

type keyMetadataOutput struct {
	KeyMetadata KeyMetadata `json:"KeyMetadata"`
}

func (k *Keys) createKey(ctx context.Context, c *api.Call, in *createKeyInput) (any, error) {
	account, region := c.Principal.AccountID, c.Region
	id := newKeyID()
	key := store.KMSKey{
		KeyID: id, AccountID: account, Region: region, ARN: keyARN(region, account, id),
		Description: in.Description, KeySpec: in.KeySpec, KeyUsage: in.KeyUsage, Origin: in.Origin,
		Manager: "CUSTOMER", State: stateEnabled, CreatedAt: k.now(), Policy: in.Policy,
		Tags: storeTags(in.Tags), CurrentVersion: 1, Gen: 1,
	}
	if key.Policy == "" {
		key.Policy = defaultKeyPolicy(account)
	} else if !in.BypassPolicyLockoutSafetyCheck {
		if err := k.lockoutCheck(ctx, c, &key); err != nil {
			return nil, err
		}
	}
	if err := k.insertKey(ctx, &key, nil); err != nil {
		return nil, err
	}
	return keyMetadataOutput{metadata(&key)}, nil
}

// lockoutCheck refuses a key policy that would not let the caller change
// it later (AWS's policy lockout safety check).
func (k *Keys) lockoutCheck(ctx context.Context, c *api.Call, key *store.KMSKey) error {
	pol, err := parseKeyPolicy(key.Policy)
	if err != nil {
		return err
	}
	err = k.authorize(ctx, c, "PutKeyPolicy", key, &policyEntry{policy: pol}, nil)
	if err == nil {
		return nil
	}
	if e := awsproto.As(err); e.Code == k.svc.AccessDeniedCode {
		return kmsErr(codeMalformedPolicy, "The new key policy will not allow you to update the key policy in the future.")
	}
	return err
}

// insertKey generates the key's first material and stores the key (with
// an alias if given).
func (k *Keys) insertKey(ctx context.Context, key *store.KMSKey, alias *store.KMSAlias) error {
	raw, public, err := newMaterial(key.KeySpec)
	if err != nil {
		return internal(err)
	}
	key.PublicKey = public
	if key.PublicKey == nil {
		key.PublicKey = []byte{}
	}
	sealed, err := k.sealMaterial(key.KeyID, 1, raw)
	if err != nil {
		return internal(err)
	}
	mat := store.KMSKeyMaterial{KeyID: key.KeyID, Version: 1, Sealed: sealed, CreatedAt: key.CreatedAt}
	if err := k.cfg.Store.CreateKMSKey(ctx, *key, mat, alias); err != nil {
		return fmt.Errorf("create key: %w", err)
	}
	return nil
}

// managedSecretsAlias is the alias of Secrets Manager's AWS managed key.
const managedSecretsAlias = "alias/aws/secretsmanager"

// ensureManagedKey returns the AWS managed key behind alias, creating it
// on first use. Servers racing to create it are decided by the alias's
// uniqueness: the loser's key is not inserted and it reads the winner's.
func (k *Keys) ensureManagedKey(ctx context.Context, account, region, alias string) (store.KMSKey, error) {
	k.managed.Lock()
	defer k.managed.Unlock()
	if a, err := k.cfg.Store.GetKMSAlias(ctx, account, region, alias); err == nil {
		return k.getKey(ctx, a.KeyID)
	}
	id := newKeyID()
	now := k.now()
	key := store.KMSKey{
		KeyID: id, AccountID: account, Region: region, ARN: keyARN(region, account, id),
		Description: "Default key that protects my Secrets Manager data when no other key is defined",
		KeySpec:     specSymmetric, KeyUsage: usageEncrypt, Origin: "AWS_KMS", Manager: "AWS", State: stateEnabled,
		CreatedAt: now, Policy: managedSecretsPolicy(account, region), CurrentVersion: 1, Gen: 1,
		// AWS rotates AWS managed keys every year.
		RotationPeriodDays: 365, NextRotation: now.Add(365 * 24 * time.Hour),
	}
	err := k.insertKey(ctx, &key, &store.KMSAlias{AccountID: account, Region: region, Name: alias, KeyID: id, CreatedAt: now, UpdatedAt: now})
	if errors.Is(err, store.ErrConflict) {
		a, err := k.cfg.Store.GetKMSAlias(ctx, account, region, alias)
		if err != nil {
			return store.KMSKey{}, internal(fmt.Errorf("load managed key alias %s: %w", alias, err))
		}
		return k.getKey(ctx, a.KeyID)
	}
	if err != nil {
		return store.KMSKey{}, internal(err)
	}
	k.cfg.Logger.Info("created AWS managed KMS key", "alias", alias, "account", account, "keyId", id)
	return key, nil
}

// --- DescribeKey, ListKeys

type describeKeyInput struct {
	keyInput
	GrantTokens grantTokens `json:"GrantTokens"`
}

// Validate implements api.Validator.
func (in *describeKeyInput) Validate() error { return in.GrantTokens.check() }

func (k *Keys) describeKey(_ context.Context, _ *api.Call, in *describeKeyInput) (any, error) {
	return keyMetadataOutput{metadata(&in.t.key)}, nil
}

type listKeysInput struct {
	Limit  *int   `json:"Limit"`
	Marker string `json:"Marker"`
}

// Validate implements api.Validator.
func (in *listKeysInput) Validate() error { return checkPage(in.Limit, in.Marker) }

func checkPage(limit *int, marker string) error {
	if limit != nil && (*limit < 1 || *limit > 1000) {
		return validation("1 validation error detected: Value '%d' at 'limit' failed to satisfy constraint: Member must have value between 1 and 1000", *limit)
	}
	if len(marker) > 1024 {
		return kmsErr(codeInvalidMarker, "Invalid marker")
	}
	return nil
}

func pageLimit(limit *int, def int) int {
	if limit == nil {
		return def
	}
	return *limit
}

type keyListEntry struct {
	KeyId  string `json:"KeyId"`
	KeyArn string `json:"KeyArn"`
}

type listKeysOutput struct {
	Keys       []keyListEntry `json:"Keys"`
	NextMarker string         `json:"NextMarker,omitempty"`
	Truncated  bool           `json:"Truncated"`
}

func (k *Keys) listKeys(ctx context.Context, c *api.Call, in *listKeysInput) (any, error) {
	if in.Marker != "" && !isUUID(in.Marker) {
		return nil, kmsErr(codeInvalidMarker, "Invalid marker")
	}
	limit := pageLimit(in.Limit, 100)
	keys, err := k.cfg.Store.ListKMSKeys(ctx, c.Principal.AccountID, c.Region, in.Marker, limit+1)
	if err != nil {
		return nil, internal(err)
	}
	out := listKeysOutput{Keys: []keyListEntry{}}
	if len(keys) > limit {
		keys = keys[:limit]
		out.Truncated, out.NextMarker = true, keys[limit-1].KeyID
	}
	for _, key := range keys {
		out.Keys = append(out.Keys, keyListEntry{KeyId: key.KeyID, KeyArn: key.ARN})
	}
	return out, nil
}

// --- state changes

// update applies change to the key the request bound and writes it,
// retrying on a concurrent change (re-reading the key), so two servers'
// changes never overwrite each other.
func (k *Keys) update(ctx context.Context, t *target, change func(key *store.KMSKey) error) (store.KMSKey, error) {
	key := t.key
	for attempt := 0; ; attempt++ {
		if err := change(&key); err != nil {
			return key, err
		}
		gen, err := k.cfg.Store.UpdateKMSKey(ctx, key)
		if err == nil {
			key.Gen = gen
			k.changed(key.KeyID)
			return key, nil
		}
		if !errors.Is(err, store.ErrConflict) || attempt == 5 {
			return key, internal(err)
		}
		if key, err = k.loadKey(ctx, t.key.KeyID); err != nil {
			return key, err
		}
	}
}

// customerManaged refuses changes to AWS managed keys.
func customerManaged(key *store.KMSKey) error {
	if key.Manager == "AWS" {
		return kmsErr(codeUnsupported, "%s is an AWS managed key; its configuration cannot be changed.", key.ARN)
	}
	return nil
}

func notPending(key *store.KMSKey) error {
	if key.State == statePendingDeletion {
		return kmsErr(codeInvalidState, "%s is pending deletion.", key.ARN)
	}
	return nil
}

func (k *Keys) enableKey(ctx context.Context, _ *api.Call, in *keyInput) (any, error) {
	_, err := k.update(ctx, &in.t, func(key *store.KMSKey) error {
		if err := customerManaged(key); err != nil {
			return err
		}
		if err := notPending(key); err != nil {
			return err
		}
		key.State = stateEnabled
		return nil
	})
	return nil, err
}

func (k *Keys) disableKey(ctx context.Context, _ *api.Call, in *keyInput) (any, error) {
	_, err := k.update(ctx, &in.t, func(key *store.KMSKey) error {
		if err := customerManaged(key); err != nil {
			return err
		}
		if err := notPending(key); err != nil {
			return err
		}
		key.State = stateDisabled
		return nil
	})
	k.material.forget(in.t.key.KeyID)
	return nil, err
}

type scheduleKeyDeletionInput struct {
	keyInput
	PendingWindowInDays *int `json:"PendingWindowInDays"`
}

// Validate implements api.Validator.
func (in *scheduleKeyDeletionInput) Validate() error {
	if d := in.PendingWindowInDays; d != nil && (*d < 7 || *d > 30) {
		return validation("1 validation error detected: Value '%d' at 'pendingWindowInDays' failed to satisfy constraint: Member must have value between 7 and 30", *d)
	}
	return nil
}

type scheduleKeyDeletionOutput struct {
	KeyId               string `json:"KeyId"`
	DeletionDate        *epoch `json:"DeletionDate"`
	KeyState            string `json:"KeyState"`
	PendingWindowInDays int    `json:"PendingWindowInDays"`
}

func (k *Keys) scheduleKeyDeletion(ctx context.Context, _ *api.Call, in *scheduleKeyDeletionInput) (any, error) {
	days := pageLimit(in.PendingWindowInDays, 30)
	key, err := k.update(ctx, &in.t, func(key *store.KMSKey) error {
		if err := customerManaged(key); err != nil {
			return err
		}
		if err := notPending(key); err != nil {
			return err
		}
		key.State, key.PendingWindowDays = statePendingDeletion, days
		key.DeletionDate = k.now().Add(time.Duration(days) * 24 * time.Hour)
		return nil
	})
	if err != nil {
		return nil, err
	}
	k.material.forget(key.KeyID)
	return scheduleKeyDeletionOutput{KeyId: key.ARN, DeletionDate: epochPtr(key.DeletionDate), KeyState: key.State, PendingWindowInDays: days}, nil
}

type keyIDOutput struct {
	KeyId string `json:"KeyId"`
}

func (k *Keys) cancelKeyDeletion(ctx context.Context, _ *api.Call, in *keyInput) (any, error) {
	key, err := k.update(ctx, &in.t, func(key *store.KMSKey) error {
		if key.State != statePendingDeletion {
			return kmsErr(codeInvalidState, "%s is not pending deletion.", key.ARN)
		}
		// AWS leaves a key whose deletion was canceled disabled.
		key.State, key.DeletionDate, key.PendingWindowDays = stateDisabled, time.Time{}, 0
		return nil
	})
	if err != nil {
		return nil, err
	}
	return keyIDOutput{KeyId: key.ARN}, nil
}

type updateKeyDescriptionInput struct {
	keyInput
	Description *string `json:"Description"`
}

// Validate implements api.Validator.
func (in *updateKeyDescriptionInput) Validate() error {
	if in.Description == nil {
		return validation("1 validation error detected: Value null at 'description' failed to satisfy constraint: Member must not be null")
	}
	if len(*in.Description) > maxDescription {
		return validation("1 validation error detected: Value at 'description' failed to satisfy constraint: Member must have length less than or equal to %d", maxDescription)
	}
	return nil
}

func (k *Keys) updateKeyDescription(ctx context.Context, _ *api.Call, in *updateKeyDescriptionInput) (any, error) {
	_, err := k.update(ctx, &in.t, func(key *store.KMSKey) error {
		if err := customerManaged(key); err != nil {
			return err
		}
		if err := notPending(key); err != nil {
			return err
		}
		key.Description = *in.Description
		return nil
	})
	return nil, err
}

// --- key policies

type getKeyPolicyInput struct {
	keyInput
	PolicyName string `json:"PolicyName"`
}

// Validate implements api.Validator.
func (in *getKeyPolicyInput) Validate() error { return checkPolicyName(in.PolicyName, false) }

func checkPolicyName(name string, required bool) error {
	switch {
	case name == "" && !required:
		return nil
	case name == "":
		return validation("1 validation error detected: Value null at 'policyName' failed to satisfy constraint: Member must not be null")
	case name != "default":
		return notFound("No such policy exists")
	}
	return nil
}

type getKeyPolicyOutput struct {
	Policy     string `json:"Policy"`
	PolicyName string `json:"PolicyName"`
}

func (k *Keys) getKeyPolicy(_ context.Context, _ *api.Call, in *getKeyPolicyInput) (any, error) {
	return getKeyPolicyOutput{Policy: in.t.key.Policy, PolicyName: "default"}, nil
}

type listKeyPoliciesInput struct {
	keyInput
	Limit  *int   `json:"Limit"`
	Marker string `json:"Marker"`
}

// Validate implements api.Validator.
func (in *listKeyPoliciesInput) Validate() error { return checkPage(in.Limit, in.Marker) }

type listKeyPoliciesOutput struct {
	PolicyNames []string `json:"PolicyNames"`
	Truncated   bool     `json:"Truncated"`
}

func (k *Keys) listKeyPolicies(_ context.Context, _ *api.Call, in *listKeyPoliciesInput) (any, error) {
	if in.Marker != "" {
		return listKeyPoliciesOutput{PolicyNames: []string{}}, nil
	}
	return listKeyPoliciesOutput{PolicyNames: []string{"default"}}, nil
}

type putKeyPolicyInput struct {
	keyInput
	PolicyName                     string `json:"PolicyName"`
	Policy                         string `json:"Policy"`
	BypassPolicyLockoutSafetyCheck bool   `json:"BypassPolicyLockoutSafetyCheck"`
}

// Validate implements api.Validator.
func (in *putKeyPolicyInput) Validate() error {
	if err := checkPolicyName(in.PolicyName, false); err != nil {
		return err
	}
	_, err := parseKeyPolicy(in.Policy)
	return err
}

func (k *Keys) putKeyPolicy(ctx context.Context, c *api.Call, in *putKeyPolicyInput) (any, error) {
	if err := customerManaged(&in.t.key); err != nil {
		return nil, err
	}
	if !in.BypassPolicyLockoutSafetyCheck {
		probe := in.t.key
		probe.Policy = in.Policy
		if err := k.lockoutCheck(ctx, c, &probe); err != nil {
			return nil, err
		}
	}
	_, err := k.update(ctx, &in.t, func(key *store.KMSKey) error {
		if err := notPending(key); err != nil {
			return err
		}
		key.Policy = in.Policy
		return nil
	})
	return nil, err
}

// --- tags

type tagResourceInput struct {
	keyInput
	Tags []kmsTag `json:"Tags"`
}

// Validate implements api.Validator.
func (in *tagResourceInput) Validate() error {
	if len(in.Tags) == 0 {
		return validation("1 validation error detected: Value null at 'tags' failed to satisfy constraint: Member must not be null")
	}
	return checkTags(in.Tags)
}

// RequestContext implements api.ContextProvider.
func (in *tagResourceInput) RequestContext(c *api.Call) map[string][]string {
	return tagContext(in.t.context(c), in.Tags)
}

func (k *Keys) tagResource(ctx context.Context, _ *api.Call, in *tagResourceInput) (any, error) {
	_, err := k.update(ctx, &in.t, func(key *store.KMSKey) error {
		if err := customerManaged(key); err != nil {
			return err
		}
		if err := notPending(key); err != nil {
			return err
		}
		tags := append([]store.Tag(nil), key.Tags...)
		for _, t := range in.Tags {
			replaced := false
			for i := range tags {
				if tags[i].Key == t.TagKey {
					tags[i].Value, replaced = t.TagValue, true
				}
			}
			if !replaced {
				tags = append(tags, store.Tag{Key: t.TagKey, Value: t.TagValue})
			}
		}
		if len(tags) > maxTags {
			return kmsErr(codeTag, "The key would have %d tags; the limit is %d.", len(tags), maxTags)
		}
		key.Tags = tags
		return nil
	})
	return nil, err
}

type untagResourceInput struct {
	keyInput
	TagKeys []string `json:"TagKeys"`
}

// Validate implements api.Validator.
func (in *untagResourceInput) Validate() error {
	if len(in.TagKeys) == 0 || len(in.TagKeys) > maxTags {
		return validation("1 validation error detected: Value at 'tagKeys' failed to satisfy constraint: Member must have length between 1 and %d", maxTags)
	}
	return nil
}

// RequestContext implements api.ContextProvider.
func (in *untagResourceInput) RequestContext(c *api.Call) map[string][]string {
	m := in.t.context(c)
	m["aws:TagKeys"] = in.TagKeys
	return m
}

func (k *Keys) untagResource(ctx context.Context, _ *api.Call, in *untagResourceInput) (any, error) {
	_, err := k.update(ctx, &in.t, func(key *store.KMSKey) error {
		if err := customerManaged(key); err != nil {
			return err
		}
		if err := notPending(key); err != nil {
			return err
		}
		var tags []store.Tag
		for _, t := range key.Tags {
			drop := false
			for _, d := range in.TagKeys {
				drop = drop || d == t.Key
			}
			if !drop {
				tags = append(tags, t)
			}
		}
		key.Tags = tags
		return nil
	})
	return nil, err
}

type listResourceTagsInput struct {
	keyInput
	Limit  *int   `json:"Limit"`
	Marker string `json:"Marker"`
}

// Validate implements api.Validator.
func (in *listResourceTagsInput) Validate() error { return checkPage(in.Limit, in.Marker) }

type listResourceTagsOutput struct {
	Tags       []kmsTag `json:"Tags"`
	NextMarker string   `json:"NextMarker,omitempty"`
	Truncated  bool     `json:"Truncated"`
}

func (k *Keys) listResourceTags(_ context.Context, _ *api.Call, in *listResourceTagsInput) (any, error) {
	start := 0
	if in.Marker != "" {
		n, err := strconv.Atoi(in.Marker)
		if err != nil || n < 0 || n > len(in.t.key.Tags) {
			return nil, kmsErr(codeInvalidMarker, "Invalid marker")
		}
		start = n
	}
	limit := pageLimit(in.Limit, 50)
	out := listResourceTagsOutput{Tags: []kmsTag{}}
	tags := in.t.key.Tags[start:]
	if len(tags) > limit {
		tags = tags[:limit]
		out.Truncated, out.NextMarker = true, strconv.Itoa(start+limit)
	}
	for _, t := range tags {
		out.Tags = append(out.Tags, kmsTag{TagKey: t.Key, TagValue: t.Value})
	}
	return out, nil
}
