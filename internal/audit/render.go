package audit

import (
	"encoding/base64"
	"encoding/json"
	"encoding/xml"
	"reflect"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Hidden replaces the value of every secret-bearing field, as CloudTrail
// spells it.
const Hidden = "HIDDEN_DUE_TO_SECURITY_REASONS"

// MaxElementBytes bounds a rendered requestParameters or responseElements
// object; a larger one is replaced by {"truncated":true} so one huge input
// cannot bloat the trail.
const MaxElementBytes = 64 << 10

// secretFields are the (lower-cased) AWS field names that carry secrets in
// any service: they are hidden at any depth, whatever the action says.
// CloudTrail never logs plaintext, passwords, tokens or private keys;
// ciphertext may be logged.
var secretFields = map[string]bool{
	"secretstring": true, "secretbinary": true, "plaintext": true, "plaintextblob": true,
	"randompassword": true, "secretaccesskey": true, "sessiontoken": true, "password": true,
	"newpassword": true, "oldpassword": true, "privatekey": true, "privatekeyplaintext": true,
	"webidentitytoken": true, "token": true, "samlassertion": true, "tokencode": true,
	"granttokens": true, "granttoken": true, "clientsecret": true, "keymaterial": true,
	"encryptedkeymaterial": true, "importtoken": true, "secret": true, "credentials.secretaccesskey": true,
	"authorizationtoken": true, "accesstoken": true, "refreshtoken": true, "idtoken": true,
	"passphrase": true, "sharedsecret": true, "otp": true, "mfacode": true, "authenticationcode1": true,
	"authenticationcode2": true, "privatekeyblob": true, "signature": true,
}

// publicTokens are field names ending in "token" that are not secrets:
// pagination and idempotency tokens.
var publicTokens = map[string]bool{
	"nexttoken": true, "clientrequesttoken": true, "paginationtoken": true, "continuationtoken": true,
	"idempotencytoken": true, "starttoken": true,
}

// secretName reports whether a field name (any case) carries a secret. It
// fails closed: anything that looks like a password, a private key,
// plaintext, a secret value or a non-pagination token is hidden.
func secretName(name string, extra []string) bool {
	l := strings.ToLower(name)
	if secretFields[l] {
		return true
	}
	for _, x := range extra {
		if strings.EqualFold(x, name) {
			return true
		}
	}
	switch {
	case strings.Contains(l, "password"), strings.Contains(l, "privatekey"), strings.Contains(l, "plaintext"),
		strings.Contains(l, "secretaccesskey"), strings.Contains(l, "secretstring"), strings.Contains(l, "secretbinary"),
		strings.Contains(l, "sessiontoken"), strings.Contains(l, "passphrase"):
		return true
	case strings.HasSuffix(l, "token") && !publicTokens[l]:
		return true
	}
	return false
}

// Render turns a decoded input or a result into a requestParameters /
// responseElements object: field names as CloudTrail spells them
// (lower camel case of the AWS name, taken from the json or xml tag),
// every secret-bearing field (the built-in list plus extra, names in any
// case) replaced by Hidden at any depth, empty values left out. It returns
// nil for a nil or empty value. It never fails: a value it cannot render
// safely (a func, a channel) is left out.
func Render(v any, extra []string) json.RawMessage {
	if v == nil {
		return nil
	}
	r := renderer{extra: extra}
	out := r.render(reflect.ValueOf(v), 0)
	if out == nil {
		return nil
	}
	if m, ok := out.(map[string]any); ok && len(m) == 0 {
		return nil
	}
	b, err := json.Marshal(out)
	if err != nil {
		return nil
	}
	if len(b) > MaxElementBytes {
		return json.RawMessage(`{"truncated":true}`)
	}
	return b
}

const maxDepth = 32

var (
	timeType    = reflect.TypeFor[time.Time]()
	xmlNameType = reflect.TypeFor[xml.Name]()
	rawType     = reflect.TypeFor[json.RawMessage]()
)

// renderer renders one value; with collect set it also gathers the string
// values it hides (HiddenValues).
type renderer struct {
	extra   []string
	collect bool
	hidden  []string
}

func (r *renderer) render(v reflect.Value, depth int) any {
	extra := r.extra
	if depth > maxDepth || !v.IsValid() {
		return nil
	}
	for v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface {
		if v.IsNil() {
			return nil
		}
		v = v.Elem()
	}
	switch v.Type() {
	case timeType:
		t := v.Interface().(time.Time)
		if t.IsZero() {
			return nil
		}
		return t.UTC().Format(time.RFC3339)
	case rawType:
		var x any
		if json.Unmarshal(v.Bytes(), &x) != nil {
			return nil
		}
		return r.renderGeneric(x, depth+1)
	}
	switch v.Kind() {
	case reflect.String:
		if v.Len() == 0 {
			return nil
		}
		return safeString(v.String())
	case reflect.Bool:
		return v.Bool()
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return v.Int()
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return v.Uint()
	case reflect.Float32, reflect.Float64:
		return v.Float()
	case reflect.Slice, reflect.Array:
		if v.Kind() == reflect.Slice && v.Type().Elem().Kind() == reflect.Uint8 {
			if v.Len() == 0 {
				return nil
			}
			return base64.StdEncoding.EncodeToString(v.Bytes())
		}
		if v.Len() == 0 {
			return nil
		}
		out := make([]any, 0, v.Len())
		for i := 0; i < v.Len(); i++ {
			if x := r.render(v.Index(i), depth+1); x != nil {
				out = append(out, x)
			}
		}
		if len(out) == 0 {
			return nil
		}
		return out
	case reflect.Map:
		if v.Type().Key().Kind() != reflect.String || v.Len() == 0 {
			return nil
		}
		out := make(map[string]any, v.Len())
		iter := v.MapRange()
		for iter.Next() {
			k := iter.Key().String()
			name := fieldName(k)
			if secretName(k, extra) || secretName(name, extra) {
				out[name] = Hidden
				r.gather(iter.Value(), depth+1)
				continue
			}
			if x := r.render(iter.Value(), depth+1); x != nil {
				out[name] = x
			}
		}
		return out
	case reflect.Struct:
		t := v.Type()
		out := make(map[string]any)
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			// An embedded struct of an unexported type still promotes its
			// exported fields, as in encoding/json.
			embedded := f.Anonymous && (f.Type.Kind() == reflect.Struct ||
				f.Type.Kind() == reflect.Pointer && f.Type.Elem().Kind() == reflect.Struct)
			if (!f.IsExported() && !embedded) || f.Type == xmlNameType {
				continue
			}
			name, skip := tagName(f)
			if skip {
				continue
			}
			if secretName(name, extra) {
				if !v.Field(i).IsZero() {
					out[name] = Hidden
					r.gather(v.Field(i), depth+1)
				}
				continue
			}
			x := r.render(v.Field(i), depth+1)
			if x == nil {
				continue
			}
			if f.Anonymous {
				if m, ok := x.(map[string]any); ok {
					for k, y := range m {
						out[k] = y
					}
					continue
				}
			}
			out[name] = x
		}
		if len(out) == 0 {
			return nil
		}
		return out
	}
	return nil
}

