// Package kms is Bulwark's AWS Key Management Service (JSON 1.1,
// X-Amz-Target "TrentService"): customer and AWS managed keys, aliases,
// symmetric and asymmetric cryptography, HMAC, rotation, key policies and
// grants. Key material is sealed by the keyring before it reaches the store
// and never leaves the server except as a public key.
package kms

import (
	"context"

	"github.com/bulwark-security/bulwark/internal/api"
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
