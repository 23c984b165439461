package kms

import (
	"testing"
)

// BenchmarkDecrypt is one signed-request's worth of KMS work in process:
// binding (the key row read), the key policy from the cache, the
// authorizer with an IAM user's identity policy, and AES-256-GCM.
func BenchmarkDecrypt(b *testing.B) {
	h := newHarness(b)
	u := h.user("bench", allowKMS)
	id := h.createKey(m{})
	ec := m{"purpose": "bench"}
	blob := h.ok(h.root(), "Encrypt", m{"KeyId": id, "Plaintext": b64(make([]byte, 32)), "EncryptionContext": ec})["CiphertextBlob"]
	in := m{"CiphertextBlob": blob, "EncryptionContext": ec}
	h.ok(u, "Decrypt", in)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := h.call(u, "Decrypt", in); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecryptCrypto is the cryptography alone (cached material).
func BenchmarkDecryptCrypto(b *testing.B) {
	h := newHarness(b)
	id := h.createKey(m{})
	key, err := h.keys.getKey(b.Context(), id)
	if err != nil {
		b.Fatal(err)
	}
	ec := map[string]string{"purpose": "bench"}
	blob, err := h.keys.symmetricEncrypt(b.Context(), &key, make([]byte, 32), ec)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := h.keys.symmetricDecrypt(b.Context(), &key, blob, ec); err != nil {
			b.Fatal(err)
		}
	}
}
