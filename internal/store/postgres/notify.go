package postgres

import (
	"context"
	"time"

	"github.com/bulwark-security/bulwark/internal/store"
	"github.com/bulwark-security/bulwark/internal/store/notifysql"
)

// The notification and automated-response parts of the store are package
// notifysql's, over the same backend as the IAM part.

var (
	_ store.SNS      = (*Store)(nil)
	_ store.Response = (*Store)(nil)
)

func (s *Store) notify() notifysql.Store { return notifysql.New(backend{s}) }

// CreateTopic implements store.SNS.
func (s *Store) CreateTopic(ctx context.Context, t store.Topic) error {
	return s.notify().CreateTopic(ctx, t)
}

// GetTopic implements store.SNS.
func (s *Store) GetTopic(ctx context.Context, arn string) (store.Topic, error) {
	return s.notify().GetTopic(ctx, arn)
}

// ListTopics implements store.SNS.
func (s *Store) ListTopics(ctx context.Context, account, region, after string, limit int) ([]store.Topic, error) {
	return s.notify().ListTopics(ctx, account, region, after, limit)
}

// UpdateTopic implements store.SNS.
func (s *Store) UpdateTopic(ctx context.Context, arn string, fn func(*store.Topic) error) error {
	return s.notify().UpdateTopic(ctx, arn, fn)
}

// DeleteTopic implements store.SNS.
func (s *Store) DeleteTopic(ctx context.Context, arn string) error {
	return s.notify().DeleteTopic(ctx, arn)
}

// CreateSubscription implements store.SNS.
func (s *Store) CreateSubscription(ctx context.Context, sub store.Subscription) error {
	return s.notify().CreateSubscription(ctx, sub)
}

// GetSubscription implements store.SNS.
func (s *Store) GetSubscription(ctx context.Context, arn string) (store.Subscription, error) {
	return s.notify().GetSubscription(ctx, arn)
}

// FindSubscription implements store.SNS.
func (s *Store) FindSubscription(ctx context.Context, topicARN, protocol, endpoint string) (store.Subscription, error) {
	return s.notify().FindSubscription(ctx, topicARN, protocol, endpoint)
}

// SubscriptionByToken implements store.SNS.
func (s *Store) SubscriptionByToken(ctx context.Context, topicARN string, tokenHash []byte) (store.Subscription, error) {
	return s.notify().SubscriptionByToken(ctx, topicARN, tokenHash)
}

// UpdateSubscription implements store.SNS.
func (s *Store) UpdateSubscription(ctx context.Context, arn string, fn func(*store.Subscription) error) error {
	return s.notify().UpdateSubscription(ctx, arn, fn)
}

// DeleteSubscription implements store.SNS.
func (s *Store) DeleteSubscription(ctx context.Context, arn string) error {
	return s.notify().DeleteSubscription(ctx, arn)
}

// ListSubscriptions implements store.SNS.
func (s *Store) ListSubscriptions(ctx context.Context, account, topicARN, after string, limit int) ([]store.Subscription, error) {
	return s.notify().ListSubscriptions(ctx, account, topicARN, after, limit)
}

// EnqueueDeliveries implements store.SNS.
func (s *Store) EnqueueDeliveries(ctx context.Context, ds []store.Delivery, maxQueued int) error {
	return s.notify().EnqueueDeliveries(ctx, ds, maxQueued)
}

// ClaimDeliveries implements store.SNS.
func (s *Store) ClaimDeliveries(ctx context.Context, owner string, now time.Time, lease time.Duration, limit int) ([]store.Delivery, error) {
	return s.notify().ClaimDeliveries(ctx, owner, now, lease, limit)
}

// CompleteDelivery implements store.SNS.
func (s *Store) CompleteDelivery(ctx context.Context, id, owner string) (bool, error) {
	return s.notify().CompleteDelivery(ctx, id, owner)
}

// RetryDelivery implements store.SNS.
func (s *Store) RetryDelivery(ctx context.Context, id, owner string, next time.Time, lastErr string) (bool, error) {
	return s.notify().RetryDelivery(ctx, id, owner, next, lastErr)
}

// QueuedDeliveries implements store.SNS.
func (s *Store) QueuedDeliveries(ctx context.Context) (int, error) {
	return s.notify().QueuedDeliveries(ctx)
}

// PutResponseRule implements store.Response.
func (s *Store) PutResponseRule(ctx context.Context, r store.ResponseRule) error {
	return s.notify().PutResponseRule(ctx, r)
}

// GetResponseRule implements store.Response.
func (s *Store) GetResponseRule(ctx context.Context, account, name string) (store.ResponseRule, error) {
	return s.notify().GetResponseRule(ctx, account, name)
}

// ListResponseRules implements store.Response.
func (s *Store) ListResponseRules(ctx context.Context, account string) ([]store.ResponseRule, error) {
	return s.notify().ListResponseRules(ctx, account)
}

// DeleteResponseRule implements store.Response.
func (s *Store) DeleteResponseRule(ctx context.Context, account, name string) error {
	return s.notify().DeleteResponseRule(ctx, account, name)
}

// EnqueueResponseExecutions implements store.Response.
func (s *Store) EnqueueResponseExecutions(ctx context.Context, es []store.ResponseExecution) (int, error) {
	return s.notify().EnqueueResponseExecutions(ctx, es)
}

// ClaimResponseExecutions implements store.Response.
func (s *Store) ClaimResponseExecutions(ctx context.Context, owner string, now time.Time, lease time.Duration, limit int) ([]store.ResponseExecution, error) {
	return s.notify().ClaimResponseExecutions(ctx, owner, now, lease, limit)
}

// FinishResponseExecution implements store.Response.
func (s *Store) FinishResponseExecution(ctx context.Context, e store.ResponseExecution, owner, status string, next, now time.Time, lastErr string) (bool, error) {
	return s.notify().FinishResponseExecution(ctx, e, owner, status, next, now, lastErr)
}

// ListResponseExecutions implements store.Response.
func (s *Store) ListResponseExecutions(ctx context.Context, account, rule string, limit int) ([]store.ResponseExecution, error) {
	return s.notify().ListResponseExecutions(ctx, account, rule, limit)
}
