package awsproto

import (
	"encoding/json"
	"mime"
	"net/http"
)

// RESTJSONContentType is the REST-JSON protocol's media type.
const RESTJSONContentType = "application/json"

// CheckRESTJSONRequest checks the content type of a REST-JSON call with a
// body (an empty type is accepted, as the SDKs omit it for empty bodies).
func CheckRESTJSONRequest(r *http.Request) error {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != RESTJSONContentType && mt != JSONContentType) {
			return SerializationException("Content-Type " + ct + " is not supported; use " + RESTJSONContentType)
		}
	}
	return nil
}

// UnknownRoute is the REST-JSON answer for a method and path the service
// does not have.
func UnknownRoute(method string) *Error {
	return Errorf(http.StatusNotFound, "UnknownOperationException", "No operation matches the %s request's path.", method)
}

// WriteRESTJSONResponse writes an encoded success body.
func WriteRESTJSONResponse(w http.ResponseWriter, requestID string, body []byte) {
	writeBody(w, RESTJSONContentType, requestID, http.StatusOK, body)
}

// WriteRESTJSONError writes a REST-JSON error: the code in X-Amzn-Errortype
// (where botocore and the Go SDK look first) and a body that carries it
// under the names the parsers fall back to: "__type" (generic parsers) and
// "Code"/"Message" (the members of modeled exceptions such as Security
// Hub's InvalidInputException; parsers match "message" case-insensitively).
func WriteRESTJSONError(w http.ResponseWriter, requestID string, e *Error) {
	b, _ := json.Marshal(struct {
		Type    string `json:"__type"`
		Code    string `json:"Code"`
		Message string `json:"Message,omitempty"`
	}{e.Code, e.Code, e.Message})
	w.Header().Set("X-Amzn-Errortype", e.Code)
	writeBody(w, RESTJSONContentType, requestID, e.Status, b)
}
