package awsproto

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"strconv"
)

// maxQueryParams bounds the number of parameters a query request may carry
// (IAM's largest calls, such as SimulatePrincipalPolicy with many context
// entries, stay far below it).
const maxQueryParams = 1000

// QueryRequest is a decoded query-protocol request.
type QueryRequest struct {
	Action  string
	Version string
	Params  url.Values
}

// DecodeQuery reads the query protocol's parameters: from the form body of a
// POST (application/x-www-form-urlencoded) or from the URL of a GET. Action
// and Version are taken out of Params.
func DecodeQuery(r *http.Request, body []byte) (*QueryRequest, error) {
	var raw string
	switch r.Method {
	case http.MethodGet:
		raw = r.URL.RawQuery
	case http.MethodPost:
		ct := r.Header.Get("Content-Type")
		if ct != "" {
			mt, _, err := mime.ParseMediaType(ct)
			if err != nil || mt != "application/x-www-form-urlencoded" {
				return nil, Errorf(http.StatusBadRequest, "InvalidParameterValue",
					"Content-Type %q is not supported; use application/x-www-form-urlencoded", ct)
			}
		}
		raw = string(body)
		if raw == "" {
			// Presigned POSTs may carry the parameters in the URL.
			raw = r.URL.RawQuery
		}
	default:
		return nil, Errorf(http.StatusMethodNotAllowed, "InvalidHttpMethod", "HTTP method %s is not supported", r.Method)
	}
	if n := bytes.Count([]byte(raw), []byte{'&'}); n >= maxQueryParams {
		return nil, ValidationError("too many parameters (%d); the limit is %d", n+1, maxQueryParams)
	}
	v, err := url.ParseQuery(raw)
	if err != nil {
		// 404 is the status AWS's Common Errors pages give for this code.
		return nil, Errorf(http.StatusNotFound, "MalformedQueryString", "The query string contains a syntax error.").WithCause(err)
	}
	q := &QueryRequest{Action: v.Get("Action"), Version: v.Get("Version"), Params: v}
	// Signature parameters of presigned requests are not operation input.
	for k := range v {
		if len(k) > 6 && (k[:6] == "X-Amz-" || k[:6] == "x-amz-") {
			delete(v, k)
		}
	}
	delete(v, "Action")
	delete(v, "Version")
	if q.Action == "" {
		return nil, MissingAction()
	}
	return q, nil
}

// QueryResponse writes a successful query-protocol response:
//
//	<{Action}Response xmlns="{ns}">
//	  <{Action}Result>...result...</{Action}Result>
//	  <ResponseMetadata><RequestId>...</RequestId></ResponseMetadata>
//	</{Action}Response>
//
// result is marshalled with encoding/xml inside the Result element; a nil
// result writes no Result element (as AWS does for actions without output).
func QueryResponse(ns, action, requestID string, result any) ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteString(`<` + action + `Response xmlns="` + ns + `">`)
	if result != nil {
		enc := xml.NewEncoder(&buf)
		start := xml.StartElement{Name: xml.Name{Local: action + "Result"}}
		if err := enc.EncodeElement(result, start); err != nil {
			return nil, fmt.Errorf("encode %s result: %w", action, err)
		}
		if err := enc.Flush(); err != nil {
			return nil, fmt.Errorf("encode %s result: %w", action, err)
		}
	}
	buf.WriteString(`<ResponseMetadata><RequestId>` + requestID + `</RequestId></ResponseMetadata>`)
	buf.WriteString(`</` + action + `Response>`)
	return buf.Bytes(), nil
}

// WriteQueryError writes a query-protocol error:
//
//	<ErrorResponse xmlns="{ns}">
//	  <Error><Type>Sender</Type><Code>..</Code><Message>..</Message></Error>
//	  <RequestId>..</RequestId>
//	</ErrorResponse>
func WriteQueryError(w http.ResponseWriter, ns, requestID string, e *Error) {
	var buf bytes.Buffer
	buf.WriteString(`<ErrorResponse xmlns="` + ns + `"><Error><Type>`)
	if e.Sender {
		buf.WriteString("Sender")
	} else {
		buf.WriteString("Receiver")
	}
	buf.WriteString(`</Type><Code>`)
	_ = xml.EscapeText(&buf, []byte(e.Code))
	buf.WriteString(`</Code><Message>`)
	_ = xml.EscapeText(&buf, []byte(e.Message))
	buf.WriteString(`</Message></Error><RequestId>` + requestID + `</RequestId></ErrorResponse>`)
	writeBody(w, "text/xml", requestID, e.Status, buf.Bytes())
}

// WriteQueryResponse writes an encoded success body.
func WriteQueryResponse(w http.ResponseWriter, requestID string, body []byte) {
	writeBody(w, "text/xml", requestID, http.StatusOK, body)
}

func writeBody(w http.ResponseWriter, contentType, requestID string, status int, body []byte) {
	h := w.Header()
	h.Set("Content-Type", contentType)
	h.Set("Content-Length", strconv.Itoa(len(body)))
	h.Set("X-Amzn-Requestid", requestID)
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
