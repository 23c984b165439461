package sigv4

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/textproto"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

const (
	algorithm       = "AWS4-HMAC-SHA256"
	terminator      = "aws4_request"
	unsignedPayload = "UNSIGNED-PAYLOAD"
	amzDateLayout   = "20060102T150405Z"
	// emptySHA256 is hex(SHA-256("")), the payload hash of an empty body.
	emptySHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
)

// unreserved marks the RFC 3986 unreserved characters, the only ones SigV4
// leaves unencoded ("Create a canonical request", IAM User Guide).
var unreserved = func() (t [256]bool) {
	for c := 'A'; c <= 'Z'; c++ {
		t[c] = true
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c] = true
	}
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	t['-'], t['.'], t['_'], t['~'] = true, true, true, true
	return t
}()

const upperHex = "0123456789ABCDEF"

// appendEscaped URI-encodes s the SigV4 way: everything but the unreserved
// characters (and '/' when keepSlash) becomes %XX with uppercase hex.
func appendEscaped(dst []byte, s string, keepSlash bool) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if unreserved[c] || (keepSlash && c == '/') {
			dst = append(dst, c)
			continue
		}
		dst = append(dst, '%', upperHex[c>>4], upperHex[c&15])
	}
	return dst
}

// needsEscape reports whether appendEscaped would change s.
func needsEscape(s string) bool {
	for i := 0; i < len(s); i++ {
		if !unreserved[s[i]] {
			return true
		}
	}
	return false
}

// wirePath returns the request path as it travelled on the wire (still
// percent-encoded). The canonical URI of every service but S3 is this path
// URI-encoded once more, which is what AWS means by "encoded twice": the SDKs
// (aws-sdk-go-v2's signer, botocore) escape the already-escaped path.
func wirePath(r *http.Request) string {
	var p string
	switch {
	case r.RequestURI != "" && r.RequestURI != "*":
		// Server side: the request-target exactly as received.
		p = r.RequestURI
		if i := strings.IndexByte(p, '?'); i >= 0 {
			p = p[:i]
		}
		if p != "" && p[0] != '/' {
			// absolute-form (http://host/path), sent to proxies
			if i := strings.Index(p, "://"); i >= 0 {
				p = p[i+3:]
				if j := strings.IndexByte(p, '/'); j >= 0 {
					p = p[j:]
				} else {
					p = ""
				}
			}
		}
	case r.URL == nil:
	case r.URL.Opaque != "":
		// Client side with a pre-escaped "//host/path" opaque, as the AWS
		// SDK documents it.
		o := r.URL.Opaque
		if i := strings.IndexByte(o, '?'); i >= 0 {
			o = o[:i]
		}
		o = strings.TrimPrefix(o, "//")
		if i := strings.IndexByte(o, '/'); i >= 0 {
			p = o[i:]
		}
	default:
		p = r.URL.EscapedPath()
	}
	if p == "" {
		return "/"
	}
	return p
}

// normalizePath removes "." and ".." segments and empty segments (runs of
// slashes), keeping a trailing slash, as botocore and the AWS test suite's
// "normalized" cases do. ok is false when the path is already normal.
func normalizePath(p string) (string, bool) {
	if !strings.Contains(p, "//") && !strings.Contains(p, "/.") {
		return p, false
	}
	segs := make([]string, 0, strings.Count(p, "/")+1)
	for s := range strings.SplitSeq(p, "/") {
		switch s {
		case "", ".":
		case "..":
			if len(segs) > 0 {
				segs = segs[:len(segs)-1]
			}
		default:
			segs = append(segs, s)
		}
	}
	n := "/" + strings.Join(segs, "/")
	if len(segs) > 0 && (strings.HasSuffix(p, "/") || strings.HasSuffix(p, "/.") || strings.HasSuffix(p, "/..")) {
		n += "/"
	}
	return n, n != p
}

type queryParam struct{ k, v string }

