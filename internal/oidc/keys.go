package oidc

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"math/big"
)

// Algorithms this package accepts. "none" and the HMAC algorithms are
// never accepted: a public key must not double as an HMAC secret (the
// algorithm confusion attack), and an unsigned token proves nothing.
var algorithms = map[string]struct {
	hash  func() hash.Hash
	chash crypto.Hash
	curve elliptic.Curve // nil for RSA
}{
	"RS256": {sha256.New, crypto.SHA256, nil},
	"RS384": {sha512.New384, crypto.SHA384, nil},
	"RS512": {sha512.New, crypto.SHA512, nil},
	"ES256": {sha256.New, crypto.SHA256, elliptic.P256()},
	"ES384": {sha512.New384, crypto.SHA384, elliptic.P384()},
}

const (
	maxKeys       = 100
	minRSABits    = 2048
	maxRSABits    = 8192
	maxRSAExpBits = 32
)

// key is one usable public key of a JWKS.
type key struct {
	kid string
	alg string // the JWK's alg, if it names one
	pub crypto.PublicKey
}

type jwk struct {
	Kty string `json:"kty"`
	Kid string `json:"kid"`
	Use string `json:"use"`
	Alg string `json:"alg"`
	N   string `json:"n"`
	E   string `json:"e"`
	Crv string `json:"crv"`
	X   string `json:"x"`
	Y   string `json:"y"`
}

// parseJWKS decodes a JSON Web Key Set (RFC 7517 §5), keeping the RSA
// and EC signature keys it can use and skipping the others (encryption
// keys, unknown types), as RFC 7517 §5 asks.
func parseJWKS(b []byte) ([]key, error) {
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := strictObject(b, &set); err != nil {
		return nil, fmt.Errorf("decode JWKS: %w", err)
	}
	if len(set.Keys) > maxKeys {
		return nil, fmt.Errorf("JWKS has %d keys; the limit is %d", len(set.Keys), maxKeys)
	}
	var out []key
	for _, raw := range set.Keys {
		var j jwk
		if err := json.Unmarshal(raw, &j); err != nil {
			continue
		}
		if j.Use != "" && j.Use != "sig" {
			continue
		}
		pub, err := j.publicKey()
		if err != nil {
			continue
		}
		out = append(out, key{kid: j.Kid, alg: j.Alg, pub: pub})
	}
	if len(out) == 0 {
		return nil, errors.New("JWKS has no usable signature key")
	}
	return out, nil
}

func (j *jwk) publicKey() (crypto.PublicKey, error) {
	switch j.Kty {
	case "RSA":
		nb, err1 := b64(j.N)
		eb, err2 := b64(j.E)
		if err1 != nil || err2 != nil || len(eb) == 0 || len(eb)*8 > maxRSAExpBits+8 {
			return nil, errors.New("bad RSA key encoding")
		}
		n := new(big.Int).SetBytes(nb)
		e := new(big.Int).SetBytes(eb)
		if n.BitLen() < minRSABits || n.BitLen() > maxRSABits || e.BitLen() > maxRSAExpBits || e.Int64() < 3 || e.Bit(0) == 0 {
			return nil, errors.New("RSA key out of bounds")
		}
		return &rsa.PublicKey{N: n, E: int(e.Int64())}, nil
	case "EC":
		var curve elliptic.Curve
		switch j.Crv {
		case "P-256":
			curve = elliptic.P256()
		case "P-384":
			curve = elliptic.P384()
		default:
			return nil, fmt.Errorf("unsupported curve %q", j.Crv)
		}
		size := (curve.Params().BitSize + 7) / 8
		x, err1 := b64(j.X)
		y, err2 := b64(j.Y)
		if err1 != nil || err2 != nil || len(x) != size || len(y) != size {
			return nil, errors.New("bad EC key encoding")
		}
		pt := append(append([]byte{4}, x...), y...)
		pub, err := ecdsa.ParseUncompressedPublicKey(curve, pt)
		if err != nil {
			return nil, fmt.Errorf("EC key: %w", err)
		}
		return pub, nil
	}
	return nil, fmt.Errorf("unsupported key type %q", j.Kty)
}

// usable reports whether k may verify a signature made with alg.
func (k *key) usable(alg string) bool {
	a, ok := algorithms[alg]
	if !ok || (k.alg != "" && k.alg != alg) {
		return false
	}
	switch pub := k.pub.(type) {
	case *rsa.PublicKey:
		return a.curve == nil
	case *ecdsa.PublicKey:
		return a.curve != nil && pub.Curve == a.curve
	}
	return false
}

// verifySignature checks t's signature with k; the caller has checked
// k.usable(t.Header.Alg).
func verifySignature(t *JWT, k *key) bool {
	a := algorithms[t.Header.Alg]
	h := a.hash()
	h.Write([]byte(t.signingInput))
	digest := h.Sum(nil)
	switch pub := k.pub.(type) {
	case *rsa.PublicKey:
		return rsa.VerifyPKCS1v15(pub, a.chash, digest, t.Signature) == nil
	case *ecdsa.PublicKey:
		// JWS ECDSA signatures are R||S, each the curve's size (RFC 7518 §3.4).
		size := (pub.Curve.Params().BitSize + 7) / 8
		if len(t.Signature) != 2*size {
			return false
		}
		r := new(big.Int).SetBytes(t.Signature[:size])
		s := new(big.Int).SetBytes(t.Signature[size:])
		return ecdsa.Verify(pub, digest, r, s)
	}
	return false
}
