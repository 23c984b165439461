package audit

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"
)

// referenceJSON is the record as encoding/json writes Event (the encoder
// AppendJSON replaced): AppendJSON must mean the same.
func referenceJSON(e *Event) ([]byte, error) {
	type plain Event
	return json.Marshal(&struct {
		*plain
		EventTime string `json:"eventTime"`
	}{(*plain)(e), e.EventTime.UTC().Format(TimeFormat)})
}

func sameJSON(t *testing.T, e *Event) {
	t.Helper()
	got, err := e.AppendJSON(nil)
	if err != nil {
		t.Fatalf("AppendJSON: %v", err)
	}
	if !json.Valid(got) {
		t.Fatalf("AppendJSON wrote invalid JSON: %q", got)
	}
	want, err := referenceJSON(e)
	if err != nil {
		t.Fatalf("reference: %v", err)
	}
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(want, &w); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(g, w) {
		t.Fatalf("AppendJSON and encoding/json differ:\n got %s\nwant %s", got, want)
	}
}

func TestAppendJSONMatchesEncodingJSON(t *testing.T) {
	full := testEvent(7)
	full.UserIdentity.SessionContext = &SessionContext{
		SessionIssuer:  &SessionIssuer{Type: "Role", PrincipalID: "AROA", ARN: "arn:aws:iam::1:role/r", AccountID: "1", UserName: "r"},
		Attributes:     SessionAttributes{CreationDate: "2026-01-01T00:00:00Z", MFAAuthenticated: "false"},
		SourceIdentity: "alice",
	}
	full.Resources = []Resource{{ARN: "arn:aws:iam::1:role/r", AccountID: "1", Type: "AWS::IAM::Role"}, {ARN: "x"}}
	full.ErrorCode, full.ErrorMessage, full.UserAgent = "AccessDenied", "no \"way\"\n<&>", "aws-cli/2"
	full.RequestParameters = json.RawMessage(` { "a" : [1, 2, {"b": null}] } `)
	full.ResponseElements = json.RawMessage(`{"x":"\u2028"}`)
	noSession := testEvent(8)
	noSession.UserIdentity.SessionContext = &SessionContext{}
	cases := map[string]*Event{
		"empty":              {EventTime: time.Unix(0, 0)},
		"typical":            testEvent(1),
		"full":               full,
		"session, no issuer": noSession,
		"hostile strings":    {EventName: "a\x00b\x1f\"\\\u2029\xff\xfe", EventID: "\u00e9\U0001F600", EventTime: time.Now()},
	}
	for name, e := range cases {
		t.Run(name, func(t *testing.T) { sameJSON(t, e) })
	}
}

func TestAppendJSONRefusesInvalidElements(t *testing.T) {
	e := testEvent(1)
	e.RequestParameters = json.RawMessage(`{"a":`)
	if _, err := e.AppendJSON(nil); err == nil {
		t.Fatal("invalid requestParameters accepted")
	}
}

// FuzzAppendJSON: any field contents give valid JSON meaning what
// encoding/json's encoding means.
func FuzzAppendJSON(f *testing.F) {
	f.Add("GetCallerIdentity", "arn:aws:iam::1:user/a", "agent", `{"a":1}`)
	f.Add("\x00\xff\"\\", "\u2028\u2029", "\t\r\n", `[1,"x"]`)
	f.Fuzz(func(t *testing.T, name, arn, agent, raw string) {
		e := testEvent(1)
		e.EventName, e.UserIdentity.ARN, e.UserAgent = name, arn, agent
		e.Resources = []Resource{{ARN: arn, Type: name}}
		if json.Valid([]byte(raw)) {
			e.RequestParameters = json.RawMessage(raw)
		}
		sameJSON(t, e)
	})
}
