package notify

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bulwark-security/bulwark/internal/api"
)

func mustCall(t *testing.T, f *fixture, action string, params url.Values) any {
	t.Helper()
	res, err := f.call(t, action, params)
	if err != nil {
		t.Fatalf("%s: %v", action, err)
	}
	return res
}

// subscribe subscribes ep and returns the confirmation message it got.
func subscribe(t *testing.T, f *fixture, ep *endpoint, attrs ...string) *Message {
	t.Helper()
	params := v("TopicArn", topic, "Protocol", "http", "Endpoint", ep.srv.URL+"/hook")
	for i := 0; i+1 < len(attrs); i += 2 {
		n := strconv.Itoa(i/2 + 1)
		params.Set("Attributes.entry."+n+".key", attrs[i])
		params.Set("Attributes.entry."+n+".value", attrs[i+1])
	}
	res := mustCall(t, f, "Subscribe", params)
	if got := res.(*subscribeResult).SubscriptionArn; got != "pending confirmation" {
		t.Fatalf("SubscriptionArn = %q", got)
	}
	if err := f.svc.DeliverDue(context.Background()); err != nil {
		t.Fatal(err)
	}
	bodies, headers := ep.received()
	if len(bodies) == 0 {
		t.Fatal("no confirmation message")
	}
	last := len(bodies) - 1
	m, err := f.verifier(t).Verify(context.Background(), bodies[last])
	if err != nil {
		t.Fatalf("confirmation does not verify: %v\n%s", err, bodies[last])
	}
	h := headers[last]
	if m.Type != TypeSubscriptionConfirmation || h.Get("x-amz-sns-message-type") != m.Type || h.Get("x-amz-sns-topic-arn") != topic ||
		h.Get("User-Agent") != userAgent || h.Get("Content-Type") != "text/plain; charset=UTF-8" || h.Get("x-amz-sns-subscription-arn") != "" {
		t.Fatalf("confirmation %+v with headers %v", m, h)
	}
	return m
}