// gather collects the strings in a hidden value (with collect set).
func (r *renderer) gather(v reflect.Value, depth int) {
	if !r.collect || depth > maxDepth || !v.IsValid() {
		return
	}
	for v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface {
		if v.IsNil() {
			return
		}
		v = v.Elem()
	}
	switch v.Kind() {
	case reflect.String:
		if v.Len() > 0 {
			r.hidden = append(r.hidden, v.String())
		}
	case reflect.Slice, reflect.Array:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			if v.Len() > 0 && v.Kind() == reflect.Slice {
				b := v.Bytes()
				r.hidden = append(r.hidden, string(b), base64.StdEncoding.EncodeToString(b))
			}
			return
		}
		for i := 0; i < v.Len(); i++ {
			r.gather(v.Index(i), depth+1)
		}
	case reflect.Map:
		iter := v.MapRange()
		for iter.Next() {
			r.gather(iter.Value(), depth+1)
		}
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			if v.Type().Field(i).IsExported() {
				r.gather(v.Field(i), depth+1)
			}
		}
	}
}

// HiddenValues returns the string values Render hides in v: what an
// error message must not repeat (RedactMessage).
func HiddenValues(v any, extra []string) []string {
	if v == nil {
		return nil
	}
	r := renderer{extra: extra, collect: true}
	r.render(reflect.ValueOf(v), 0)
	return r.hidden
}

// minRedact is the shortest hidden value RedactMessage replaces in place;
// a message holding a shorter one is replaced whole (replacing every "ab"
// in a message would leave nothing readable, and keeping it would not hide
// the value).
const minRedact = 4

// RedactMessage hides in an error message every value Render hid in the
// call's input: a validation message that echoes its input ("Value 'x' at
// 'password' ...") must not carry a secret into the trail.
func RedactMessage(msg string, hidden []string) string {
	for _, h := range hidden {
		if h == "" || !strings.Contains(msg, h) {
			continue
		}
		if len(h) < minRedact {
			return Hidden
		}
		msg = strings.ReplaceAll(msg, h, Hidden)
	}
	return msg
}

// secretHints are the words of secretName's rules; JSON without any of
// them (any case) holds no field Rerender would hide.
var secretHints = []string{"secret", "password", "token", "plaintext", "privatekey", "passphrase", "samlassertion",
	"keymaterial", "otp", "mfacode", "authenticationcode", "signature"}

