package audit

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"encoding/xml"
	"strings"
	"testing"
	"time"

	"github.com/bulwark-security/bulwark/internal/api"
)

type credsXML struct {
	AccessKeyID     string `xml:"AccessKeyId"`
	SecretAccessKey string `xml:"SecretAccessKey"`
	SessionToken    string `xml:"SessionToken"`
	Expiration      string `xml:"Expiration"`
}

type assumeResult struct {
	XMLName     xml.Name `xml:"AssumeRoleResult"`
	Credentials credsXML `xml:"Credentials"`
}

type nested struct {
	SecretId     string            `json:"SecretId"`
	SecretString string            `json:"SecretString"`
	ClientToken  string            `json:"ClientRequestToken"`
	NextToken    string            `json:"NextToken"`
	Inner        []map[string]any  `json:"Inner"`
	Blob         []byte            `json:"CiphertextBlob"`
	Plain        []byte            `json:"Plaintext"`
	Raw          json.RawMessage   `json:"Raw"`
	Tags         map[string]string `json:"Tags"`
	When         time.Time         `json:"When"`
	Custom       string            `json:"Custom"`
}

func TestRenderHidesSecretsAtAnyDepth(t *testing.T) {
	const secret = "s3cr3t-VALUE"
	cases := []struct {
		name   string
		v      any
		extra  []string
		want   []string // substrings of the JSON
		absent []string
	}{
		{"sts credentials (xml result)", &assumeResult{Credentials: credsXML{AccessKeyID: "ASIAEXAMPLE",
			SecretAccessKey: secret, SessionToken: secret, Expiration: "2026-01-01T00:00:00Z"}},
			nil, []string{`"accessKeyId":"ASIAEXAMPLE"`, `"secretAccessKey":"` + Hidden + `"`, `"sessionToken":"` + Hidden + `"`}, []string{"XMLName", "xMLName"}},
		{"json input, nested", &nested{SecretId: "db", SecretString: secret, ClientToken: "idem", NextToken: "page",
			Inner: []map[string]any{{"Password": secret, "deeper": map[string]any{"WebIdentityToken": secret, "ok": 1}}},
			Blob:  []byte{1, 2, 3}, Plain: []byte(secret), Raw: json.RawMessage(`{"PrivateKey":"` + secret + `","x":[{"token":"` + secret + `"}]}`),
			Tags: map[string]string{"team": "a"}, When: time.Unix(0, 0), Custom: secret},
			[]string{"Custom"}, []string{`"secretId":"db"`, `"clientRequestToken":"idem"`, `"nextToken":"page"`, `"ciphertextBlob":"AQID"`, `"custom":"` + Hidden + `"`},
			nil},
		{"go field names", &struct {
			RoleArn    string
			ExternalID string
			Policy     api.Tag
			Password   string
			Count      int
		}{RoleArn: "arn", ExternalID: "x", Password: secret, Count: 3}, nil,
			[]string{`"roleArn":"arn"`, `"externalId":"x"`, `"count":3`, `"password":"` + Hidden + `"`}, []string{"policy"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out := string(Render(tc.v, tc.extra))
			if strings.Contains(out, secret) {
				t.Fatalf("secret leaked: %s", out)
			}
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("%s lacks %s", out, w)
				}
			}
			for _, a := range tc.absent {
				if strings.Contains(out, a) {
					t.Errorf("%s has %s", out, a)
				}
			}
		})
	}
	if Render(nil, nil) != nil || Render(&struct{ A string }{}, nil) != nil {
		t.Error("empty input renders as non-nil")
	}
	big := strings.Repeat("x", MaxElementBytes+1)
	if got := string(Render(&struct{ A string }{big}, nil)); got != `{"truncated":true}` {
		t.Errorf("oversized element = %.40s", got)
	}
}

