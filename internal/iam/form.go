package iam

import (
	"encoding/base64"
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/bulwark-security/bulwark/internal/awsproto"
	"github.com/bulwark-security/bulwark/internal/store"
)

// Patterns and lengths from the IAM API reference's data types.
const (
	patName       = `[\w+=,.@-]+`
	patPath       = `(\u002F)|(\u002F[\u0021-\u007E]+\u002F)`
	patPathPrefix = `\u002F[\u0021-\u007F]*`
	patDocument   = `[\u0009\u000A\u000D\u0020-\u00FF]+`
	patTagKey     = `[\p{L}\p{Z}\p{N}_.:/=+\-@]+`
	patTagValue   = `[\p{L}\p{Z}\p{N}_.:/=+\-@]*`
	patVersionID  = `v[1-9][0-9]*(\.[A-Za-z0-9-]*)?`
	patAccessKey  = `[\w]+`
	patMarker     = `[\u0020-\u00FF]+`
	patText       = `[\u0009\u000A\u000D\u0020-\u007E\u00A1-\u00FF]*`
	patThumbprint = `[0-9a-fA-F]{40}`
	patPolicyPath = `((/[A-Za-z0-9\.,\+@=_-]+)*)/`

	maxNameLen        = 64
	maxExistingName   = 128 // existingUserNameType: names of users that may already exist
	maxPolicyNameLen  = 128
	maxPathLen        = 512
	maxDocumentLen    = 131072
	maxARNLen         = 2048
	minARNLen         = 20
	maxDescriptionLen = 1000
	maxMarkerLen      = 320
	maxTagKeyLen      = 128
	maxTagValueLen    = 256
	maxURLLen         = 255
	maxClientIDLen    = 255
)

var (
	// Go's RE2 spells \uXXXX as \x{XXXX}; the pat* constants keep AWS's
	// spelling for the error messages.
	nameRE       = regexp.MustCompile(`^` + patName + `$`)
	pathRE       = regexp.MustCompile(`^(?:/|/[!-~]+/)$`)
	pathPrefixRE = regexp.MustCompile(`^/[!-\x{7F}]*$`)
	documentRE   = regexp.MustCompile(`^[\t\n\r\x{20}-\x{FF}]+$`)
	tagKeyRE     = regexp.MustCompile(`^` + patTagKey + `$`)
	tagValueRE   = regexp.MustCompile(`^` + patTagValue + `$`)
	versionIDRE  = regexp.MustCompile(`^` + patVersionID + `$`)
	accessKeyRE  = regexp.MustCompile(`^` + patAccessKey + `$`)
	markerRE     = regexp.MustCompile(`^[\x{20}-\x{FF}]+$`)
	textRE       = regexp.MustCompile(`^[\t\n\r\x{20}-\x{7E}\x{A1}-\x{FF}]*$`)
	thumbprintRE = regexp.MustCompile(`^` + patThumbprint + `$`)
	policyPathRE = regexp.MustCompile(`^(?:` + patPolicyPath + `)$`)
)

// form reads query-protocol parameters and collects every constraint
// violation, so the error lists them all as AWS's ValidationError does
// ("2 validation errors detected: ...; ...").
type form struct {
	v    url.Values
	errs []string
}

func newForm(v url.Values) *form { return &form{v: v} }

func (f *form) get(key string) (string, bool) {
	vs, ok := f.v[key]
	if !ok || len(vs) == 0 {
		return "", false
	}
	return vs[0], true
}

// fail records one violation. A nil value is printed as AWS prints a
// missing member: "Value null at 'userName'".
func (f *form) fail(key string, value *string, constraint string) {
	field := lowerFirst(key)
	if value == nil {
		f.errs = append(f.errs, fmt.Sprintf("Value null at '%s' failed to satisfy constraint: %s", field, constraint))
		return
	}
	f.errs = append(f.errs, fmt.Sprintf("Value '%s' at '%s' failed to satisfy constraint: %s", shorten(*value), field, constraint))
}

// err returns the collected violations as one ValidationError, or nil.
func (f *form) err() error {
	switch n := len(f.errs); n {
	case 0:
		return nil
	case 1:
		return awsproto.ValidationError("1 validation error detected: %s", f.errs[0])
	default:
		return awsproto.ValidationError("%d validation errors detected: %s", n, strings.Join(f.errs, "; "))
	}
}