// mayHoldSecret reports whether JSON text could name a secret-bearing
// field: it mentions a secret hint in any ASCII case, or it holds an
// escape or a non-ASCII byte (a key spelled "pa\u0073sword", or with a
// letter that lower-cases to an ASCII one, would hide from the scan).
// It allocates nothing: it runs for every record.
func mayHoldSecret(raw []byte) bool {
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		if c >= utf8.RuneSelf || c == '\\' {
			return true
		}
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		switch c {
		case 's', 'p', 't', 'k', 'o', 'm', 'a':
			for _, h := range secretHints {
				if h[0] == c && len(raw)-i >= len(h) && asciiEqualFold(raw[i:i+len(h)], h) {
					return true
				}
			}
		}
	}
	return false
}

// asciiEqualFold compares ASCII b with lower-case ASCII h.
func asciiEqualFold(b []byte, h string) bool {
	for j := 0; j < len(h); j++ {
		c := b[j]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != h[j] {
			return false
		}
	}
	return true
}

// Rerender hides secret-bearing fields in already rendered JSON (from a
// producer that did not use Render). It is a no-op, without parsing, for
// JSON that cannot name a secret-looking field (mayHoldSecret), and
// idempotent. Invalid JSON is dropped (nil): fail closed.
func Rerender(raw json.RawMessage) json.RawMessage {
	if len(raw) == 0 {
		return raw
	}
	if !mayHoldSecret(raw) {
		if !json.Valid(raw) {
			return nil
		}
		return raw
	}
	var x any
	if json.Unmarshal(raw, &x) != nil {
		return nil
	}
	var r renderer
	out := r.renderGeneric(x, 0)
	if out == nil {
		return nil
	}
	b, err := json.Marshal(out)
	if err != nil || len(b) > MaxElementBytes {
		return json.RawMessage(`{"truncated":true}`)
	}
	return b
}

// renderGeneric redacts decoded JSON (a json.RawMessage field).
func (r *renderer) renderGeneric(x any, depth int) any {
	extra := r.extra
	if depth > maxDepth {
		return nil
	}
	switch x := x.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, v := range x {
			name := fieldName(k)
			if secretName(k, extra) {
				out[name] = Hidden
				if r.collect {
					r.gather(reflect.ValueOf(v), depth+1)
				}
				continue
			}
			if y := r.renderGeneric(v, depth+1); y != nil {
				out[name] = y
			}
		}
		return out
	case []any:
		out := make([]any, 0, len(x))
		for _, v := range x {
			if y := r.renderGeneric(v, depth+1); y != nil {
				out = append(out, y)
			}
		}
		return out
	case string:
		return safeString(x)
	default:
		return x
	}
}

// tagName is a struct field's AWS name: its json tag, else its xml tag's
// element name, else the Go name; skip is true for "-" and xml attributes.
func tagName(f reflect.StructField) (name string, skip bool) {
	if tag, ok := f.Tag.Lookup("json"); ok {
		n, _, _ := strings.Cut(tag, ",")
		if n == "-" {
			return "", true
		}
		if n != "" {
			return fieldName(n), false
		}
	}
	if tag, ok := f.Tag.Lookup("xml"); ok {
		n, opts, _ := strings.Cut(tag, ",")
		if n == "-" || strings.Contains(opts, "attr") {
			return "", true
		}
		if i := strings.LastIndexByte(n, '>'); i >= 0 {
			n = n[i+1:]
		}
		if n != "" {
			return fieldName(n), false
		}
	}
	return fieldName(f.Name), false
}

// fieldName spells an AWS or Go field name as CloudTrail does: lower camel
// case, with Go's "ID"/"ARN" suffixes as AWS writes them ("Id", "Arn").
func fieldName(n string) string {
	switch {
	case strings.HasSuffix(n, "ID") && len(n) > 2:
		n = n[:len(n)-2] + "Id"
	case strings.HasSuffix(n, "ARN") && len(n) > 3:
		n = n[:len(n)-3] + "Arn"
	case strings.HasSuffix(n, "ARNs") && len(n) > 4:
		n = n[:len(n)-4] + "Arns"
	}
	r, size := utf8.DecodeRuneInString(n)
	if r == utf8.RuneError || !unicode.IsUpper(r) {
		return n
	}
	// "ARN" -> "aRN" would be odd: lower the leading run of capitals
	// except the one that starts the next word ("KMSKeyId" -> "kmsKeyId").
	i := size
	for i < len(n) {
		r2, s2 := utf8.DecodeRuneInString(n[i:])
		if !unicode.IsUpper(r2) {
			break
		}
		i += s2
	}
	if i == size || i >= len(n) {
		return strings.ToLower(n[:i]) + n[i:]
	}
	// Leave the last capital of the run: it begins the next word.
	_, last := utf8.DecodeLastRuneInString(n[:i])
	return strings.ToLower(n[:i-last]) + n[i-last:]
}

// safeString makes text storable anywhere (PostgreSQL refuses NUL and
// invalid UTF-8).
func safeString(s string) string {
	if strings.IndexByte(s, 0) >= 0 {
		s = strings.ReplaceAll(s, "\x00", "\uFFFD")
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}
