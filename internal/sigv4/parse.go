package sigv4

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Limits that bound the work done on hostile input.
const (
	maxAuthHeaderLen = 8 << 10
	maxSignedHeaders = 128
	// maxQueryParams bounds the canonical query sort (net/url's default
	// limit is the same).
	maxQueryParams = 10000
	// MaxPresignExpires is the longest X-Amz-Expires AWS accepts: 7 days.
	MaxPresignExpires = 7 * 24 * time.Hour
)

// Parsed is what a request claims about its signature, read before any
// secret is looked up: enough to route the request (Service) and to choose
// the error format. Signature and SessionToken must never be logged.
type Parsed struct {
	AccessKeyID string
	Date        string // credential scope date, yyyymmdd
	Region      string
	Service     string
	// SignedHeaders are the lowercase header names the client signed.
	SignedHeaders []string
	// Signature is the hex signature the client sent. Never log it.
	Signature string
	// SessionToken is X-Amz-Security-Token, "" if absent. Never log it.
	SessionToken string
	// Time is the signing time, from X-Amz-Date (or the Date header).
	Time time.Time
	// Presigned is true for query-string authentication (presigned URLs);
	// Expires is X-Amz-Expires, 0 when absent.
	Presigned bool
	Expires   time.Duration
	// PayloadHash is the X-Amz-Content-Sha256 value, "" if absent.
	PayloadHash string

	amzDate          string // signing time as yyyymmddThhmmssZ
	scope            string // date/region/service/terminator
	cacheID          string // accesskey/date/region/service
	terminator       string
	signedHeadersRaw string
	timeHeader       string // "x-amz-date" or "date"; "" for presigned
	tokenInHeader    bool
	hasExpires       bool
}

// String describes p for logs without the signature or the session token.
func (p *Parsed) String() string {
	return fmt.Sprintf("sigv4 %s/%s/%s/%s presigned=%t token=%t", p.AccessKeyID, p.Date, p.Region, p.Service,
		p.Presigned, p.SessionToken != "")
}

// GoString keeps %#v from printing the signature and token too.
func (p *Parsed) GoString() string { return p.String() }

// LogValue makes slog log p without the signature or the session token.
func (p *Parsed) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("accessKeyId", p.AccessKeyID),
		slog.String("date", p.Date),
		slog.String("region", p.Region),
		slog.String("service", p.Service),
		slog.Bool("presigned", p.Presigned),
		slog.Bool("sessionToken", p.SessionToken != ""),
	)
}

// Parse reads the Authorization header (AWS4-HMAC-SHA256 Credential=...,
// SignedHeaders=..., Signature=...) or the presigned query parameters. A
// request with neither gets MissingAuthenticationToken; a malformed one
// IncompleteSignature. Parse checks form only: scope, time and signature are
// Verify's.
func Parse(r *http.Request) (*Parsed, error) {
	if r == nil {
		return nil, errMissingAuth()
	}
	auth := r.Header["Authorization"]
	if r.URL != nil && strings.Count(r.URL.RawQuery, "&") >= maxQueryParams {
		return nil, errIncomplete(fmt.Sprintf("The query string has more than %d parameters.", maxQueryParams))
	}
	presigned := r.URL != nil && hasPresignParams(r.URL.RawQuery)
	switch {
	case len(auth) > 0 && presigned:
		return nil, errIncomplete("Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter or the Authorization header should be specified.")
	case len(auth) > 1:
		return nil, errIncomplete("Only one Authorization header is allowed.")
	case len(auth) == 1:
		return parseHeader(r, auth[0])
	case presigned:
		return parseQuery(r)
	}
	return nil, errMissingAuth()
}