// str reads a string parameter with length and pattern constraints.
// required=false returns "" when absent.
func (f *form) str(key string, required bool, minLen, maxLen int, re *regexp.Regexp, pattern string) string {
	s, ok := f.get(key)
	if !ok {
		if required {
			f.fail(key, nil, "Member must not be null")
		}
		return ""
	}
	n := utf8.RuneCountInString(s)
	switch {
	case n < minLen:
		f.fail(key, &s, fmt.Sprintf("Member must have length greater than or equal to %d", minLen))
	case maxLen > 0 && n > maxLen:
		f.fail(key, &s, fmt.Sprintf("Member must have length less than or equal to %d", maxLen))
	case re != nil && !re.MatchString(s):
		f.fail(key, &s, "Member must satisfy regular expression pattern: "+pattern)
	default:
		return s
	}
	return ""
}

func (f *form) name(key string, maxLen int) string {
	return f.str(key, true, 1, maxLen, nameRE, patName)
}

func (f *form) optName(key string, maxLen int) string {
	return f.str(key, false, 1, maxLen, nameRE, patName)
}

// path reads an optional Path (default "/").
func (f *form) path(key string) string {
	if _, ok := f.get(key); !ok {
		return "/"
	}
	return f.str(key, false, 1, maxPathLen, pathRE, patPath)
}

// optPath reads an optional NewPath ("" = unchanged).
func (f *form) optPath(key string) string {
	return f.str(key, false, 1, maxPathLen, pathRE, patPath)
}

// policyPath reads a managed policy's Path (policyPathType, default "/").
func (f *form) policyPath(key string) string {
	if _, ok := f.get(key); !ok {
		return "/"
	}
	return f.str(key, false, 1, maxPathLen, policyPathRE, patPolicyPath)
}

// policyPathPrefix reads the PathPrefix of policy listings (policyPathType).
func (f *form) policyPathPrefix(key string) string {
	return f.str(key, false, 1, maxPathLen, policyPathRE, patPolicyPath)
}

// entityPathPrefix reads ListEntitiesForPolicy's PathPrefix (pathType).
func (f *form) entityPathPrefix(key string) string {
	return f.str(key, false, 1, maxPathLen, pathRE, patPath)
}

func (f *form) pathPrefix(key string) string {
	return f.str(key, false, 1, maxPathLen, pathPrefixRE, patPathPrefix)
}

func (f *form) document(key string) string {
	return f.str(key, true, 1, maxDocumentLen, documentRE, patDocument)
}

func (f *form) arn(key string) string {
	return f.str(key, true, minARNLen, maxARNLen, nil, "")
}

// policyDescription reads CreatePolicy's Description (no pattern).
func (f *form) policyDescription(key string) string {
	return f.str(key, false, 0, maxDescriptionLen, nil, "")
}

func (f *form) description(key string) (string, bool) {
	_, ok := f.get(key)
	return f.str(key, false, 0, maxDescriptionLen, textRE, patText), ok
}

func (f *form) versionID(key string) string {
	return f.str(key, true, 1, 128, versionIDRE, patVersionID)
}

func (f *form) accessKeyID(key string) string {
	return f.str(key, true, 16, 128, accessKeyRE, patAccessKey)
}

// enum reads an optional parameter that must be one of allowed.
func (f *form) enum(key string, required bool, allowed ...string) string {
	s, ok := f.get(key)
	if !ok {
		if required {
			f.fail(key, nil, "Member must not be null")
		}
		return ""
	}
	for _, a := range allowed {
		if s == a {
			return s
		}
	}
	f.fail(key, &s, "Member must satisfy enum value set: ["+strings.Join(allowed, ", ")+"]")
	return ""
}

func (f *form) boolean(key string) bool {
	s, ok := f.get(key)
	if !ok {
		return false
	}
	switch strings.ToLower(s) {
	case "true":
		return true
	case "false":
		return false
	}
	f.fail(key, &s, "Member must be a boolean")
	return false
}

// integer reads an optional integer in [lo, hi], def when absent.
func (f *form) integer(key string, lo, hi, def int) int {
	s, ok := f.get(key)
	if !ok {
		return def
	}
	n, err := strconv.Atoi(s)
	switch {
	case err != nil:
		f.fail(key, &s, "Member must be an integer")
	case n < lo:
		f.fail(key, &s, fmt.Sprintf("Member must have value greater than or equal to %d", lo))
	case n > hi:
		f.fail(key, &s, fmt.Sprintf("Member must have value less than or equal to %d", hi))
	default:
		return n
	}
	return def
}

// page reads Marker and MaxItems. Markers are opaque to clients: the
// base64url of the last key of the previous page.
func (f *form) page() pageInput {
	var p pageInput
	p.MaxItems = f.integer("MaxItems", 1, maxMaxItems, defaultMaxItems)
	m := f.str("Marker", false, 1, maxMarkerLen, markerRE, patMarker)
	if m != "" {
		raw, err := base64.RawURLEncoding.DecodeString(m)
		if err != nil {
			f.fail("Marker", &m, "Member must be a marker returned by a previous call")
		} else {
			p.after = string(raw)
		}
	}
	return p
}

