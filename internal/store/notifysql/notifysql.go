// Package notifysql implements store.SNS and store.Response once, in SQL
// that SQLite and PostgreSQL both accept, over the Backend the IAM part
// already uses (package iamsql: transactions, placeholders, time encoding,
// error mapping).
//
// The two queues (sns_deliveries, response_executions) are shared by every
// server: a worker claims rows by setting a lease with an UPDATE that
// re-checks the lease in its WHERE clause, row by row, so on PostgreSQL
// (READ COMMITTED: the UPDATE waits for a concurrent claimer and re-reads
// the row) and on SQLite (one writer) exactly one claimer wins each row.
package notifysql

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/bulwark-security/bulwark/internal/store"
	"github.com/bulwark-security/bulwark/internal/store/iamsql"
)

// Store implements store.SNS and store.Response over a backend.
type Store struct{ b iamsql.Backend }

var (
	_ store.SNS      = Store{}
	_ store.Response = Store{}
)

// New returns the notification store of a backend.
func New(b iamsql.Backend) Store { return Store{b: b} }

type q = iamsql.Querier

func (s Store) notFound(err error, what string) error {
	if errors.Is(err, iamsql.ErrNoRows) {
		return fmt.Errorf("%s: %w", what, store.ErrNotFound)
	}
	return s.b.MapErr(err, what)
}

func encodeMap(m map[string]string) (string, error) {
	if m == nil {
		m = map[string]string{}
	}
	b, err := json.Marshal(m)
	return string(b), err
}

func decodeMap(s string) (map[string]string, error) {
	m := map[string]string{}
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		return nil, fmt.Errorf("decode attributes: %w", err)
	}
	return m, nil
}

type tagJSON struct {
	Key   string `json:"Key"`
	Value string `json:"Value"`
}

func encodeTags(tags []store.Tag) (string, error) {
	out := make([]tagJSON, len(tags))
	for i, t := range tags {
		out[i] = tagJSON(t)
	}
	b, err := json.Marshal(out)
	return string(b), err
}

func decodeTags(s string) ([]store.Tag, error) {
	var in []tagJSON
	if err := json.Unmarshal([]byte(s), &in); err != nil {
		return nil, fmt.Errorf("decode tags: %w", err)
	}
	out := make([]store.Tag, len(in))
	for i, t := range in {
		out[i] = store.Tag(t)
	}
	return out, nil
}

func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

func clampLimit(n int) int {
	if n <= 0 || n > 1000 {
		return 1000
	}
	return n
}

// ---- topics ----

const topicCols = `arn, account_id, region, name, attributes, tags, created_at`

func scanTopic(scan func(...any) error) (store.Topic, error) {
	var t store.Topic
	var attrs, tags string
	if err := scan(&t.ARN, &t.AccountID, &t.Region, &t.Name, &attrs, &tags, &t.CreatedAt); err != nil {
		return t, err
	}
	var err error
	if t.Attributes, err = decodeMap(attrs); err != nil {
		return t, fmt.Errorf("topic %q: %w", t.ARN, err)
	}
	if t.Tags, err = decodeTags(tags); err != nil {
		return t, fmt.Errorf("topic %q: %w", t.ARN, err)
	}
	return t, nil
}

func getTopic(ctx context.Context, qr q, arn string) (store.Topic, error) {
	var t store.Topic
	found := false
	err := qr.Query(ctx, `SELECT `+topicCols+` FROM sns_topics WHERE arn = ?`, []any{arn}, func(scan func(...any) error) error {
		var err error
		t, err = scanTopic(scan)
		found = err == nil
		return err
	})
	if err == nil && !found {
		err = iamsql.ErrNoRows
	}
	return t, err
}

