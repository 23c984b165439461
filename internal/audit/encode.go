package audit

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"
	"unicode/utf8"
)

// AppendJSON appends the CloudTrail record of e (what MarshalJSON returns)
// to b. It writes the record field by field instead of through
// encoding/json's reflection, which re-validated and re-compacted every
// record twice and was the largest cost of building one on the request
// path. requestParameters and responseElements must be valid JSON (Render
// and Rerender guarantee it); invalid JSON there is an error.
func (e *Event) AppendJSON(b []byte) ([]byte, error) {
	b = append(b, `{"eventVersion":`...)
	b = appendString(b, e.EventVersion)
	b = append(b, `,"userIdentity":`...)
	b = e.UserIdentity.appendJSON(b)
	b = append(b, `,"eventTime":`...)
	b = appendString(b, e.EventTime.UTC().Format(TimeFormat))
	b = append(b, `,"eventSource":`...)
	b = appendString(b, e.EventSource)
	b = append(b, `,"eventName":`...)
	b = appendString(b, e.EventName)
	b = append(b, `,"awsRegion":`...)
	b = appendString(b, e.AWSRegion)
	b = append(b, `,"sourceIPAddress":`...)
	b = appendString(b, e.SourceIPAddress)
	b = appendOptString(b, `,"userAgent":`, e.UserAgent)
	b = appendOptString(b, `,"errorCode":`, e.ErrorCode)
	b = appendOptString(b, `,"errorMessage":`, e.ErrorMessage)
	var err error
	b = append(b, `,"requestParameters":`...)
	if b, err = appendRaw(b, e.RequestParameters); err != nil {
		return nil, errors.New("requestParameters: invalid JSON")
	}
	b = append(b, `,"responseElements":`...)
	if b, err = appendRaw(b, e.ResponseElements); err != nil {
		return nil, errors.New("responseElements: invalid JSON")
	}
	b = append(b, `,"requestID":`...)
	b = appendString(b, e.RequestID)
	b = append(b, `,"eventID":`...)
	b = appendString(b, e.EventID)
	b = append(b, `,"readOnly":`...)
	b = strconv.AppendBool(b, e.ReadOnly)
	if len(e.Resources) > 0 {
		b = append(b, `,"resources":[`...)
		for i, r := range e.Resources {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"ARN":`...)
			b = appendString(b, r.ARN)
			b = appendOptString(b, `,"accountId":`, r.AccountID)
			b = appendOptString(b, `,"type":`, r.Type)
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	b = append(b, `,"eventType":`...)
	b = appendString(b, e.EventType)
	b = append(b, `,"managementEvent":`...)
	b = strconv.AppendBool(b, e.ManagementEvent)
	b = appendOptString(b, `,"recipientAccountId":`, e.RecipientAccountID)
	b = append(b, `,"eventCategory":`...)
	b = appendString(b, e.EventCategory)
	return append(b, '}'), nil
}

func (u *UserIdentity) appendJSON(b []byte) []byte {
	b = append(b, '{')
	start := len(b)
	field := func(name, v string) {
		if v == "" {
			return
		}
		if len(b) > start {
			b = append(b, ',')
		}
		b = append(b, name...)
		b = appendString(b, v)
	}
	field(`"type":`, u.Type)
	field(`"principalId":`, u.PrincipalID)
	field(`"arn":`, u.ARN)
	field(`"accountId":`, u.AccountID)
	field(`"accessKeyId":`, u.AccessKeyID)
	field(`"userName":`, u.UserName)
	if sc := u.SessionContext; sc != nil {
		if len(b) > start {
			b = append(b, ',')
		}
		b = append(b, `"sessionContext":{`...)
		if si := sc.SessionIssuer; si != nil {
			b = append(b, `"sessionIssuer":{"type":`...)
			b = appendString(b, si.Type)
			b = append(b, `,"principalId":`...)
			b = appendString(b, si.PrincipalID)
			b = append(b, `,"arn":`...)
			b = appendString(b, si.ARN)
			b = append(b, `,"accountId":`...)
			b = appendString(b, si.AccountID)
			b = append(b, `,"userName":`...)
			b = appendString(b, si.UserName)
			b = append(b, "},"...)
		}
		b = append(b, `"attributes":{"creationDate":`...)
		b = appendString(b, sc.Attributes.CreationDate)
		b = append(b, `,"mfaAuthenticated":`...)
		b = appendString(b, sc.Attributes.MFAAuthenticated)
		b = append(b, '}')
		b = appendOptString(b, `,"sourceIdentity":`, sc.SourceIdentity)
		b = append(b, '}')
	}
	return append(b, '}')
}

func appendOptString(b []byte, name, v string) []byte {
	if v == "" {
		return b
	}
	return appendString(append(b, name...), v)
}

// appendRaw appends a JSON value compacted, or null for none.
func appendRaw(b []byte, raw json.RawMessage) ([]byte, error) {
	if len(raw) == 0 {
		return append(b, "null"...), nil
	}
	buf := bytes.NewBuffer(b)
	if err := json.Compact(buf, raw); err != nil {
		return b, err
	}
	return buf.Bytes(), nil
}

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string as encoding/json writes it, less
// the HTML escapes: control characters, quotes and backslashes escaped,
// invalid UTF-8 replaced by U+FFFD, U+2028 and U+2029 escaped.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