// list reads prefix.member.1, prefix.member.2, ... up to the first gap,
// refusing more than limit entries.
func (f *form) list(key string, limit int) []string {
	var out []string
	for i := 1; ; i++ {
		val, ok := f.v[key+".member."+strconv.Itoa(i)]
		if !ok {
			return out
		}
		if len(out) >= limit {
			s := strconv.Itoa(i)
			f.fail(key, &s, fmt.Sprintf("Member must have length less than or equal to %d", limit))
			return nil
		}
		out = append(out, val[0])
	}
}

// tags reads Tags.member.N.Key/Value (at most 50, keys unique ignoring
// case as IAM requires).
func (f *form) tags(key string) []store.Tag {
	var out []store.Tag
	seen := map[string]bool{}
	for i := 1; ; i++ {
		base := key + ".member." + strconv.Itoa(i)
		k, okK := f.v[base+".Key"]
		v, okV := f.v[base+".Value"]
		if !okK && !okV {
			return out
		}
		if len(out) >= maxTagsPerResource {
			s := strconv.Itoa(i)
			f.fail(key, &s, fmt.Sprintf("Member must have length less than or equal to %d", maxTagsPerResource))
			return nil
		}
		var t store.Tag
		field := fmt.Sprintf("%s.%d.member.key", lowerFirst(key), i)
		if !okK {
			f.errs = append(f.errs, fmt.Sprintf("Value null at '%s' failed to satisfy constraint: Member must not be null", field))
			continue
		}
		t.Key = k[0]
		if okV {
			t.Value = v[0]
		}
		if n := utf8.RuneCountInString(t.Key); n < 1 || n > maxTagKeyLen || !tagKeyRE.MatchString(t.Key) {
			f.errs = append(f.errs, fmt.Sprintf("Value '%s' at '%s' failed to satisfy constraint: Member must satisfy regular expression pattern: %s and length 1-%d", shorten(t.Key), field, patTagKey, maxTagKeyLen))
			continue
		}
		if n := utf8.RuneCountInString(t.Value); n > maxTagValueLen || !tagValueRE.MatchString(t.Value) {
			f.errs = append(f.errs, fmt.Sprintf("Value '%s' at '%s.%d.member.value' failed to satisfy constraint: Member must satisfy regular expression pattern: %s and length 0-%d", shorten(t.Value), lowerFirst(key), i, patTagValue, maxTagValueLen))
			continue
		}
		lk := strings.ToLower(t.Key)
		if seen[lk] {
			f.errs = append(f.errs, "Duplicate tag keys found. Please note that Tag keys are case insensitive.")
			continue
		}
		seen[lk] = true
		out = append(out, t)
	}
}

// tagKeys reads TagKeys.member.N (1 to 50 keys).
func (f *form) tagKeys(key string) []string {
	keys := f.list(key, maxTagsPerResource)
	if keys == nil {
		if _, ok := f.v[key+".member.1"]; !ok {
			f.fail(key, nil, "Member must not be null")
		}
		return nil
	}
	for i, k := range keys {
		if n := utf8.RuneCountInString(k); n < 1 || n > maxTagKeyLen || !tagKeyRE.MatchString(k) {
			f.errs = append(f.errs, fmt.Sprintf("Value '%s' at '%s.%d.member' failed to satisfy constraint: Member must satisfy regular expression pattern: %s", shorten(k), lowerFirst(key), i+1, patTagKey))
		}
	}
	return keys
}

// pageInput is a decoded Marker/MaxItems pair.
type pageInput struct {
	MaxItems int
	after    string // the last key of the previous page
}

// storePage is the store's page for a listing with a path prefix.
func (p pageInput) storePage(prefix string) store.Page {
	return store.Page{PathPrefix: prefix, Marker: p.after, MaxItems: p.MaxItems}
}

func encodeMarker(last string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(last))
}

// pageSlice pages a listing the store does not page: items must be
// ordered by key; it returns the items after the marker, at most MaxItems,
// and the marker of the next page ("" when none follows).
func pageSlice[T any](items []T, key func(T) string, p pageInput) ([]T, string) {
	start := 0
	if p.after != "" {
		for start < len(items) && key(items[start]) <= p.after {
			start++
		}
	}
	items = items[start:]
	if len(items) <= p.MaxItems {
		return items, ""
	}
	items = items[:p.MaxItems]
	return items, encodeMarker(key(items[len(items)-1]))
}

func lowerFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToLower(s[:1]) + s[1:]
}

// shorten bounds values echoed in error messages.
func shorten(s string) string {
	if utf8.RuneCountInString(s) <= 128 {
		return s
	}
	r := []rune(s)
	return string(r[:128]) + "..."
}
