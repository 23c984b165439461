package storetest

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/bulwark-security/bulwark/internal/store"
)

// NotifyStore is a store with its SNS and response parts.
type NotifyStore = interface {
	store.Store
	store.SNS
	store.Response
}

// RunNotify runs the conformance suite of store.SNS and store.Response.
// Each subtest calls open for a fresh, empty, migrated store.
func RunNotify(t *testing.T, open func(t *testing.T) NotifyStore) {
	t.Helper()
	tests := []struct {
		name string
		fn   func(t *testing.T, s NotifyStore)
	}{
		{"Topics", testSNSTopics},
		{"Subscriptions", testSNSSubscriptions},
		{"DeliveryQueue", testSNSDeliveryQueue},
		{"DeliveryLeaseRace", testSNSDeliveryLeaseRace},
		{"Rules", testResponseRules},
		{"Executions", testResponseExecutions},
		{"Reset", testNotifyReset},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := open(t)
			mustCreateAccount(t, s, acct)
			tt.fn(t, s)
		})
	}
}

// RunNotifyServers checks that two stores over one database (two servers)
// never deliver one message twice.
func RunNotifyServers(t *testing.T, a, b NotifyStore) {
	t.Helper()
	mustCreateAccount(t, a, acct)
	raceDeliveries(t, a, b)
}

func topicARN(name string) string { return "arn:aws:sns:us-east-1:" + acct + ":" + name }

func mkTopic(t *testing.T, s NotifyStore, name string) store.Topic {
	t.Helper()
	tp := store.Topic{ARN: topicARN(name), AccountID: acct, Region: "us-east-1", Name: name,
		Attributes: map[string]string{"DisplayName": "d " + name}, Tags: []store.Tag{{Key: "k", Value: "v"}}, CreatedAt: at}
	if err := s.CreateTopic(t.Context(), tp); err != nil {
		t.Fatalf("CreateTopic(%s): %v", name, err)
	}
	return tp
}

func testSNSTopics(t *testing.T, s NotifyStore) {
	c := t.Context()
	want := mkTopic(t, s, "b")
	mkTopic(t, s, "a")
	mkTopic(t, s, "c")
	if err := s.CreateTopic(c, want); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("duplicate CreateTopic = %v, want ErrConflict", err)
	}
	if err := s.CreateTopic(c, store.Topic{ARN: "arn:aws:sns:us-east-1:999999999999:x", AccountID: "999999999999", Region: "us-east-1", Name: "x", CreatedAt: at}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("CreateTopic in a missing account = %v, want ErrNotFound", err)
	}
	got, err := s.GetTopic(c, want.ARN)
	if err != nil {
		t.Fatal(err)
	}
	want.CreatedAt = wantTime
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("GetTopic = %+v\nwant %+v", got, want)
	}
	if _, err := s.GetTopic(c, topicARN("nope")); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("GetTopic(missing) = %v", err)
	}
	page, err := s.ListTopics(c, acct, "us-east-1", "", 2)
	if err != nil || len(page) != 2 || page[0].Name != "a" || page[1].Name != "b" {
		t.Fatalf("ListTopics page 1 = %v, %v", topicNames(page), err)
	}
	page, err = s.ListTopics(c, acct, "us-east-1", page[1].ARN, 2)
	if err != nil || len(page) != 1 || page[0].Name != "c" {
		t.Fatalf("ListTopics page 2 = %v, %v", topicNames(page), err)
	}
	if other, _ := s.ListTopics(c, acct, "eu-west-1", "", 10); len(other) != 0 {
		t.Fatalf("ListTopics in another region = %v", topicNames(other))
	}
	err = s.UpdateTopic(c, want.ARN, func(tp *store.Topic) error {
		tp.Attributes["Policy"] = "{}"
		tp.Tags = append(tp.Tags, store.Tag{Key: "k2", Value: "v2"})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	got, _ = s.GetTopic(c, want.ARN)
	if got.Attributes["Policy"] != "{}" || len(got.Tags) != 2 {
		t.Fatalf("after UpdateTopic: %+v", got)
	}
	sentinel := errors.New("abort")
	if err := s.UpdateTopic(c, want.ARN, func(tp *store.Topic) error { tp.Tags = nil; return sentinel }); !errors.Is(err, sentinel) {
		t.Fatalf("UpdateTopic with failing fn = %v", err)
	}
	if got, _ = s.GetTopic(c, want.ARN); len(got.Tags) != 2 {
		t.Fatal("a failed UpdateTopic changed the topic")
	}
	if err := s.UpdateTopic(c, topicARN("nope"), func(*store.Topic) error { return nil }); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("UpdateTopic(missing) = %v", err)
	}
	if err := s.DeleteTopic(c, want.ARN); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteTopic(c, want.ARN); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("second DeleteTopic = %v", err)
	}
}

