package kms

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/bulwark-security/bulwark/internal/api"
	"github.com/bulwark-security/bulwark/internal/store"
)

const allowKMS = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:*","Resource":"*"}]}`

func keyPolicy(stmts ...string) string {
	return `{"Version":"2012-10-17","Statement":[` + strings.Join(stmts, ",") + `]}`
}

func allowStmt(principal, action string) string {
	return `{"Effect":"Allow","Principal":{"AWS":"` + principal + `"},"Action":"` + action + `","Resource":"*"}`
}

func denyStmt(principal, action string) string {
	return `{"Effect":"Deny","Principal":{"AWS":"` + principal + `"},"Action":"` + action + `","Resource":"*"}`
}

var rootARN = "arn:aws:iam::" + acct + ":root"

// TestKeyPolicyEvaluation checks AWS's rules for key policies: the key
// policy must allow, either naming the caller or delegating to the
// account (then IAM policies must allow too), and explicit denies win.
func TestKeyPolicyEvaluation(t *testing.T) {
	h := newHarness(t)
	withIAM := h.user("withiam", allowKMS)
	noIAM := h.user("noiam")
	denied := h.user("denied", allowKMS, `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"kms:Decrypt","Resource":"*"}]}`)

	delegating := h.createKey(m{}) // the default key policy
	notDelegating := h.createKey(m{"Policy": keyPolicy(allowStmt(rootARN, "kms:PutKeyPolicy"), allowStmt(rootARN, "kms:Describe*"))})
	namesUser := h.createKey(m{"Policy": keyPolicy(allowStmt(rootARN, "kms:*"), allowStmt(noIAM.ARN, "kms:Encrypt"), allowStmt(noIAM.ARN, "kms:Decrypt"), allowStmt(denied.ARN, "kms:*"))})
	keyDeny := h.createKey(m{"Policy": keyPolicy(allowStmt(rootARN, "kms:*"), denyStmt(withIAM.ARN, "kms:Encrypt"))})

	pt := b64([]byte("x"))
	tests := []struct {
		name string
		p    *api.Principal
		key  string
		code string
	}{
		{"IAM allow, key policy delegates", withIAM, delegating, ""},
		{"no IAM allow, key policy delegates", noIAM, delegating, "AccessDeniedException"},
		{"IAM allow, key policy does not delegate", withIAM, notDelegating, "AccessDeniedException"},
		{"root, key policy does not name root for Encrypt", h.root(), notDelegating, "AccessDeniedException"},
		{"key policy names the user, no IAM allow", noIAM, namesUser, ""},
		{"key policy names the user for Encrypt only", noIAM, namesUser, ""},
		{"explicit deny in the key policy", withIAM, keyDeny, "AccessDeniedException"},
		{"root with a root key policy", h.root(), delegating, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := h.call(tt.p, "Encrypt", m{"KeyId": tt.key, "Plaintext": pt})
			if got := errCode(err); got != tt.code {
				t.Fatalf("Encrypt: %v, want %q", err, tt.code)
			}
			if tt.code != "" && !strings.Contains(err.Error(), "kms:Encrypt") {
				t.Errorf("denial does not name the action: %v", err)
			}
		})
	}
	// An explicit deny in an IAM policy wins over a key policy naming the
	// user directly.
	blob := h.ok(h.root(), "Encrypt", m{"KeyId": namesUser, "Plaintext": pt})["CiphertextBlob"]
	h.fails(denied, "Decrypt", m{"CiphertextBlob": blob}, "AccessDeniedException")
	h.ok(denied, "Encrypt", m{"KeyId": namesUser, "Plaintext": pt})
	h.ok(noIAM, "Decrypt", m{"CiphertextBlob": blob})
	// noIAM is named for Encrypt and Decrypt only.
	h.fails(noIAM, "DescribeKey", m{"KeyId": namesUser}, "AccessDeniedException")

	// PutKeyPolicy replaces the policy at once.
	h.ok(h.root(), "PutKeyPolicy", m{"KeyId": delegating, "PolicyName": "default", "Policy": keyPolicy(allowStmt(rootARN, "kms:*"), allowStmt(noIAM.ARN, "kms:Encrypt"))})
	h.ok(noIAM, "Encrypt", m{"KeyId": delegating, "Plaintext": pt})
	h.fails(h.root(), "PutKeyPolicy", m{"KeyId": delegating, "Policy": keyPolicy(allowStmt(noIAM.ARN, "kms:*"))}, codeMalformedPolicy)
	h.fails(h.root(), "PutKeyPolicy", m{"KeyId": delegating, "Policy": "{nope"}, codeMalformedPolicy)
	h.fails(h.root(), "PutKeyPolicy", m{"KeyId": delegating, "Policy": strings.Repeat(" ", 32769)}, codeValidation)
}

