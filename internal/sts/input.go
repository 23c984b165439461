package sts

import (
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"github.com/bulwark-security/bulwark/internal/api"
	"github.com/bulwark-security/bulwark/internal/awsproto"
)

// Limits from the STS API reference and "IAM and AWS STS quotas".
const (
	maxSessionTags     = 50
	maxPolicyARNs      = 10
	maxPackedPolicy    = 2048
	minDurationSeconds = 900
)

var (
	sessionNameRE = regexp.MustCompile(`^[\w+=,.@-]{2,64}$`)
	externalIDRE  = regexp.MustCompile(`^[\w+=,.@:/-]+$`) // length checked apart: RE2 caps repeats at 1000
	sourceIdentRE = regexp.MustCompile(`^[\w+=,.@-]{2,64}$`)
	tagKeyRE      = regexp.MustCompile(`^[\p{L}\p{Z}\p{N}_.:/=+\-@]{1,128}$`)
	tagValueRE    = regexp.MustCompile(`^[\p{L}\p{Z}\p{N}_.:/=+\-@]{0,256}$`)
	accessKeyIDRE = regexp.MustCompile(`^[\w]{16,128}$`)
)

// validation builds AWS's ValidationError wording for a constraint.
func validation(value, field, constraint string) error {
	if len(value) > 64 {
		value = value[:64] + "..."
	}
	return awsproto.ValidationError("1 validation error detected: Value '%s' at '%s' failed to satisfy constraint: %s", value, field, constraint)
}

// members reads a query-protocol list: prefix.member.1, prefix.member.2, ...
// It stops at the first gap and refuses more than limit entries.
func members(v url.Values, prefix string, limit int) ([]string, error) {
	var out []string
	for i := 1; ; i++ {
		key := prefix + ".member." + strconv.Itoa(i)
		val, ok := v[key]
		if !ok {
			return out, nil
		}
		if len(out) >= limit {
			return nil, awsproto.ValidationError("1 validation error detected: Value at '%s' failed to satisfy constraint: Member must have length less than or equal to %d", lowerFirst(prefix), limit)
		}
		out = append(out, val[0])
	}
}

// tags reads Tags.member.N.Key / .Value.
func tags(v url.Values, prefix string, limit int) ([]api.Tag, error) {
	var out []api.Tag
	seen := map[string]bool{}
	for i := 1; ; i++ {
		base := prefix + ".member." + strconv.Itoa(i)
		k, okK := v[base+".Key"]
		val, okV := v[base+".Value"]
		if !okK && !okV {
			return out, nil
		}
		if len(out) >= limit {
			return nil, awsproto.ValidationError("1 validation error detected: Value at 'tags' failed to satisfy constraint: Member must have length less than or equal to %d", limit)
		}
		t := api.Tag{}
		if okK {
			t.Key = k[0]
		}
		if okV {
			t.Value = val[0]
		}
		if !tagKeyRE.MatchString(t.Key) {
			return nil, validation(t.Key, fmt.Sprintf("tags.%d.member.key", i), `Member must satisfy regular expression pattern: [\p{L}\p{Z}\p{N}_.:/=+\-@]+`)
		}
		if !tagValueRE.MatchString(t.Value) {
			return nil, validation(t.Value, fmt.Sprintf("tags.%d.member.value", i), `Member must satisfy regular expression pattern: [\p{L}\p{Z}\p{N}_.:/=+\-@]*`)
		}
		// Session tag keys are case-insensitive: "Duplicate tag keys
		// found" even if they differ only in case.
		lk := strings.ToLower(t.Key)
		if seen[lk] {
			return nil, awsproto.Errorf(400, "InvalidParameterValue", "Duplicate tag keys found. Please note that Tag keys are case insensitive.")
		}
		seen[lk] = true
		out = append(out, t)
	}
}

func duration(v url.Values, def int) (int, bool, error) {
	s := v.Get("DurationSeconds")
	if s == "" {
		return def, false, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < minDurationSeconds || n > 129600 {
		return 0, false, validation(s, "durationSeconds", "Member must have value greater than or equal to 900")
	}
	return n, true, nil
}

func lowerFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToLower(s[:1]) + s[1:]
}