func topicNames(ts []store.Topic) []string {
	var out []string
	for _, t := range ts {
		out = append(out, t.Name)
	}
	return out
}

func mkSub(t *testing.T, s NotifyStore, topic store.Topic, id, endpoint string, token []byte) store.Subscription {
	t.Helper()
	sub := store.Subscription{ARN: topic.ARN + ":" + id, TopicARN: topic.ARN, AccountID: acct, Owner: acct,
		Protocol: "https", Endpoint: endpoint, TokenHash: token, TokenExpiresAt: at.Add(time.Hour),
		Attributes: map[string]string{}, CreatedAt: at}
	if err := s.CreateSubscription(t.Context(), sub); err != nil {
		t.Fatalf("CreateSubscription(%s): %v", id, err)
	}
	return sub
}

func testSNSSubscriptions(t *testing.T, s NotifyStore) {
	c := t.Context()
	tp := mkTopic(t, s, "t")
	other := mkTopic(t, s, "u")
	sub := mkSub(t, s, tp, "1", "https://a.example/", []byte("hash-1"))
	mkSub(t, s, tp, "2", "https://b.example/", []byte("hash-2"))
	mkSub(t, s, other, "3", "https://a.example/", []byte("hash-3"))
	dup := sub
	dup.ARN = tp.ARN + ":9"
	if err := s.CreateSubscription(c, dup); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("second subscription of one endpoint = %v, want ErrConflict", err)
	}
	orphan := sub
	orphan.ARN, orphan.TopicARN = topicARN("gone")+":1", topicARN("gone")
	if err := s.CreateSubscription(c, orphan); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("subscription to a missing topic = %v, want ErrNotFound", err)
	}
	got, err := s.GetSubscription(c, sub.ARN)
	want := sub
	want.CreatedAt, want.TokenExpiresAt = wantTime, at.Add(time.Hour).UTC().Truncate(time.Microsecond)
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("GetSubscription = %+v, %v\nwant %+v", got, err, want)
	}
	if got, err := s.FindSubscription(c, tp.ARN, "https", "https://b.example/"); err != nil || got.ARN != tp.ARN+":2" {
		t.Fatalf("FindSubscription = %v, %v", got.ARN, err)
	}
	if _, err := s.FindSubscription(c, tp.ARN, "http", "https://b.example/"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("FindSubscription(other protocol) = %v", err)
	}
	if got, err := s.SubscriptionByToken(c, tp.ARN, []byte("hash-2")); err != nil || got.ARN != tp.ARN+":2" {
		t.Fatalf("SubscriptionByToken = %v, %v", got.ARN, err)
	}
	if _, err := s.SubscriptionByToken(c, other.ARN, []byte("hash-2")); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("SubscriptionByToken(other topic) = %v", err)
	}
	err = s.UpdateSubscription(c, sub.ARN, func(x *store.Subscription) error {
		x.Confirmed, x.ConfirmedAt = true, at
		x.Attributes["RawMessageDelivery"] = "true"
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	got, _ = s.GetSubscription(c, sub.ARN)
	if !got.Confirmed || !got.ConfirmedAt.Equal(wantTime) || got.Attributes["RawMessageDelivery"] != "true" {
		t.Fatalf("after UpdateSubscription: %+v", got)
	}
	all, err := s.ListSubscriptions(c, acct, "", "", 10)
	if err != nil || len(all) != 3 {
		t.Fatalf("ListSubscriptions(account) = %d, %v", len(all), err)
	}
	byTopic, err := s.ListSubscriptions(c, acct, tp.ARN, "", 1)
	if err != nil || len(byTopic) != 1 || byTopic[0].ARN != tp.ARN+":1" {
		t.Fatalf("ListSubscriptions(topic, 1) = %v", byTopic)
	}
	byTopic, _ = s.ListSubscriptions(c, acct, tp.ARN, byTopic[0].ARN, 10)
	if len(byTopic) != 1 || byTopic[0].ARN != tp.ARN+":2" {
		t.Fatalf("ListSubscriptions(topic, after) = %v", byTopic)
	}
	if err := s.DeleteSubscription(c, sub.ARN); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteSubscription(c, sub.ARN); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("second DeleteSubscription = %v", err)
	}
	// Deleting a topic deletes its subscriptions.
	if err := s.DeleteTopic(c, tp.ARN); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetSubscription(c, tp.ARN+":2"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("subscription of a deleted topic: %v", err)
	}
}

