package kms

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"regexp"
	"slices"
	"strings"

	"github.com/bulwark-security/bulwark/internal/api"
	"github.com/bulwark-security/bulwark/internal/arn"
	"github.com/bulwark-security/bulwark/internal/policy"
	"github.com/bulwark-security/bulwark/internal/store"
)

// grantOperations are the operations a grant may allow (KMS API reference,
// CreateGrant Operations).
var grantOperations = []string{
	"Decrypt", "Encrypt", "GenerateDataKey", "GenerateDataKeyWithoutPlaintext", "ReEncryptFrom", "ReEncryptTo",
	"Sign", "Verify", "GetPublicKey", "CreateGrant", "RetireGrant", "DescribeKey", "GenerateDataKeyPair",
	"GenerateDataKeyPairWithoutPlaintext", "GenerateMac", "VerifyMac", "DeriveSharedSecret",
}

// maxGrantsPerKey is AWS's quota of grants per key.
const maxGrantsPerKey = 50000

var grantNameRE = regexp.MustCompile(`^[a-zA-Z0-9:/_-]{1,256}$`)

// Grant tokens name their grant: base64url(1 || grant id (32 bytes) ||
// 16 random bytes). A grant takes effect at once here, so a token is only
// a way to name the grant in RetireGrant; any token naming the grant does.
const grantTokenVersion = 1

func newGrantToken(grantID string) string {
	id, _ := hex.DecodeString(grantID)
	b := make([]byte, 0, 1+32+16)
	b = append(b, grantTokenVersion)
	b = append(b, id...)
	b = b[:len(b)+16]
	rand.Read(b[len(b)-16:])
	return base64.RawURLEncoding.EncodeToString(b)
}

// parseGrantToken returns the grant id a token names. Tokens are
// attacker-supplied: lengths are checked before decoding.
func parseGrantToken(tok string) (string, bool) {
	if len(tok) != base64.RawURLEncoding.EncodedLen(1+32+16) {
		return "", false
	}
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil || len(b) != 49 || b[0] != grantTokenVersion {
		return "", false
	}
	return hex.EncodeToString(b[1:33]), true
}

// grantLookup is the TokenHash the store indexes a grant by.
func grantLookup(grantID string) []byte {
	h := sha256.Sum256([]byte("bulwark/kms/grant\x00" + grantID))
	return h[:]
}

func isGrantID(s string) bool {
	if len(s) != 64 {
		return false
	}
	_, err := hex.DecodeString(s)
	return err == nil
}

type createGrantInput struct {
	keyInput
	GranteePrincipal  string            `json:"GranteePrincipal"`
	RetiringPrincipal string            `json:"RetiringPrincipal"`
	Operations        []string          `json:"Operations"`
	Constraints       *grantConstraints `json:"Constraints"`
	GrantTokens       grantTokens       `json:"GrantTokens"`
	Name              string            `json:"Name"`
	DryRun            bool              `json:"DryRun"`
}

// Validate implements api.Validator.
func (in *createGrantInput) Validate() error {
	if in.GranteePrincipal == "" || len(in.GranteePrincipal) > 256 {
		return validation("1 validation error detected: Value at 'granteePrincipal' failed to satisfy constraint: Member must have length between 1 and 256")
	}
	if len(in.RetiringPrincipal) > 256 {
		return validation("1 validation error detected: Value at 'retiringPrincipal' failed to satisfy constraint: Member must have length less than or equal to 256")
	}
	if len(in.Operations) == 0 {
		return validation("1 validation error detected: Value null at 'operations' failed to satisfy constraint: Member must not be null")
	}
	for _, op := range in.Operations {
		if !slices.Contains(grantOperations, op) {
			return validation("1 validation error detected: Value '%s' at 'operations' failed to satisfy constraint: Member must satisfy enum value set", op)
		}
	}
	if in.Name != "" && !grantNameRE.MatchString(in.Name) {
		return validation("1 validation error detected: Value '%s' at 'name' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[a-zA-Z0-9:/_-]+$", in.Name)
	}
	if !validGrantee(in.GranteePrincipal) {
		return validation("Invalid principal %q: a grantee is an IAM ARN (account root, user, role or assumed-role session) or an AWS service principal.", in.GranteePrincipal)
	}
	if c := in.Constraints; c != nil {
		if c.EncryptionContextSubset != nil && c.EncryptionContextEquals != nil {
			return validation("Only one of EncryptionContextSubset and EncryptionContextEquals may be specified.")
		}
		if err := encryptionContext(c.EncryptionContextSubset).check(); err != nil {
			return err
		}
		if err := encryptionContext(c.EncryptionContextEquals).check(); err != nil {
			return err
		}
	}
	if err := in.GrantTokens.check(); err != nil {
		return err
	}
	// The grant becomes a statement of the key's effective policy: one
	// that does not compile would break every later call on the key.
	st, err := grantStatement(store.KMSGrant{GrantID: "0", Grantee: in.GranteePrincipal, Operations: in.Operations,
		Constraints: in.constraintsJSON()})
	if err == nil {
		_, err = policy.ParseOptions([]byte(`{"Version":"2012-10-17","Statement":[`+string(st)+`]}`),
			policy.Options{Kind: policy.KindResource, SizeLimit: -1})
	}
	if err != nil {
		return validation("The grant's principal or constraints are not valid.")
	}
	return nil
}

