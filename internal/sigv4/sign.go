package sigv4

import (
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// unsignedHeaders are never signed: they are set or changed by HTTP clients,
// proxies and tracing on the way (the same list as aws-sdk-go-v2's signer,
// plus hop-by-hop headers).
var unsignedHeaders = map[string]bool{
	"authorization":     true,
	"user-agent":        true,
	"x-amzn-trace-id":   true,
	"expect":            true,
	"transfer-encoding": true,
	"connection":        true,
	"keep-alive":        true,
	"proxy-connection":  true,
	"te":                true,
	"upgrade":           true,
}

func checkSignArgs(r *http.Request, accessKeyID string, secret []byte, region, service string) error {
	switch {
	case r == nil || r.URL == nil:
		return errors.New("sigv4: sign: request has no URL")
	case accessKeyID == "" || strings.ContainsAny(accessKeyID, "/, "):
		return errors.New("sigv4: sign: invalid access key id")
	case len(secret) == 0:
		return errors.New("sigv4: sign: empty secret")
	case region == "" || strings.Contains(region, "/"):
		return errors.New("sigv4: sign: invalid region")
	case service == "" || strings.Contains(service, "/"):
		return errors.New("sigv4: sign: invalid service")
	}
	return nil
}

// Sign signs r in place with an Authorization header, as the AWS SDKs do:
// it sets X-Amz-Date (and X-Amz-Security-Token when sessionToken is not
// empty) and signs host, content-length and every other header present
// except those clients and proxies rewrite (User-Agent, Expect, ...). body is
// the exact request body (nil for none); the caller sends it unchanged.
func Sign(r *http.Request, body []byte, accessKeyID string, secret []byte, sessionToken, region, service string, t time.Time) error {
	if err := checkSignArgs(r, accessKeyID, secret, region, service); err != nil {
		return err
	}
	if r.Header == nil {
		r.Header = make(http.Header)
	}
	t = t.UTC()
	amzDate := t.Format(amzDateLayout)
	r.Header.Del("Authorization")
	r.Header.Set("X-Amz-Date", amzDate)
	if sessionToken != "" {
		r.Header.Set("X-Amz-Security-Token", sessionToken)
	} else {
		r.Header.Del("X-Amz-Security-Token")
	}

	names := []string{"host"}
	if r.ContentLength > 0 {
		names = append(names, "content-length")
	}
	for k := range r.Header {
		n := strings.ToLower(k)
		if !unsignedHeaders[n] && !slices.Contains(names, n) {
			names = append(names, n)
		}
	}
	slices.Sort(names)

	payload := hexSHA256(body)
	in := signingInput{
		path:             wirePath(r),
		signedHeaders:    names,
		signedHeadersRaw: strings.Join(names, ";"),
		amzDate:          amzDate,
		scope:            amzDate[:8] + "/" + region + "/" + service + "/" + terminator,
		payloadHash:      payload[:],
	}
	if r.Header.Get("X-Amz-Content-Sha256") == unsignedPayload {
		in.payloadHash = []byte(unsignedPayload)
	}
	key := deriveKey(secret, amzDate[:8], region, service)
	sig, _ := signature(&key, r, &in, nil)
	r.Header.Set("Authorization", algorithm+" Credential="+accessKeyID+"/"+in.scope+
		", SignedHeaders="+in.signedHeadersRaw+", Signature="+hex.EncodeToString(sig[:]))
	return nil
}

// Presign returns r's URL with query-string authentication valid for expires
// (at most 7 days) from t. Only the host header is signed, so the URL works
// from any HTTP client; body (nil for none) is covered by the signature. r is
// not modified.
func Presign(r *http.Request, body []byte, accessKeyID string, secret []byte, sessionToken, region, service string, t time.Time, expires time.Duration) (string, error) {
	if err := checkSignArgs(r, accessKeyID, secret, region, service); err != nil {
		return "", err
	}
	if expires <= 0 || expires > MaxPresignExpires || expires%time.Second != 0 {
		return "", fmt.Errorf("sigv4: presign: expiry %v must be whole seconds between 1s and 7 days", expires)
	}
	t = t.UTC()
	amzDate := t.Format(amzDateLayout)
	scope := amzDate[:8] + "/" + region + "/" + service + "/" + terminator

	u := *r.URL
	// Drop the authentication parameters of an earlier presigning.
	var q []byte
	for rest := u.RawQuery; rest != ""; {
		var pair string
		pair, rest, _ = strings.Cut(rest, "&")
		k, _, _ := strings.Cut(pair, "=")
		switch k {
		case "X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-Expires", "X-Amz-SignedHeaders",
			"X-Amz-Signature", "X-Amz-Security-Token":
			continue
		}
		if len(q) > 0 {
			q = append(q, '&')
		}
		q = append(q, pair...)
	}
	add := func(k, v string) {
		if len(q) > 0 {
			q = append(q, '&')
		}
		q = append(q, k...)
		q = append(q, '=')
		q = appendEscaped(q, v, false)
	}
	add("X-Amz-Algorithm", algorithm)
	add("X-Amz-Credential", accessKeyID+"/"+scope)
	add("X-Amz-Date", amzDate)
	add("X-Amz-Expires", strconv.FormatInt(int64(expires/time.Second), 10))
	add("X-Amz-SignedHeaders", "host")
	if sessionToken != "" {
		add("X-Amz-Security-Token", sessionToken)
	}
	u.RawQuery = string(q)

	cr := *r
	cr.URL = &u
	payload := hexSHA256(body)
	in := signingInput{
		path:             wirePath(&cr),
		presigned:        true,
		signedHeaders:    []string{"host"},
		signedHeadersRaw: "host",
		amzDate:          amzDate,
		scope:            scope,
		payloadHash:      payload[:],
	}
	key := deriveKey(secret, amzDate[:8], region, service)
	sig, _ := signature(&key, &cr, &in, nil)
	u.RawQuery += "&X-Amz-Signature=" + hex.EncodeToString(sig[:])
	return u.String(), nil
}
