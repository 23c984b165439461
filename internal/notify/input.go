package notify

import (
	"encoding/base64"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/bulwark-security/bulwark/internal/api"
	"github.com/bulwark-security/bulwark/internal/awsproto"
)

// Limits from the SNS API reference and "Amazon SNS quotas".
const (
	// MaxPublishBytes is the largest message, attributes included.
	MaxPublishBytes  = 256 * 1024
	maxSubjectLen    = 100
	maxAttributes    = 10
	maxTags          = 50
	maxTopicAttrLen  = 30 * 1024
	maxEndpointLen   = 2048
	maxNextTokenLen  = 1024
	pageSize         = 100
	maxMapEntries    = 20
	maxAttrNameLen   = 256
	maxAttrValueLen  = MaxPublishBytes
	maxPhoneOrTarget = 1024
)

var (
	topicNameRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,256}$`)
	tagKeyRE    = regexp.MustCompile(`^[\p{L}\p{Z}\p{N}_.:/=+\-@]{1,128}$`)
	tagValueRE  = regexp.MustCompile(`^[\p{L}\p{Z}\p{N}_.:/=+\-@]{0,256}$`)
	attrNameRE  = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,256}$`)
)

// invalidParameter is SNS's 400 InvalidParameter, worded as SNS words it
// ("Invalid parameter: TopicArn").
func invalidParameter(what string) *awsproto.Error {
	return awsproto.Errorf(400, "InvalidParameter", "Invalid parameter: %s", what)
}

func notFound(msg string) *awsproto.Error { return awsproto.Errorf(404, "NotFound", "%s", msg) }

func required(v url.Values, name string) (string, error) {
	s := v.Get(name)
	if s == "" {
		return "", invalidParameter(name)
	}
	return s, nil
}

// entries reads a query-protocol map: prefix.entry.N.key / .value.
func entries(v url.Values, prefix string) (map[string]string, error) {
	out := map[string]string{}
	for i := 1; ; i++ {
		base := prefix + ".entry." + strconv.Itoa(i)
		k, okK := v[base+".key"]
		val, okV := v[base+".value"]
		if !okK && !okV {
			return out, nil
		}
		if i > maxMapEntries || !okK {
			return nil, invalidParameter(prefix)
		}
		value := ""
		if okV {
			value = val[0]
		}
		out[k[0]] = value
	}
}

// tagsParam reads Tags.member.N.Key / .Value.
func tagsParam(v url.Values, prefix string) ([]api.Tag, error) {
	var out []api.Tag
	seen := map[string]bool{}
	for i := 1; ; i++ {
		base := prefix + ".member." + strconv.Itoa(i)
		k, okK := v[base+".Key"]
		val, okV := v[base+".Value"]
		if !okK && !okV {
			return out, nil
		}
		if len(out) >= maxTags {
			return nil, awsproto.Errorf(400, "TagLimitExceeded", "Could not complete request: tag quota of per resource exceeded")
		}
		t := api.Tag{}
		if okK {
			t.Key = k[0]
		}
		if okV {
			t.Value = val[0]
		}
		if !tagKeyRE.MatchString(t.Key) || strings.HasPrefix(strings.ToLower(t.Key), "aws:") {
			return nil, awsproto.Errorf(400, "InvalidParameter", "Invalid parameter: Tags Reason: invalid tag key")
		}
		if !tagValueRE.MatchString(t.Value) {
			return nil, awsproto.Errorf(400, "InvalidParameter", "Invalid parameter: Tags Reason: invalid tag value")
		}
		if seen[t.Key] {
			return nil, awsproto.Errorf(400, "InvalidParameter", "Invalid parameter: Duplicated keys are not allowed.")
		}
		seen[t.Key] = true
		out = append(out, t)
	}
}

func membersParam(v url.Values, prefix string, limit int) ([]string, error) {
	var out []string
	for i := 1; ; i++ {
		val, ok := v[prefix+".member."+strconv.Itoa(i)]
		if !ok {
			return out, nil
		}
		if len(out) >= limit {
			return nil, invalidParameter(prefix)
		}
		out = append(out, val[0])
	}
}