func parseHeader(r *http.Request, v string) (*Parsed, error) {
	if len(v) > maxAuthHeaderLen {
		return nil, errIncomplete("The Authorization header is too long.")
	}
	alg, rest, _ := strings.Cut(strings.TrimSpace(v), " ")
	var cred, signedHeaders, sig string
	var haveCred, haveSH, haveSig bool
	if alg == algorithm {
		for rest != "" {
			var part string
			part, rest, _ = strings.Cut(rest, ",")
			part = strings.TrimSpace(part)
			if part == "" {
				continue
			}
			k, val, ok := strings.Cut(part, "=")
			if !ok {
				return nil, errIncomplete("A component of the Authorization header is not a valid key=value pair (missing equal-sign).")
			}
			var have *bool
			switch k {
			case "Credential":
				cred, have = val, &haveCred
			case "SignedHeaders":
				signedHeaders, have = val, &haveSH
			case "Signature":
				sig, have = val, &haveSig
			default:
				continue
			}
			if *have {
				return nil, errIncomplete(fmt.Sprintf("Authorization header has more than one '%s' parameter.", k))
			}
			*have = true
		}
	} else if strings.HasPrefix(alg, "AWS4-") {
		return nil, errIncomplete(fmt.Sprintf("Unsupported AWS 'algorithm': '%s'.", quote(alg)))
	}

	p := &Parsed{}
	xAmzDate, haveXAmzDate := firstHeader(r, "X-Amz-Date")
	date, haveDate := firstHeader(r, "Date")

	var missing []string
	if cred == "" {
		missing = append(missing, "Authorization header requires 'Credential' parameter.")
	}
	if sig == "" {
		missing = append(missing, "Authorization header requires 'Signature' parameter.")
	}
	if signedHeaders == "" {
		missing = append(missing, "Authorization header requires 'SignedHeaders' parameter.")
	}
	if !haveXAmzDate && !haveDate {
		missing = append(missing, "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.")
	}
	if len(missing) > 0 {
		return nil, errIncomplete(joinMsgs(missing))
	}
	if err := p.setCredential(cred); err != nil {
		return nil, err
	}
	if err := p.setSignedHeaders(signedHeaders); err != nil {
		return nil, err
	}
	p.Signature = sig
	if haveXAmzDate {
		t, err := parseAmzDate(xAmzDate)
		if err != nil {
			return nil, err
		}
		p.Time, p.amzDate, p.timeHeader = t, xAmzDate, "x-amz-date"
	} else {
		t, err := http.ParseTime(date)
		if err != nil {
			return nil, errIncomplete(fmt.Sprintf("Date must be in RFC 1123 format. Got '%s'.", quote(date)))
		}
		p.Time, p.amzDate, p.timeHeader = t.UTC(), t.UTC().Format(amzDateLayout), "date"
	}
	p.SessionToken, p.tokenInHeader = firstHeader(r, "X-Amz-Security-Token")
	p.PayloadHash, _ = firstHeader(r, "X-Amz-Content-Sha256")
	return p, nil
}

// firstHeader returns the first value of a header given in canonical form.
func firstHeader(r *http.Request, key string) (string, bool) {
	if vs := r.Header[key]; len(vs) > 0 {
		return vs[0], true
	}
	return "", false
}

func (p *Parsed) setCredential(cred string) error {
	const form = "Credential should be of the form <access-key-id>/<yyyymmdd>/<region>/<service>/aws4_request."
	akid, rest, ok1 := strings.Cut(cred, "/")
	date, rest, ok2 := strings.Cut(rest, "/")
	region, rest, ok3 := strings.Cut(rest, "/")
	service, term, ok4 := strings.Cut(rest, "/")
	if !ok1 || !ok2 || !ok3 || !ok4 || akid == "" || date == "" || region == "" || service == "" || term == "" {
		return errIncomplete(form)
	}
	p.AccessKeyID, p.Date, p.Region, p.Service, p.terminator = akid, date, region, service, term
	p.scope = cred[len(akid)+1:]
	p.cacheID = cred[:len(cred)-len(term)-1]
	return nil
}

func (p *Parsed) setSignedHeaders(s string) error {
	n := strings.Count(s, ";") + 1
	if n > maxSignedHeaders {
		return errIncomplete(fmt.Sprintf("Too many signed headers: at most %d are accepted.", maxSignedHeaders))
	}
	names := make([]string, 0, n)
	for name := range strings.SplitSeq(s, ";") {
		if name == "" {
			return errIncomplete("SignedHeaders contains an empty header name.")
		}
		names = append(names, name)
	}
	p.SignedHeaders, p.signedHeadersRaw = names, s
	return nil
}