func TestConditionKeys(t *testing.T) {
	h := newHarness(t)
	ecOnly := h.user("ec", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["kms:Encrypt","kms:Decrypt"],"Resource":"*",
		"Condition":{"StringEquals":{"kms:EncryptionContext:app":"billing","kms:CallerAccount":"`+acct+`"}}}]}`)
	keysOnly := h.user("keys", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:Encrypt","Resource":"*",
		"Condition":{"ForAllValues:StringEquals":{"kms:EncryptionContextKeys":["app","env"]},"Null":{"kms:EncryptionContextKeys":"false"}}}]}`)
	aliasOnly := h.user("alias", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:Encrypt","Resource":"*",
		"Condition":{"StringEquals":{"kms:RequestAlias":"alias/app"}}}]}`)
	tagged := h.user("tagged", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:Encrypt","Resource":"*",
		"Condition":{"StringEquals":{"aws:ResourceTag/team":"blue","kms:KeySpec":"SYMMETRIC_DEFAULT"}}}]}`)
	resAlias := h.user("resalias", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:Encrypt","Resource":"*",
		"Condition":{"ForAnyValue:StringLike":{"kms:ResourceAliases":"alias/app*"}}}]}`)
	creator := h.user("creator", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:CreateKey","Resource":"*",
		"Condition":{"StringEquals":{"aws:RequestTag/team":"blue","kms:KeyUsage":"ENCRYPT_DECRYPT"},"ForAllValues:StringEquals":{"aws:TagKeys":["team"]}}}]}`)

	id := h.createKey(m{"Tags": []m{{"TagKey": "team", "TagValue": "blue"}}})
	red := h.createKey(m{"Tags": []m{{"TagKey": "team", "TagValue": "red"}}})
	h.ok(h.root(), "CreateAlias", m{"AliasName": "alias/app", "TargetKeyId": id})
	pt := b64([]byte("x"))
	for _, tt := range []struct {
		name string
		p    *api.Principal
		in   m
		code string
	}{
		{"context matches", ecOnly, m{"KeyId": id, "Plaintext": pt, "EncryptionContext": m{"app": "billing"}}, ""},
		{"context differs", ecOnly, m{"KeyId": id, "Plaintext": pt, "EncryptionContext": m{"app": "other"}}, "AccessDeniedException"},
		{"context absent", ecOnly, m{"KeyId": id, "Plaintext": pt}, "AccessDeniedException"},
		{"context keys allowed", keysOnly, m{"KeyId": id, "Plaintext": pt, "EncryptionContext": m{"app": "1", "env": "2"}}, ""},
		{"context key not allowed", keysOnly, m{"KeyId": id, "Plaintext": pt, "EncryptionContext": m{"app": "1", "user": "2"}}, "AccessDeniedException"},
		{"request alias", aliasOnly, m{"KeyId": "alias/app", "Plaintext": pt}, ""},
		{"request by id", aliasOnly, m{"KeyId": id, "Plaintext": pt}, "AccessDeniedException"},
		{"resource tag", tagged, m{"KeyId": id, "Plaintext": pt}, ""},
		{"other resource tag", tagged, m{"KeyId": red, "Plaintext": pt}, "AccessDeniedException"},
		{"resource alias", resAlias, m{"KeyId": id, "Plaintext": pt}, ""},
		{"no resource alias", resAlias, m{"KeyId": red, "Plaintext": pt}, "AccessDeniedException"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := h.call(tt.p, "Encrypt", tt.in); errCode(err) != tt.code {
				t.Fatalf("Encrypt: %v, want %q", err, tt.code)
			}
		})
	}
	// An alias added later shows in kms:ResourceAliases at once.
	h.ok(h.root(), "CreateAlias", m{"AliasName": "alias/app-red", "TargetKeyId": red})
	h.ok(resAlias, "Encrypt", m{"KeyId": red, "Plaintext": pt})

	h.ok(creator, "CreateKey", m{"Tags": []m{{"TagKey": "team", "TagValue": "blue"}}})
	h.fails(creator, "CreateKey", m{"Tags": []m{{"TagKey": "team", "TagValue": "red"}}}, "AccessDeniedException")
	h.fails(creator, "CreateKey", m{"Tags": []m{{"TagKey": "team", "TagValue": "blue"}, {"TagKey": "x", "TagValue": "y"}}}, "AccessDeniedException")
}