// messageAttributes reads MessageAttributes.entry.N.Name,
// .Value.DataType, .Value.StringValue, .Value.BinaryValue and returns them
// with their size as SNS counts it (name, type and value bytes).
func messageAttributes(v url.Values) (map[string]MessageAttribute, int, error) {
	out := map[string]MessageAttribute{}
	size := 0
	for i := 1; ; i++ {
		base := "MessageAttributes.entry." + strconv.Itoa(i)
		name, ok := v[base+".Name"]
		if !ok {
			if _, more := v[base+".Value.DataType"]; more {
				return nil, 0, invalidParameter("MessageAttributes")
			}
			return out, size, nil
		}
		if len(out) >= maxAttributes {
			return nil, 0, awsproto.Errorf(400, "InvalidParameter", "Number of message attributes [%d] exceeds the allowed maximum [%d].", len(out)+1, maxAttributes)
		}
		n := name[0]
		if !attrNameRE.MatchString(n) || strings.HasPrefix(strings.ToLower(n), "aws.") || strings.HasPrefix(strings.ToLower(n), "amazon.") ||
			strings.HasPrefix(n, ".") || strings.HasSuffix(n, ".") || strings.Contains(n, "..") {
			return nil, 0, awsproto.Errorf(400, "InvalidParameterValue", "The message attribute name '%s' is invalid.", truncate(n, 64))
		}
		if _, dup := out[n]; dup {
			return nil, 0, awsproto.Errorf(400, "InvalidParameterValue", "Message attribute name '%s' has multiple values.", truncate(n, 64))
		}
		dt := v.Get(base + ".Value.DataType")
		kind, _, _ := strings.Cut(dt, ".")
		var a MessageAttribute
		switch kind {
		case "String", "Number":
			sv, ok := v[base+".Value.StringValue"]
			if !ok || sv[0] == "" || !utf8.ValidString(sv[0]) {
				return nil, 0, awsproto.Errorf(400, "ParameterValueInvalid", "The message attribute '%s' must contain non-empty message attribute value for message attribute type '%s'.", truncate(n, 64), truncate(dt, 64))
			}
			if kind == "Number" {
				if _, err := strconv.ParseFloat(sv[0], 64); err != nil {
					return nil, 0, awsproto.Errorf(400, "ParameterValueInvalid", "Could not cast message attribute '%s' value to number.", truncate(n, 64))
				}
			}
			a = MessageAttribute{Type: dt, Value: sv[0]}
			if dt == "String.Array" {
				a.Type = "String.Array"
			}
		case "Binary":
			bv, ok := v[base+".Value.BinaryValue"]
			if !ok || bv[0] == "" {
				return nil, 0, awsproto.Errorf(400, "ParameterValueInvalid", "The message attribute '%s' must contain non-empty message attribute value for message attribute type '%s'.", truncate(n, 64), truncate(dt, 64))
			}
			raw, err := base64.StdEncoding.DecodeString(bv[0])
			if err != nil {
				return nil, 0, invalidParameter("MessageAttributes")
			}
			a = MessageAttribute{Type: "Binary", Value: base64.StdEncoding.EncodeToString(raw)}
			size += len(raw) - len(a.Value)
		default:
			return nil, 0, awsproto.Errorf(400, "ParameterValueInvalid", "The message attribute '%s' has an invalid message attribute type, the set of supported type prefixes is Binary, Number, and String.", truncate(n, 64))
		}
		size += len(n) + len(a.Type) + len(a.Value)
		out[n] = a
	}
}

// validSubject: at most 100 characters, ASCII, starting with a letter,
// number or punctuation, no line breaks or control characters.
func validSubject(s string) bool {
	if s == "" || len(s) > maxSubjectLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c > 0x7e {
			return false
		}
	}
	return s[0] != ' '
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// pageToken encodes the last ARN of a page as an opaque NextToken.
func pageToken(last string) string { return base64.RawURLEncoding.EncodeToString([]byte(last)) }

func parsePageToken(tok string) (string, error) {
	if tok == "" {
		return "", nil
	}
	if len(tok) > maxNextTokenLen {
		return "", invalidParameter("NextToken")
	}
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil || !utf8.Valid(b) {
		return "", invalidParameter("NextToken")
	}
	return string(b), nil
}