func mkDelivery(id, sub, topic string, next time.Time) store.Delivery {
	return store.Delivery{ID: id, SubscriptionARN: sub, TopicARN: topic, MessageID: "m-" + id, Kind: "Notification",
		Endpoint: "https://a.example/", Policy: `{"p":1}`, Body: []byte("sealed " + id), NextAttemptAt: next, CreatedAt: at}
}

func testSNSDeliveryQueue(t *testing.T, s NotifyStore) {
	c := t.Context()
	tp := mkTopic(t, s, "t")
	sub := mkSub(t, s, tp, "1", "https://a.example/", []byte("h"))
	base := at.UTC().Truncate(time.Microsecond)
	ds := []store.Delivery{mkDelivery("d1", sub.ARN, tp.ARN, base), mkDelivery("d2", sub.ARN, tp.ARN, base.Add(time.Second)),
		mkDelivery("d3", sub.ARN, tp.ARN, base.Add(time.Hour))}
	if err := s.EnqueueDeliveries(c, ds, 3); err != nil {
		t.Fatal(err)
	}
	if err := s.EnqueueDeliveries(c, []store.Delivery{mkDelivery("d4", sub.ARN, tp.ARN, base)}, 3); !errors.Is(err, store.ErrQueueFull) {
		t.Fatalf("enqueue past the bound = %v, want ErrQueueFull", err)
	}
	if n, err := s.QueuedDeliveries(c); err != nil || n != 3 {
		t.Fatalf("QueuedDeliveries = %d, %v", n, err)
	}
	now := base.Add(2 * time.Second)
	got, err := s.ClaimDeliveries(c, "A", now, time.Minute, 10)
	if err != nil || len(got) != 2 || got[0].ID != "d1" || got[1].ID != "d2" {
		t.Fatalf("ClaimDeliveries = %v, %v", got, err)
	}
	if !bytes.Equal(got[0].Body, []byte("sealed d1")) || got[0].Policy != `{"p":1}` || !got[0].NextAttemptAt.Equal(base) {
		t.Fatalf("claimed row = %+v", got[0])
	}
	if again, _ := s.ClaimDeliveries(c, "B", now, time.Minute, 10); len(again) != 0 {
		t.Fatalf("leased rows claimed again: %v", again)
	}
	if ok, err := s.CompleteDelivery(c, "d1", "B"); ok || err != nil {
		t.Fatalf("CompleteDelivery by a non-holder = %v, %v", ok, err)
	}
	if ok, err := s.CompleteDelivery(c, "d1", "A"); !ok || err != nil {
		t.Fatalf("CompleteDelivery = %v, %v", ok, err)
	}
	if ok, err := s.RetryDelivery(c, "d2", "A", now.Add(10*time.Second), "HTTP 500"); !ok || err != nil {
		t.Fatalf("RetryDelivery = %v, %v", ok, err)
	}
	if got, _ := s.ClaimDeliveries(c, "B", now.Add(5*time.Second), time.Minute, 10); len(got) != 0 {
		t.Fatalf("retry claimed before it is due: %v", got)
	}
	got, _ = s.ClaimDeliveries(c, "B", now.Add(11*time.Second), time.Minute, 10)
	if len(got) != 1 || got[0].ID != "d2" || got[0].Attempts != 1 || got[0].LastError != "HTTP 500" {
		t.Fatalf("retried delivery = %+v", got)
	}
	// An expired lease is claimable by another server.
	got, _ = s.ClaimDeliveries(c, "C", now.Add(11*time.Second+2*time.Minute), time.Minute, 10)
	if len(got) != 1 || got[0].ID != "d2" {
		t.Fatalf("expired lease not reclaimed: %+v", got)
	}
	if ok, _ := s.CompleteDelivery(c, "d2", "B"); ok {
		t.Fatal("the previous holder completed a reclaimed delivery")
	}
	// Deleting the subscription drops its queued deliveries.
	if err := s.DeleteSubscription(c, sub.ARN); err != nil {
		t.Fatal(err)
	}
	if n, _ := s.QueuedDeliveries(c); n != 0 {
		t.Fatalf("%d deliveries left after unsubscribe", n)
	}
}