func (in *createGrantInput) constraintsJSON() string {
	c := in.Constraints
	if c == nil || (c.EncryptionContextEquals == nil && c.EncryptionContextSubset == nil) {
		return ""
	}
	b, _ := json.Marshal(c) // maps of strings: cannot fail
	return string(b)
}

// validGrantee accepts an IAM or STS ARN naming no wildcard, or a service
// principal; "*" and patterns would grant far more than one principal.
func validGrantee(p string) bool {
	if strings.ContainsAny(p, "*? ") {
		return false
	}
	if a, err := arn.Parse(p); err == nil {
		return (a.Service == "iam" || a.Service == "sts") && arn.IsAccountID(a.Account)
	}
	return strings.HasSuffix(p, ".amazonaws.com") && len(p) > len(".amazonaws.com")
}

// RequestContext implements api.ContextProvider.
func (in *createGrantInput) RequestContext(c *api.Call) map[string][]string {
	m := in.t.context(c)
	m["kms:GrantOperations"] = in.Operations
	m["kms:GranteePrincipal"] = []string{in.GranteePrincipal}
	if in.RetiringPrincipal != "" {
		m["kms:RetiringPrincipal"] = []string{in.RetiringPrincipal}
	}
	m["kms:GrantIsForAWSResource"] = []string{"false"}
	if c := in.Constraints; c != nil {
		switch {
		case c.EncryptionContextEquals != nil:
			m["kms:GrantConstraintType"] = []string{"EncryptionContextEquals"}
		case c.EncryptionContextSubset != nil:
			m["kms:GrantConstraintType"] = []string{"EncryptionContextSubset"}
		}
	}
	return m
}

type createGrantOutput struct {
	GrantToken string `json:"GrantToken"`
	GrantId    string `json:"GrantId"`
}

func (k *Keys) createGrant(ctx context.Context, c *api.Call, in *createGrantInput) (any, error) {
	key := &in.t.key
	if err := notPending(key); err != nil {
		return nil, err
	}
	ops := slices.Clone(in.Operations)
	slices.Sort(ops)
	ops = slices.Compact(ops)
	constraints := in.constraintsJSON()
	g := store.KMSGrant{KeyID: key.KeyID, Name: in.Name, Grantee: in.GranteePrincipal, Retiring: in.RetiringPrincipal,
		IssuingAccount: c.Principal.AccountID, Operations: ops, Constraints: constraints, CreatedAt: k.now()}
	// A grant with the same name and the same parameters is the same
	// grant: CreateGrant is idempotent for it.
	if in.Name != "" {
		for _, old := range in.t.entry.grants {
			if old.Name == g.Name && old.Grantee == g.Grantee && old.Retiring == g.Retiring &&
				slices.Equal(old.Operations, g.Operations) && old.Constraints == g.Constraints {
				return createGrantOutput{GrantToken: newGrantToken(old.GrantID), GrantId: old.GrantID}, nil
			}
		}
	}
	if in.DryRun {
		return nil, dryRun()
	}
	var id [32]byte
	rand.Read(id[:])
	g.GrantID = hex.EncodeToString(id[:])
	g.TokenHash = grantLookup(g.GrantID)
	err := k.cfg.Store.CreateKMSGrant(ctx, g, maxGrantsPerKey)
	k.changed(key.KeyID)
	switch {
	case errors.Is(err, store.ErrLimitExceeded):
		return nil, kmsErr(codeLimitExceeded, "The key %s has the maximum number of grants (%d).", key.ARN, maxGrantsPerKey)
	case errors.Is(err, store.ErrNotFound):
		return nil, notFound("Key '%s' does not exist", key.ARN)
	case err != nil:
		return nil, internal(err)
	}
	return createGrantOutput{GrantToken: newGrantToken(g.GrantID), GrantId: g.GrantID}, nil
}

