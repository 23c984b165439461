package awsproto

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
)

// JSONContentType is the JSON 1.1 protocol's media type.
const JSONContentType = "application/x-amz-json-1.1"

// JSONTarget splits the X-Amz-Target header ("secretsmanager.GetSecretValue",
// "TrentService.Encrypt") into its prefix and operation.
func JSONTarget(r *http.Request) (prefix, op string, err error) {
	t := r.Header.Get("X-Amz-Target")
	if t == "" {
		return "", "", UnknownOperation()
	}
	i := strings.LastIndexByte(t, '.')
	if i <= 0 || i == len(t)-1 || len(t) > 256 {
		return "", "", UnknownOperation()
	}
	return t[:i], t[i+1:], nil
}

// CheckJSONRequest checks the method and the content type of a JSON 1.1 call.
func CheckJSONRequest(r *http.Request) error {
	if r.Method != http.MethodPost {
		return Errorf(http.StatusMethodNotAllowed, "InvalidHttpMethod", "HTTP method %s is not supported", r.Method)
	}
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != JSONContentType && mt != "application/json") {
			return SerializationException("Content-Type " + ct + " is not supported; use " + JSONContentType)
		}
	}
	return nil
}

// DecodeJSON decodes a JSON 1.1 body into v. An empty body is an empty
// object. Unknown fields are ignored (as AWS does); syntax errors, wrong
// types and trailing data are a SerializationException.
func DecodeJSON(body []byte, v any) error {
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		body = []byte("{}")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return SerializationException(fmt.Sprintf("Unexpected value type for field %s", te.Field))
		}
		return SerializationException("Start of structure or map found where not expected, or the body is not valid JSON.").WithCause(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return SerializationException("Unexpected data after the JSON document.")
	}
	return nil
}

// EncodeJSON encodes a successful JSON 1.1 result; nil is "{}".
func EncodeJSON(result any) ([]byte, error) {
	if result == nil {
		return []byte("{}"), nil
	}
	b, err := json.Marshal(result)
	if err != nil {
		return nil, fmt.Errorf("encode result: %w", err)
	}
	return b, nil
}

// WriteJSONResponse writes an encoded success body.
func WriteJSONResponse(w http.ResponseWriter, requestID string, body []byte) {
	writeBody(w, JSONContentType, requestID, http.StatusOK, body)
}

// WriteJSONError writes a JSON 1.1 error: {"__type": code, "message": msg},
// with the code also in X-Amzn-ErrorType as AWS sends it.
func WriteJSONError(w http.ResponseWriter, requestID string, e *Error) {
	b, _ := json.Marshal(struct {
		Type    string `json:"__type"`
		Message string `json:"message,omitempty"`
	}{e.Code, e.Message})
	w.Header().Set("X-Amzn-Errortype", e.Code)
	writeBody(w, JSONContentType, requestID, e.Status, b)
}
