package notify

import (
	"strings"
	"testing"
)

// The vectors are the example messages of AWS's "HTTP/HTTPS notification
// JSON format" and "HTTP/HTTPS subscription confirmation JSON format"
// pages, and the expected strings follow "Verifying the signatures of
// Amazon SNS messages" (docs.aws.amazon.com/sns/latest/dg/
// sns-verify-signature-of-message.html): name and value of each field on
// its own line, in the documented order.
func TestStringToSign(t *testing.T) {
	subject := "My First Message"
	tests := []struct {
		name string
		m    Message
		want string
	}{
		{"notification with subject", Message{Type: TypeNotification, MessageID: "22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324",
			TopicArn: "arn:aws:sns:us-west-2:123456789012:MyTopic", Subject: &subject, Message: "Hello world!",
			Timestamp: "2012-05-02T00:54:06.655Z", SignatureVersion: "1", Signature: "EXAMPLE",
			SigningCertURL: "https://sns.us-west-2.amazonaws.com/SimpleNotificationService-f3ecfb7224c7233fe7bb5f59f96de52f.pem",
			UnsubscribeURL: "https://sns.us-west-2.amazonaws.com/?Action=Unsubscribe&SubscriptionArn=x"},
			"Message\nHello world!\nMessageId\n22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324\nSubject\nMy First Message\n" +
				"Timestamp\n2012-05-02T00:54:06.655Z\nTopicArn\narn:aws:sns:us-west-2:123456789012:MyTopic\nType\nNotification\n"},
		{"notification without subject", Message{Type: TypeNotification, MessageID: "id", TopicArn: "arn", Message: "m\nwith newline",
			Timestamp: "ts"},
			"Message\nm\nwith newline\nMessageId\nid\nTimestamp\nts\nTopicArn\narn\nType\nNotification\n"},
		{"empty subject is still signed", Message{Type: TypeNotification, MessageID: "id", TopicArn: "arn", Message: "m",
			Subject: new(string), Timestamp: "ts"},
			"Message\nm\nMessageId\nid\nSubject\n\nTimestamp\nts\nTopicArn\narn\nType\nNotification\n"},
		{"subscription confirmation", Message{Type: TypeSubscriptionConfirmation, MessageID: "165545c9-2a5c-472c-8df2-7ff2be2b3b1b",
			Token: "2336412f37...", TopicArn: "arn:aws:sns:us-west-2:123456789012:MyTopic",
			Message:      "You have chosen to subscribe to the topic arn:aws:sns:us-west-2:123456789012:MyTopic.\nTo confirm the subscription, visit the SubscribeURL included in this message.",
			SubscribeURL: "https://sns.us-west-2.amazonaws.com/?Action=ConfirmSubscription&TopicArn=arn:aws:sns:us-west-2:123456789012:MyTopic&Token=2336412f37...",
			Timestamp:    "2012-04-26T20:45:04.751Z"},
			"Message\nYou have chosen to subscribe to the topic arn:aws:sns:us-west-2:123456789012:MyTopic.\nTo confirm the subscription, visit the SubscribeURL included in this message.\n" +
				"MessageId\n165545c9-2a5c-472c-8df2-7ff2be2b3b1b\n" +
				"SubscribeURL\nhttps://sns.us-west-2.amazonaws.com/?Action=ConfirmSubscription&TopicArn=arn:aws:sns:us-west-2:123456789012:MyTopic&Token=2336412f37...\n" +
				"Timestamp\n2012-04-26T20:45:04.751Z\nToken\n2336412f37...\nTopicArn\narn:aws:sns:us-west-2:123456789012:MyTopic\nType\nSubscriptionConfirmation\n"},
		{"unsubscribe confirmation", Message{Type: TypeUnsubscribeConfirmation, MessageID: "id", Token: "tok", TopicArn: "arn",
			Message: "m", SubscribeURL: "u", Timestamp: "ts", Subject: &subject},
			"Message\nm\nMessageId\nid\nSubscribeURL\nu\nTimestamp\nts\nToken\ntok\nTopicArn\narn\nType\nUnsubscribeConfirmation\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := StringToSign(&tt.m)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("StringToSign =\n%q\nwant\n%q", got, tt.want)
			}
		})
	}
	if _, err := StringToSign(&Message{Type: "Other"}); err == nil {
		t.Error("unknown Type signed")
	}
}

// TestMessageJSON: the body has SNS's field order and no HTML escaping.
func TestMessageJSON(t *testing.T) {
	subject := "s"
	m := &Message{Type: TypeNotification, MessageID: "id", TopicArn: "arn", Subject: &subject, Message: `<a&b>`,
		Timestamp: "ts", SignatureVersion: "2", Signature: "sig", SigningCertURL: "cert", UnsubscribeURL: "unsub",
		MessageAttributes: map[string]MessageAttribute{"k": {Type: "String", Value: "v"}}}
	b, err := m.encode()
	if err != nil {
		t.Fatal(err)
	}
	want := `{"Type":"Notification","MessageId":"id","TopicArn":"arn","Subject":"s","Message":"<a&b>","Timestamp":"ts",` +
		`"SignatureVersion":"2","Signature":"sig","SigningCertURL":"cert","UnsubscribeURL":"unsub","MessageAttributes":{"k":{"Type":"String","Value":"v"}}}`
	if string(b) != want {
		t.Errorf("encode =\n%s\nwant\n%s", b, want)
	}
	c := &Message{Type: TypeSubscriptionConfirmation, MessageID: "id", Token: "tok", TopicArn: "arn", Message: "m",
		SubscribeURL: "sub", Timestamp: "ts", SignatureVersion: "2", Signature: "sig", SigningCertURL: "cert"}
	b, _ = c.encode()
	want = `{"Type":"SubscriptionConfirmation","MessageId":"id","Token":"tok","TopicArn":"arn","Message":"m","SubscribeURL":"sub",` +
		`"Timestamp":"ts","SignatureVersion":"2","Signature":"sig","SigningCertURL":"cert"}`
	if string(b) != want {
		t.Errorf("encode =\n%s\nwant\n%s", b, want)
	}
}

func TestCertFileName(t *testing.T) {
	tests := []struct {
		in string
		id string
		ok bool
	}{
		{"SimpleNotificationService-abc.pem", "abc", true},
		{"SimpleNotificationService-.pem", "", false},
		{"SimpleNotificationService-abc.crt", "", false},
		{"Other-abc.pem", "", false},
	}
	for _, tt := range tests {
		id, ok := certIDFromFileName(tt.in)
		if id != tt.id || ok != tt.ok {
			t.Errorf("certIDFromFileName(%q) = %q, %v", tt.in, id, ok)
		}
	}
	if !strings.HasSuffix(certFileName("x"), "-x.pem") {
		t.Error("certFileName")
	}
}
