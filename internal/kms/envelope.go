// Package kms is Bulwark's AWS Key Management Service (JSON 1.1,
// X-Amz-Target "TrentService"): customer and AWS managed keys, aliases,
// symmetric and asymmetric cryptography, HMAC, rotation, key policies and
// grants. Key material is sealed by the keyring before it reaches the store
// and never leaves the server except as a public key.
package kms

import (
	"context"

	"github.com/bulwark-security/bulwark/internal/api"
	"github.com/bulwark-security/bulwark/internal/awsproto"
)

// Envelope is what other services (Secrets Manager) use to encrypt under a
// KMS key on behalf of their caller. Each method authorises the call as AWS
// does for a service acting for its caller (kms:ViaService
// "secretsmanager.<region>.amazonaws.com", kms:CallerAccount), with the
// key policy, the caller's IAM policies and grants. keyID may be a key id,
// key ARN, alias name or alias ARN; "" or "alias/aws/secretsmanager" means
// the AWS managed key for Secrets Manager, created on first use. Errors are
// *awsproto.Error values with KMS's codes (NotFoundException,
// DisabledException, KMSInvalidStateException, InvalidCiphertextException,
// AccessDeniedException, ...).
type Envelope interface {
	// GenerateDataKey returns a fresh 256-bit data key, in plaintext and as
	// a ciphertext blob bound to encCtx, and the ARN of the key used.
	GenerateDataKey(ctx context.Context, c *api.Call, keyID string, encCtx map[string]string) (plaintext, blob []byte, keyARN string, err error)
	// Decrypt opens a ciphertext blob made under any key (the blob names
	// it) with the same encCtx.
	Decrypt(ctx context.Context, c *api.Call, blob []byte, encCtx map[string]string) (plaintext []byte, keyARN string, err error)
	// ResolveKey checks that keyID names a usable key the caller may
	// describe and returns its ARN.
	ResolveKey(ctx context.Context, c *api.Call, keyID string) (keyARN string, err error)
}

var _ Envelope = (*Keys)(nil)

// viaSecretsManager is the condition context of a call Secrets Manager
// makes on its caller's behalf.
func viaSecretsManager(c *api.Call, ec map[string]string) map[string][]string {
	m := map[string][]string{
		"kms:ViaService":    {"secretsmanager." + c.Region + ".amazonaws.com"},
		"kms:CallerAccount": {c.Principal.AccountID},
	}
	return encryptionContextKeys(m, ec)
}

func envelopeRef(keyID string) string {
	if keyID == "" {
		return managedSecretsAlias
	}
	return keyID
}

// GenerateDataKey implements Envelope.
func (k *Keys) GenerateDataKey(ctx context.Context, c *api.Call, keyID string, encCtx map[string]string) ([]byte, []byte, string, error) {
	if err := encryptionContext(encCtx).check(); err != nil {
		return nil, nil, "", err
	}
	var t target
	k.bindKey(ctx, c, envelopeRef(keyID), &t)
	if t.err != nil {
		return nil, nil, "", t.err
	}
	extra := viaSecretsManager(c, encCtx)
	if t.alias != "" {
		extra["kms:RequestAlias"] = []string{t.alias}
	}
	if err := k.authorize(ctx, c, "GenerateDataKey", &t.key, t.entry, extra); err != nil {
		return nil, nil, "", err
	}
	pt, blob, err := k.dataKey(ctx, &t.key, 32, encCtx)
	if err != nil {
		return nil, nil, "", err
	}
	return pt, blob, t.key.ARN, nil
}

// Decrypt implements Envelope. The blob names its key.
func (k *Keys) Decrypt(ctx context.Context, c *api.Call, blob []byte, encCtx map[string]string) ([]byte, string, error) {
	if err := encryptionContext(encCtx).check(); err != nil {
		return nil, "", err
	}
	h, err := parseBlob(blob)
	if err != nil {
		return nil, "", invalidCiphertext()
	}
	var t target
	k.bindKeyByID(ctx, uuidString(h.keyID), &t)
	if t.err != nil {
		if awsproto.As(t.err).Code == codeNotFound {
			return nil, "", invalidCiphertext()
		}
		return nil, "", t.err
	}
	if err := k.authorize(ctx, c, "Decrypt", &t.key, t.entry, viaSecretsManager(c, encCtx)); err != nil {
		return nil, "", err
	}
	pt, _, err := k.decrypt(ctx, &t.key, algSymmetric, blob, encCtx)
	if err != nil {
		return nil, "", err
	}
	return pt, t.key.ARN, nil
}

// ResolveKey implements Envelope.
func (k *Keys) ResolveKey(ctx context.Context, c *api.Call, keyID string) (string, error) {
	var t target
	k.bindKey(ctx, c, envelopeRef(keyID), &t)
	if t.err != nil {
		return "", t.err
	}
	extra := viaSecretsManager(c, nil)
	if t.alias != "" {
		extra["kms:RequestAlias"] = []string{t.alias}
	}
	if err := k.authorize(ctx, c, "DescribeKey", &t.key, t.entry, extra); err != nil {
		return "", err
	}
	if err := usable(&t.key); err != nil {
		return "", err
	}
	if t.key.KeySpec != specSymmetric || t.key.KeyUsage != usageEncrypt {
		return "", kmsErr(codeInvalidKeyUsage, "%s is not a symmetric encryption key.", t.key.ARN)
	}
	return t.key.ARN, nil
}
