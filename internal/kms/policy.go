package kms

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/bulwark-security/bulwark/internal/api"
	"github.com/bulwark-security/bulwark/internal/authz"
	"github.com/bulwark-security/bulwark/internal/policy"
	"github.com/bulwark-security/bulwark/internal/store"
)

// maxKeyPolicy is AWS's key policy size limit (32 KB).
const maxKeyPolicy = 32768

// defaultKeyPolicy is the policy CreateKey gives a key without one: it
// delegates the key to the account, so IAM policies decide (KMS Developer
// Guide, "Default key policy").
func defaultKeyPolicy(account string) string {
	return `{
  "Version" : "2012-10-17",
  "Id" : "key-default-1",
  "Statement" : [ {
    "Sid" : "Enable IAM User Permissions",
    "Effect" : "Allow",
    "Principal" : {
      "AWS" : "arn:aws:iam::` + account + `:root"
    },
    "Action" : "kms:*",
    "Resource" : "*"
  } ]
}`
}

// managedSecretsPolicy is the key policy of the AWS managed key
// aws/secretsmanager, as AWS writes it: any principal of the account may
// use the key through Secrets Manager, and the account may read its
// metadata directly. (AWS gives the first two statements the same Sid; the
// second here has a suffix because the policy language rejects duplicate
// Sids.)
func managedSecretsPolicy(account, region string) string {
	const sid = "Allow access through AWS Secrets Manager for all principals in the account that are authorized to use AWS Secrets Manager"
	return `{
  "Version" : "2012-10-17",
  "Id" : "auto-secretsmanager-2",
  "Statement" : [ {
    "Sid" : "` + sid + `",
    "Effect" : "Allow",
    "Principal" : {
      "AWS" : "*"
    },
    "Action" : [ "kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:CreateGrant", "kms:DescribeKey" ],
    "Resource" : "*",
    "Condition" : {
      "StringEquals" : {
        "kms:CallerAccount" : "` + account + `",
        "kms:ViaService" : "secretsmanager.` + region + `.amazonaws.com"
      }
    }
  }, {
    "Sid" : "` + sid + ` (GenerateDataKey)",
    "Effect" : "Allow",
    "Principal" : {
      "AWS" : "*"
    },
    "Action" : "kms:GenerateDataKey*",
    "Resource" : "*",
    "Condition" : {
      "StringEquals" : {
        "kms:CallerAccount" : "` + account + `"
      },
      "StringLike" : {
        "kms:ViaService" : "secretsmanager.*.amazonaws.com"
      }
    }
  }, {
    "Sid" : "Allow direct access to key metadata to the account",
    "Effect" : "Allow",
    "Principal" : {
      "AWS" : "arn:aws:iam::` + account + `:root"
    },
    "Action" : [ "kms:Describe*", "kms:Get*", "kms:List*", "kms:RevokeGrant" ],
    "Resource" : "*"
  } ]
}`
}

// parseKeyPolicy validates a key policy document as PutKeyPolicy and
// CreateKey do.
func parseKeyPolicy(doc string) (*policy.Policy, error) {
	if len(doc) == 0 || len(doc) > maxKeyPolicy {
		return nil, validation("1 validation error detected: Value at 'policy' failed to satisfy constraint: Member must have length between 1 and %d", maxKeyPolicy)
	}
	p, err := policy.ParseOptions([]byte(doc), policy.Options{Kind: policy.KindResource, SizeLimit: -1})
	if err != nil {
		var pe *policy.Error
		msg := "The new key policy is not valid."
		if errors.As(err, &pe) && len(pe.Problems) > 0 {
			msg = pe.Problems[0].Message
		}
		return nil, kmsErr(codeMalformedPolicy, "%s", msg)
	}
	return p, nil
}

// policyEntry is what authorisation needs about a key at one gen: its
// key policy with its grants as extra statements, the grants and its
// aliases (kms:ResourceAliases).
type policyEntry struct {
	gen     int64
	policy  *policy.Policy
	grants  []store.KMSGrant
	aliases []string
}

// policyCache holds the latest policyEntry per key. Every change to a
// key, its policy, grants or aliases bumps the key's gen in the store, and
// entries are looked up by the gen of the key row the request read, so a
// change made by any server is seen by the next request that reads the key.
type policyCache struct {
	mu  sync.Mutex
	max int
	m   map[string]*policyEntry
}

func newPolicyCache(max int) *policyCache {
	return &policyCache{max: max, m: make(map[string]*policyEntry)}
}

func (c *policyCache) reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	clear(c.m)
}

func (c *policyCache) forget(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.m, id)
}

// latest returns the newest entry of a key. keyPolicy uses it right after
// the request's binding loaded the entry for the key row it read, so the
// entry is at least as new as that row.
func (c *policyCache) latest(id string) *policyEntry {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m[id]
}

