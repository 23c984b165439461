package kms

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestCreateKeyValidation(t *testing.T) {
	h := newHarness(t)
	tests := []struct {
		name string
		in   m
		code string
	}{
		{"default symmetric", m{}, ""},
		{"rsa sign", m{"KeySpec": "RSA_2048", "KeyUsage": "SIGN_VERIFY"}, ""},
		{"rsa without usage", m{"KeySpec": "RSA_2048"}, codeValidation},
		{"ecc encrypt", m{"KeySpec": "ECC_NIST_P256", "KeyUsage": "ENCRYPT_DECRYPT"}, codeValidation},
		{"ecc default usage", m{"KeySpec": "ECC_NIST_P384"}, ""},
		{"hmac", m{"KeySpec": "HMAC_256", "KeyUsage": "GENERATE_VERIFY_MAC"}, ""},
		{"hmac sign", m{"KeySpec": "HMAC_256", "KeyUsage": "SIGN_VERIFY"}, codeValidation},
		{"unknown spec", m{"KeySpec": "RSA_1024"}, codeValidation},
		{"unknown usage", m{"KeyUsage": "WRAP"}, codeValidation},
		{"both specs differ", m{"KeySpec": "RSA_2048", "CustomerMasterKeySpec": "SYMMETRIC_DEFAULT"}, codeValidation},
		{"deprecated spec", m{"CustomerMasterKeySpec": "HMAC_256", "KeyUsage": "GENERATE_VERIFY_MAC"}, ""},
		{"external origin", m{"Origin": "EXTERNAL"}, codeUnsupported},
		{"bad origin", m{"Origin": "MOON"}, codeValidation},
		{"multi-region", m{"MultiRegion": true}, codeUnsupported},
		{"long description", m{"Description": strings.Repeat("d", 8193)}, codeValidation},
		{"malformed policy", m{"Policy": "{"}, codeMalformedPolicy},
		{"policy locks caller out", m{"Policy": `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + acct + `:user/x"},"Action":"kms:*","Resource":"*"}]}`}, codeMalformedPolicy},
		{"lockout bypassed", m{"BypassPolicyLockoutSafetyCheck": true, "Policy": `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + acct + `:user/x"},"Action":"kms:*","Resource":"*"}]}`}, ""},
		{"reserved tag", m{"Tags": []m{{"TagKey": "aws:x", "TagValue": "v"}}}, codeTag},
		{"duplicate tag", m{"Tags": []m{{"TagKey": "a", "TagValue": "v"}, {"TagKey": "a", "TagValue": "w"}}}, codeTag},
		{"tags", m{"Tags": []m{{"TagKey": "team", "TagValue": "blue"}}}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := h.call(h.root(), "CreateKey", tt.in)
			if got := errCode(err); got != tt.code {
				t.Fatalf("code %q (%v), want %q", got, err, tt.code)
			}
			if err == nil {
				md := out["KeyMetadata"].(m)
				if md["KeyState"] != "Enabled" || md["Enabled"] != true || md["KeyManager"] != "CUSTOMER" ||
					!strings.HasPrefix(md["Arn"].(string), "arn:aws:kms:"+region+":"+acct+":key/") {
					t.Errorf("metadata %v", md)
				}
			}
		})
	}
}

func TestDefaultKeyPolicy(t *testing.T) {
	h := newHarness(t)
	id := h.createKey(m{})
	out := h.ok(h.root(), "GetKeyPolicy", m{"KeyId": id, "PolicyName": "default"})
	pol := out["Policy"].(string)
	for _, want := range []string{`"Sid" : "Enable IAM User Permissions"`, `"AWS" : "arn:aws:iam::` + acct + `:root"`, `"Action" : "kms:*"`} {
		if !strings.Contains(pol, want) {
			t.Errorf("default policy lacks %s:\n%s", want, pol)
		}
	}
	h.fails(h.root(), "GetKeyPolicy", m{"KeyId": id, "PolicyName": "other"}, codeNotFound)
	if got := h.ok(h.root(), "ListKeyPolicies", m{"KeyId": id})["PolicyNames"]; fmt.Sprint(got) != "[default]" {
		t.Errorf("ListKeyPolicies = %v", got)
	}
}

func TestDescribeKeyReferences(t *testing.T) {
	h := newHarness(t)
	id := h.createKey(m{"Description": "main"})
	arn := keyARN(region, acct, id)
	h.ok(h.root(), "CreateAlias", m{"AliasName": "alias/main", "TargetKeyId": id})
	for _, ref := range []string{id, arn, "alias/main", aliasARN(region, acct, "alias/main")} {
		out := h.ok(h.root(), "DescribeKey", m{"KeyId": ref})
		if got := out["KeyMetadata"].(m)["KeyId"]; got != id {
			t.Errorf("DescribeKey(%s) = %v", ref, got)
		}
	}
	for _, tt := range []struct{ ref, code string }{
		{"", codeValidation},
		{"not-a-uuid", codeNotFound},
		{"11111111-2222-3333-4444-555555555555", codeNotFound},
		{"alias/missing", codeNotFound},
		{"arn:aws:kms:eu-west-1:" + acct + ":key/" + id, codeNotFound},
		{"arn:aws:kms:" + region + ":999999999999:key/" + id, codeNotFound},
		{"arn:aws:s3:::bucket", codeNotFound},
	} {
		h.fails(h.root(), "DescribeKey", m{"KeyId": tt.ref}, tt.code)
	}
}

func TestListKeysPagination(t *testing.T) {
	h := newHarness(t)
	want := map[string]bool{}
	for range 5 {
		want[h.createKey(m{})] = true
	}
	got := map[string]bool{}
	marker := ""
	for {
		in := m{"Limit": 2}
		if marker != "" {
			in["Marker"] = marker
		}
		out := h.ok(h.root(), "ListKeys", in)
		for _, k := range out["Keys"].([]any) {
			got[k.(m)["KeyId"].(string)] = true
		}
		if out["Truncated"] != true {
			break
		}
		marker = out["NextMarker"].(string)
	}
	if len(got) != 5 {
		t.Errorf("ListKeys pages found %d keys, want 5", len(got))
	}
	h.fails(h.root(), "ListKeys", m{"Limit": 0}, codeValidation)
	h.fails(h.root(), "ListKeys", m{"Marker": "junk"}, codeInvalidMarker)
}

func TestEncryptDecrypt(t *testing.T) {
	h := newHarness(t)
	id := h.createKey(m{})
	other := h.createKey(m{})
	ec := m{"purpose": "test", "tenant": "a"}
	pt := []byte("attack at dawn")
	out := h.ok(h.root(), "Encrypt", m{"KeyId": id, "Plaintext": b64(pt), "EncryptionContext": ec})
	blob := unb64(t, out["CiphertextBlob"])
	if out["KeyId"] != keyARN(region, acct, id) || out["EncryptionAlgorithm"] != "SYMMETRIC_DEFAULT" {
		t.Errorf("Encrypt output %v", out)
	}
	if bytes.Contains(blob, pt) {
		t.Fatal("ciphertext contains the plaintext")
	}
	// Decrypt needs no KeyId: the blob names its key and version.
	dec := h.ok(h.root(), "Decrypt", m{"CiphertextBlob": b64(blob), "EncryptionContext": ec})
	if !bytes.Equal(unb64(t, dec["Plaintext"]), pt) || dec["KeyId"] != keyARN(region, acct, id) {
		t.Errorf("Decrypt = %v", dec)
	}
	h.ok(h.root(), "Decrypt", m{"CiphertextBlob": b64(blob), "EncryptionContext": ec, "KeyId": id})

	tampered := bytes.Clone(blob)
	tampered[len(tampered)-1] ^= 1
	wrongVersion := bytes.Clone(blob)
	wrongVersion[20] = 9
	otherKeyBlob := bytes.Clone(blob)
	ob := uuidBytes(other)
	copy(otherKeyBlob[1:17], ob[:])
	for _, tt := range []struct {
		name string
		in   m
		code string
	}{
		{"wrong context", m{"CiphertextBlob": b64(blob), "EncryptionContext": m{"purpose": "other", "tenant": "a"}}, codeInvalidCiphertext},
		{"missing context", m{"CiphertextBlob": b64(blob)}, codeInvalidCiphertext},
		{"extra context", m{"CiphertextBlob": b64(blob), "EncryptionContext": m{"purpose": "test", "tenant": "a", "x": "y"}}, codeInvalidCiphertext},
		{"tampered", m{"CiphertextBlob": b64(tampered), "EncryptionContext": ec}, codeInvalidCiphertext},
		{"version from the future", m{"CiphertextBlob": b64(wrongVersion), "EncryptionContext": ec}, codeInvalidCiphertext},
		{"moved to another key", m{"CiphertextBlob": b64(otherKeyBlob), "EncryptionContext": ec}, codeInvalidCiphertext},
		{"garbage", m{"CiphertextBlob": b64([]byte("garbage"))}, codeInvalidCiphertext},
		{"unknown key", m{"CiphertextBlob": b64(append([]byte{1}, make([]byte, 60)...))}, codeInvalidCiphertext},
		{"wrong key id", m{"CiphertextBlob": b64(blob), "EncryptionContext": ec, "KeyId": other}, codeIncorrectKey},
		{"empty", m{"CiphertextBlob": ""}, codeValidation},
	} {
		t.Run(tt.name, func(t *testing.T) { h.fails(h.root(), "Decrypt", tt.in, tt.code) })
	}
	for _, tt := range []struct {
		name string
		in   m
		code string
	}{
		{"empty plaintext", m{"KeyId": id}, codeValidation},
		{"plaintext too long", m{"KeyId": id, "Plaintext": b64(make([]byte, 4097))}, codeValidation},
		{"bad algorithm", m{"KeyId": id, "Plaintext": b64(pt), "EncryptionAlgorithm": "RSAES_OAEP_SHA_1"}, codeInvalidKeyUsage},
		{"missing key", m{"KeyId": "alias/none", "Plaintext": b64(pt)}, codeNotFound},
		{"too many grant tokens", m{"KeyId": id, "Plaintext": b64(pt), "GrantTokens": make([]string, 11)}, codeValidation},
		{"empty grant token", m{"KeyId": id, "Plaintext": b64(pt), "GrantTokens": []string{""}}, codeInvalidGrantToken},
		{"dry run", m{"KeyId": id, "Plaintext": b64(pt), "DryRun": true}, "DryRunOperationException"},
	} {
		t.Run(tt.name, func(t *testing.T) { h.fails(h.root(), "Encrypt", tt.in, tt.code) })
	}

	// ReEncrypt moves the ciphertext to another key and context.
	re := h.ok(h.root(), "ReEncrypt", m{"CiphertextBlob": b64(blob), "SourceEncryptionContext": ec,
		"DestinationKeyId": other, "DestinationEncryptionContext": m{"n": "2"}})
	if re["SourceKeyId"] != keyARN(region, acct, id) || re["KeyId"] != keyARN(region, acct, other) {
		t.Errorf("ReEncrypt = %v", re)
	}
	dec = h.ok(h.root(), "Decrypt", m{"CiphertextBlob": re["CiphertextBlob"], "EncryptionContext": m{"n": "2"}})
	if !bytes.Equal(unb64(t, dec["Plaintext"]), pt) {
		t.Error("re-encrypted ciphertext does not decrypt")
	}
	h.fails(h.root(), "ReEncrypt", m{"CiphertextBlob": b64(blob), "DestinationKeyId": other}, codeInvalidCiphertext)
	h.fails(h.root(), "ReEncrypt", m{"CiphertextBlob": b64(blob), "SourceEncryptionContext": ec}, codeValidation)
}

func TestKeyStates(t *testing.T) {
	h := newHarness(t)
	id := h.createKey(m{})
	pt := b64([]byte("x"))
	blob := h.ok(h.root(), "Encrypt", m{"KeyId": id, "Plaintext": pt})["CiphertextBlob"]

	h.ok(h.root(), "DisableKey", m{"KeyId": id})
	h.fails(h.root(), "Encrypt", m{"KeyId": id, "Plaintext": pt}, codeDisabled)
	h.fails(h.root(), "Decrypt", m{"CiphertextBlob": blob}, codeDisabled)
	h.fails(h.root(), "GenerateDataKey", m{"KeyId": id, "KeySpec": "AES_256"}, codeDisabled)
	if md := h.ok(h.root(), "DescribeKey", m{"KeyId": id})["KeyMetadata"].(m); md["KeyState"] != "Disabled" || md["Enabled"] != false {
		t.Errorf("disabled key metadata %v", md)
	}
	h.ok(h.root(), "EnableKey", m{"KeyId": id})
	h.ok(h.root(), "Decrypt", m{"CiphertextBlob": blob})

	for _, d := range []int{6, 31} {
		h.fails(h.root(), "ScheduleKeyDeletion", m{"KeyId": id, "PendingWindowInDays": d}, codeValidation)
	}
	out := h.ok(h.root(), "ScheduleKeyDeletion", m{"KeyId": id, "PendingWindowInDays": 7})
	if out["KeyState"] != "PendingDeletion" || out["PendingWindowInDays"] != float64(7) {
		t.Errorf("ScheduleKeyDeletion = %v", out)
	}
	h.fails(h.root(), "Encrypt", m{"KeyId": id, "Plaintext": pt}, codeInvalidState)
	h.fails(h.root(), "Decrypt", m{"CiphertextBlob": blob}, codeInvalidState)
	h.fails(h.root(), "EnableKey", m{"KeyId": id}, codeInvalidState)
	h.fails(h.root(), "ScheduleKeyDeletion", m{"KeyId": id}, codeInvalidState)
	h.ok(h.root(), "CancelKeyDeletion", m{"KeyId": id})
	h.fails(h.root(), "CancelKeyDeletion", m{"KeyId": id}, codeInvalidState)
	if md := h.ok(h.root(), "DescribeKey", m{"KeyId": id})["KeyMetadata"].(m); md["KeyState"] != "Disabled" || md["DeletionDate"] != nil {
		t.Errorf("after cancel: %v", md)
	}
	h.ok(h.root(), "UpdateKeyDescription", m{"KeyId": id, "Description": "new"})
	h.fails(h.root(), "UpdateKeyDescription", m{"KeyId": id}, codeValidation)

	// A key past its deletion date is deleted by the maintenance loop.
	h.ok(h.root(), "ScheduleKeyDeletion", m{"KeyId": id, "PendingWindowInDays": 7})
	h.now = h.now.Add(8 * 24 * time.Hour)
	if _, deleted, err := h.keys.Tick(t.Context()); err != nil || deleted != 1 {
		t.Fatalf("Tick deleted %d, %v", deleted, err)
	}
	h.fails(h.root(), "DescribeKey", m{"KeyId": id}, codeNotFound)
	h.fails(h.root(), "Decrypt", m{"CiphertextBlob": blob}, codeInvalidCiphertext)
}

func TestAliases(t *testing.T) {
	h := newHarness(t)
	id := h.createKey(m{})
	id2 := h.createKey(m{})
	rsaKey := h.createKey(m{"KeySpec": "RSA_2048", "KeyUsage": "SIGN_VERIFY"})
	h.ok(h.root(), "CreateAlias", m{"AliasName": "alias/app", "TargetKeyId": id})
	for _, tt := range []struct {
		name string
		in   m
		code string
	}{
		{"duplicate", m{"AliasName": "alias/app", "TargetKeyId": id2}, codeAlreadyExists},
		{"reserved", m{"AliasName": "alias/aws/mine", "TargetKeyId": id}, codeInvalidAliasName},
		{"no prefix", m{"AliasName": "app2", "TargetKeyId": id}, codeValidation},
		{"bad characters", m{"AliasName": "alias/a b", "TargetKeyId": id}, codeValidation},
		{"target is an alias", m{"AliasName": "alias/b", "TargetKeyId": "alias/app"}, codeValidation},
		{"missing key", m{"AliasName": "alias/b", "TargetKeyId": "11111111-2222-3333-4444-555555555555"}, codeNotFound},
	} {
		t.Run(tt.name, func(t *testing.T) { h.fails(h.root(), "CreateAlias", tt.in, tt.code) })
	}
	ct := h.ok(h.root(), "Encrypt", m{"KeyId": "alias/app", "Plaintext": b64([]byte("x"))})
	h.ok(h.root(), "UpdateAlias", m{"AliasName": "alias/app", "TargetKeyId": id2})
	if got := h.ok(h.root(), "DescribeKey", m{"KeyId": "alias/app"})["KeyMetadata"].(m)["KeyId"]; got != id2 {
		t.Errorf("alias points at %v after UpdateAlias, want %s", got, id2)
	}
	// The old ciphertext still names its own key.
	h.ok(h.root(), "Decrypt", m{"CiphertextBlob": ct["CiphertextBlob"]})
	h.fails(h.root(), "UpdateAlias", m{"AliasName": "alias/app", "TargetKeyId": rsaKey}, codeValidation)
	h.fails(h.root(), "UpdateAlias", m{"AliasName": "alias/none", "TargetKeyId": id}, codeNotFound)
	list := h.ok(h.root(), "ListAliases", m{})["Aliases"].([]any)
	if len(list) != 1 || list[0].(m)["AliasName"] != "alias/app" || list[0].(m)["TargetKeyId"] != id2 {
		t.Errorf("ListAliases = %v", list)
	}
	if l := h.ok(h.root(), "ListAliases", m{"KeyId": id})["Aliases"].([]any); len(l) != 0 {
		t.Errorf("ListAliases(old key) = %v", l)
	}
	h.ok(h.root(), "DeleteAlias", m{"AliasName": "alias/app"})
	h.fails(h.root(), "DeleteAlias", m{"AliasName": "alias/app"}, codeNotFound)
	h.fails(h.root(), "DeleteAlias", m{"AliasName": "alias/aws/secretsmanager"}, codeInvalidAliasName)
}

func TestTags(t *testing.T) {
	h := newHarness(t)
	id := h.createKey(m{"Tags": []m{{"TagKey": "a", "TagValue": "1"}}})
	h.ok(h.root(), "TagResource", m{"KeyId": id, "Tags": []m{{"TagKey": "b", "TagValue": "2"}, {"TagKey": "a", "TagValue": "3"}}})
	tags := h.ok(h.root(), "ListResourceTags", m{"KeyId": id})["Tags"].([]any)
	if fmt.Sprint(tags) != "[map[TagKey:a TagValue:3] map[TagKey:b TagValue:2]]" {
		t.Errorf("tags = %v", tags)
	}
	page := h.ok(h.root(), "ListResourceTags", m{"KeyId": id, "Limit": 1})
	if page["Truncated"] != true || page["NextMarker"] != "1" {
		t.Errorf("page = %v", page)
	}
	h.ok(h.root(), "UntagResource", m{"KeyId": id, "TagKeys": []string{"a"}})
	if tags := h.ok(h.root(), "ListResourceTags", m{"KeyId": id})["Tags"].([]any); len(tags) != 1 {
		t.Errorf("after untag: %v", tags)
	}
	h.fails(h.root(), "TagResource", m{"KeyId": id, "Tags": []m{{"TagKey": "aws:x", "TagValue": "1"}}}, codeTag)
	many := make([]m, 50)
	for i := range many {
		many[i] = m{"TagKey": fmt.Sprint("k", i), "TagValue": "v"}
	}
	h.fails(h.root(), "TagResource", m{"KeyId": id, "Tags": many}, codeTag)
}

func TestAsymmetric(t *testing.T) {
	h := newHarness(t)
	msg := []byte("message to sign")
	digest := sha256.Sum256(msg)
	for _, tt := range []struct {
		spec string
		algs []string
	}{
		{"RSA_2048", []string{"RSASSA_PSS_SHA_256", "RSASSA_PSS_SHA_384", "RSASSA_PSS_SHA_512", "RSASSA_PKCS1_V1_5_SHA_256", "RSASSA_PKCS1_V1_5_SHA_384", "RSASSA_PKCS1_V1_5_SHA_512"}},
		{"ECC_NIST_P256", []string{"ECDSA_SHA_256"}},
		{"ECC_NIST_P384", []string{"ECDSA_SHA_384"}},
	} {
		t.Run(tt.spec, func(t *testing.T) {
			id := h.createKey(m{"KeySpec": tt.spec, "KeyUsage": "SIGN_VERIFY"})
			pubOut := h.ok(h.root(), "GetPublicKey", m{"KeyId": id})
			pub, err := x509.ParsePKIXPublicKey(unb64(t, pubOut["PublicKey"]))
			if err != nil {
				t.Fatal(err)
			}
			for _, alg := range tt.algs {
				sig := h.ok(h.root(), "Sign", m{"KeyId": id, "Message": b64(msg), "SigningAlgorithm": alg})["Signature"]
				h.ok(h.root(), "Verify", m{"KeyId": id, "Message": b64(msg), "SigningAlgorithm": alg, "Signature": sig})
				bad := unb64(t, sig)
				bad[len(bad)/2] ^= 1
				h.fails(h.root(), "Verify", m{"KeyId": id, "Message": b64(msg), "SigningAlgorithm": alg, "Signature": b64(bad)}, codeInvalidSignature)
				h.fails(h.root(), "Verify", m{"KeyId": id, "Message": b64([]byte("other")), "SigningAlgorithm": alg, "Signature": sig}, codeInvalidSignature)
				if alg == "RSASSA_PKCS1_V1_5_SHA_256" {
					// The public key verifies outside KMS too.
					if err := rsa.VerifyPKCS1v15(pub.(*rsa.PublicKey), crypto.SHA256, digest[:], unb64(t, sig)); err != nil {
						t.Errorf("local verify: %v", err)
					}
				}
				if alg == "ECDSA_SHA_256" {
					if !ecdsa.VerifyASN1(pub.(*ecdsa.PublicKey), digest[:], unb64(t, sig)) {
						t.Error("local ECDSA verify failed")
					}
					dsig := h.ok(h.root(), "Sign", m{"KeyId": id, "Message": b64(digest[:]), "MessageType": "DIGEST", "SigningAlgorithm": alg})["Signature"]
					h.ok(h.root(), "Verify", m{"KeyId": id, "Message": b64(msg), "SigningAlgorithm": alg, "Signature": dsig})
					h.fails(h.root(), "Sign", m{"KeyId": id, "Message": b64(msg[:5]), "MessageType": "DIGEST", "SigningAlgorithm": alg}, codeValidation)
				}
			}
			wrong := "ECDSA_SHA_384"
			if tt.spec == "ECC_NIST_P384" {
				wrong = "ECDSA_SHA_256"
			}
			h.fails(h.root(), "Sign", m{"KeyId": id, "Message": b64(msg), "SigningAlgorithm": wrong}, codeInvalidKeyUsage)
			h.fails(h.root(), "Encrypt", m{"KeyId": id, "Plaintext": b64(msg)}, codeInvalidKeyUsage)
			h.fails(h.root(), "GenerateDataKey", m{"KeyId": id, "KeySpec": "AES_256"}, codeInvalidKeyUsage)
			h.fails(h.root(), "EnableKeyRotation", m{"KeyId": id}, codeUnsupported)
		})
	}
	t.Run("RSA encryption", func(t *testing.T) {
		id := h.createKey(m{"KeySpec": "RSA_3072", "KeyUsage": "ENCRYPT_DECRYPT"})
		for _, alg := range []string{"RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256"} {
			ct := h.ok(h.root(), "Encrypt", m{"KeyId": id, "Plaintext": b64(msg), "EncryptionAlgorithm": alg})["CiphertextBlob"]
			out := h.ok(h.root(), "Decrypt", m{"KeyId": id, "CiphertextBlob": ct, "EncryptionAlgorithm": alg})
			if !bytes.Equal(unb64(t, out["Plaintext"]), msg) {
				t.Errorf("%s round trip failed", alg)
			}
			h.fails(h.root(), "Decrypt", m{"KeyId": id, "CiphertextBlob": ct}, codeInvalidKeyUsage)
		}
		h.fails(h.root(), "Encrypt", m{"KeyId": id, "Plaintext": b64(msg)}, codeInvalidKeyUsage)
		h.fails(h.root(), "Sign", m{"KeyId": id, "Message": b64(msg), "SigningAlgorithm": "RSASSA_PSS_SHA_256"}, codeInvalidKeyUsage)
	})
	t.Run("symmetric has no public key", func(t *testing.T) {
		h.fails(h.root(), "GetPublicKey", m{"KeyId": h.createKey(m{})}, codeUnsupported)
	})
}

func TestMac(t *testing.T) {
	h := newHarness(t)
	id := h.createKey(m{"KeySpec": "HMAC_256", "KeyUsage": "GENERATE_VERIFY_MAC"})
	msg := b64([]byte("hello"))
	mac := h.ok(h.root(), "GenerateMac", m{"KeyId": id, "Message": msg, "MacAlgorithm": "HMAC_SHA_256"})["Mac"]
	if len(unb64(t, mac)) != 32 {
		t.Fatalf("mac %v", mac)
	}
	out := h.ok(h.root(), "VerifyMac", m{"KeyId": id, "Message": msg, "MacAlgorithm": "HMAC_SHA_256", "Mac": mac})
	if out["MacValid"] != true {
		t.Errorf("VerifyMac = %v", out)
	}
	h.fails(h.root(), "VerifyMac", m{"KeyId": id, "Message": b64([]byte("x")), "MacAlgorithm": "HMAC_SHA_256", "Mac": mac}, codeInvalidMac)
	h.fails(h.root(), "GenerateMac", m{"KeyId": id, "Message": msg, "MacAlgorithm": "HMAC_SHA_512"}, codeInvalidKeyUsage)
	h.fails(h.root(), "GenerateMac", m{"KeyId": id, "Message": msg, "MacAlgorithm": "MD5"}, codeValidation)
	h.fails(h.root(), "GenerateMac", m{"KeyId": h.createKey(m{}), "Message": msg, "MacAlgorithm": "HMAC_SHA_256"}, codeInvalidKeyUsage)
	h.fails(h.root(), "Encrypt", m{"KeyId": id, "Plaintext": msg}, codeInvalidKeyUsage)
}

func TestDataKeys(t *testing.T) {
	h := newHarness(t)
	id := h.createKey(m{})
	for _, tt := range []struct {
		in   m
		size int
		code string
	}{
		{m{"KeySpec": "AES_256"}, 32, ""},
		{m{"KeySpec": "AES_128"}, 16, ""},
		{m{"NumberOfBytes": 64}, 64, ""},
		{m{}, 0, codeValidation},
		{m{"KeySpec": "AES_256", "NumberOfBytes": 32}, 0, codeValidation},
		{m{"NumberOfBytes": 1025}, 0, codeValidation},
		{m{"KeySpec": "AES_512"}, 0, codeValidation},
	} {
		in := m{"KeyId": id, "EncryptionContext": m{"k": "v"}}
		for k, v := range tt.in {
			in[k] = v
		}
		out, err := h.call(h.root(), "GenerateDataKey", in)
		if errCode(err) != tt.code {
			t.Fatalf("GenerateDataKey(%v): %v, want %q", tt.in, err, tt.code)
		}
		if err != nil {
			continue
		}
		pt := unb64(t, out["Plaintext"])
		if len(pt) != tt.size {
			t.Errorf("data key of %d bytes, want %d", len(pt), tt.size)
		}
		dec := h.ok(h.root(), "Decrypt", m{"CiphertextBlob": out["CiphertextBlob"], "EncryptionContext": m{"k": "v"}})
		if !bytes.Equal(unb64(t, dec["Plaintext"]), pt) {
			t.Error("data key blob does not decrypt to the data key")
		}
	}
	out := h.ok(h.root(), "GenerateDataKeyWithoutPlaintext", m{"KeyId": id, "KeySpec": "AES_256"})
	if out["Plaintext"] != nil || out["CiphertextBlob"] == nil {
		t.Errorf("GenerateDataKeyWithoutPlaintext = %v", out)
	}
	pair := h.ok(h.root(), "GenerateDataKeyPair", m{"KeyId": id, "KeyPairSpec": "ECC_NIST_P256"})
	priv := unb64(t, pair["PrivateKeyPlaintext"])
	if _, err := x509.ParsePKCS8PrivateKey(priv); err != nil {
		t.Errorf("private key: %v", err)
	}
	if _, err := x509.ParsePKIXPublicKey(unb64(t, pair["PublicKey"])); err != nil {
		t.Errorf("public key: %v", err)
	}
	dec := h.ok(h.root(), "Decrypt", m{"CiphertextBlob": pair["PrivateKeyCiphertextBlob"]})
	if !bytes.Equal(unb64(t, dec["Plaintext"]), priv) {
		t.Error("private key blob does not decrypt to the private key")
	}
	np := h.ok(h.root(), "GenerateDataKeyPairWithoutPlaintext", m{"KeyId": id, "KeyPairSpec": "RSA_2048"})
	if np["PrivateKeyPlaintext"] != nil || np["KeyPairSpec"] != "RSA_2048" {
		t.Errorf("GenerateDataKeyPairWithoutPlaintext = %v", np)
	}
	h.fails(h.root(), "GenerateDataKeyPair", m{"KeyId": id, "KeyPairSpec": "ECC_SECG_P256K1"}, codeValidation)
	r := h.ok(h.root(), "GenerateRandom", m{"NumberOfBytes": 100})
	if len(unb64(t, r["Plaintext"])) != 100 {
		t.Error("GenerateRandom length")
	}
	h.fails(h.root(), "GenerateRandom", m{"NumberOfBytes": 0}, codeValidation)
	h.fails(h.root(), "GenerateRandom", m{}, codeValidation)
}

func TestRotation(t *testing.T) {
	h := newHarness(t)
	id := h.createKey(m{})
	old := h.ok(h.root(), "Encrypt", m{"KeyId": id, "Plaintext": b64([]byte("v1"))})["CiphertextBlob"]
	st := h.ok(h.root(), "GetKeyRotationStatus", m{"KeyId": id})
	if st["KeyRotationEnabled"] != false {
		t.Errorf("new key rotation status %v", st)
	}
	for _, d := range []int{89, 2561} {
		h.fails(h.root(), "EnableKeyRotation", m{"KeyId": id, "RotationPeriodInDays": d}, codeValidation)
	}
	h.ok(h.root(), "EnableKeyRotation", m{"KeyId": id, "RotationPeriodInDays": 90})
	st = h.ok(h.root(), "GetKeyRotationStatus", m{"KeyId": id})
	if st["KeyRotationEnabled"] != true || st["RotationPeriodInDays"] != float64(90) || st["NextRotationDate"] == nil {
		t.Errorf("rotation status %v", st)
	}
	h.ok(h.root(), "RotateKeyOnDemand", m{"KeyId": id})
	mid := h.ok(h.root(), "Encrypt", m{"KeyId": id, "Plaintext": b64([]byte("v2"))})["CiphertextBlob"]
	if v := unb64(t, mid)[20]; v != 2 {
		t.Errorf("ciphertext after on-demand rotation uses version %d, want 2", v)
	}
	// Automatic rotation when due, once even if two servers tick.
	other, err := New(Config{Store: h.st, Keyring: h.ring, Authorizer: h.keys.cfg.Authorizer, Now: func() time.Time { return h.now }})
	if err != nil {
		t.Fatal(err)
	}
	h.now = h.now.Add(91 * 24 * time.Hour)
	r1, _, err1 := h.keys.Tick(t.Context())
	r2, _, err2 := other.Tick(t.Context())
	if err1 != nil || err2 != nil || r1+r2 != 1 {
		t.Fatalf("ticks rotated %d+%d (%v, %v), want 1", r1, r2, err1, err2)
	}
	rots := h.ok(h.root(), "ListKeyRotations", m{"KeyId": id})["Rotations"].([]any)
	if len(rots) != 2 || rots[0].(m)["RotationType"] != "ON_DEMAND" || rots[1].(m)["RotationType"] != "AUTOMATIC" {
		t.Errorf("ListKeyRotations = %v", rots)
	}
	for i, blob := range []any{old, mid} {
		out := h.ok(h.root(), "Decrypt", m{"CiphertextBlob": blob})
		if string(unb64(t, out["Plaintext"])) != fmt.Sprint("v", i+1) {
			t.Errorf("old ciphertext %d decrypts to %q", i+1, unb64(t, out["Plaintext"]))
		}
	}
	h.ok(h.root(), "DisableKeyRotation", m{"KeyId": id})
	if st := h.ok(h.root(), "GetKeyRotationStatus", m{"KeyId": id}); st["KeyRotationEnabled"] != false {
		t.Errorf("after disable: %v", st)
	}
	h.ok(h.root(), "DisableKey", m{"KeyId": id})
	h.fails(h.root(), "EnableKeyRotation", m{"KeyId": id}, codeDisabled)
	h.fails(h.root(), "RotateKeyOnDemand", m{"KeyId": id}, codeDisabled)
}

// TestTwoServers: two services on one store (two servers on one
// database). A change made on one takes effect on the other within
// KeyCacheTTL, and ciphertext made after a rotation on one decrypts on the
// other even while it still caches the old key row.
func TestTwoServers(t *testing.T) {
	h := newHarness(t)
	id := h.createKey(m{})
	pt := b64([]byte("x"))
	other, err := New(Config{Store: h.st, Keyring: h.ring, Authorizer: h.keys.cfg.Authorizer,
		Now: func() time.Time { return h.now }, KeyCacheTTL: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	b := &harness{t: t, st: h.st, keys: other, src: h.src, ring: h.ring, now: h.now}
	b.ok(b.root(), "Encrypt", m{"KeyId": id, "Plaintext": pt}) // b caches the row

	h.ok(h.root(), "RotateKeyOnDemand", m{"KeyId": id})
	blob := h.ok(h.root(), "Encrypt", m{"KeyId": id, "Plaintext": pt})["CiphertextBlob"]
	b.ok(b.root(), "Decrypt", m{"CiphertextBlob": blob})

	h.ok(h.root(), "DisableKey", m{"KeyId": id})
	h.fails(h.root(), "Encrypt", m{"KeyId": id, "Plaintext": pt}, codeDisabled)
	time.Sleep(60 * time.Millisecond)
	b.fails(b.root(), "Encrypt", m{"KeyId": id, "Plaintext": pt}, codeDisabled)
	// A change on b retries past h's stale row (conditional update on gen).
	b.ok(b.root(), "EnableKey", m{"KeyId": id})
	h.keys.rows.reset()
	h.ok(h.root(), "Encrypt", m{"KeyId": id, "Plaintext": pt})
}