func parseAmzDate(s string) (time.Time, error) {
	t, err := time.Parse(amzDateLayout, s)
	if err != nil || len(s) != len(amzDateLayout) {
		return time.Time{}, errIncomplete(fmt.Sprintf(
			"Date must be in ISO-8601 'basic format'. Got '%s'. See http://en.wikipedia.org/wiki/ISO_8601", quote(s)))
	}
	return t, nil
}

// hasPresignParams reports whether the query carries any of the parameters
// of query-string authentication.
func hasPresignParams(q string) bool {
	if !strings.Contains(q, "X-Amz-") {
		return false
	}
	for q != "" {
		var pair string
		pair, q, _ = strings.Cut(q, "&")
		k, _, _ := strings.Cut(pair, "=")
		switch k {
		case "X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Signature", "X-Amz-SignedHeaders":
			return true
		}
	}
	return false
}

func parseQuery(r *http.Request) (*Parsed, error) {
	q := r.URL.RawQuery
	if len(q) > 64<<10 {
		return nil, errIncomplete("The query string is too long.")
	}
	var vals [8]string
	var seen [8]bool
	keys := [8]string{"X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-SignedHeaders",
		"X-Amz-Signature", "X-Amz-Expires", "X-Amz-Security-Token", "X-Amz-Content-Sha256"}
	const (
		iAlg = iota
		iCred
		iDate
		iSH
		iSig
		iExp
		iTok
		iHash
	)
	for q != "" {
		var pair string
		pair, q, _ = strings.Cut(q, "&")
		k, v, _ := strings.Cut(pair, "=")
		for i, key := range keys {
			if k != key {
				continue
			}
			if seen[i] {
				return nil, errIncomplete(fmt.Sprintf("The query string has more than one '%s' parameter.", key))
			}
			u, err := url.QueryUnescape(v)
			if err != nil {
				return nil, errIncomplete(fmt.Sprintf("The '%s' query parameter is not validly encoded.", key))
			}
			vals[i], seen[i] = u, true
		}
	}
	if !seen[iAlg] || !seen[iCred] || !seen[iDate] || !seen[iSH] || !seen[iSig] ||
		vals[iCred] == "" || vals[iSH] == "" || vals[iSig] == "" {
		return nil, errIncomplete("AWS query-string parameters must include 'X-Amz-Algorithm', 'X-Amz-Credential', " +
			"'X-Amz-Signature', 'X-Amz-Date' and 'X-Amz-SignedHeaders'. Re-examine the query-string parameters.")
	}
	if vals[iAlg] != algorithm {
		return nil, errIncomplete(`X-Amz-Algorithm only supports "AWS4-HMAC-SHA256"`)
	}
	p := &Parsed{Presigned: true}
	if err := p.setCredential(vals[iCred]); err != nil {
		return nil, err
	}
	if err := p.setSignedHeaders(vals[iSH]); err != nil {
		return nil, err
	}
	t, err := parseAmzDate(vals[iDate])
	if err != nil {
		return nil, err
	}
	p.Time, p.amzDate = t, vals[iDate]
	if seen[iExp] {
		e := vals[iExp]
		n, err := strconv.ParseInt(e, 10, 64)
		switch {
		case err != nil && len(e) > 0 && strings.Trim(e, "0123456789") == "":
			// all digits but out of range
			return nil, errIncomplete("X-Amz-Expires must be less than a week (in seconds) that is 604800")
		case err != nil:
			return nil, errIncomplete("X-Amz-Expires should be a number")
		case n < 0:
			return nil, errIncomplete("X-Amz-Expires must be non-negative")
		case time.Duration(n)*time.Second > MaxPresignExpires:
			return nil, errIncomplete("X-Amz-Expires must be less than a week (in seconds) that is 604800")
		}
		p.Expires, p.hasExpires = time.Duration(n)*time.Second, true
	}
	p.Signature = vals[iSig]
	p.SessionToken = vals[iTok]
	p.PayloadHash = vals[iHash]
	if h, ok := firstHeader(r, "X-Amz-Content-Sha256"); ok {
		p.PayloadHash = h
	}
	return p, nil
}