// CreateTopic implements store.SNS.
func (s Store) CreateTopic(ctx context.Context, t store.Topic) error {
	what := fmt.Sprintf("create topic %q", t.ARN)
	attrs, err := encodeMap(t.Attributes)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	tags, err := encodeTags(t.Tags)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return s.b.Write(ctx, func(qr q) error {
		_, err := qr.Exec(ctx, `INSERT INTO sns_topics (arn, account_id, region, name, attributes, tags, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?)`, t.ARN, t.AccountID, t.Region, t.Name, attrs, tags, t.CreatedAt)
		if err != nil {
			return s.mapErr(err, what)
		}
		return nil
	})
}

// GetTopic implements store.SNS.
func (s Store) GetTopic(ctx context.Context, arn string) (store.Topic, error) {
	var t store.Topic
	err := s.b.Read(ctx, func(qr q) error {
		var err error
		t, err = getTopic(ctx, qr, arn)
		return err
	})
	if err != nil {
		return store.Topic{}, s.notFound(err, fmt.Sprintf("get topic %q", arn))
	}
	return t, nil
}

// ListTopics implements store.SNS.
func (s Store) ListTopics(ctx context.Context, account, region, after string, limit int) ([]store.Topic, error) {
	var out []store.Topic
	err := s.b.Read(ctx, func(qr q) error {
		return qr.Query(ctx, `SELECT `+topicCols+` FROM sns_topics WHERE account_id = ? AND region = ? AND arn > ? ORDER BY arn LIMIT ?`,
			[]any{account, region, after, clampLimit(limit)}, func(scan func(...any) error) error {
				t, err := scanTopic(scan)
				if err != nil {
					return err
				}
				out = append(out, t)
				return nil
			})
	})
	if err != nil {
		return nil, s.mapErr(err, "list topics")
	}
	return out, nil
}

// UpdateTopic implements store.SNS.
func (s Store) UpdateTopic(ctx context.Context, arn string, fn func(*store.Topic) error) error {
	what := fmt.Sprintf("update topic %q", arn)
	return s.b.Write(ctx, func(qr q) error {
		// Take the row lock first (PostgreSQL) so concurrent updates of
		// one topic serialize instead of losing each other's changes.
		n, err := qr.Exec(ctx, `UPDATE sns_topics SET arn = arn WHERE arn = ?`, arn)
		if err != nil {
			return s.mapErr(err, what)
		}
		if n == 0 {
			return fmt.Errorf("%s: %w", what, store.ErrNotFound)
		}
		t, err := getTopic(ctx, qr, arn)
		if err != nil {
			return s.notFound(err, what)
		}
		if err := fn(&t); err != nil {
			return err
		}
		attrs, err := encodeMap(t.Attributes)
		if err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		tags, err := encodeTags(t.Tags)
		if err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		_, err = qr.Exec(ctx, `UPDATE sns_topics SET attributes = ?, tags = ? WHERE arn = ?`, attrs, tags, arn)
		return s.mapErr(err, what)
	})
}

// DeleteTopic implements store.SNS.
func (s Store) DeleteTopic(ctx context.Context, arn string) error {
	what := fmt.Sprintf("delete topic %q", arn)
	return s.b.Write(ctx, func(qr q) error {
		if _, err := qr.Exec(ctx, `DELETE FROM sns_deliveries WHERE topic_arn = ?`, arn); err != nil {
			return s.mapErr(err, what)
		}
		if _, err := qr.Exec(ctx, `DELETE FROM sns_subscriptions WHERE topic_arn = ?`, arn); err != nil {
			return s.mapErr(err, what)
		}
		n, err := qr.Exec(ctx, `DELETE FROM sns_topics WHERE arn = ?`, arn)
		if err != nil {
			return s.mapErr(err, what)
		}
		if n == 0 {
			return fmt.Errorf("%s: %w", what, store.ErrNotFound)
		}
		return nil
	})
}

// ---- subscriptions ----

const subCols = `arn, topic_arn, account_id, owner, protocol, endpoint, confirmed, token_hash, token_expires_at,
	attributes, created_at, confirmed_at`

