package kms

import (
	"context"
	"errors"
	"regexp"
	"strings"

	"github.com/bulwark-security/bulwark/internal/api"
	"github.com/bulwark-security/bulwark/internal/store"
)

// aliasNameRE is AWS's AliasName pattern: "alias/" then letters, digits,
// "/", "_" and "-", 1 to 256 characters in all.
var aliasNameRE = regexp.MustCompile(`^alias/[a-zA-Z0-9/_-]+$`)

func checkAliasName(name string, creating bool) error {
	switch {
	case name == "":
		return validation("1 validation error detected: Value null at 'aliasName' failed to satisfy constraint: Member must not be null")
	case len(name) > 256:
		return validation("1 validation error detected: Value at 'aliasName' failed to satisfy constraint: Member must have length less than or equal to 256")
	case !aliasNameRE.MatchString(name):
		return validation("1 validation error detected: Value '%s' at 'aliasName' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[a-zA-Z0-9:/_-]+$", name)
	case creating && (strings.HasPrefix(name, "alias/aws/") || name == "alias/aws"):
		return kmsErr(codeInvalidAliasName, "Alias must not begin with 'alias/aws/'. The 'alias/aws/' prefix is reserved for AWS managed keys.")
	}
	return nil
}

// aliasTarget is the TargetKeyId of CreateAlias and UpdateAlias: a key id
// or key ARN, never an alias.
type aliasTarget struct {
	AliasName   string `json:"AliasName"`
	TargetKeyId string `json:"TargetKeyId"`
	t           target
}

func (in *aliasTarget) keyRef() string { return in.TargetKeyId }
func (in *aliasTarget) tgt() *target   { return &in.t }

// RequestContext implements api.ContextProvider.
func (in *aliasTarget) RequestContext(c *api.Call) map[string][]string { return in.t.context(c) }

// Validate implements api.Validator.
func (in *aliasTarget) Validate() error {
	if err := checkAliasName(in.AliasName, true); err != nil {
		return err
	}
	if in.TargetKeyId == "" {
		return validation("1 validation error detected: Value null at 'targetKeyId' failed to satisfy constraint: Member must not be null")
	}
	if strings.HasPrefix(in.TargetKeyId, "alias/") || strings.Contains(in.TargetKeyId, ":alias/") {
		return validation("Aliases must refer to keys. Not aliases")
	}
	return nil
}

func (k *Keys) createAlias(ctx context.Context, c *api.Call, in *aliasTarget) (any, error) {
	key := &in.t.key
	// The key's authorisation was the server's; the alias ARN needs
	// kms:CreateAlias in an IAM policy as well (KMS Developer Guide,
	// "Controlling access to aliases").
	if err := k.authorizeIAM(ctx, c, "CreateAlias", aliasARN(c.Region, c.Principal.AccountID, in.AliasName)); err != nil {
		return nil, err
	}
	if key.AccountID != c.Principal.AccountID {
		return nil, notFound("Key '%s' does not exist", key.ARN)
	}
	if err := customerManaged(key); err != nil {
		return nil, err
	}
	if err := notPending(key); err != nil {
		return nil, err
	}
	now := k.now()
	err := k.cfg.Store.CreateKMSAlias(ctx, store.KMSAlias{AccountID: key.AccountID, Region: key.Region, Name: in.AliasName,
		KeyID: key.KeyID, CreatedAt: now, UpdatedAt: now})
	switch {
	case errors.Is(err, store.ErrConflict):
		return nil, kmsErr(codeAlreadyExists, "An alias with the name %s already exists", aliasARN(key.Region, key.AccountID, in.AliasName))
	case errors.Is(err, store.ErrNotFound):
		return nil, notFound("Key '%s' does not exist", key.ARN)
	case err != nil:
		return nil, internal(err)
	}
	if len(in.t.entry.aliases) >= maxAliasesPerKey {
		// The alias counts against the key's limit; it still works.
		k.cfg.Logger.Warn("KMS key has many aliases; kms:ResourceAliases lists the first 50", "keyId", key.KeyID)
	}
	k.touch(ctx, key.KeyID)
	return nil, nil
}

// touch bumps a key's gen after a change that does not go through
// UpdateKMSKey (aliases), so cached policy entries (kms:ResourceAliases)
// are rebuilt by every server.
func (k *Keys) touch(ctx context.Context, id string) {
	defer k.changed(id)
	for range 5 {
		key, err := k.cfg.Store.GetKMSKey(ctx, id)
		if err != nil {
			return
		}
		if _, err := k.cfg.Store.UpdateKMSKey(ctx, key); !errors.Is(err, store.ErrConflict) {
			return
		}
	}
}