func visit(t *testing.T, u string) int {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestConfirmationFlow: Subscribe sends a signed SubscriptionConfirmation;
// the subscription stays pending (and receives nothing) until SubscribeURL
// is visited; then it receives signed notifications, and its
// UnsubscribeURL ends it.
func TestConfirmationFlow(t *testing.T) {
	f := newFixture(t)
	mustCall(t, f, "CreateTopic", v("Name", "alerts"))
	ep := newEndpoint(t)
	conf := subscribe(t, f, ep)
	if !strings.HasPrefix(conf.SubscribeURL, f.srv.URL+"/?") || len(conf.Token) != 128 {
		t.Fatalf("SubscribeURL %q, Token %q", conf.SubscribeURL, conf.Token)
	}

	list := mustCall(t, f, "ListSubscriptionsByTopic", v("TopicArn", topic)).(*listSubscriptionsResult)
	if len(list.Subscriptions) != 1 || list.Subscriptions[0].SubscriptionArn != "PendingConfirmation" {
		t.Fatalf("pending listing = %+v", list)
	}
	// A pending subscription gets no notifications.
	mustCall(t, f, "Publish", v("TopicArn", topic, "Message", "before"))
	_ = f.svc.DeliverDue(context.Background())
	if bodies, _ := ep.received(); len(bodies) != 1 {
		t.Fatalf("pending subscription received %d messages", len(bodies))
	}

	if code := visit(t, conf.SubscribeURL); code != http.StatusOK {
		t.Fatalf("SubscribeURL: HTTP %d", code)
	}
	list = mustCall(t, f, "ListSubscriptionsByTopic", v("TopicArn", topic)).(*listSubscriptionsResult)
	subARN := list.Subscriptions[0].SubscriptionArn
	if !strings.HasPrefix(subARN, topic+":") {
		t.Fatalf("confirmed listing = %+v", list)
	}
	// Confirming again answers the same ARN (SNS does too).
	res := mustCall(t, f, "ConfirmSubscription", v("TopicArn", topic, "Token", conf.Token))
	if res.(*subscribeResult).SubscriptionArn != subARN {
		t.Fatalf("second confirmation = %v", res)
	}
	// Subscribing a confirmed endpoint again returns its ARN.
	res = mustCall(t, f, "Subscribe", v("TopicArn", topic, "Protocol", "http", "Endpoint", ep.srv.URL+"/hook"))
	if res.(*subscribeResult).SubscriptionArn != subARN {
		t.Fatalf("resubscribe = %v", res)
	}

	pub := mustCall(t, f, "Publish", v("TopicArn", topic, "Message", "hello", "Subject", "Greeting",
		"MessageAttributes.entry.1.Name", "bin", "MessageAttributes.entry.1.Value.DataType", "Binary", "MessageAttributes.entry.1.Value.BinaryValue", "AAEC")).(*publishResult)
	if err := f.svc.DeliverDue(context.Background()); err != nil {
		t.Fatal(err)
	}
	bodies, headers := ep.received()
	if len(bodies) != 2 {
		t.Fatalf("received %d messages, want 2", len(bodies))
	}
	n, err := f.verifier(t).Verify(context.Background(), bodies[1])
	if err != nil {
		t.Fatalf("notification does not verify: %v", err)
	}
	h := headers[1]
	if n.Type != TypeNotification || n.MessageID != pub.MessageID || n.Message != "hello" || *n.Subject != "Greeting" ||
		n.SignatureVersion != "2" || n.MessageAttributes["bin"] != (MessageAttribute{Type: "Binary", Value: "AAEC"}) ||
		h.Get("x-amz-sns-subscription-arn") != subARN || h.Get("x-amz-sns-message-id") != pub.MessageID || h.Get("x-amz-sns-rawdelivery") != "false" {
		t.Fatalf("notification %+v, headers %v", n, h)
	}

	// A forged UnsubscribeURL (wrong token) fails; the real one works.
	u, _ := url.Parse(n.UnsubscribeURL)
	q := u.Query()
	q.Set("Token", strings.Repeat("0", 64))
	u.RawQuery = q.Encode()
	if code := visit(t, u.String()); code == http.StatusOK {
		t.Fatal("forged UnsubscribeURL worked")
	}
	if code := visit(t, n.UnsubscribeURL); code != http.StatusOK {
		t.Fatalf("UnsubscribeURL: HTTP %d", code)
	}
	if _, err := f.call(t, "GetSubscriptionAttributes", v("SubscriptionArn", subARN)); err == nil {
		t.Fatal("subscription survived UnsubscribeURL")
	}
}

func TestConfirmationTokenExpires(t *testing.T) {
	f := newFixture(t)
	mustCall(t, f, "CreateTopic", v("Name", "alerts"))
	conf := subscribe(t, f, newEndpoint(t))
	f.clock.Add(tokenTTL + time.Minute)
	_, err := f.call(t, "ConfirmSubscription", v("TopicArn", topic, "Token", conf.Token))
	wantCode(t, err, "InvalidParameter", 400)
	// Another topic's ARN with a valid token: no.
	mustCall(t, f, "CreateTopic", v("Name", "other"))
	_, err = f.call(t, "ConfirmSubscription", v("TopicArn", strings.TrimSuffix(topic, "alerts")+"other", "Token", conf.Token))
	wantCode(t, err, "InvalidParameter", 400)
}

// TestResubscribePending: subscribing a pending endpoint again sends a new
// token and invalidates the old one.
func TestResubscribePending(t *testing.T) {
	f := newFixture(t)
	mustCall(t, f, "CreateTopic", v("Name", "alerts"))
	ep := newEndpoint(t)
	first := subscribe(t, f, ep)
	second := subscribe(t, f, ep)
	if first.Token == second.Token {
		t.Fatal("same token twice")
	}
	_, err := f.call(t, "ConfirmSubscription", v("TopicArn", topic, "Token", first.Token))
	wantCode(t, err, "InvalidParameter", 400)
	mustCall(t, f, "ConfirmSubscription", v("TopicArn", topic, "Token", second.Token))
}

func TestRawAndStructuredDelivery(t *testing.T) {
	f := newFixture(t)
	mustCall(t, f, "CreateTopic", v("Name", "alerts"))
	ep := newEndpoint(t)
	conf := subscribe(t, f, ep, "RawMessageDelivery", "true")
	visit(t, conf.SubscribeURL)
	mustCall(t, f, "Publish", v("TopicArn", topic, "MessageStructure", "json", "Message", `{"default":"d","http":"for http"}`))
	_ = f.svc.DeliverDue(context.Background())
	bodies, headers := ep.received()
	if got := string(bodies[len(bodies)-1]); got != "for http" || headers[len(headers)-1].Get("x-amz-sns-rawdelivery") != "true" {
		t.Fatalf("raw delivery = %q, %v", got, headers[len(headers)-1])
	}
}

// TestDeliveryRetries: an endpoint that fails is retried per the delivery
// policy (here the topic's, 2 retries at 1 s then 5 s), then given up; a
// 4xx answer is not retried.
func TestDeliveryRetries(t *testing.T) {
	f := newFixture(t)
	mustCall(t, f, "CreateTopic", v("Name", "alerts", "Attributes.entry.1.key", "DeliveryPolicy", "Attributes.entry.1.value",
		`{"http":{"defaultHealthyRetryPolicy":{"numRetries":2,"minDelayTarget":1,"maxDelayTarget":5,"backoffFunction":"exponential"}}}`))
	ep := newEndpoint(t)
	conf := subscribe(t, f, ep)
	visit(t, conf.SubscribeURL)
	ctx := context.Background()

	ep.mu.Lock()
	ep.statuses = []int{500, 503, 200}
	ep.mu.Unlock()
	mustCall(t, f, "Publish", v("TopicArn", topic, "Message", "retry me"))
	count := func() int { b, _ := ep.received(); return len(b) }
	base := count()
	_ = f.svc.DeliverDue(ctx) // attempt 1: 500
	if n, _ := f.st.QueuedDeliveries(ctx); n != 1 || count() != base+1 {
		t.Fatalf("after a failure: queued %d, received %d", n, count()-base)
	}
	_ = f.svc.DeliverDue(ctx) // not due yet
	if count() != base+1 {
		t.Fatal("retried before the delay")
	}
	f.clock.Add(3 * time.Second) // past retry 1's delay (2.33 s, +10% jitter at most)
	_ = f.svc.DeliverDue(ctx)    // attempt 2: 503
	f.clock.Add(6 * time.Second)
	_ = f.svc.DeliverDue(ctx) // attempt 3: 200
	if n, _ := f.st.QueuedDeliveries(ctx); n != 0 || count() != base+3 {
		t.Fatalf("after success: queued %d, received %d", n, count()-base)
	}
	bodies, _ := ep.received()
	if m, err := f.verifier(t).Verify(ctx, bodies[len(bodies)-1]); err != nil || m.Message != "retry me" {
		t.Fatalf("retried message: %v, %v", m, err)
	}

	// Exhausted retries: dropped after 1 + numRetries attempts.
	ep.mu.Lock()
	ep.statuses = []int{500, 500, 500, 500}
	ep.mu.Unlock()
	mustCall(t, f, "Publish", v("TopicArn", topic, "Message", "doomed"))
	base = count()
	for range 5 {
		_ = f.svc.DeliverDue(ctx)
		f.clock.Add(6 * time.Second)
	}
	if n, _ := f.st.QueuedDeliveries(ctx); n != 0 || count() != base+3 {
		t.Fatalf("exhausted: queued %d, attempts %d, want 3", n, count()-base)
	}

	// A 4xx is permanent.
	ep.mu.Lock()
	ep.statuses = []int{404}
	ep.mu.Unlock()
	mustCall(t, f, "Publish", v("TopicArn", topic, "Message", "gone"))
	base = count()
	_ = f.svc.DeliverDue(ctx)
	if n, _ := f.st.QueuedDeliveries(ctx); n != 0 || count() != base+1 {
		t.Fatalf("4xx: queued %d, attempts %d", n, count()-base)
	}
}

// TestQueueBound: Publish answers Throttled when the queue is full.
func TestQueueBound(t *testing.T) {
	f := newFixture(t)
	f.svc.cfg.MaxQueued = 1
	mustCall(t, f, "CreateTopic", v("Name", "alerts"))
	ep := newEndpoint(t)
	conf := subscribe(t, f, ep)
	visit(t, conf.SubscribeURL)
	mustCall(t, f, "Publish", v("TopicArn", topic, "Message", "1"))
	_, err := f.call(t, "Publish", v("TopicArn", topic, "Message", "2"))
	wantCode(t, err, "Throttled", 429)
}

func TestRetryPolicyDelay(t *testing.T) {
	s := time.Second
	tests := []struct {
		name   string
		p      RetryPolicy
		delays []time.Duration // retry 1..n; the next one is refused
	}{
		{"default: three retries 20 s apart", DefaultRetryPolicy, []time.Duration{20 * s, 20 * s, 20 * s}},
		{"linear", RetryPolicy{MinDelayTarget: 10, MaxDelayTarget: 40, NumRetries: 3, BackoffFunction: "linear"}, []time.Duration{20 * s, 30 * s, 40 * s}},
		{"exponential", RetryPolicy{MinDelayTarget: 1, MaxDelayTarget: 8, NumRetries: 3, BackoffFunction: "exponential"}, []time.Duration{2 * s, 4 * s, 8 * s}},
		{"phases", RetryPolicy{MinDelayTarget: 2, MaxDelayTarget: 10, NumRetries: 6, NumNoDelayRetries: 1, NumMinDelayRetries: 1, NumMaxDelayRetries: 2, BackoffFunction: "linear"},
			[]time.Duration{0, 2 * s, 6 * s, 10 * s, 10 * s, 10 * s}},
		{"no retries", RetryPolicy{MinDelayTarget: 1, MaxDelayTarget: 1}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for i, want := range tt.delays {
				got, ok := tt.p.Delay(i + 1)
				if !ok || got != want {
					t.Errorf("Delay(%d) = %v, %v; want %v", i+1, got, ok, want)
				}
			}
			if _, ok := tt.p.Delay(len(tt.delays) + 1); ok {
				t.Errorf("Delay(%d) allowed", len(tt.delays)+1)
			}
		})
	}
}

