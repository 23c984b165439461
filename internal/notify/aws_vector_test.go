package notify

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"testing"
	"time"
)

// certServer answers every certificate request with one PEM, offline.
type certServer []byte

func (c certServer) RoundTrip(r *http.Request) (*http.Response, error) {
	return &http.Response{StatusCode: http.StatusOK, Body: io.NopCloser(bytes.NewReader(c)), Header: http.Header{}, Request: r}, nil
}

// TestAWSSignedMessage verifies a message signed by Amazon SNS itself
// (testdata/README.md says where it comes from) with AWS's certificate rule,
// at a time the certificate was valid: the canonical string is SNS's.
func TestAWSSignedMessage(t *testing.T) {
	body, err := os.ReadFile("testdata/aws-sample-message.json")
	if err != nil {
		t.Fatal(err)
	}
	cert, err := os.ReadFile("testdata/aws-sns-cert-2015.pem")
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2015, 9, 20, 1, 22, 14, 0, time.UTC)
	v := &Verifier{CertURL: AWSCertURL, Client: &http.Client{Transport: certServer(cert)}, Now: func() time.Time { return at }}
	m, err := v.Verify(context.Background(), body)
	if err != nil {
		t.Fatalf("AWS's message does not verify: %v", err)
	}
	if m.Message != "boo" || *m.Subject != "this is raw" || len(m.MessageAttributes) != 3 {
		t.Fatalf("parsed %+v", m)
	}
	// One changed byte anywhere signed fails.
	for _, tamper := range [][2]string{{`"boo"`, `"bop"`}, {`this is raw`, `this is rAw`}, {`01:22:14.001Z`, `01:22:14.002Z`}} {
		bad := bytes.Replace(body, []byte(tamper[0]), []byte(tamper[1]), 1)
		if _, err := v.Verify(context.Background(), bad); err == nil {
			t.Errorf("tampered (%s) verified", tamper[1])
		}
	}
	// Unsigned fields may change: MessageAttributes and UnsubscribeURL are
	// not in SNS's canonical string.
	other := bytes.Replace(body, []byte(`"realtime"`), []byte(`"later"`), 1)
	if _, err := v.Verify(context.Background(), other); err != nil {
		t.Errorf("a change outside the signed fields failed: %v", err)
	}
	// Out of the certificate's validity it is refused.
	v2 := &Verifier{CertURL: AWSCertURL, Client: &http.Client{Transport: certServer(cert)}}
	if _, err := v2.Verify(context.Background(), body); err == nil {
		t.Error("verified with an expired certificate")
	}
}