// load returns the entry for key's gen, building it if needed.
func (c *policyCache) load(ctx context.Context, k *Keys, key store.KMSKey) (*policyEntry, error) {
	c.mu.Lock()
	e := c.m[key.KeyID]
	c.mu.Unlock()
	if e != nil && e.gen == key.Gen {
		return e, nil
	}
	grants, err := k.cfg.Store.ListKMSGrants(ctx, key.KeyID)
	if err != nil {
		return nil, fmt.Errorf("load grants of %s: %w", key.KeyID, err)
	}
	aliases, err := k.cfg.Store.ListKMSAliases(ctx, key.AccountID, key.Region, key.KeyID, "", maxAliasesPerKey)
	if err != nil {
		return nil, fmt.Errorf("load aliases of %s: %w", key.KeyID, err)
	}
	pol, err := effectivePolicy(key, grants)
	if err != nil {
		return nil, fmt.Errorf("key %s: %w", key.KeyID, err)
	}
	e = &policyEntry{gen: key.Gen, policy: pol, grants: grants}
	for _, a := range aliases {
		e.aliases = append(e.aliases, a.Name)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if old := c.m[key.KeyID]; old == nil || old.gen < e.gen {
		if old == nil && len(c.m) >= c.max {
			for id := range c.m {
				delete(c.m, id)
				break
			}
		}
		c.m[key.KeyID] = e
	}
	return e, nil
}

// maxAliasesPerKey bounds kms:ResourceAliases (AWS evaluates up to 50).
const maxAliasesPerKey = 50

// effectivePolicy is the key policy with one Allow statement per grant:
// the grantee may perform the grant's operations, under its constraints.
// A grant adds permission; it never removes any, so an explicit deny in
// any policy still wins.
func effectivePolicy(key store.KMSKey, grants []store.KMSGrant) (*policy.Policy, error) {
	doc := []byte(key.Policy)
	if len(grants) > 0 {
		merged, err := mergeGrants(doc, grants)
		if err != nil {
			return nil, err
		}
		doc = merged
	}
	p, err := policy.ParseOptions(doc, policy.Options{Kind: policy.KindResource, ID: key.ARN, SizeLimit: -1})
	if err != nil {
		return nil, fmt.Errorf("compile key policy: %w", err)
	}
	return p, nil
}

func mergeGrants(doc []byte, grants []store.KMSGrant) ([]byte, error) {
	var d struct {
		Version   string          `json:"Version"`
		ID        string          `json:"Id,omitempty"`
		Statement json.RawMessage `json:"Statement"`
	}
	if err := json.Unmarshal(doc, &d); err != nil {
		return nil, fmt.Errorf("key policy: %w", err)
	}
	var stmts []json.RawMessage
	if t := bytes.TrimSpace(d.Statement); len(t) > 0 && t[0] == '[' {
		if err := json.Unmarshal(t, &stmts); err != nil {
			return nil, fmt.Errorf("key policy statements: %w", err)
		}
	} else if len(t) > 0 {
		stmts = append(stmts, t)
	}
	for _, g := range grants {
		st, err := grantStatement(g)
		if err != nil {
			return nil, err
		}
		stmts = append(stmts, st)
	}
	out := struct {
		Version   string            `json:"Version"`
		Statement []json.RawMessage `json:"Statement"`
	}{d.Version, stmts}
	if out.Version == "" {
		out.Version = "2012-10-17"
	}
	return json.Marshal(out)
}

// grantConstraints is CreateGrant's Constraints.
type grantConstraints struct {
	EncryptionContextSubset map[string]string `json:"EncryptionContextSubset,omitempty"`
	EncryptionContextEquals map[string]string `json:"EncryptionContextEquals,omitempty"`
}

func grantStatement(g store.KMSGrant) (json.RawMessage, error) {
	principal := map[string]string{"AWS": g.Grantee}
	if !strings.HasPrefix(g.Grantee, "arn:") && strings.HasSuffix(g.Grantee, ".amazonaws.com") {
		principal = map[string]string{"Service": g.Grantee}
	}
	actions := make([]string, len(g.Operations))
	for i, op := range g.Operations {
		actions[i] = "kms:" + op
	}
	st := map[string]any{
		"Sid": "grant" + strings.ReplaceAll(g.GrantID, "-", ""), "Effect": "Allow",
		"Principal": principal, "Action": actions, "Resource": "*",
	}
	if g.Constraints != "" {
		var gc grantConstraints
		if err := json.Unmarshal([]byte(g.Constraints), &gc); err != nil {
			return nil, fmt.Errorf("grant %s constraints: %w", g.GrantID, err)
		}
		cond := map[string]any{}
		eq := map[string]string{}
		pairs := gc.EncryptionContextSubset
		if gc.EncryptionContextEquals != nil {
			pairs = gc.EncryptionContextEquals
			if len(pairs) == 0 {
				cond["Null"] = map[string]string{"kms:EncryptionContextKeys": "true"}
			} else {
				keys := make([]string, 0, len(pairs))
				for k := range pairs {
					keys = append(keys, k)
				}
				slices.Sort(keys)
				cond["ForAllValues:StringEquals"] = map[string]any{"kms:EncryptionContextKeys": keys}
			}
		}
		for k, v := range pairs {
			eq["kms:EncryptionContext:"+k] = v
		}
		if len(eq) > 0 {
			cond["StringEquals"] = eq
		}
		if len(cond) > 0 {
			st["Condition"] = cond
		}
	}
	return json.Marshal(st)
}

// authorize decides one KMS action on key for the call's principal, as
// the server does (key policy and grants, IAM policies, RequireResource
// Allow), with extra condition keys. Envelope calls and the handlers'
// second checks (ReEncrypt's destination key, UpdateAlias's keys) use it.
func (k *Keys) authorize(ctx context.Context, c *api.Call, action string, key *store.KMSKey, e *policyEntry, extra map[string][]string) error {
	a := k.svc.Action(action)
	switch action {
	case "ReEncryptTo":
		a = &reEncryptTo
	case "RetireGrant":
		a = &retireGrantCheck
	}
	if a == nil {
		return fmt.Errorf("kms: no action %s", action)
	}
	kc := *c
	kc.Service, kc.Action = k.svc, a
	req := &authz.Request{Call: &kc, Action: a, Context: extra, RequireResourceAllow: true}
	if key != nil {
		req.Resources = []string{key.ARN}
		req.ResourcePolicy = e.policy
		req.Context = mergeContext(keyContext(c, key, e), extra)
	} else {
		req.RequireResourceAllow = false
	}
	dec, err := k.cfg.Authorizer.Authorize(ctx, req)
	if err != nil {
		return fmt.Errorf("authorize %s: %w", a.IAMAction, err)
	}
	if !dec.Allowed {
		return authz.Denied(&kc, dec)
	}
	return nil
}

// reEncryptTo is the permission ReEncrypt needs on its destination key;
// it is not an operation of its own, so it is not in the action table.
var reEncryptTo = api.Action{Name: "ReEncrypt", IAMAction: "kms:ReEncryptTo", Access: api.AccessWrite}

// retireGrantCheck is kms:RetireGrant as the handler checks it for callers
// the grant itself does not allow (the table's row is AlwaysAllowed).
var retireGrantCheck = api.Action{Name: "RetireGrant", IAMAction: "kms:RetireGrant", Access: api.AccessPermissions}

// authorizeIAM decides an action on a resource that has no key policy
// (an alias ARN): IAM policies alone.
func (k *Keys) authorizeIAM(ctx context.Context, c *api.Call, action, resource string) error {
	a := k.svc.Action(action)
	kc := *c
	kc.Service, kc.Action = k.svc, a
	req := &authz.Request{Call: &kc, Action: a, Resources: []string{resource},
		Context: map[string][]string{"kms:CallerAccount": {c.Principal.AccountID}}}
	dec, err := k.cfg.Authorizer.Authorize(ctx, req)
	if err != nil {
		return fmt.Errorf("authorize %s: %w", a.IAMAction, err)
	}
	if !dec.Allowed {
		return authz.Denied(&kc, dec)
	}
	return nil
}

// keyContext is the condition keys a key supplies (KMS Developer Guide,
// "Condition keys for AWS KMS").
func keyContext(c *api.Call, key *store.KMSKey, e *policyEntry) map[string][]string {
	m := map[string][]string{
		"kms:CallerAccount": {c.Principal.AccountID},
		"kms:KeySpec":       {key.KeySpec},
		"kms:KeyUsage":      {key.KeyUsage},
		"kms:KeyOrigin":     {key.Origin},
		// Deprecated spelling some policies still use.
		"kms:CustomerMasterKeySpec":  {key.KeySpec},
		"kms:CustomerMasterKeyUsage": {key.KeyUsage},
		"kms:KeyManager":             {key.Manager},
	}
	for _, t := range key.Tags {
		m["aws:ResourceTag/"+t.Key] = []string{t.Value}
	}
	if e != nil && len(e.aliases) > 0 {
		m["kms:ResourceAliases"] = e.aliases
	}
	return m
}

func mergeContext(a, b map[string][]string) map[string][]string {
	if a == nil {
		a = make(map[string][]string, len(b))
	}
	for k, v := range b {
		a[k] = v
	}
	return a
}

// encryptionContextKeys supplies kms:EncryptionContext:<key> and
// kms:EncryptionContextKeys.
func encryptionContextKeys(m map[string][]string, ec map[string]string) map[string][]string {
	if len(ec) == 0 {
		return m
	}
	if m == nil {
		m = make(map[string][]string, len(ec)+1)
	}
	keys := make([]string, 0, len(ec))
	for k, v := range ec {
		m["kms:EncryptionContext:"+k] = []string{v}
		keys = append(keys, k)
	}
	slices.Sort(keys)
	m["kms:EncryptionContextKeys"] = keys
	return m
}
