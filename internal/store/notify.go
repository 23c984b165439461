package store

import (
	"context"
	"errors"
	"time"
)

// ErrQueueFull means the durable delivery queue holds as many messages as it
// may; the caller should refuse the publish (SNS's Throttled).
var ErrQueueFull = errors.New("store: delivery queue full")

// Topic is an SNS-compatible topic. Attributes hold the settable topic
// attributes (DisplayName, Policy, DeliveryPolicy, SignatureVersion, ...)
// as SNS names them; the computed ones are not stored.
type Topic struct {
	ARN        string
	AccountID  string
	Region     string
	Name       string
	Attributes map[string]string
	Tags       []Tag
	CreatedAt  time.Time
}

// Subscription is an HTTP or HTTPS endpoint subscribed to a topic. The
// confirmation token is stored only as its SHA-256 hash.
type Subscription struct {
	ARN            string
	TopicARN       string
	AccountID      string
	Owner          string // account id of the subscriber
	Protocol       string // "http" or "https"
	Endpoint       string
	Confirmed      bool
	TokenHash      []byte
	TokenExpiresAt time.Time
	Attributes     map[string]string
	CreatedAt      time.Time
	ConfirmedAt    time.Time // zero while pending
}

// Delivery is one message queued for one subscription. Body is the message
// as sent (SNS's JSON), sealed by the keyring: confirmation messages carry a
// token and notifications carry whatever the publisher sent.
type Delivery struct {
	ID              string
	SubscriptionARN string
	TopicARN        string
	MessageID       string
	Kind            string // SNS's Type: "Notification", "SubscriptionConfirmation", ...
	Endpoint        string
	Policy          string // the topic's delivery policy (JSON) when queued
	Body            []byte
	Attempts        int
	NextAttemptAt   time.Time
	LastError       string
	CreatedAt       time.Time
}

// SNS is the notification part of the store.
type SNS interface {
	// CreateTopic inserts t; ErrConflict if a topic with its account,
	// region and name exists (the caller compares attributes and tags).
	CreateTopic(ctx context.Context, t Topic) error
	// GetTopic returns the topic with the ARN, or ErrNotFound.
	GetTopic(ctx context.Context, arn string) (Topic, error)
	// ListTopics returns up to limit topics of an account and region with
	// ARNs greater than after, ordered by ARN.
	ListTopics(ctx context.Context, account, region, after string, limit int) ([]Topic, error)
	// UpdateTopic changes a topic in one transaction: fn receives the
	// current row and edits Attributes and Tags; ErrNotFound if absent.
	UpdateTopic(ctx context.Context, arn string, fn func(*Topic) error) error
	// DeleteTopic removes a topic with its subscriptions and queued
	// deliveries; ErrNotFound if absent.
	DeleteTopic(ctx context.Context, arn string) error

	// CreateSubscription inserts s; ErrConflict if the topic already has a
	// subscription with the same protocol and endpoint, ErrNotFound if the
	// topic does not exist.
	CreateSubscription(ctx context.Context, sub Subscription) error
	// GetSubscription returns the subscription with the ARN, or ErrNotFound.
	GetSubscription(ctx context.Context, arn string) (Subscription, error)
	// FindSubscription returns a topic's subscription with a protocol and
	// endpoint, or ErrNotFound.
	FindSubscription(ctx context.Context, topicARN, protocol, endpoint string) (Subscription, error)
	// SubscriptionByToken returns the topic's subscription whose
	// confirmation token hashes to tokenHash, or ErrNotFound.
	SubscriptionByToken(ctx context.Context, topicARN string, tokenHash []byte) (Subscription, error)
	// UpdateSubscription changes a subscription in one transaction: fn
	// edits Confirmed, ConfirmedAt, TokenHash, TokenExpiresAt and
	// Attributes; ErrNotFound if absent.
	UpdateSubscription(ctx context.Context, arn string, fn func(*Subscription) error) error
	// DeleteSubscription removes a subscription and its queued deliveries;
	// ErrNotFound if absent.
	DeleteSubscription(ctx context.Context, arn string) error
	// ListSubscriptions returns up to limit subscriptions with ARNs greater
	// than after, ordered by ARN: those of one topic if topicARN is set,
	// else those of an account's topics.
	ListSubscriptions(ctx context.Context, account, topicARN, after string, limit int) ([]Subscription, error)

	// EnqueueDeliveries adds ds to the delivery queue in one transaction,
	// or none with ErrQueueFull if the queue would then hold more than
	// maxQueued rows (0: no bound).
	EnqueueDeliveries(ctx context.Context, ds []Delivery, maxQueued int) error
	// ClaimDeliveries leases up to limit deliveries due at now whose lease
	// (if any) has expired to owner until now+lease, and returns them. Two
	// owners never hold the same delivery at once.
	ClaimDeliveries(ctx context.Context, owner string, now time.Time, lease time.Duration, limit int) ([]Delivery, error)
	// CompleteDelivery removes a delivery owner holds (sent, or given up);
	// it reports false if owner no longer holds it.
	CompleteDelivery(ctx context.Context, id, owner string) (bool, error)
	// RetryDelivery releases a delivery owner holds for another attempt at
	// next, counting this one; it reports false if owner no longer holds it.
	RetryDelivery(ctx context.Context, id, owner string, next time.Time, lastErr string) (bool, error)
	// QueuedDeliveries counts the queued deliveries.
	QueuedDeliveries(ctx context.Context) (int, error)
}