// canonicalQuery appends the canonical query string of rawQuery: each name and
// value decoded as net/url does (so the handler sees exactly what is signed),
// re-encoded the SigV4 way, sorted by encoded name then value. X-Amz-Signature
// is left out for presigned requests. Pairs net/url.ParseQuery would drop
// (bad escapes, semicolons) are dropped here too.
func appendCanonicalQuery(dst []byte, rawQuery string, presigned bool) []byte {
	if rawQuery == "" {
		return dst
	}
	var arr [16]queryParam
	params := arr[:0]
	for rawQuery != "" {
		var pair string
		pair, rawQuery, _ = strings.Cut(rawQuery, "&")
		if pair == "" || strings.IndexByte(pair, ';') >= 0 {
			continue
		}
		k, v, _ := strings.Cut(pair, "=")
		k, ok := canonicalQueryPart(k)
		if !ok {
			continue
		}
		if presigned && k == "X-Amz-Signature" {
			continue
		}
		if v, ok = canonicalQueryPart(v); !ok {
			continue
		}
		params = append(params, queryParam{k, v})
	}
	return appendSortedParams(dst, params)
}

// appendRawSortedQuery appends the query the way botocore canonicalizes a
// query already in the URL: the raw name=value pairs, not re-encoded, sorted.
// Verify tries it when the re-encoded form does not match, so a client that
// sent "a=b+c" or "%7e" and signed exactly that is still accepted; the raw
// bytes are what the signature covers either way.
func appendRawSortedQuery(dst []byte, rawQuery string, presigned bool) []byte {
	if rawQuery == "" {
		return dst
	}
	var arr [16]queryParam
	params := arr[:0]
	for pair := range strings.SplitSeq(rawQuery, "&") {
		k, v, _ := strings.Cut(pair, "=")
		if presigned && k == "X-Amz-Signature" {
			continue
		}
		params = append(params, queryParam{k, v})
	}
	return appendSortedParams(dst, params)
}

func appendSortedParams(dst []byte, params []queryParam) []byte {
	slices.SortFunc(params, func(a, b queryParam) int {
		if c := strings.Compare(a.k, b.k); c != 0 {
			return c
		}
		return strings.Compare(a.v, b.v)
	})
	for i, p := range params {
		if i > 0 {
			dst = append(dst, '&')
		}
		dst = append(dst, p.k...)
		dst = append(dst, '=')
		dst = append(dst, p.v...)
	}
	return dst
}

// canonicalQueryPart decodes one raw query component and re-encodes it.
// Components made only of unreserved characters are returned as they are,
// without allocating.
func canonicalQueryPart(raw string) (string, bool) {
	if !needsEscape(raw) {
		return raw, true
	}
	s, err := url.QueryUnescape(raw)
	if err != nil {
		return "", false
	}
	if !needsEscape(s) {
		return s, true
	}
	return string(appendEscaped(make([]byte, 0, len(s)*3), s, false)), true
}

// headerValues returns the values of the header named name (lowercase),
// looking at the places net/http moves some headers to.
func headerValues(r *http.Request, name string) []string {
	var buf [64]byte
	var vs []string
	var ok bool
	if len(name) <= len(buf) {
		vs, ok = r.Header[string(canonicalKey(buf[:0], name))]
	} else {
		vs, ok = r.Header[textproto.CanonicalMIMEHeaderKey(name)]
	}
	if ok {
		return vs
	}
	if name == "content-length" && r.ContentLength >= 0 {
		// Client side: net/http sends ContentLength, not the header.
		return nil
	}
	// Keys a client set in non-canonical form, or that net/http left alone.
	for k, v := range r.Header {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return nil
}

// canonicalKey is textproto.CanonicalMIMEHeaderKey for the usual header
// names, into dst, without allocating.
func canonicalKey(dst []byte, name string) []byte {
	upper := true
	for i := 0; i < len(name); i++ {
		c := name[i]
		if upper && 'a' <= c && c <= 'z' {
			c -= 'a' - 'A'
		} else if !upper && 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		dst = append(dst, c)
		upper = c == '-'
	}
	return dst
}

// appendHeaderValue appends v trimmed, with each run of spaces collapsed to
// one, as the SigV4 spec and aws-sdk-go-v2's signer do.
func appendHeaderValue(dst []byte, v string) []byte {
	v = strings.TrimSpace(v)
	space := false
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c == ' ' {
			if space {
				continue
			}
			space = true
		} else {
			space = false
		}
		dst = append(dst, c)
	}
	return dst
}