func TestEffectiveRetryPolicy(t *testing.T) {
	topicP := `{"http":{"defaultHealthyRetryPolicy":{"numRetries":5,"minDelayTarget":1,"maxDelayTarget":9}}}`
	subP := `{"healthyRetryPolicy":{"numRetries":1,"minDelayTarget":3,"maxDelayTarget":3}}`
	locked := `{"http":{"defaultHealthyRetryPolicy":{"numRetries":5,"minDelayTarget":1,"maxDelayTarget":9},"disableSubscriptionOverrides":true}}`
	if p := effectiveRetryPolicy("", ""); p != DefaultRetryPolicy {
		t.Errorf("default = %+v", p)
	}
	if p := effectiveRetryPolicy(topicP, ""); p.NumRetries != 5 {
		t.Errorf("topic = %+v", p)
	}
	if p := effectiveRetryPolicy(topicP, subP); p.NumRetries != 1 {
		t.Errorf("subscription override = %+v", p)
	}
	if p := effectiveRetryPolicy(locked, subP); p.NumRetries != 5 {
		t.Errorf("overrides disabled = %+v", p)
	}
	var stored subscriptionDeliveryPolicy
	if err := json.Unmarshal([]byte(effectiveSubscriptionPolicyJSON(topicP, "")), &stored); err != nil || stored.HealthyRetryPolicy.NumRetries != 5 {
		t.Errorf("stored policy = %+v, %v", stored, err)
	}
}