func testSNSDeliveryLeaseRace(t *testing.T, s NotifyStore) { raceDeliveries(t, s, s) }

// raceDeliveries has two claimers (one store each, or one shared) drain
// a queue concurrently: every delivery is claimed exactly once.
func raceDeliveries(t *testing.T, a, b NotifyStore) {
	c := t.Context()
	tp := mkTopic(t, a, "race")
	sub := mkSub(t, a, tp, "1", "https://a.example/", []byte("h"))
	const n = 60
	var ds []store.Delivery
	for i := range n {
		ds = append(ds, mkDelivery(fmt.Sprintf("r%03d", i), sub.ARN, tp.ARN, at))
	}
	if err := a.EnqueueDeliveries(c, ds, 0); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	seen := map[string]string{}
	var wg sync.WaitGroup
	for i, st := range []NotifyStore{a, b, a, b} {
		owner := fmt.Sprintf("owner-%d", i)
		wg.Go(func() {
			for {
				got, err := st.ClaimDeliveries(c, owner, at.Add(time.Second), time.Hour, 7)
				if err != nil {
					t.Error(err)
					return
				}
				if len(got) == 0 {
					return
				}
				mu.Lock()
				for _, d := range got {
					if prev, dup := seen[d.ID]; dup {
						t.Errorf("delivery %s claimed by %s and %s", d.ID, prev, owner)
					}
					seen[d.ID] = owner
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(seen) != n {
		t.Fatalf("%d of %d deliveries claimed", len(seen), n)
	}
}

func testResponseRules(t *testing.T, s NotifyStore) {
	c := t.Context()
	r := store.ResponseRule{AccountID: acct, Name: "b", Body: `{"x":1}`, Enabled: true, CreatedAt: at, UpdatedAt: at}
	if err := s.PutResponseRule(c, r); err != nil {
		t.Fatal(err)
	}
	if err := s.PutResponseRule(c, store.ResponseRule{AccountID: acct, Name: "a", Body: `{}`, CreatedAt: at, UpdatedAt: at}); err != nil {
		t.Fatal(err)
	}
	later := wantTime.Add(time.Hour)
	r2 := r
	r2.Body, r2.Enabled, r2.CreatedAt, r2.UpdatedAt = `{"x":2}`, false, later, later
	if err := s.PutResponseRule(c, r2); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetResponseRule(c, acct, "b")
	if err != nil || got.Body != `{"x":2}` || got.Enabled || !got.CreatedAt.Equal(wantTime) || !got.UpdatedAt.Equal(later) {
		t.Fatalf("GetResponseRule after replace = %+v, %v", got, err)
	}
	list, err := s.ListResponseRules(c, acct)
	if err != nil || len(list) != 2 || list[0].Name != "a" || list[1].Name != "b" {
		t.Fatalf("ListResponseRules = %+v, %v", list, err)
	}
	if all, _ := s.ListResponseRules(c, ""); len(all) != 2 {
		t.Fatalf("ListResponseRules(all) = %d", len(all))
	}
	if _, err := s.GetResponseRule(c, "999999999999", "b"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("rule of another account: %v", err)
	}
	if err := s.DeleteResponseRule(c, acct, "b"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteResponseRule(c, acct, "b"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("second DeleteResponseRule = %v", err)
	}
}

func testResponseExecutions(t *testing.T, s NotifyStore) {
	c := t.Context()
	base := at.UTC().Truncate(time.Microsecond)
	mk := func(rule, finding string, idx int) store.ResponseExecution {
		return store.ResponseExecution{AccountID: acct, RuleName: rule, FindingID: finding, ActionIndex: idx,
			Action: `{"Type":"X"}`, Finding: `{"Id":"` + finding + `"}`, NextAttemptAt: base, CreatedAt: base}
	}
	es := []store.ResponseExecution{mk("r", "f1", 0), mk("r", "f1", 1), mk("q", "f1", 0)}
	if n, err := s.EnqueueResponseExecutions(c, es); err != nil || n != 3 {
		t.Fatalf("EnqueueResponseExecutions = %d, %v", n, err)
	}
	// Once per finding: the same keys again insert nothing.
	if n, err := s.EnqueueResponseExecutions(c, append(es, mk("r", "f2", 0))); err != nil || n != 1 {
		t.Fatalf("second EnqueueResponseExecutions = %d, %v (want 1 new)", n, err)
	}
	got, err := s.ClaimResponseExecutions(c, "A", base, time.Minute, 10)
	if err != nil || len(got) != 4 {
		t.Fatalf("ClaimResponseExecutions = %d, %v", len(got), err)
	}
	if again, _ := s.ClaimResponseExecutions(c, "B", base, time.Minute, 10); len(again) != 0 {
		t.Fatalf("leased executions claimed again: %d", len(again))
	}
	if got[0].Status != store.ExecPending || got[0].Action != `{"Type":"X"}` {
		t.Fatalf("claimed execution = %+v", got[0])
	}
	for _, e := range got {
		status, next := store.ExecSucceeded, base
		if e.RuleName == "q" {
			status, next = store.ExecPending, base.Add(time.Minute)
		}
		if ok, err := s.FinishResponseExecution(c, e, "A", status, next, base.Add(time.Second), "boom"); !ok || err != nil {
			t.Fatalf("FinishResponseExecution = %v, %v", ok, err)
		}
	}
	if ok, _ := s.FinishResponseExecution(c, got[0], "B", store.ExecFailed, base, base, ""); ok {
		t.Fatal("a non-holder finished an execution")
	}
	if due, _ := s.ClaimResponseExecutions(c, "B", base.Add(30*time.Second), time.Minute, 10); len(due) != 0 {
		t.Fatalf("retry claimed early: %d", len(due))
	}
	due, _ := s.ClaimResponseExecutions(c, "B", base.Add(2*time.Minute), time.Minute, 10)
	if len(due) != 1 || due[0].RuleName != "q" || due[0].Attempts != 1 || due[0].LastError != "boom" {
		t.Fatalf("retried execution = %+v", due)
	}
	list, err := s.ListResponseExecutions(c, acct, "r", 10)
	if err != nil || len(list) != 3 {
		t.Fatalf("ListResponseExecutions(r) = %d, %v", len(list), err)
	}
	for _, e := range list {
		if e.Status != store.ExecSucceeded || !e.DoneAt.Equal(base.Add(time.Second)) {
			t.Fatalf("finished execution = %+v", e)
		}
	}
	if all, _ := s.ListResponseExecutions(c, acct, "", 10); len(all) != 4 {
		t.Fatalf("ListResponseExecutions(all) = %d", len(all))
	}
}

func testNotifyReset(t *testing.T, s NotifyStore) {
	c := t.Context()
	tp := mkTopic(t, s, "t")
	sub := mkSub(t, s, tp, "1", "https://a.example/", []byte("h"))
	if err := s.EnqueueDeliveries(c, []store.Delivery{mkDelivery("d", sub.ARN, tp.ARN, at)}, 0); err != nil {
		t.Fatal(err)
	}
	if err := s.PutResponseRule(c, store.ResponseRule{AccountID: acct, Name: "r", Body: "{}", CreatedAt: at, UpdatedAt: at}); err != nil {
		t.Fatal(err)
	}
	if err := s.Reset(c); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetTopic(c, tp.ARN); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("topic after Reset: %v", err)
	}
	if n, _ := s.QueuedDeliveries(c); n != 0 {
		t.Fatalf("%d deliveries after Reset", n)
	}
	if rs, _ := s.ListResponseRules(c, ""); len(rs) != 0 {
		t.Fatalf("rules after Reset: %v", rs)
	}
}