func (k *Keys) updateAlias(ctx context.Context, c *api.Call, in *aliasTarget) (any, error) {
	key := &in.t.key
	account, region := c.Principal.AccountID, c.Region
	if err := k.authorizeIAM(ctx, c, "UpdateAlias", aliasARN(region, account, in.AliasName)); err != nil {
		return nil, err
	}
	old, err := k.cfg.Store.GetKMSAlias(ctx, account, region, in.AliasName)
	if errors.Is(err, store.ErrNotFound) {
		return nil, notFound("Alias %s is not found.", aliasARN(region, account, in.AliasName))
	}
	if err != nil {
		return nil, internal(err)
	}
	// The key the alias leaves needs kms:UpdateAlias too.
	var from target
	k.bindKey(ctx, c, old.KeyID, &from)
	if from.err != nil {
		return nil, from.err
	}
	if err := k.authorize(ctx, c, "UpdateAlias", &from.key, from.entry, nil); err != nil {
		return nil, err
	}
	if key.AccountID != account {
		return nil, notFound("Key '%s' does not exist", key.ARN)
	}
	if err := customerManaged(key); err != nil {
		return nil, err
	}
	if err := notPending(key); err != nil {
		return nil, err
	}
	if from.key.KeySpec != key.KeySpec || from.key.KeyUsage != key.KeyUsage {
		return nil, validation("The alias can only point to a key of the same key spec and key usage.")
	}
	err = k.cfg.Store.UpdateKMSAlias(ctx, account, region, in.AliasName, key.KeyID, k.now())
	if errors.Is(err, store.ErrNotFound) {
		return nil, notFound("Alias %s is not found.", aliasARN(region, account, in.AliasName))
	}
	if err != nil {
		return nil, internal(err)
	}
	k.touch(ctx, old.KeyID)
	k.touch(ctx, key.KeyID)
	return nil, nil
}

// deleteAliasInput names the alias; its key is what authorisation
// checks (kms:DeleteAlias on the key and on the alias).
type deleteAliasInput struct {
	AliasName string `json:"AliasName"`
	t         target
}

func (in *deleteAliasInput) keyRef() string { return in.AliasName }
func (in *deleteAliasInput) tgt() *target   { return &in.t }

// RequestContext implements api.ContextProvider.
func (in *deleteAliasInput) RequestContext(c *api.Call) map[string][]string {
	return in.t.context(c)
}

// Validate implements api.Validator.
func (in *deleteAliasInput) Validate() error {
	if err := checkAliasName(in.AliasName, false); err != nil {
		return err
	}
	if strings.HasPrefix(in.AliasName, "alias/aws/") {
		return kmsErr(codeInvalidAliasName, "Alias must not begin with 'alias/aws/'. The 'alias/aws/' prefix is reserved for AWS managed keys.")
	}
	return nil
}

func (k *Keys) deleteAlias(ctx context.Context, c *api.Call, in *deleteAliasInput) (any, error) {
	account, region := c.Principal.AccountID, c.Region
	if err := k.authorizeIAM(ctx, c, "DeleteAlias", aliasARN(region, account, in.AliasName)); err != nil {
		return nil, err
	}
	err := k.cfg.Store.DeleteKMSAlias(ctx, account, region, in.AliasName)
	if errors.Is(err, store.ErrNotFound) {
		return nil, notFound("Alias %s is not found.", aliasARN(region, account, in.AliasName))
	}
	if err != nil {
		return nil, internal(err)
	}
	k.touch(ctx, in.t.key.KeyID)
	return nil, nil
}

type listAliasesInput struct {
	KeyId  string `json:"KeyId"`
	Limit  *int   `json:"Limit"`
	Marker string `json:"Marker"`
}

// Validate implements api.Validator.
func (in *listAliasesInput) Validate() error { return checkPage(in.Limit, in.Marker) }

type aliasListEntry struct {
	AliasName       string `json:"AliasName"`
	AliasArn        string `json:"AliasArn"`
	TargetKeyId     string `json:"TargetKeyId,omitempty"`
	CreationDate    *epoch `json:"CreationDate,omitempty"`
	LastUpdatedDate *epoch `json:"LastUpdatedDate,omitempty"`
}

type listAliasesOutput struct {
	Aliases    []aliasListEntry `json:"Aliases"`
	NextMarker string           `json:"NextMarker,omitempty"`
	Truncated  bool             `json:"Truncated"`
}

func (k *Keys) listAliases(ctx context.Context, c *api.Call, in *listAliasesInput) (any, error) {
	account, region := c.Principal.AccountID, c.Region
	keyID := ""
	if in.KeyId != "" {
		key, _, err := k.resolve(ctx, c, in.KeyId)
		if err != nil {
			return nil, err
		}
		if key.AccountID != account {
			return nil, notFound("Key '%s' does not exist", key.ARN)
		}
		keyID = key.KeyID
	}
	limit := pageLimit(in.Limit, 50)
	list, err := k.cfg.Store.ListKMSAliases(ctx, account, region, keyID, in.Marker, limit+1)
	if err != nil {
		return nil, internal(err)
	}
	out := listAliasesOutput{Aliases: []aliasListEntry{}}
	if len(list) > limit {
		list = list[:limit]
		out.Truncated, out.NextMarker = true, list[limit-1].Name
	}
	for _, a := range list {
		out.Aliases = append(out.Aliases, aliasListEntry{AliasName: a.Name, AliasArn: aliasARN(region, account, a.Name),
			TargetKeyId: a.KeyID, CreationDate: epochPtr(a.CreatedAt), LastUpdatedDate: epochPtr(a.UpdatedAt)})
	}
	return out, nil
}