func TestGrants(t *testing.T) {
	h := newHarness(t)
	grantee := h.user("grantee")
	retirer := h.user("retirer")
	id := h.createKey(m{})
	pt := b64([]byte("x"))
	h.fails(grantee, "Encrypt", m{"KeyId": id, "Plaintext": pt}, "AccessDeniedException")

	for _, tt := range []struct {
		name string
		in   m
		code string
	}{
		{"no grantee", m{"KeyId": id, "Operations": []string{"Encrypt"}}, codeValidation},
		{"no operations", m{"KeyId": id, "GranteePrincipal": grantee.ARN}, codeValidation},
		{"bad operation", m{"KeyId": id, "GranteePrincipal": grantee.ARN, "Operations": []string{"ScheduleKeyDeletion"}}, codeValidation},
		{"bad name", m{"KeyId": id, "GranteePrincipal": grantee.ARN, "Operations": []string{"Encrypt"}, "Name": "a b"}, codeValidation},
		{"wildcard grantee", m{"KeyId": id, "GranteePrincipal": "*", "Operations": []string{"Encrypt"}}, codeValidation},
		{"pattern grantee", m{"KeyId": id, "GranteePrincipal": "arn:aws:iam::" + acct + ":user/*", "Operations": []string{"Encrypt"}}, codeValidation},
		{"not a principal", m{"KeyId": id, "GranteePrincipal": "bob", "Operations": []string{"Encrypt"}}, codeValidation},
		{"s3 ARN grantee", m{"KeyId": id, "GranteePrincipal": "arn:aws:s3:::bucket", "Operations": []string{"Encrypt"}}, codeValidation},
		{"both constraints", m{"KeyId": id, "GranteePrincipal": grantee.ARN, "Operations": []string{"Encrypt"},
			"Constraints": m{"EncryptionContextSubset": m{"a": "b"}, "EncryptionContextEquals": m{"a": "b"}}}, codeValidation},
	} {
		t.Run(tt.name, func(t *testing.T) { h.fails(h.root(), "CreateGrant", tt.in, tt.code) })
	}

	g := h.ok(h.root(), "CreateGrant", m{"KeyId": id, "GranteePrincipal": grantee.ARN, "RetiringPrincipal": retirer.ARN,
		"Operations": []string{"Encrypt", "Decrypt"}, "Constraints": m{"EncryptionContextSubset": m{"tenant": "a"}}, "Name": "g1"})
	grantID, token := g["GrantId"].(string), g["GrantToken"].(string)
	if len(grantID) != 64 || token == "" {
		t.Fatalf("CreateGrant = %v", g)
	}
	// Same name and parameters: the same grant.
	again := h.ok(h.root(), "CreateGrant", m{"KeyId": id, "GranteePrincipal": grantee.ARN, "RetiringPrincipal": retirer.ARN,
		"Operations": []string{"Decrypt", "Encrypt"}, "Constraints": m{"EncryptionContextSubset": m{"tenant": "a"}}, "Name": "g1"})
	if again["GrantId"] != grantID {
		t.Errorf("idempotent CreateGrant made grant %v, want %s", again["GrantId"], grantID)
	}

	ct := h.ok(grantee, "Encrypt", m{"KeyId": id, "Plaintext": pt, "EncryptionContext": m{"tenant": "a", "extra": "1"}})
	h.ok(grantee, "Decrypt", m{"CiphertextBlob": ct["CiphertextBlob"], "EncryptionContext": m{"tenant": "a", "extra": "1"}})
	h.fails(grantee, "Encrypt", m{"KeyId": id, "Plaintext": pt, "EncryptionContext": m{"tenant": "b"}}, "AccessDeniedException")
	h.fails(grantee, "Encrypt", m{"KeyId": id, "Plaintext": pt}, "AccessDeniedException")
	h.fails(grantee, "DescribeKey", m{"KeyId": id}, "AccessDeniedException")

	eq := h.ok(h.root(), "CreateGrant", m{"KeyId": id, "GranteePrincipal": retirer.ARN, "Operations": []string{"Encrypt"},
		"Constraints": m{"EncryptionContextEquals": m{"tenant": "a"}}})
	h.ok(retirer, "Encrypt", m{"KeyId": id, "Plaintext": pt, "EncryptionContext": m{"tenant": "a"}})
	h.fails(retirer, "Encrypt", m{"KeyId": id, "Plaintext": pt, "EncryptionContext": m{"tenant": "a", "x": "y"}}, "AccessDeniedException")

	list := h.ok(h.root(), "ListGrants", m{"KeyId": id})["Grants"].([]any)
	if len(list) != 2 || list[0].(m)["IssuingAccount"] != rootARN {
		t.Errorf("ListGrants = %v", list)
	}
	ret := h.ok(h.root(), "ListRetirableGrants", m{"RetiringPrincipal": retirer.ARN})["Grants"].([]any)
	if len(ret) != 1 || ret[0].(m)["GrantId"] != grantID {
		t.Errorf("ListRetirableGrants = %v", ret)
	}

	// The grantee may not retire (RetireGrant is not among the grant's
	// operations); the retiring principal may, with no policy at all.
	h.fails(grantee, "RetireGrant", m{"GrantToken": token}, "AccessDeniedException")
	h.fails(retirer, "RetireGrant", m{"GrantToken": "not-a-token"}, codeInvalidGrantToken)
	h.ok(retirer, "RetireGrant", m{"GrantToken": token})
	h.fails(retirer, "RetireGrant", m{"GrantToken": token}, codeNotFound)
	h.fails(grantee, "Encrypt", m{"KeyId": id, "Plaintext": pt, "EncryptionContext": m{"tenant": "a"}}, "AccessDeniedException")

	h.fails(h.root(), "RevokeGrant", m{"KeyId": id, "GrantId": "short"}, codeInvalidGrantID)
	h.ok(h.root(), "RevokeGrant", m{"KeyId": id, "GrantId": eq["GrantId"]})
	h.fails(h.root(), "RevokeGrant", m{"KeyId": id, "GrantId": eq["GrantId"]}, codeNotFound)
	h.fails(retirer, "Encrypt", m{"KeyId": id, "Plaintext": pt, "EncryptionContext": m{"tenant": "a"}}, "AccessDeniedException")
	if l := h.ok(h.root(), "ListGrants", m{"KeyId": id})["Grants"].([]any); len(l) != 0 {
		t.Errorf("grants left: %v", l)
	}
}

