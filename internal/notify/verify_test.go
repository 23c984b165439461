package notify

import (
	"context"
	"encoding/json"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"
)

// signed returns a message signed by the fixture's signer.
func signed(t *testing.T, f *fixture, m Message, version string) *Message {
	t.Helper()
	ctx := context.Background()
	id, err := f.svc.signer.CertID(ctx)
	if err != nil {
		t.Fatal(err)
	}
	m.SigningCertURL = f.srv.URL + CertPathPrefix + certFileName(id)
	if err := f.svc.signer.Sign(ctx, &m, version); err != nil {
		t.Fatal(err)
	}
	return &m
}

func TestVerify(t *testing.T) {
	f := newFixture(t)
	subject := "s"
	base := Message{Type: TypeNotification, MessageID: "id", TopicArn: topic, Subject: &subject, Message: "m",
		Timestamp: FormatTimestamp(time.Now())}
	good := signed(t, f, base, "2")
	v1 := signed(t, f, base, "1")
	conf := signed(t, f, Message{Type: TypeSubscriptionConfirmation, MessageID: "id", Token: "tok", TopicArn: topic, Message: "m",
		SubscribeURL: "https://x/", Timestamp: "ts"}, "2")
	tests := []struct {
		name   string
		m      func() Message
		topics []string
		ok     bool
	}{
		{"valid v2", func() Message { return *good }, nil, true},
		{"valid v1", func() Message { return *v1 }, nil, true},
		{"valid confirmation", func() Message { return *conf }, nil, true},
		{"expected topic", func() Message { return *good }, []string{topic}, true},
		{"unexpected topic", func() Message { return *good }, []string{topic + "x"}, false},
		{"message changed", func() Message { m := *good; m.Message = "n"; return m }, nil, false},
		{"subject removed", func() Message { m := *good; m.Subject = nil; return m }, nil, false},
		{"timestamp changed", func() Message { m := *good; m.Timestamp = "2000-01-01T00:00:00.000Z"; return m }, nil, false},
		{"type changed", func() Message { m := *good; m.Type = TypeUnsubscribeConfirmation; return m }, nil, false},
		{"token changed", func() Message { m := *conf; m.Token = "other"; return m }, nil, false},
		{"SubscribeURL changed", func() Message { m := *conf; m.SubscribeURL = "https://evil/"; return m }, nil, false},
		{"version 1 claimed for a v2 signature", func() Message { m := *good; m.SignatureVersion = "1"; return m }, nil, false},
		{"unknown version", func() Message { m := *good; m.SignatureVersion = "3"; return m }, nil, false},
		{"signature not base64", func() Message { m := *good; m.Signature = "***"; return m }, nil, false},
		{"empty signature", func() Message { m := *good; m.Signature = ""; return m }, nil, false},
		{"certificate elsewhere", func() Message {
			m := *good
			m.SigningCertURL = "https://evil.example/SimpleNotificationService-x.pem"
			return m
		}, nil, false},
		{"certificate path elsewhere", func() Message {
			m := *good
			m.SigningCertURL = strings.Replace(m.SigningCertURL, CertPathPrefix, "/other/", 1)
			return m
		}, nil, false},
		{"unknown certificate id", func() Message {
			m := *good
			m.SigningCertURL = f.srv.URL + CertPathPrefix + certFileName("0000")
			return m
		}, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ver := f.verifier(t)
			ver.TopicARNs = tt.topics
			m := tt.m()
			err := ver.VerifyMessage(context.Background(), &m)
			if (err == nil) != tt.ok {
				t.Fatalf("VerifyMessage = %v, want ok=%v", err, tt.ok)
			}
			// The same through the JSON body.
			body, _ := json.Marshal(&m)
			if _, err := ver.Verify(context.Background(), body); (err == nil) != tt.ok {
				t.Fatalf("Verify(body) = %v, want ok=%v", err, tt.ok)
			}
		})
	}
	// A certificate outside its validity period is refused.
	ver := f.verifier(t)
	ver.Now = func() time.Time { return time.Now().Add(20 * 365 * 24 * time.Hour) }
	if err := ver.VerifyMessage(context.Background(), good); !errors.Is(err, ErrInvalidMessage) {
		t.Fatalf("expired certificate: %v", err)
	}
	if _, err := (&Verifier{}).Verify(context.Background(), []byte(`{}`)); err == nil {
		t.Fatal("a Verifier without CertURL verified")
	}
}

