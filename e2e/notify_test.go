package e2e

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bulwark-security/bulwark/internal/notify"
)

// snsReceiver is a subscribed HTTP endpoint as a real one would be
// written: it verifies every message with notify.Verifier, confirms
// subscriptions by visiting SubscribeURL, and hands notifications over.
type snsReceiver struct {
	t        *testing.T
	srv      *httptest.Server
	verifier *notify.Verifier
	messages chan *notify.Message
	mu       sync.Mutex
	headers  []http.Header
	failures []string
}

// newSNSReceiver trusts the signing certificates the given servers serve.
// The verifier is complete before the receiver starts: its handlers read it.
func newSNSReceiver(t *testing.T, servers ...*server) *snsReceiver {
	t.Helper()
	var allowed []func(*url.URL) bool
	for _, s := range servers {
		ok, err := notify.BulwarkCertURL(s.Endpoint)
		if err != nil {
			t.Fatal(err)
		}
		allowed = append(allowed, ok)
	}
	certURL := func(u *url.URL) bool {
		for _, ok := range allowed {
			if ok(u) {
				return true
			}
		}
		return false
	}
	r := &snsReceiver{t: t, verifier: &notify.Verifier{CertURL: certURL}, messages: make(chan *notify.Message, 16)}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *snsReceiver) serve(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(req.Body, notify.MaxMessageBytes))
	m, err := r.verifier.Verify(req.Context(), body)
	r.mu.Lock()
	r.headers = append(r.headers, req.Header.Clone())
	if err != nil {
		r.failures = append(r.failures, err.Error())
	}
	r.mu.Unlock()
	if err != nil {
		http.Error(w, "bad signature", http.StatusBadRequest)
		return
	}
	if m.Type != req.Header.Get("x-amz-sns-message-type") || m.MessageID != req.Header.Get("x-amz-sns-message-id") ||
		m.TopicArn != req.Header.Get("x-amz-sns-topic-arn") {
		r.mu.Lock()
		r.failures = append(r.failures, "headers do not match the message")
		r.mu.Unlock()
	}
	if m.Type == notify.TypeSubscriptionConfirmation {
		resp, err := http.Get(m.SubscribeURL)
		if err != nil {
			r.fail("visit SubscribeURL: " + err.Error())
		} else {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				r.fail("visit SubscribeURL: " + resp.Status + ": " + string(b))
			}
		}
	}
	r.messages <- m
	w.WriteHeader(http.StatusOK)
}

func (r *snsReceiver) fail(msg string) {
	r.mu.Lock()
	r.failures = append(r.failures, msg)
	r.mu.Unlock()
}

func (r *snsReceiver) next(kind string) *notify.Message {
	r.t.Helper()
	timeout := time.After(20 * time.Second)
	for {
		select {
		case m := <-r.messages:
			if m.Type == kind {
				return m
			}
		case <-timeout:
			r.mu.Lock()
			defer r.mu.Unlock()
			r.t.Fatalf("no %s message arrived; verification failures: %v", kind, r.failures)
			return nil
		}
	}
}

func (r *snsReceiver) checkNoFailures() {
	r.t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.failures) > 0 {
		r.t.Fatalf("receiver failures: %v", r.failures)
	}
}

