package notify

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/bulwark-security/bulwark/internal/authz"
	"github.com/bulwark-security/bulwark/internal/keyring"
	"github.com/bulwark-security/bulwark/internal/store"
	"github.com/bulwark-security/bulwark/internal/store/sqlite"
)

// TestRestartKeepsQueuedMessages: a message accepted by Publish is in the
// store before Publish answers; a new process over the same database
// delivers it, signed with the same key.
func TestRestartKeepsQueuedMessages(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "bulwark.db")
	keys, err := keyring.New(make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	f := newFixture(t) // for its HTTP server (certificate, SubscribeURL)
	ep := newEndpoint(t)
	open := func() (*sqlite.Store, *Service) {
		st, err := sqlite.Open(ctx, path, nil)
		if err != nil {
			t.Fatal(err)
		}
		svc, err := New(Config{Store: st, Meta: st, Keys: keys, Authorizer: authz.RootOnly{}, Region: "us-east-1", Endpoint: f.srv.URL})
		if err != nil {
			t.Fatal(err)
		}
		return st, svc
	}
	st, svc := open()
	if err := st.CreateAccount(ctx, store.Account{ID: acct, CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	f.svc, f.st = svc, st
	mustCall(t, f, "CreateTopic", v("Name", "alerts"))
	conf := subscribe(t, f, ep)
	mustCall(t, f, "ConfirmSubscription", v("TopicArn", topic, "Token", conf.Token))
	pub := mustCall(t, f, "Publish", v("TopicArn", topic, "Message", "survives")).(*publishResult)
	st.Close() // the "crash": nothing was delivered

	st2, svc2 := open()
	defer st2.Close()
	f.svc, f.st = svc2, st2
	if err := svc2.DeliverDue(ctx); err != nil {
		t.Fatal(err)
	}
	bodies, _ := ep.received()
	m, err := f.verifier(t).Verify(ctx, bodies[len(bodies)-1])
	if err != nil || m.MessageID != pub.MessageID || m.Message != "survives" {
		t.Fatalf("after restart: %+v, %v", m, err)
	}
}

// TestRunDelivers: the background worker delivers without polling delay
// once Publish wakes it, and stops with its context.
func TestRunDelivers(t *testing.T) {
	f := newFixture(t)
	f.svc.cfg.Delivery.Poll = time.Hour // only the wake-up can deliver in time
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.svc.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	mustCall(t, f, "CreateTopic", v("Name", "alerts"))
	ep := newEndpoint(t)
	mustCall(t, f, "Subscribe", v("TopicArn", topic, "Protocol", "http", "Endpoint", ep.srv.URL))
	deadline := time.Now().Add(10 * time.Second)
	for {
		if bodies, _ := ep.received(); len(bodies) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the worker delivered nothing")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
