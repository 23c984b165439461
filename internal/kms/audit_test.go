package kms

import (
	"encoding/base64"
	"strings"
	"testing"

	"github.com/bulwark-security/bulwark/internal/audit"
)

// TestAuditHidesSecrets renders KMS inputs and results as the audit trail
// does: plaintext, data keys, private keys, blobs, messages and MACs never
// appear; the key id and encryption context do.
func TestAuditHidesSecrets(t *testing.T) {
	h := newHarness(t)
	secret := []byte("very-secret-plaintext-value")
	enc := base64.StdEncoding.EncodeToString(secret)
	a := h.keys.Service().Action("Encrypt")
	for _, v := range []any{
		&encryptInput{keyInput: keyInput{KeyId: "alias/x"}, Plaintext: secret, EncryptionContext: encryptionContext{"tenant": "a"}},
		decryptOutput{KeyId: "k", Plaintext: secret},
		generateDataKeyOutput{CiphertextBlob: secret, Plaintext: secret, KeyId: "k"},
		generateDataKeyPairOutput{PrivateKeyCiphertextBlob: secret, PrivateKeyPlaintext: secret, KeyId: "k"},
		&signInput{keyInput: keyInput{KeyId: "k"}, Message: secret, SigningAlgorithm: "ECDSA_SHA_256"},
		generateMacOutput{Mac: secret, KeyId: "k"},
		generateRandomOutput{Plaintext: secret},
	} {
		out := string(audit.Render(v, a.AuditHidden))
		if strings.Contains(out, enc) || strings.Contains(out, string(secret)) {
			t.Errorf("audit record of %T shows the secret: %s", v, out)
		}
		if strings.Contains(out, "PolicyEntry") || strings.Contains(out, "Sealed") {
			t.Errorf("audit record of %T shows internal state: %s", v, out)
		}
	}
	in := string(audit.Render(&encryptInput{keyInput: keyInput{KeyId: "alias/x"}, EncryptionContext: encryptionContext{"tenant": "a"}}, a.AuditHidden))
	if !strings.Contains(in, "alias/x") || !strings.Contains(in, "tenant") {
		t.Errorf("audit record lacks the key id or context: %s", in)
	}
}