func TestEnvelope(t *testing.T) {
	h := newHarness(t)
	// A user with no KMS permission at all: the AWS managed key's policy
	// lets any principal of the account use it through Secrets Manager.
	u := h.user("app")
	c := &api.Call{Principal: u, Region: region, Time: h.now}
	ctx := t.Context()
	ec := map[string]string{"SecretARN": "arn:aws:secretsmanager:us-east-1:" + acct + ":secret:x-AbCdEf"}
	pt, blob, arnv, err := h.keys.GenerateDataKey(ctx, c, "", ec)
	if err != nil || len(pt) != 32 || !strings.HasPrefix(arnv, "arn:aws:kms:") {
		t.Fatalf("GenerateDataKey: %v %d %s", err, len(pt), arnv)
	}
	got, arn2, err := h.keys.Decrypt(ctx, c, blob, ec)
	if err != nil || !bytes.Equal(got, pt) || arn2 != arnv {
		t.Fatalf("Decrypt: %v", err)
	}
	if _, _, err := h.keys.Decrypt(ctx, c, blob, map[string]string{"SecretARN": "other"}); errCode(err) != codeInvalidCiphertext {
		t.Errorf("Decrypt with another context: %v", err)
	}
	if _, _, err := h.keys.Decrypt(ctx, c, []byte("junk"), ec); errCode(err) != codeInvalidCiphertext {
		t.Errorf("Decrypt junk: %v", err)
	}
	for _, ref := range []string{"", "alias/aws/secretsmanager"} {
		if a, err := h.keys.ResolveKey(ctx, c, ref); err != nil || a != arnv {
			t.Errorf("ResolveKey(%q) = %s, %v; want the one managed key %s", ref, a, err, arnv)
		}
	}
	// The managed key is AWS's: described, not usable directly.
	md := h.ok(h.root(), "DescribeKey", m{"KeyId": "alias/aws/secretsmanager"})["KeyMetadata"].(m)
	if md["KeyManager"] != "AWS" || md["Arn"] != arnv {
		t.Errorf("managed key metadata %v", md)
	}
	h.fails(u, "Encrypt", m{"KeyId": "alias/aws/secretsmanager", "Plaintext": b64([]byte("x"))}, "AccessDeniedException")
	// Its policy lets the account only read it.
	h.fails(h.root(), "DisableKey", m{"KeyId": "alias/aws/secretsmanager"}, "AccessDeniedException")
	pol := h.ok(h.root(), "GetKeyPolicy", m{"KeyId": "alias/aws/secretsmanager"})["Policy"].(string)
	if !strings.Contains(pol, `"kms:ViaService" : "secretsmanager.us-east-1.amazonaws.com"`) {
		t.Errorf("managed key policy:\n%s", pol)
	}

	// A customer key with the default policy needs IAM permission, which
	// may require kms:ViaService.
	id := h.createKey(m{})
	if _, _, _, err := h.keys.GenerateDataKey(ctx, c, id, nil); errCode(err) != "AccessDeniedException" {
		t.Errorf("GenerateDataKey without permission: %v", err)
	}
	via := h.user("via", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["kms:GenerateDataKey","kms:Decrypt","kms:DescribeKey"],"Resource":"*",
		"Condition":{"StringEquals":{"kms:ViaService":"secretsmanager.us-east-1.amazonaws.com"}}}]}`)
	cv := &api.Call{Principal: via, Region: region, Time: h.now}
	if _, _, _, err := h.keys.GenerateDataKey(ctx, cv, id, nil); err != nil {
		t.Errorf("GenerateDataKey via Secrets Manager: %v", err)
	}
	h.fails(via, "GenerateDataKey", m{"KeyId": id, "KeySpec": "AES_256"}, "AccessDeniedException")
	if _, err := h.keys.ResolveKey(ctx, cv, "alias/none"); errCode(err) != codeNotFound {
		t.Errorf("ResolveKey(missing): %v", err)
	}
	h.ok(h.root(), "DisableKey", m{"KeyId": id})
	if _, err := h.keys.ResolveKey(ctx, cv, id); errCode(err) != codeDisabled {
		t.Errorf("ResolveKey(disabled): %v", err)
	}
	if _, _, _, err := h.keys.GenerateDataKey(ctx, cv, id, nil); errCode(err) != codeDisabled {
		t.Errorf("GenerateDataKey(disabled): %v", err)
	}
}

// role creates an IAM role with inline policies and returns a session of it.
func (h *harness) role(name string, policies ...string) *api.Principal {
	h.t.Helper()
	ctx := h.t.Context()
	arnv := "arn:aws:iam::" + acct + ":role/" + name
	trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + acct + `:root"},"Action":"sts:AssumeRole"}]}`
	if err := h.st.CreateRole(ctx, store.Role{AccountID: acct, RoleName: name, RoleID: "AROAXXXXXXXXXXXXX" + strings.ToUpper(name[:3]),
		Path: "/", ARN: arnv, CreatedAt: time.Now(), AssumeRolePolicyDocument: trust, MaxSessionDuration: 3600}); err != nil {
		h.t.Fatal(err)
	}
	for i, doc := range policies {
		if err := h.st.PutInlinePolicy(ctx, store.InlinePolicy{AccountID: acct, EntityKind: store.EntityRole, EntityName: name,
			PolicyName: "p" + string(rune('0'+i)), Document: doc}); err != nil {
			h.t.Fatal(err)
		}
	}
	h.src.Invalidate()
	return &api.Principal{Type: "AssumedRole", ARN: "arn:aws:sts::" + acct + ":assumed-role/" + name + "/s", AccountID: acct,
		UserID: "AROAXXXXXXXXXXXXX:s", Temporary: true, RoleName: name, RoleARN: arnv, SessionName: "s",
		IssuedAt: h.now, Expiration: h.now.Add(time.Hour)}
}