// TestSNSNotifications drives SNS with the unmodified aws CLI: a topic, an
// HTTP subscription that the endpoint confirms through SubscribeURL, a
// published message whose SignatureVersion 2 signature the endpoint
// verifies, and SNS's errors.
func TestSNSNotifications(t *testing.T) {
	t.Parallel()
	s := startServer(t, nil)
	c := rootCLI(t, s)
	recv := newSNSReceiver(t, s)

	var topic struct{ TopicArn string }
	c.ok(&topic, "sns", "create-topic", "--name", "alerts", "--tags", "Key=team,Value=sec")
	if !strings.HasPrefix(topic.TopicArn, "arn:aws:sns:us-east-1:") || !strings.HasSuffix(topic.TopicArn, ":alerts") {
		t.Fatalf("TopicArn = %q", topic.TopicArn)
	}
	var again struct{ TopicArn string }
	c.ok(&again, "sns", "create-topic", "--name", "alerts")
	if again.TopicArn != topic.TopicArn {
		t.Fatalf("create-topic is not idempotent: %q then %q", topic.TopicArn, again.TopicArn)
	}

	var sub struct{ SubscriptionArn string }
	c.ok(&sub, "sns", "subscribe", "--topic-arn", topic.TopicArn, "--protocol", "http", "--notification-endpoint", recv.srv.URL+"/hook")
	if sub.SubscriptionArn != "pending confirmation" {
		t.Fatalf("SubscriptionArn = %q, want pending confirmation", sub.SubscriptionArn)
	}
	conf := recv.next(notify.TypeSubscriptionConfirmation)
	if conf.Token == "" || !strings.Contains(conf.SubscribeURL, "Action=ConfirmSubscription") || conf.SignatureVersion != "2" {
		t.Fatalf("confirmation message = %+v", conf)
	}

	// The endpoint visited SubscribeURL: the subscription is confirmed.
	var subs struct {
		Subscriptions []struct{ SubscriptionArn, Protocol, Endpoint, TopicArn string }
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		c.ok(&subs, "sns", "list-subscriptions-by-topic", "--topic-arn", topic.TopicArn)
		if len(subs.Subscriptions) == 1 && subs.Subscriptions[0].SubscriptionArn != "PendingConfirmation" {
			break
		}
		if time.Now().After(deadline) {
			t.Log(s.logs.String())
			recv.checkNoFailures()
			t.Fatalf("subscription not confirmed: %+v", subs)
		}
		time.Sleep(100 * time.Millisecond)
	}
	subARN := subs.Subscriptions[0].SubscriptionArn
	var attrs struct{ Attributes map[string]string }
	c.ok(&attrs, "sns", "get-subscription-attributes", "--subscription-arn", subARN)
	if attrs.Attributes["PendingConfirmation"] != "false" || attrs.Attributes["Endpoint"] != recv.srv.URL+"/hook" {
		t.Fatalf("subscription attributes = %v", attrs.Attributes)
	}

	var pub struct{ MessageId string }
	c.ok(&pub, "sns", "publish", "--topic-arn", topic.TopicArn, "--subject", "Finding", "--message", `{"severity":"HIGH","note":"<a&b>"}`,
		"--message-attributes", `{"kind":{"DataType":"String","StringValue":"finding"}}`)
	n := recv.next(notify.TypeNotification)
	if n.MessageID != pub.MessageId || n.Message != `{"severity":"HIGH","note":"<a&b>"}` || n.Subject == nil || *n.Subject != "Finding" ||
		n.TopicArn != topic.TopicArn || n.UnsubscribeURL == "" || n.MessageAttributes["kind"].Value != "finding" {
		t.Fatalf("notification = %+v", n)
	}
	recv.checkNoFailures()

	// A tampered copy fails verification.
	bad := *n
	bad.Message = "tampered"
	if err := recv.verifier.VerifyMessage(context.Background(), &bad); err == nil {
		t.Fatal("a tampered message verified")
	}

	// SNS's errors.
	missing := strings.TrimSuffix(topic.TopicArn, "alerts") + "missing"
	c.fails("NotFound", []string{"Topic does not exist"}, "sns", "publish", "--topic-arn", missing, "--message", "x")
	c.fails("InvalidParameter", nil, "sns", "subscribe", "--topic-arn", topic.TopicArn, "--protocol", "email", "--notification-endpoint", "a@example.com")
	big := filepath.Join(t.TempDir(), "big.txt")
	if err := os.WriteFile(big, []byte(strings.Repeat("x", notify.MaxPublishBytes+1)), 0o600); err != nil {
		t.Fatal(err)
	}
	c.fails("InvalidParameter", []string{"Message too long"}, "sns", "publish", "--topic-arn", topic.TopicArn, "--message", "file://"+big)

	// A user allowed only to publish: SNS's AuthorizationError (403) for
	// anything else.
	pub2 := newUser(c, "publisher", allow(`"sns:Publish"`, topic.TopicArn))
	pub2.ok(nil, "sns", "publish", "--topic-arn", topic.TopicArn, "--message", "from the publisher")
	recv.next(notify.TypeNotification)
	pub2.fails("AuthorizationError", []string{"sns:DeleteTopic"}, "sns", "delete-topic", "--topic-arn", topic.TopicArn)

	var tags struct{ Tags []struct{ Key, Value string } }
	c.ok(&tags, "sns", "list-tags-for-resource", "--resource-arn", topic.TopicArn)
	if len(tags.Tags) != 1 || tags.Tags[0].Key != "team" {
		t.Fatalf("tags = %+v", tags)
	}

	// The UnsubscribeURL works unsigned, as SNS's does.
	resp, err := http.Get(n.UnsubscribeURL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("UnsubscribeURL: HTTP %d", resp.StatusCode)
	}
	c.ok(&subs, "sns", "list-subscriptions-by-topic", "--topic-arn", topic.TopicArn)
	if len(subs.Subscriptions) != 0 {
		t.Fatalf("after unsubscribe: %+v", subs)
	}
	// Delivery metrics are on /metrics.
	if code, body := httpGet(t, s.Endpoint+"/metrics"); code != http.StatusOK ||
		!strings.Contains(body, `bulwark_sns_delivery_attempts_total{outcome="delivered"} 3`) {
		t.Fatalf("/metrics: HTTP %d without the delivery count", code)
	}
	c.ok(nil, "sns", "delete-topic", "--topic-arn", topic.TopicArn)
	var list struct{ Topics []struct{ TopicArn string } }
	c.ok(&list, "sns", "list-topics")
	if len(list.Topics) != 0 {
		t.Fatalf("topics after delete: %+v", list.Topics)
	}
}