// ResponseRule is an automated-response rule: Body is its JSON (pattern and
// actions), validated by the respond package before it is stored.
type ResponseRule struct {
	AccountID string
	Name      string
	Body      string
	Enabled   bool
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Response execution states.
const (
	ExecPending   = "PENDING"
	ExecSucceeded = "SUCCEEDED"
	ExecFailed    = "FAILED"
)

// ResponseExecution is one action of one rule for one finding. Its key
// (account, rule, finding, action index) makes each action run at most once
// per finding.
type ResponseExecution struct {
	AccountID     string
	RuleName      string
	FindingID     string
	ActionIndex   int
	Action        string // the action's JSON
	Finding       string // the finding's JSON (ASFF)
	Status        string
	Attempts      int
	NextAttemptAt time.Time
	LastError     string
	CreatedAt     time.Time
	DoneAt        time.Time
}

// Response is the automated-response part of the store.
type Response interface {
	// PutResponseRule inserts or replaces a rule (CreatedAt is kept on
	// replace).
	PutResponseRule(ctx context.Context, r ResponseRule) error
	// GetResponseRule returns a rule, or ErrNotFound.
	GetResponseRule(ctx context.Context, account, name string) (ResponseRule, error)
	// ListResponseRules returns an account's rules ordered by name; all
	// accounts' if account is empty.
	ListResponseRules(ctx context.Context, account string) ([]ResponseRule, error)
	// DeleteResponseRule removes a rule; ErrNotFound if absent.
	DeleteResponseRule(ctx context.Context, account, name string) error

	// EnqueueResponseExecutions inserts the executions whose key is new
	// and returns how many it inserted; existing keys are left alone.
	EnqueueResponseExecutions(ctx context.Context, es []ResponseExecution) (int, error)
	// ClaimResponseExecutions leases up to limit pending executions due at
	// now to owner until now+lease.
	ClaimResponseExecutions(ctx context.Context, owner string, now time.Time, lease time.Duration, limit int) ([]ResponseExecution, error)
	// FinishResponseExecution records the outcome of an attempt owner
	// holds: status SUCCEEDED or FAILED ends it at now; PENDING schedules
	// another attempt at next. It reports false if owner no longer holds it.
	FinishResponseExecution(ctx context.Context, e ResponseExecution, owner, status string, next, now time.Time, lastErr string) (bool, error)
	// ListResponseExecutions returns up to limit executions of an account
	// (of one rule if rule is set), newest first.
	ListResponseExecutions(ctx context.Context, account, rule string, limit int) ([]ResponseExecution, error)
}
