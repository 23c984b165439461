// Package audit defines the audit event Bulwark records for every API call,
// allowed or denied, and the sink that receives it. The server hands each
// event to the sink before it answers; a sink error fails the request, so no
// call goes unrecorded (Vault's rule).
package audit

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// Event is one API call in CloudTrail's record shape. It never holds a
// secret: request parameters and response elements are added by the audit
// trail with secret-bearing fields redacted.
type Event struct {
	EventVersion       string       `json:"eventVersion"`
	EventID            string       `json:"eventID"`
	EventTime          time.Time    `json:"eventTime"`
	EventSource        string       `json:"eventSource"`
	EventName          string       `json:"eventName"`
	AWSRegion          string       `json:"awsRegion"`
	SourceIPAddress    string       `json:"sourceIPAddress"`
	UserAgent          string       `json:"userAgent,omitempty"`
	UserIdentity       UserIdentity `json:"userIdentity"`
	ErrorCode          string       `json:"errorCode,omitempty"`
	ErrorMessage       string       `json:"errorMessage,omitempty"`
	RequestID          string       `json:"requestID"`
	ReadOnly           bool         `json:"readOnly"`
	RecipientAccountID string       `json:"recipientAccountId,omitempty"`
}

// UserIdentity is CloudTrail's userIdentity element. For a request whose
// signature could not be verified only the claimed access key id is set.
type UserIdentity struct {
	Type        string `json:"type,omitempty"`
	PrincipalID string `json:"principalId,omitempty"`
	ARN         string `json:"arn,omitempty"`
	AccountID   string `json:"accountId,omitempty"`
	AccessKeyID string `json:"accessKeyId,omitempty"`
	UserName    string `json:"userName,omitempty"`
}

// Sink receives every event. Record must be durable (or deliberately
// discarding) when it returns nil; an error fails the request.
type Sink interface {
	Record(ctx context.Context, e *Event) error
}

// LogSink writes events to a logger at debug level. It is the default until
// the tamper-evident trail is configured.
type LogSink struct{ Logger *slog.Logger }

// Record implements Sink.
func (s LogSink) Record(ctx context.Context, e *Event) error {
	if s.Logger.Enabled(ctx, slog.LevelDebug) {
		s.Logger.LogAttrs(ctx, slog.LevelDebug, "audit",
			slog.String("eventSource", e.EventSource), slog.String("eventName", e.EventName),
			slog.String("principal", e.UserIdentity.ARN), slog.String("accessKeyId", e.UserIdentity.AccessKeyID),
			slog.String("sourceIP", e.SourceIPAddress), slog.String("errorCode", e.ErrorCode),
			slog.String("requestID", e.RequestID))
	}
	return nil
}

// Memory keeps events in memory; for tests.
type Memory struct {
	mu     sync.Mutex
	events []Event
}

// Record implements Sink.
func (m *Memory) Record(_ context.Context, e *Event) error {
	m.mu.Lock()
	m.events = append(m.events, *e)
	m.mu.Unlock()
	return nil
}

// Events returns a copy of the recorded events.
func (m *Memory) Events() []Event {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]Event(nil), m.events...)
}

// Subscriber sees every event after the sink has recorded it: detectors
// and streams. Observe runs on the request path, so it must not block; a
// subscriber that does slow work queues the event and drops (and counts)
// what it cannot keep up with. The event must not be retained after
// Observe returns; copy what is needed.
type Subscriber interface {
	Observe(e *Event)
}

// Notify records each event with Sink and then hands it to every
// subscriber. Subscribers never see an event that was not recorded.
type Notify struct {
	Sink        Sink
	Subscribers []Subscriber
}

// Record implements Sink.
func (n Notify) Record(ctx context.Context, e *Event) error {
	if err := n.Sink.Record(ctx, e); err != nil {
		return err
	}
	for _, s := range n.Subscribers {
		s.Observe(e)
	}
	return nil
}