func TestCertURLRules(t *testing.T) {
	bulwark, err := BulwarkCertURL("https://bulwark.example:8443")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		u            string
		aws, bulwark bool
	}{
		{"https://sns.us-west-2.amazonaws.com/SimpleNotificationService-f3ecfb7224c7233fe7bb5f59f96de52f.pem", true, false},
		{"https://sns.cn-north-1.amazonaws.com.cn/SimpleNotificationService-x.pem", true, false},
		{"http://sns.us-west-2.amazonaws.com/SimpleNotificationService-x.pem", false, false},
		{"https://sns.us-west-2.amazonaws.com.evil.example/SimpleNotificationService-x.pem", false, false},
		{"https://evilsns.us-west-2.amazonaws.com/x.pem", false, false},
		{"https://sns.us-west-2.amazonaws.com:444/SimpleNotificationService-x.pem", false, false},
		{"https://bulwark.example:8443/_bulwark/sns/SimpleNotificationService-ab12.pem", false, true},
		{"https://BULWARK.example:8443/_bulwark/sns/SimpleNotificationService-ab12.pem", false, true},
		{"http://bulwark.example:8443/_bulwark/sns/SimpleNotificationService-ab12.pem", false, false},
		{"https://bulwark.example/_bulwark/sns/SimpleNotificationService-ab12.pem", false, false},
		{"https://bulwark.example:8443/_bulwark/sns/x/SimpleNotificationService-ab12.pem", false, false},
		{"https://bulwark.example:8443/_bulwark/sns/SimpleNotificationService-ab12.pem?x=1", false, false},
		{"https://u@bulwark.example:8443/_bulwark/sns/SimpleNotificationService-ab12.pem", false, false},
		{"https://bulwark.example:8443/_bulwark/audit/public-key", false, false},
	}
	for _, tt := range tests {
		u, err := url.Parse(tt.u)
		if err != nil {
			t.Fatal(err)
		}
		if got := AWSCertURL(u); got != tt.aws {
			t.Errorf("AWSCertURL(%s) = %v", tt.u, got)
		}
		if got := bulwark(u); got != tt.bulwark {
			t.Errorf("BulwarkCertURL(%s) = %v", tt.u, got)
		}
	}
	if _, err := BulwarkCertURL("ftp://x"); err == nil {
		t.Error("BulwarkCertURL accepted ftp")
	}
}

// TestSignerSharedKey: two servers over one store sign with one key.
func TestSignerSharedKey(t *testing.T) {
	f := newFixture(t)
	other := NewSigner(f.st, f.svc.cfg.Keys, nil)
	a, err := f.svc.signer.CertID(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	b, err := other.CertID(context.Background())
	if err != nil || a != b {
		t.Fatalf("cert ids %q and %q (%v)", a, b, err)
	}
	raw, err := f.st.GetMeta(context.Background(), signingKeyMeta)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(raw), "PRIVATE KEY") {
		t.Fatal("the signing key is stored in the clear")
	}
}

func FuzzParseMessage(f *testing.F) {
	f.Add([]byte(`{"Type":"Notification","MessageId":"id","TopicArn":"arn","Message":"m","Timestamp":"t","SignatureVersion":"2","Signature":"AA==","SigningCertURL":"https://sns.us-east-1.amazonaws.com/SimpleNotificationService-x.pem"}`))
	f.Add([]byte(`{"Type":"SubscriptionConfirmation","Token":"t","Subject":null}`))
	f.Add([]byte(`{} {}`))
	f.Add([]byte(`{"MessageAttributes":{"a":{"Type":"Binary","Value":"AA=="}}}`))
	ver := &Verifier{CertURL: func(*url.URL) bool { return false }}
	f.Fuzz(func(t *testing.T, body []byte) {
		m, err := ParseMessage(body)
		if err != nil {
			return
		}
		if s, err := StringToSign(m); err == nil && len(s) == 0 {
			t.Fatal("empty string to sign")
		}
		// No certificate URL is trusted, so nothing may verify.
		if _, err := ver.Verify(context.Background(), body); err == nil {
			t.Fatal("verified without a trusted certificate")
		}
	})
}

// FuzzQueryParams feeds form bodies to the hand-written query decoders.
func FuzzQueryParams(f *testing.F) {
	f.Add("MessageAttributes.entry.1.Name=a&MessageAttributes.entry.1.Value.DataType=Number&MessageAttributes.entry.1.Value.StringValue=1e400")
	f.Add("MessageAttributes.entry.1.Name=b&MessageAttributes.entry.1.Value.DataType=Binary&MessageAttributes.entry.1.Value.BinaryValue=%%%")
	f.Add("Attributes.entry.1.key=DisplayName&Attributes.entry.1.value=x&Attributes.entry.3.key=y")
	f.Add("Tags.member.1.Key=k&Tags.member.1.Value=v&Tags.member.2.Key=k&Tags.member.2.Value=w")
	f.Add("NextToken=YWJj")
	f.Fuzz(func(t *testing.T, form string) {
		v, err := url.ParseQuery(form)
		if err != nil {
			return
		}
		if attrs, size, err := messageAttributes(v); err == nil && (len(attrs) > maxAttributes || size < 0) {
			t.Fatalf("%d attributes, size %d", len(attrs), size)
		}
		if m, err := entries(v, "Attributes"); err == nil && len(m) > maxMapEntries {
			t.Fatalf("%d entries", len(m))
		}
		if tags, err := tagsParam(v, "Tags"); err == nil && len(tags) > maxTags {
			t.Fatalf("%d tags", len(tags))
		}
		_, _ = parsePageToken(v.Get("NextToken"))
		_ = validSubject(v.Get("Subject"))
	})
}