// appendCanonicalHeaders appends "name:value\n" for each signed header, in the
// order given (which a conforming signer sorted).
func appendCanonicalHeaders(dst []byte, r *http.Request, names []string) []byte {
	for _, name := range names {
		dst = append(dst, name...)
		dst = append(dst, ':')
		switch name {
		case "host":
			h := r.Host
			if h == "" && r.URL != nil {
				h = r.URL.Host
			}
			dst = appendHeaderValue(dst, h)
		default:
			vs := headerValues(r, name)
			if vs == nil {
				switch {
				case name == "content-length" && r.ContentLength >= 0:
					dst = strconv.AppendInt(dst, r.ContentLength, 10)
				case name == "transfer-encoding":
					vs = r.TransferEncoding
				}
			}
			for i, v := range vs {
				if i > 0 {
					dst = append(dst, ',')
				}
				dst = appendHeaderValue(dst, v)
			}
		}
		dst = append(dst, '\n')
	}
	return dst
}

// signingInput is everything the signature covers besides the request itself.
type signingInput struct {
	path             string   // wire path, before the second encoding
	presigned        bool     // drop X-Amz-Signature from the query
	rawQuery         bool     // botocore's raw sorted query, not re-encoded
	signedHeaders    []string // lowercase names
	signedHeadersRaw string   // the same, ';'-joined as the client sent it
	amzDate          string   // yyyymmddThhmmssZ
	scope            string   // date/region/service/aws4_request
	payloadHash      []byte   // hex SHA-256 of the body, or UNSIGNED-PAYLOAD
}

// appendCanonicalRequest appends the canonical request of "Create a
// canonical request" (IAM User Guide, "Elements of an AWS API request
// signature").
func appendCanonicalRequest(dst []byte, r *http.Request, in *signingInput) []byte {
	dst = append(dst, r.Method...)
	dst = append(dst, '\n')
	dst = appendEscaped(dst, in.path, true)
	dst = append(dst, '\n')
	switch {
	case r.URL == nil:
	case in.rawQuery:
		dst = appendRawSortedQuery(dst, r.URL.RawQuery, in.presigned)
	default:
		dst = appendCanonicalQuery(dst, r.URL.RawQuery, in.presigned)
	}
	dst = append(dst, '\n')
	dst = appendCanonicalHeaders(dst, r, in.signedHeaders)
	dst = append(dst, '\n')
	dst = append(dst, in.signedHeadersRaw...)
	dst = append(dst, '\n')
	dst = append(dst, in.payloadHash...)
	return dst
}

// signature computes the request signature with the derived signing key.
// buf is scratch space; the grown buffer is returned for reuse.
func signature(key *[32]byte, r *http.Request, in *signingInput, buf []byte) ([32]byte, []byte) {
	buf = appendCanonicalRequest(buf[:0], r, in)
	crHash := sha256.Sum256(buf)

	// HMAC-SHA256(key, stringToSign) by hand so that nothing is allocated:
	// inner = H((K ^ ipad) || msg), outer = H((K ^ opad) || inner).
	buf = buf[:0]
	for i := 0; i < 64; i++ {
		k := byte(0)
		if i < len(key) {
			k = key[i]
		}
		buf = append(buf, k^0x36)
	}
	buf = append(buf, algorithm+"\n"...)
	buf = append(buf, in.amzDate...)
	buf = append(buf, '\n')
	buf = append(buf, in.scope...)
	buf = append(buf, '\n')
	buf = hex.AppendEncode(buf, crHash[:])
	inner := sha256.Sum256(buf)
	var outer [64 + 32]byte
	for i := 0; i < 64; i++ {
		k := byte(0)
		if i < len(key) {
			k = key[i]
		}
		outer[i] = k ^ 0x5c
	}
	copy(outer[64:], inner[:])
	return sha256.Sum256(outer[:]), buf
}

// hexSHA256 returns hex(SHA-256(b)) into a fixed array.
func hexSHA256(b []byte) (out [64]byte) {
	if len(b) == 0 {
		copy(out[:], emptySHA256)
		return out
	}
	sum := sha256.Sum256(b)
	hex.Encode(out[:], sum[:])
	return out
}