// TestSignedUnsubscribe: a signed Unsubscribe is authorised by the
// handler (the action is Unauthenticated for UnsubscribeURL's sake), and
// AuthenticateOnUnsubscribe makes the unsigned URL useless.
func TestSignedUnsubscribe(t *testing.T) {
	f := newFixture(t)
	mustCall(t, f, "CreateTopic", v("Name", "alerts"))
	ep := newEndpoint(t)
	conf := subscribe(t, f, ep)
	res := mustCall(t, f, "ConfirmSubscription", v("TopicArn", topic, "Token", conf.Token, "AuthenticateOnUnsubscribe", "true"))
	subARN := res.(*subscribeResult).SubscriptionArn

	mustCall(t, f, "Publish", v("TopicArn", topic, "Message", "m"))
	_ = f.svc.DeliverDue(context.Background())
	bodies, _ := ep.received()
	n, err := ParseMessage(bodies[len(bodies)-1])
	if err != nil {
		t.Fatal(err)
	}
	if code := visit(t, n.UnsubscribeURL); code == http.StatusOK {
		t.Fatal("unsigned unsubscribe worked despite AuthenticateOnUnsubscribe")
	}
	user := &api.Principal{Type: "IAMUser", ARN: "arn:aws:iam::" + acct + ":user/bob", AccountID: acct, UserName: "bob"}
	_, err = f.callAs(t, user, "Unsubscribe", v("SubscriptionArn", subARN))
	wantCode(t, err, "AuthorizationError", 403)
	mustCall(t, f, "Unsubscribe", v("SubscriptionArn", subARN))
	_, err = f.call(t, "Unsubscribe", v("SubscriptionArn", subARN))
	wantCode(t, err, "NotFound", 404)
}

func TestRefuseAddress(t *testing.T) {
	for _, tt := range []struct {
		addr string
		ok   bool
	}{
		{"127.0.0.1:80", true}, {"10.0.0.1:443", true}, {"[::1]:80", true}, {"93.184.216.34:443", true},
		{"169.254.169.254:80", false}, {"[fe80::1]:80", false}, {"[::ffff:169.254.169.254]:80", false},
		{"0.0.0.0:80", false}, {"224.0.0.1:80", false}, {"[ff02::1]:80", false},
	} {
		if err := refuseAddress("tcp", tt.addr, nil); (err == nil) != tt.ok {
			t.Errorf("refuseAddress(%s) = %v", tt.addr, err)
		}
	}
}
