package oidc

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"math"
	"strings"
)

// Size limits for tokens. STS accepts WebIdentityToken values of at most
// 20000 characters (STS API reference); the header is small by nature.
const (
	MaxTokenLen  = 20000
	maxHeaderLen = 4096
)

// JWT is a parsed, not yet verified JSON Web Token in compact form
// (RFC 7519 §3, RFC 7515 §7.1).
type JWT struct {
	Header Header
	Claims Claims
	// signingInput is the "header.payload" the signature covers.
	signingInput string
	Signature    []byte
}

// Header is the JOSE header fields this package reads.
type Header struct {
	Alg string `json:"alg"`
	Kid string `json:"kid"`
	Typ string `json:"typ"`
	// Crit lists extensions the verifier must understand (RFC 7515
	// §4.1.11); this package understands none, so any is refused.
	Crit []string `json:"crit"`
}

// Claims are the registered and OIDC claims STS uses.
type Claims struct {
	Issuer   string
	Subject  string
	Audience []string
	// Expiry, NotBefore and IssuedAt are seconds since the epoch; the
	// Has* fields tell whether the claim was present.
	Expiry, NotBefore, IssuedAt          int64
	HasExpiry, HasNotBefore, HasIssuedAt bool
	// AuthorizedParty is azp; AMR the authentication methods (amr).
	AuthorizedParty string
	AMR             []string
}

type rawClaims struct {
	Iss string          `json:"iss"`
	Sub string          `json:"sub"`
	Aud json.RawMessage `json:"aud"`
	Exp json.RawMessage `json:"exp"`
	Nbf json.RawMessage `json:"nbf"`
	Iat json.RawMessage `json:"iat"`
	Azp string          `json:"azp"`
	AMR json.RawMessage `json:"amr"`
}

// ParseJWT splits and decodes a compact JWS without verifying it. It
// refuses tokens over MaxTokenLen, anything but three base64url segments,
// JSON that is not an object and claims of the wrong type. Callers must
// verify the signature (Verifier.Verify) before trusting any field.
func ParseJWT(token string) (*JWT, error) {
	if len(token) > MaxTokenLen {
		return nil, invalid("The ID Token provided is too large.")
	}
	h, rest, ok := strings.Cut(token, ".")
	p, s, ok2 := strings.Cut(rest, ".")
	if !ok || !ok2 || strings.Contains(s, ".") || h == "" || p == "" || s == "" {
		return nil, invalid(msgNotJWT)
	}
	if len(h) > maxHeaderLen {
		return nil, invalid(msgNotJWT)
	}
	hb, err1 := b64(h)
	pb, err2 := b64(p)
	sig, err3 := b64(s)
	if err1 != nil || err2 != nil || err3 != nil {
		return nil, invalid(msgNotJWT)
	}
	t := &JWT{signingInput: token[:len(h)+1+len(p)], Signature: sig}
	if err := strictObject(hb, &t.Header); err != nil {
		return nil, invalid(msgNotJWT)
	}
	var rc rawClaims
	if err := strictObject(pb, &rc); err != nil {
		return nil, invalid(msgNotJWT)
	}
	c := &t.Claims
	c.Issuer, c.Subject, c.AuthorizedParty = rc.Iss, rc.Sub, rc.Azp
	var err error
	if c.Audience, err = stringOrList(rc.Aud); err != nil {
		return nil, invalid("The ID Token provided has an invalid aud claim.")
	}
	if c.AMR, err = stringOrList(rc.AMR); err != nil {
		return nil, invalid("The ID Token provided has an invalid amr claim.")
	}
	for _, nd := range []struct {
		raw  json.RawMessage
		v    *int64
		has  *bool
		name string
	}{{rc.Exp, &c.Expiry, &c.HasExpiry, "exp"}, {rc.Nbf, &c.NotBefore, &c.HasNotBefore, "nbf"}, {rc.Iat, &c.IssuedAt, &c.HasIssuedAt, "iat"}} {
		if *nd.has, *nd.v, err = numericDate(nd.raw); err != nil {
			return nil, invalid("The ID Token provided has an invalid " + nd.name + " claim.")
		}
	}
	return t, nil
}

// b64 decodes unpadded base64url (RFC 7515 §2), refusing padding and
// other alphabets.
func b64(s string) ([]byte, error) { return base64.RawURLEncoding.Strict().DecodeString(s) }

// strictObject decodes a JSON object, refusing trailing data.
func strictObject(b []byte, v any) error {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || b[0] != '{' {
		return errNotObject
	}
	d := json.NewDecoder(bytes.NewReader(b))
	if err := d.Decode(v); err != nil {
		return err
	}
	if d.More() {
		return errNotObject
	}
	return nil
}

type jsonError string

func (e jsonError) Error() string { return string(e) }

const errNotObject = jsonError("not a single JSON object")

// stringOrList decodes a claim that is a string or an array of strings
// (aud, RFC 7519 §4.1.3).
func stringOrList(raw json.RawMessage) ([]string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var one string
	if err := json.Unmarshal(raw, &one); err == nil {
		return []string{one}, nil
	}
	var many []string
	if err := json.Unmarshal(raw, &many); err != nil {
		return nil, err
	}
	return many, nil
}

// numericDate decodes a NumericDate (RFC 7519 §2): seconds, possibly
// fractional, truncated to whole seconds.
func numericDate(raw json.RawMessage) (bool, int64, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return false, 0, nil
	}
	var f float64
	if err := json.Unmarshal(raw, &f); err != nil {
		return false, 0, err
	}
	if math.IsNaN(f) || f < 0 || f > 1e13 {
		return false, 0, jsonError("date out of range")
	}
	return true, int64(f), nil
}
