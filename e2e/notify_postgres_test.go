package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/bulwark-security/bulwark/internal/notify"
)

// snsPublish sends a SigV4-signed Publish (query protocol) to one server.
func snsPublish(t *testing.T, s *server, akid, secret, topicARN, message string) {
	t.Helper()
	form := url.Values{"Action": {"Publish"}, "Version": {notify.Version}, "TopicArn": {topicARN}, "Message": {message}}
	body := []byte(form.Encode())
	req, err := http.NewRequest(http.MethodPost, s.Endpoint+"/", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	sum := sha256.Sum256(body)
	if err := v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: akid, SecretAccessKey: secret},
		req, hex.EncodeToString(sum[:]), "sns", "us-east-1", time.Now()); err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(b), "<MessageId>") {
		t.Fatalf("Publish: HTTP %d: %s", resp.StatusCode, b)
	}
}

// TestSNSTwoServersPostgres: two servers share one PostgreSQL database;
// messages published through either are delivered once each, by whichever
// server's worker leases them, signed with the one shared key (both
// servers serve its certificate).
func TestSNSTwoServersPostgres(t *testing.T) {
	dsn := postgresDSN(t)
	env := []string{"BULWARK_ROOT_KEY=" + randomRootKey()}
	a := startServer(t, env, "--store", dsn)
	b := startServer(t, env, "--store", dsn)
	recv := newSNSReceiver(t, a, b)

	root := rootCLI(t, a)
	var topic struct{ TopicArn string }
	root.ok(&topic, "sns", "create-topic", "--name", "shared")
	root.ok(nil, "sns", "subscribe", "--topic-arn", topic.TopicArn, "--protocol", "http", "--notification-endpoint", recv.srv.URL)
	recv.next(notify.TypeSubscriptionConfirmation)
	waitConfirmed(t, root, topic.TopicArn)

	akid, secret := rootCredentials(t, a.DataDir)
	const n = 20
	for i := range n {
		s := a
		if i%2 == 1 {
			s = b
		}
		snsPublish(t, s, akid, secret, topic.TopicArn, fmt.Sprintf("message %d", i))
	}
	got := map[string]int{}
	for range n {
		m := recv.next(notify.TypeNotification)
		got[m.Message]++
	}
	// Nothing more arrives: no message was delivered twice.
	select {
	case m := <-recv.messages:
		t.Fatalf("extra delivery: %+v", m)
	case <-time.After(2 * time.Second):
	}
	for i := range n {
		if c := got[fmt.Sprintf("message %d", i)]; c != 1 {
			t.Errorf("message %d delivered %d times", i, c)
		}
	}
	recv.checkNoFailures()
}