func scanSub(scan func(...any) error) (store.Subscription, error) {
	var sub store.Subscription
	var confirmed int64
	var attrs string
	if err := scan(&sub.ARN, &sub.TopicARN, &sub.AccountID, &sub.Owner, &sub.Protocol, &sub.Endpoint, &confirmed,
		&sub.TokenHash, &sub.TokenExpiresAt, &attrs, &sub.CreatedAt, &sub.ConfirmedAt); err != nil {
		return sub, err
	}
	sub.Confirmed = confirmed != 0
	if sub.TokenHash == nil {
		sub.TokenHash = []byte{}
	}
	var err error
	if sub.Attributes, err = decodeMap(attrs); err != nil {
		return sub, fmt.Errorf("subscription %q: %w", sub.ARN, err)
	}
	return sub, nil
}

func querySubs(ctx context.Context, qr q, query string, args []any) ([]store.Subscription, error) {
	var out []store.Subscription
	err := qr.Query(ctx, query, args, func(scan func(...any) error) error {
		sub, err := scanSub(scan)
		if err != nil {
			return err
		}
		out = append(out, sub)
		return nil
	})
	return out, err
}

func (s Store) oneSub(ctx context.Context, what, where string, args ...any) (store.Subscription, error) {
	var subs []store.Subscription
	err := s.b.Read(ctx, func(qr q) error {
		var err error
		subs, err = querySubs(ctx, qr, `SELECT `+subCols+` FROM sns_subscriptions WHERE `+where, args)
		return err
	})
	if err != nil {
		return store.Subscription{}, s.mapErr(err, what)
	}
	if len(subs) == 0 {
		return store.Subscription{}, fmt.Errorf("%s: %w", what, store.ErrNotFound)
	}
	return subs[0], nil
}