type grantListEntry struct {
	KeyId             string            `json:"KeyId"`
	GrantId           string            `json:"GrantId"`
	Name              string            `json:"Name,omitempty"`
	CreationDate      epoch             `json:"CreationDate"`
	GranteePrincipal  string            `json:"GranteePrincipal"`
	RetiringPrincipal string            `json:"RetiringPrincipal,omitempty"`
	IssuingAccount    string            `json:"IssuingAccount"`
	Operations        []string          `json:"Operations"`
	Constraints       *grantConstraints `json:"Constraints,omitempty"`
}

type listGrantsOutput struct {
	Grants     []grantListEntry `json:"Grants"`
	NextMarker string           `json:"NextMarker,omitempty"`
	Truncated  bool             `json:"Truncated"`
}

func grantEntry(keyARNv string, g *store.KMSGrant) grantListEntry {
	e := grantListEntry{KeyId: keyARNv, GrantId: g.GrantID, Name: g.Name, CreationDate: epoch(g.CreatedAt),
		GranteePrincipal: g.Grantee, RetiringPrincipal: g.Retiring,
		IssuingAccount: "arn:aws:iam::" + g.IssuingAccount + ":root", Operations: g.Operations}
	if g.Constraints != "" {
		var c grantConstraints
		if json.Unmarshal([]byte(g.Constraints), &c) == nil {
			e.Constraints = &c
		}
	}
	return e
}

type listGrantsInput struct {
	keyInput
	Limit            *int   `json:"Limit"`
	Marker           string `json:"Marker"`
	GrantId          string `json:"GrantId"`
	GranteePrincipal string `json:"GranteePrincipal"`
}

// Validate implements api.Validator.
func (in *listGrantsInput) Validate() error {
	if in.GrantId != "" && !isGrantID(in.GrantId) {
		return kmsErr(codeInvalidGrantID, "Invalid grant id")
	}
	return checkPage(in.Limit, in.Marker)
}

func (k *Keys) listGrants(_ context.Context, _ *api.Call, in *listGrantsInput) (any, error) {
	var all []store.KMSGrant
	for _, g := range in.t.entry.grants {
		if (in.GrantId == "" || g.GrantID == in.GrantId) && (in.GranteePrincipal == "" || g.Grantee == in.GranteePrincipal) {
			all = append(all, g)
		}
	}
	return pageGrants(all, in.Marker, pageLimit(in.Limit, 50), func(*store.KMSGrant) string { return in.t.key.ARN })
}

// pageGrants pages a list by grant id markers.
func pageGrants(all []store.KMSGrant, marker string, limit int, arnOf func(*store.KMSGrant) string) (any, error) {
	start := 0
	if marker != "" {
		i := slices.IndexFunc(all, func(g store.KMSGrant) bool { return g.GrantID == marker })
		if i < 0 {
			return nil, kmsErr(codeInvalidMarker, "Invalid marker")
		}
		start = i + 1
	}
	all = all[start:]
	out := listGrantsOutput{Grants: []grantListEntry{}}
	if len(all) > limit {
		all = all[:limit]
		out.Truncated, out.NextMarker = true, all[limit-1].GrantID
	}
	for i := range all {
		out.Grants = append(out.Grants, grantEntry(arnOf(&all[i]), &all[i]))
	}
	return out, nil
}

type listRetirableGrantsInput struct {
	Limit             *int   `json:"Limit"`
	Marker            string `json:"Marker"`
	RetiringPrincipal string `json:"RetiringPrincipal"`
}

// Validate implements api.Validator.
func (in *listRetirableGrantsInput) Validate() error {
	if in.RetiringPrincipal == "" || len(in.RetiringPrincipal) > 256 {
		return validation("1 validation error detected: Value at 'retiringPrincipal' failed to satisfy constraint: Member must have length between 1 and 256")
	}
	if in.Marker != "" && !isGrantID(in.Marker) {
		return kmsErr(codeInvalidMarker, "Invalid marker")
	}
	return checkPage(in.Limit, in.Marker)
}