func TestFieldName(t *testing.T) {
	for in, want := range map[string]string{
		"RoleArn": "roleArn", "KMSKeyId": "kmsKeyId", "ARN": "arn", "AccessKeyID": "accessKeyId",
		"PolicyARNs": "policyArns", "secretId": "secretId", "ID": "id", "X": "x",
	} {
		if got := fieldName(in); got != want {
			t.Errorf("fieldName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestIdentityOfRoleSession(t *testing.T) {
	p := &api.Principal{Type: "AssumedRole", ARN: "arn:aws:sts::111122223333:assumed-role/app/s1",
		UserID: "AROAEXAMPLE:s1", AccountID: "111122223333", AccessKeyID: "ASIAX", Temporary: true,
		RoleName: "app", RoleARN: "arn:aws:iam::111122223333:role/app", SessionName: "s1",
		IssuedAt: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	id := IdentityOf(p)
	b, _ := json.Marshal(id)
	for _, w := range []string{`"sessionIssuer":{"type":"Role","principalId":"AROAEXAMPLE","arn":"arn:aws:iam::111122223333:role/app","accountId":"111122223333","userName":"app"}`,
		`"attributes":{"creationDate":"2026-01-01T00:00:00Z","mfaAuthenticated":"false"}`} {
		if !strings.Contains(string(b), w) {
			t.Errorf("%s lacks %s", b, w)
		}
	}
	if Username(&id) != "s1" {
		t.Errorf("Username = %q", Username(&id))
	}
	if typ, acct, ok := ResourceType("arn:aws:secretsmanager:us-east-1:111122223333:secret:db-AbCdEf"); !ok || typ != "AWS::SecretsManager::Secret" || acct != "111122223333" {
		t.Errorf("ResourceType = %q %q %v", typ, acct, ok)
	}
}

func TestRerenderHidesWhatAProducerLeft(t *testing.T) {
	raw := json.RawMessage(`{"UserName":"bob","Password":"hunter2","nested":[{"SessionToken":"tok"}],"nextToken":"p"}`)
	out := string(Rerender(raw))
	if strings.Contains(out, "hunter2") || strings.Contains(out, `"tok"`) || !strings.Contains(out, `"nextToken":"p"`) ||
		!strings.Contains(out, `"userName":"bob"`) {
		t.Fatalf("Rerender = %s", out)
	}
	if again := string(Rerender(json.RawMessage(out))); again != out {
		t.Fatalf("not idempotent: %s then %s", out, again)
	}
	plain := json.RawMessage(`{"roleArn":"arn"}`)
	if string(Rerender(plain)) != string(plain) {
		t.Fatal("changed JSON without secret names")
	}
	if Rerender(json.RawMessage(`{"a":`)) != nil {
		t.Fatal("kept invalid JSON")
	}
	// Keys that hide from a byte scan: a JSON escape, a Unicode letter
	// that lower-cases to ASCII (U+212A KELVIN SIGN to "k").
	for _, sneaky := range []string{`{"pa\u0073sword":"hunter2"}`, "{\"private\u212Aey\":\"hunter2\"}", `{"Pass\u0077ORD":"hunter2"}`} {
		if out := string(Rerender(json.RawMessage(sneaky))); strings.Contains(out, "hunter2") {
			t.Errorf("Rerender(%s) = %s", sneaky, out)
		}
	}
	// The trail applies it to every producer's event.
	st := &memAudit{}
	tr := newTestTrail(t, st)
	e := &Event{EventSource: "x", EventName: "Y", RequestParameters: raw}
	if err := tr.Record(context.Background(), e); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(st.recs[0].Record), "hunter2") || e.EventID == "" {
		t.Fatalf("record = %s", st.recs[0].Record)
	}
	if rep := verify(t, st, testSigner()); !rep.OK() {
		t.Fatal(rep.Problems)
	}
}

func TestRedactMessage(t *testing.T) {
	in := &struct {
		Name         string
		SecretString string
		Nested       struct{ Password string }
		Blob         []byte `json:"SecretBinary"`
		Extra        string
	}{Name: "db-creds", SecretString: "s3cr3t-value", Blob: []byte("bin-secret")}
	in.Nested.Password = "hunter22"
	hidden := HiddenValues(in, []string{"Extra"})
	in.Extra = "ab"
	short := HiddenValues(in, []string{"Extra"})
	for _, c := range []struct {
		msg, want string
		hidden    []string
	}{
		{"Value 's3cr3t-value' at 'secretString' failed", "Value '" + Hidden + "' at 'secretString' failed", hidden},
		{"bad password hunter22 for db-creds", "bad password " + Hidden + " for db-creds", hidden},
		{"blob " + base64.StdEncoding.EncodeToString([]byte("bin-secret")), "blob " + Hidden, hidden},
		{"nothing to hide in db-creds", "nothing to hide in db-creds", hidden},
		// A short hidden value hides the whole message.
		{"value ab rejected", Hidden, short},
	} {
		if got := RedactMessage(c.msg, c.hidden); got != c.want {
			t.Errorf("RedactMessage(%q) = %q, want %q", c.msg, got, c.want)
		}
	}
	if HiddenValues(nil, nil) != nil || len(HiddenValues(&struct{ A string }{"x"}, nil)) != 0 {
		t.Error("values hidden where nothing is secret")
	}
}