// TestSecondaryChecks covers the permissions handlers check themselves:
// ReEncrypt's destination key, an alias's ARN, and RetireGrant; and a key
// policy naming a role, which its sessions satisfy without IAM policies.
func TestSecondaryChecks(t *testing.T) {
	h := newHarness(t)
	src := h.createKey(m{})
	dst := h.createKey(m{})
	pt := b64([]byte("x"))
	blob := h.ok(h.root(), "Encrypt", m{"KeyId": src, "Plaintext": pt})["CiphertextBlob"]

	fromOnly := h.user("fromonly", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:ReEncryptFrom","Resource":"*"}]}`)
	both := h.user("both", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:ReEncrypt*","Resource":"*"}]}`)
	_, err := h.call(fromOnly, "ReEncrypt", m{"CiphertextBlob": blob, "DestinationKeyId": dst})
	if errCode(err) != "AccessDeniedException" || !strings.Contains(err.Error(), "kms:ReEncryptTo") {
		t.Fatalf("ReEncrypt without kms:ReEncryptTo: %v", err)
	}
	h.ok(both, "ReEncrypt", m{"CiphertextBlob": blob, "DestinationKeyId": dst})

	keyOnly := h.user("keyonly", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:CreateAlias","Resource":"arn:aws:kms:*:*:key/*"}]}`)
	aliasToo := h.user("aliastoo", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:CreateAlias","Resource":["arn:aws:kms:*:*:key/*","arn:aws:kms:*:*:alias/team-*"]}]}`)
	_, err = h.call(keyOnly, "CreateAlias", m{"AliasName": "alias/team-a", "TargetKeyId": src})
	if errCode(err) != "AccessDeniedException" || !strings.Contains(err.Error(), ":alias/team-a") {
		t.Fatalf("CreateAlias without permission on the alias: %v", err)
	}
	h.ok(aliasToo, "CreateAlias", m{"AliasName": "alias/team-a", "TargetKeyId": src})
	h.fails(aliasToo, "CreateAlias", m{"AliasName": "alias/other", "TargetKeyId": src}, "AccessDeniedException")

	grantee := h.user("grantee2")
	g := h.ok(h.root(), "CreateGrant", m{"KeyId": src, "GranteePrincipal": grantee.ARN, "Operations": []string{"Decrypt", "RetireGrant"}})
	h.ok(grantee, "Decrypt", m{"CiphertextBlob": blob})
	h.ok(grantee, "RetireGrant", m{"KeyId": src, "GrantId": g["GrantId"]})
	h.fails(grantee, "Decrypt", m{"CiphertextBlob": blob}, "AccessDeniedException")
	g = h.ok(h.root(), "CreateGrant", m{"KeyId": src, "GranteePrincipal": grantee.ARN, "Operations": []string{"Decrypt"}})
	h.ok(h.root(), "RetireGrant", m{"GrantToken": g["GrantToken"]}) // root: kms:RetireGrant via the key policy

	// A key policy naming a role lets its sessions in without IAM policies.
	sess := h.role("app")
	named := h.createKey(m{"Policy": keyPolicy(allowStmt(rootARN, "kms:PutKeyPolicy"), allowStmt("arn:aws:iam::"+acct+":role/app", "kms:Encrypt"))})
	h.ok(sess, "Encrypt", m{"KeyId": named, "Plaintext": pt})
	h.fails(sess, "Encrypt", m{"KeyId": src, "Plaintext": pt}, "AccessDeniedException")
	withIAM := h.role("worker", allowKMS)
	h.ok(withIAM, "Encrypt", m{"KeyId": src, "Plaintext": pt})
	h.fails(withIAM, "Encrypt", m{"KeyId": named, "Plaintext": pt}, "AccessDeniedException")
}