func (k *Keys) listRetirableGrants(ctx context.Context, c *api.Call, in *listRetirableGrantsInput) (any, error) {
	limit := pageLimit(in.Limit, 50)
	list, err := k.cfg.Store.ListKMSRetirableGrants(ctx, in.RetiringPrincipal, in.Marker, limit+1)
	if err != nil {
		return nil, internal(err)
	}
	out := listGrantsOutput{Grants: []grantListEntry{}}
	if len(list) > limit {
		list = list[:limit]
		out.Truncated, out.NextMarker = true, list[limit-1].GrantID
	}
	for i := range list {
		key, err := k.cfg.Store.GetKMSKey(ctx, list[i].KeyID)
		if err != nil {
			continue // deleted meanwhile
		}
		out.Grants = append(out.Grants, grantEntry(key.ARN, &list[i]))
	}
	return out, nil
}

type revokeGrantInput struct {
	keyInput
	GrantId string `json:"GrantId"`
	DryRun  bool   `json:"DryRun"`
}

// Validate implements api.Validator.
func (in *revokeGrantInput) Validate() error {
	if !isGrantID(in.GrantId) {
		return kmsErr(codeInvalidGrantID, "Invalid grant id")
	}
	return nil
}

func (k *Keys) revokeGrant(ctx context.Context, _ *api.Call, in *revokeGrantInput) (any, error) {
	if in.DryRun {
		return nil, dryRun()
	}
	err := k.cfg.Store.DeleteKMSGrant(ctx, in.t.key.KeyID, in.GrantId)
	k.changed(in.t.key.KeyID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, notFound("Grant ID %s not found", in.GrantId)
	}
	return nil, internal(err)
}

// retireGrantInput names a grant by token, or by key and grant id.
type retireGrantInput struct {
	GrantToken string `json:"GrantToken"`
	KeyId      string `json:"KeyId"`
	GrantId    string `json:"GrantId"`
	DryRun     bool   `json:"DryRun"`
}

// Validate implements api.Validator.
func (in *retireGrantInput) Validate() error {
	switch {
	case in.GrantToken != "":
		id, ok := parseGrantToken(in.GrantToken)
		if !ok {
			return kmsErr(codeInvalidGrantToken, "Invalid grant token")
		}
		if in.GrantId != "" && in.GrantId != id {
			return kmsErr(codeInvalidGrantID, "The grant id does not match the grant token")
		}
		in.GrantId = id
	case in.KeyId == "" || in.GrantId == "":
		return validation("Either GrantToken or both KeyId and GrantId must be specified.")
	case !isGrantID(in.GrantId):
		return kmsErr(codeInvalidGrantID, "Invalid grant id")
	}
	return nil
}

// retireGrant: the grant's retiring principal, or its grantee if the grant
// allows RetireGrant, may retire it without any policy (KMS Developer
// Guide, "Retiring and revoking grants"); anyone else needs kms:RetireGrant
// on the key. The action is therefore decided here, not by the server.
func (k *Keys) retireGrant(ctx context.Context, c *api.Call, in *retireGrantInput) (any, error) {
	g, err := k.cfg.Store.GetKMSGrantByToken(ctx, grantLookup(in.GrantId))
	if errors.Is(err, store.ErrNotFound) {
		return nil, notFound("Grant ID %s not found", in.GrantId)
	}
	if err != nil {
		return nil, internal(err)
	}
	var t target
	k.bindKey(ctx, c, g.KeyID, &t)
	if t.err != nil {
		k.bindKeyByID(ctx, g.KeyID, &t)
	}
	if t.err != nil {
		return nil, t.err
	}
	if in.KeyId != "" {
		var named target
		k.bindKey(ctx, c, in.KeyId, &named)
		if named.err != nil {
			return nil, named.err
		}
		if named.key.KeyID != g.KeyID {
			return nil, notFound("Grant ID %s not found", in.GrantId)
		}
	}
	p := c.Principal
	self := func(s string) bool { return s != "" && (s == p.ARN || (p.RoleARN != "" && s == p.RoleARN)) }
	if !self(g.Retiring) && !(self(g.Grantee) && slices.Contains(g.Operations, "RetireGrant")) {
		if err := k.authorize(ctx, c, "RetireGrant", &t.key, t.entry, nil); err != nil {
			return nil, err
		}
	}
	if in.DryRun {
		return nil, dryRun()
	}
	err = k.cfg.Store.DeleteKMSGrant(ctx, g.KeyID, g.GrantID)
	k.changed(g.KeyID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, notFound("Grant ID %s not found", in.GrantId)
	}
	return nil, internal(err)
}

// bindKeyByID loads a key by id whatever the caller's account (a grant's
// key may belong to another account).
func (k *Keys) bindKeyByID(ctx context.Context, id string, t *target) {
	t.key, t.err = k.getKey(ctx, id)
	t.alias = ""
	if t.err == nil {
		t.entry, t.err = k.policies.load(ctx, k, t.key)
	}
}
