package awsproto

import (
	"encoding/xml"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestDecodeQuery(t *testing.T) {
	cases := []struct {
		name, method, url, ctype, body string
		wantAction, wantVersion        string
		wantParams                     string
		wantCode                       string
	}{
		{name: "post form", method: "POST", url: "/", ctype: "application/x-www-form-urlencoded; charset=utf-8",
			body: "Action=GetUser&Version=2010-05-08&UserName=bob", wantAction: "GetUser", wantVersion: "2010-05-08", wantParams: "UserName=bob"},
		{name: "get query", method: "GET", url: "/?Action=GetCallerIdentity&Version=2011-06-15&X-Amz-Signature=abc",
			wantAction: "GetCallerIdentity", wantVersion: "2011-06-15", wantParams: ""},
		{name: "post without content type", method: "POST", url: "/", body: "Action=A1&Version=v", wantAction: "A1", wantVersion: "v"},
		{name: "missing action", method: "POST", url: "/", body: "Version=v", wantCode: "MissingAction"},
		{name: "bad escape", method: "POST", url: "/", body: "Action=A&x=%zz", wantCode: "MalformedQueryString"},
		{name: "json body to query service", method: "POST", url: "/", ctype: "application/json", body: "{}", wantCode: "InvalidParameterValue"},
		{name: "put", method: "PUT", url: "/", body: "Action=A", wantCode: "InvalidHttpMethod"},
		{name: "too many params", method: "POST", url: "/", body: "Action=A" + strings.Repeat("&a=b", 1000), wantCode: "ValidationError"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(tc.method, tc.url, strings.NewReader(tc.body))
			if tc.ctype != "" {
				r.Header.Set("Content-Type", tc.ctype)
			}
			q, err := DecodeQuery(r, []byte(tc.body))
			if tc.wantCode != "" {
				if err == nil || As(err).Code != tc.wantCode {
					t.Fatalf("err = %v, want %s", err, tc.wantCode)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if q.Action != tc.wantAction || q.Version != tc.wantVersion || q.Params.Encode() != tc.wantParams {
				t.Fatalf("got %q %q %q", q.Action, q.Version, q.Params.Encode())
			}
		})
	}
}

func TestQueryResponseAndError(t *testing.T) {
	type result struct {
		Arn string `xml:"Arn"`
	}
	b, err := QueryResponse("https://sts.amazonaws.com/doc/2011-06-15/", "GetCallerIdentity", "rid-1", &result{Arn: "a<b"})
	if err != nil {
		t.Fatal(err)
	}
	want := `<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult><Arn>a&lt;b</Arn></GetCallerIdentityResult><ResponseMetadata><RequestId>rid-1</RequestId></ResponseMetadata></GetCallerIdentityResponse>`
	if string(b) != want {
		t.Fatalf("got  %s\nwant %s", b, want)
	}
	w := httptest.NewRecorder()
	WriteQueryError(w, "ns", "rid-2", Errorf(403, "AccessDenied", "User: x is <not> authorized"))
	var er struct {
		Error struct {
			Type, Code, Message string
		}
		RequestID string `xml:"RequestId"`
	}
	if err := xml.Unmarshal(w.Body.Bytes(), &er); err != nil {
		t.Fatal(err)
	}
	if w.Code != 403 || er.Error.Type != "Sender" || er.Error.Code != "AccessDenied" || er.Error.Message != "User: x is <not> authorized" || er.RequestID != "rid-2" {
		t.Fatalf("%d %+v", w.Code, er)
	}
	if w.Header().Get("X-Amzn-Requestid") != "rid-2" {
		t.Fatal("missing request id header")
	}
}

func TestJSON(t *testing.T) {
	var in struct {
		SecretId string
		N        int
	}
	if err := DecodeJSON([]byte(`{"SecretId":"a","Unknown":1,"N":2}`), &in); err != nil || in.SecretId != "a" || in.N != 2 {
		t.Fatalf("decode: %v %+v", err, in)
	}
	for name, body := range map[string]string{
		"syntax":   `{"SecretId":`,
		"type":     `{"N":"x"}`,
		"trailing": `{} {}`,
		"array":    `[1]`,
	} {
		if err := DecodeJSON([]byte(body), &in); err == nil || As(err).Code != "SerializationException" {
			t.Errorf("%s: err = %v", name, err)
		}
	}
	if err := DecodeJSON(nil, &in); err != nil {
		t.Errorf("empty body: %v", err)
	}
	w := httptest.NewRecorder()
	WriteJSONError(w, "rid", Errorf(400, "ResourceNotFoundException", "Secrets Manager can't find the specified secret."))
	if w.Code != 400 || w.Body.String() != `{"__type":"ResourceNotFoundException","message":"Secrets Manager can't find the specified secret."}` ||
		w.Header().Get("Content-Type") != JSONContentType {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
	r := httptest.NewRequest("POST", "/", nil)
	for target, ok := range map[string]bool{"secretsmanager.GetSecretValue": true, "": false, "NoDot": false, "trailing.": false, ".lead": false} {
		r.Header.Set("X-Amz-Target", target)
		p, op, err := JSONTarget(r)
		if (err == nil) != ok {
			t.Errorf("%q: err = %v", target, err)
		}
		if ok && (p != "secretsmanager" || op != "GetSecretValue") {
			t.Errorf("%q: %q %q", target, p, op)
		}
	}
}

func TestReadBody(t *testing.T) {
	r := httptest.NewRequest("POST", "/", strings.NewReader(strings.Repeat("a", 100)))
	if _, err := ReadBody(r, 99); err == nil || As(err).Code != "RequestEntityTooLarge" || As(err).Status != http.StatusRequestEntityTooLarge {
		t.Fatalf("declared length over limit: %v", err)
	}
	r = httptest.NewRequest("POST", "/", strings.NewReader(strings.Repeat("a", 100)))
	r.ContentLength = -1 // chunked
	if _, err := ReadBody(r, 99); err == nil || As(err).Code != "RequestEntityTooLarge" {
		t.Fatalf("undeclared length over limit: %v", err)
	}
	r = httptest.NewRequest("POST", "/", strings.NewReader("abc"))
	if b, err := ReadBody(r, 99); err != nil || string(b) != "abc" {
		t.Fatalf("%q %v", b, err)
	}
}

func TestRequestID(t *testing.T) {
	id := NewRequestID()
	if len(id) != 36 || id[14] != '4' || strings.Count(id, "-") != 4 || id == NewRequestID() {
		t.Fatalf("bad request id %q", id)
	}
}

func TestAsHidesInternalErrors(t *testing.T) {
	e := As(errTest("database password is hunter2"))
	if e.Code != "InternalFailure" || e.Status != 500 || strings.Contains(e.Message, "hunter2") {
		t.Fatalf("%+v", e)
	}
}

type errTest string

func (e errTest) Error() string { return string(e) }