// CreateSubscription implements store.SNS.
func (s Store) CreateSubscription(ctx context.Context, sub store.Subscription) error {
	what := fmt.Sprintf("create subscription %q", sub.ARN)
	attrs, err := encodeMap(sub.Attributes)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return s.b.Write(ctx, func(qr q) error {
		_, err := qr.Exec(ctx, `INSERT INTO sns_subscriptions (arn, topic_arn, account_id, owner, protocol, endpoint,
			confirmed, token_hash, token_expires_at, attributes, created_at, confirmed_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			sub.ARN, sub.TopicARN, sub.AccountID, sub.Owner, sub.Protocol, sub.Endpoint, boolInt(sub.Confirmed),
			nonNil(sub.TokenHash), sub.TokenExpiresAt, attrs, sub.CreatedAt, iamsql.OptTime(sub.ConfirmedAt))
		if err != nil {
			return s.mapErr(err, what)
		}
		return nil
	})
}

func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

// GetSubscription implements store.SNS.
func (s Store) GetSubscription(ctx context.Context, arn string) (store.Subscription, error) {
	return s.oneSub(ctx, fmt.Sprintf("get subscription %q", arn), `arn = ?`, arn)
}

// FindSubscription implements store.SNS.
func (s Store) FindSubscription(ctx context.Context, topicARN, protocol, endpoint string) (store.Subscription, error) {
	return s.oneSub(ctx, fmt.Sprintf("find subscription of %q", topicARN),
		`topic_arn = ? AND protocol = ? AND endpoint = ?`, topicARN, protocol, endpoint)
}

// SubscriptionByToken implements store.SNS.
func (s Store) SubscriptionByToken(ctx context.Context, topicARN string, tokenHash []byte) (store.Subscription, error) {
	return s.oneSub(ctx, fmt.Sprintf("find subscription of %q by token", topicARN),
		`token_hash = ? AND topic_arn = ?`, nonNil(tokenHash), topicARN)
}

// UpdateSubscription implements store.SNS.
func (s Store) UpdateSubscription(ctx context.Context, arn string, fn func(*store.Subscription) error) error {
	what := fmt.Sprintf("update subscription %q", arn)
	return s.b.Write(ctx, func(qr q) error {
		n, err := qr.Exec(ctx, `UPDATE sns_subscriptions SET arn = arn WHERE arn = ?`, arn)
		if err != nil {
			return s.mapErr(err, what)
		}
		if n == 0 {
			return fmt.Errorf("%s: %w", what, store.ErrNotFound)
		}
		subs, err := querySubs(ctx, qr, `SELECT `+subCols+` FROM sns_subscriptions WHERE arn = ?`, []any{arn})
		if err != nil || len(subs) == 0 {
			return s.notFound(iamsql.ErrNoRows, what)
		}
		sub := subs[0]
		if err := fn(&sub); err != nil {
			return err
		}
		attrs, err := encodeMap(sub.Attributes)
		if err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		_, err = qr.Exec(ctx, `UPDATE sns_subscriptions SET confirmed = ?, confirmed_at = ?, token_hash = ?,
			token_expires_at = ?, attributes = ? WHERE arn = ?`,
			boolInt(sub.Confirmed), iamsql.OptTime(sub.ConfirmedAt), nonNil(sub.TokenHash), sub.TokenExpiresAt, attrs, arn)
		return s.mapErr(err, what)
	})
}

// DeleteSubscription implements store.SNS.
func (s Store) DeleteSubscription(ctx context.Context, arn string) error {
	what := fmt.Sprintf("delete subscription %q", arn)
	return s.b.Write(ctx, func(qr q) error {
		if _, err := qr.Exec(ctx, `DELETE FROM sns_deliveries WHERE subscription_arn = ?`, arn); err != nil {
			return s.mapErr(err, what)
		}
		n, err := qr.Exec(ctx, `DELETE FROM sns_subscriptions WHERE arn = ?`, arn)
		if err != nil {
			return s.mapErr(err, what)
		}
		if n == 0 {
			return fmt.Errorf("%s: %w", what, store.ErrNotFound)
		}
		return nil
	})
}

// ListSubscriptions implements store.SNS.
func (s Store) ListSubscriptions(ctx context.Context, account, topicARN, after string, limit int) ([]store.Subscription, error) {
	var out []store.Subscription
	err := s.b.Read(ctx, func(qr q) error {
		var err error
		if topicARN != "" {
			out, err = querySubs(ctx, qr, `SELECT `+subCols+` FROM sns_subscriptions WHERE topic_arn = ? AND arn > ? ORDER BY arn LIMIT ?`,
				[]any{topicARN, after, clampLimit(limit)})
		} else {
			out, err = querySubs(ctx, qr, `SELECT `+subCols+` FROM sns_subscriptions WHERE account_id = ? AND arn > ? ORDER BY arn LIMIT ?`,
				[]any{account, after, clampLimit(limit)})
		}
		return err
	})
	if err != nil {
		return nil, s.mapErr(err, "list subscriptions")
	}
	return out, nil
}

// ---- delivery queue ----

const deliveryCols = `id, subscription_arn, topic_arn, message_id, kind, endpoint, policy, body, attempts,
	next_attempt_at, last_error, created_at`

func scanDelivery(scan func(...any) error) (store.Delivery, error) {
	var d store.Delivery
	var attempts int64
	err := scan(&d.ID, &d.SubscriptionARN, &d.TopicARN, &d.MessageID, &d.Kind, &d.Endpoint, &d.Policy, &d.Body,
		&attempts, &d.NextAttemptAt, &d.LastError, &d.CreatedAt)
	d.Attempts = int(attempts)
	if d.Body == nil {
		d.Body = []byte{}
	}
	return d, err
}

// EnqueueDeliveries implements store.SNS.
func (s Store) EnqueueDeliveries(ctx context.Context, ds []store.Delivery, maxQueued int) error {
	if len(ds) == 0 {
		return nil
	}
	const what = "enqueue deliveries"
	return s.b.Write(ctx, func(qr q) error {
		if maxQueued > 0 {
			var n int64
			if err := qr.QueryRow(ctx, `SELECT count(*) FROM sns_deliveries`, nil, &n); err != nil {
				return s.mapErr(err, what)
			}
			if int(n)+len(ds) > maxQueued {
				return fmt.Errorf("%s: %d queued: %w", what, n, store.ErrQueueFull)
			}
		}
		for _, d := range ds {
			_, err := qr.Exec(ctx, `INSERT INTO sns_deliveries (id, subscription_arn, topic_arn, message_id, kind, endpoint,
				policy, body, attempts, next_attempt_at, lease_owner, lease_until, last_error, created_at)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, '', ?, ?, ?)`,
				d.ID, d.SubscriptionARN, d.TopicARN, d.MessageID, d.Kind, d.Endpoint, d.Policy, nonNil(d.Body),
				d.Attempts, d.NextAttemptAt, iamsql.OptTime{}, d.LastError, d.CreatedAt)
			if err != nil {
				return s.mapErr(err, what)
			}
		}
		return nil
	})
}

// ClaimDeliveries implements store.SNS.
func (s Store) ClaimDeliveries(ctx context.Context, owner string, now time.Time, lease time.Duration, limit int) ([]store.Delivery, error) {
	const what = "claim deliveries"
	var out []store.Delivery
	until := now.Add(lease)
	err := s.b.Write(ctx, func(qr q) error {
		var ids []string
		err := qr.Query(ctx, `SELECT id FROM sns_deliveries WHERE next_attempt_at <= ? AND (lease_until IS NULL OR lease_until <= ?)
			ORDER BY next_attempt_at LIMIT ?`, []any{now, now, clampLimit(limit)}, func(scan func(...any) error) error {
			var id string
			if err := scan(&id); err != nil {
				return err
			}
			ids = append(ids, id)
			return nil
		})
		if err != nil {
			return s.mapErr(err, what)
		}
		for _, id := range ids {
			n, err := qr.Exec(ctx, `UPDATE sns_deliveries SET lease_owner = ?, lease_until = ?
				WHERE id = ? AND (lease_until IS NULL OR lease_until <= ?)`, owner, until, id, now)
			if err != nil {
				return s.mapErr(err, what)
			}
			if n == 0 {
				continue // another server claimed it first
			}
			err = qr.Query(ctx, `SELECT `+deliveryCols+` FROM sns_deliveries WHERE id = ?`, []any{id}, func(scan func(...any) error) error {
				d, err := scanDelivery(scan)
				if err != nil {
					return err
				}
				out = append(out, d)
				return nil
			})
			if err != nil {
				return s.mapErr(err, what)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// CompleteDelivery implements store.SNS.
func (s Store) CompleteDelivery(ctx context.Context, id, owner string) (bool, error) {
	var held bool
	err := s.b.Write(ctx, func(qr q) error {
		n, err := qr.Exec(ctx, `DELETE FROM sns_deliveries WHERE id = ? AND lease_owner = ?`, id, owner)
		held = n == 1
		return s.mapErr(err, "complete delivery")
	})
	return held, err
}

// RetryDelivery implements store.SNS.
func (s Store) RetryDelivery(ctx context.Context, id, owner string, next time.Time, lastErr string) (bool, error) {
	var held bool
	err := s.b.Write(ctx, func(qr q) error {
		n, err := qr.Exec(ctx, `UPDATE sns_deliveries SET attempts = attempts + 1, next_attempt_at = ?, lease_owner = '',
			lease_until = ?, last_error = ? WHERE id = ? AND lease_owner = ?`, next, iamsql.OptTime{}, lastErr, id, owner)
		held = n == 1
		return s.mapErr(err, "retry delivery")
	})
	return held, err
}

// QueuedDeliveries implements store.SNS.
func (s Store) QueuedDeliveries(ctx context.Context) (int, error) {
	var n int64
	err := s.b.Read(ctx, func(qr q) error {
		return qr.QueryRow(ctx, `SELECT count(*) FROM sns_deliveries`, nil, &n)
	})
	if err != nil {
		return 0, s.mapErr(err, "count deliveries")
	}
	return int(n), nil
}

// mapErr is the backend's MapErr, passing nil through.
func (s Store) mapErr(err error, what string) error {
	if err == nil {
		return nil
	}
	return s.b.MapErr(err, what)
}
