package kms

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/bulwark-security/bulwark/internal/store"
)

// FuzzParseBlob: the ciphertext blob parser never panics, accepts only
// what it can re-encode byte for byte, and a key never decrypts a blob it
// did not make (every failure is InvalidCiphertextException, never an
// internal error).
func FuzzParseBlob(f *testing.F) {
	h := newHarness(f)
	id := h.createKey(m{})
	key, err := h.keys.getKey(f.Context(), id)
	if err != nil {
		f.Fatal(err)
	}
	good, err := h.keys.symmetricEncrypt(f.Context(), &key, []byte("seed"), nil)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add([]byte{})
	f.Add([]byte{1})
	f.Add(append([]byte{1}, make([]byte, 48)...))
	f.Add(append([]byte{2}, good[1:]...))
	f.Add(bytes.Repeat([]byte{0xff}, maxCiphertext+1))
	f.Fuzz(func(t *testing.T, b []byte) {
		hd, err := parseBlob(b)
		if err != nil {
			if len(b) >= blobOverhead && len(b) <= maxCiphertext && b[0] == blobVersion1 && (b[17]|b[18]|b[19]|b[20]) != 0 {
				t.Fatalf("refused a well-formed blob of %d bytes", len(b))
			}
			return
		}
		re := appendBlobHeader(nil, hd.keyID, hd.version, hd.nonce)
		if !bytes.Equal(re, b[:blobHeaderLen]) || !bytes.Equal(hd.sealed, b[blobHeaderLen:]) {
			t.Fatal("header does not round-trip")
		}
		pt, err := h.keys.symmetricDecrypt(t.Context(), &key, b, nil)
		if bytes.Equal(b, good) {
			if err != nil || string(pt) != "seed" {
				t.Fatalf("the real blob does not decrypt: %v", err)
			}
			return
		}
		if errCode(err) != codeInvalidCiphertext {
			t.Fatalf("fuzzed blob: %v, want InvalidCiphertextException", err)
		}
	})
}

// FuzzContextAAD: two different encryption contexts never give the same
// additional data.
func FuzzContextAAD(f *testing.F) {
	f.Add("a", "bc", "ab", "c")
	f.Add("k", "v", "k", "v")
	f.Add("", "", "x", "")
	f.Fuzz(func(t *testing.T, k1, v1, k2, v2 string) {
		a := map[string]string{k1: v1}
		b := map[string]string{k2: v2}
		same := k1 == k2 && v1 == v2
		if got := bytes.Equal(contextAAD(nil, a), contextAAD(nil, b)); got != same {
			t.Fatalf("contexts %v and %v: equal AAD %v, want %v", a, b, got, same)
		}
		two := map[string]string{k1: v1, k2 + "\x00": v2}
		if bytes.Equal(contextAAD(nil, two), contextAAD(nil, a)) {
			t.Fatal("a context with more pairs has the same AAD")
		}
	})
}

// FuzzParseGrantToken: the grant token parser never panics and accepts
// exactly the tokens newGrantToken makes.
func FuzzParseGrantToken(f *testing.F) {
	id := "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
	f.Add(newGrantToken(id))
	f.Add("")
	f.Add("AQ")
	f.Fuzz(func(t *testing.T, tok string) {
		got, ok := parseGrantToken(tok)
		if !ok {
			return
		}
		if !isGrantID(got) {
			t.Fatalf("token %q names a malformed grant id %q", tok, got)
		}
	})
}

// FuzzDecryptRequest drives a whole Decrypt request (JSON decoding,
// validation, key binding, authorisation and the handler) with arbitrary
// bodies: it must answer an AWS error or a result, never panic or fail
// internally.
func FuzzDecryptRequest(f *testing.F) {
	h := newHarness(f)
	id := h.createKey(m{})
	out, err := h.call(h.root(), "Encrypt", m{"KeyId": id, "Plaintext": b64([]byte("x")), "EncryptionContext": m{"a": "b"}})
	if err != nil {
		f.Fatal(err)
	}
	seed, _ := json.Marshal(m{"CiphertextBlob": out["CiphertextBlob"], "EncryptionContext": m{"a": "b"}})
	f.Add(seed)
	f.Add([]byte(`{"CiphertextBlob":"AQ==","KeyId":"` + id + `"}`))
	f.Add([]byte(`{"CiphertextBlob":"AQ==","KeyId":"alias/aws/secretsmanager"}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		var in any
		if json.Unmarshal(body, &in) != nil {
			return
		}
		h.t = t
		_, err := h.call(h.root(), "Decrypt", json.RawMessage(body))
		if c := errCode(err); c == "InternalFailure" {
			t.Fatalf("internal failure for %s: %v", body, err)
		}
	})
}

// FuzzCreateGrantInput: a grant that passes validation always compiles
// into its key's effective policy (a grant that did not would break every
// later call on the key).
func FuzzCreateGrantInput(f *testing.F) {
	f.Add("arn:aws:iam::123456789012:user/app", "tenant", "a", true)
	f.Add("secretsmanager.amazonaws.com", "k\"", "v\\", false)
	f.Add("arn:aws:sts::123456789012:assumed-role/r/s", "", "", true)
	key := store.KMSKey{KeyID: "k", ARN: "arn:aws:kms:us-east-1:123456789012:key/k", Policy: defaultKeyPolicy(acct)}
	f.Fuzz(func(t *testing.T, grantee, k, v string, equals bool) {
		in := createGrantInput{GranteePrincipal: grantee, Operations: []string{"Decrypt", "Encrypt"}}
		if k != "" {
			c := &grantConstraints{EncryptionContextSubset: map[string]string{k: v}}
			if equals {
				c = &grantConstraints{EncryptionContextEquals: map[string]string{k: v}}
			}
			in.Constraints = c
		}
		if in.Validate() != nil {
			return
		}
		g := store.KMSGrant{GrantID: "00ff", Grantee: grantee, Operations: in.Operations, Constraints: in.constraintsJSON()}
		if _, err := effectivePolicy(key, []store.KMSGrant{g}); err != nil {
			t.Fatalf("valid grant does not compile: %v", err)
		}
	})
}
