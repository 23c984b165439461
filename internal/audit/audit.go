// Package audit defines the audit event Bulwark records for every API call,
// allowed or denied, and the sink that receives it. The server hands each
// event to the sink before it answers; a sink error fails the request, so no
// call goes unrecorded (Vault's rule).
package audit

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// Event is one API call in CloudTrail's record shape (its JSON is the
// record, see MarshalJSON). It never holds a secret: RequestParameters and
// ResponseElements are rendered by Render, which redacts every
// secret-bearing field.
type Event struct {
	EventVersion    string       `json:"eventVersion"`
	UserIdentity    UserIdentity `json:"userIdentity"`
	EventTime       time.Time    `json:"eventTime"`
	EventSource     string       `json:"eventSource"`
	EventName       string       `json:"eventName"`
	AWSRegion       string       `json:"awsRegion"`
	SourceIPAddress string       `json:"sourceIPAddress"`
	UserAgent       string       `json:"userAgent,omitempty"`
	ErrorCode       string       `json:"errorCode,omitempty"`
	ErrorMessage    string       `json:"errorMessage,omitempty"`
	// RequestParameters and ResponseElements are JSON objects (or nil):
	// the decoded input and the result, redacted by Render.
	RequestParameters  json.RawMessage `json:"requestParameters"`
	ResponseElements   json.RawMessage `json:"responseElements"`
	RequestID          string          `json:"requestID"`
	EventID            string          `json:"eventID"`
	ReadOnly           bool            `json:"readOnly"`
	Resources          []Resource      `json:"resources,omitempty"`
	EventType          string          `json:"eventType"`
	ManagementEvent    bool            `json:"managementEvent"`
	RecipientAccountID string          `json:"recipientAccountId,omitempty"`
	EventCategory      string          `json:"eventCategory"`
}

// EventVersion is the CloudTrail record version Bulwark writes.
const EventVersion = "1.08"

// Resource is a resource the call named (CloudTrail's resources element).
type Resource struct {
	ARN       string `json:"ARN"`
	AccountID string `json:"accountId,omitempty"`
	Type      string `json:"type,omitempty"`
}

// UserIdentity is CloudTrail's userIdentity element. For a request whose
// signature could not be verified only the claimed access key id is set.
type UserIdentity struct {
	Type           string          `json:"type,omitempty"`
	PrincipalID    string          `json:"principalId,omitempty"`
	ARN            string          `json:"arn,omitempty"`
	AccountID      string          `json:"accountId,omitempty"`
	AccessKeyID    string          `json:"accessKeyId,omitempty"`
	UserName       string          `json:"userName,omitempty"`
	SessionContext *SessionContext `json:"sessionContext,omitempty"`
}

// SessionContext describes the temporary credentials a call was signed
// with; nil for long-term keys.
type SessionContext struct {
	SessionIssuer  *SessionIssuer    `json:"sessionIssuer,omitempty"`
	Attributes     SessionAttributes `json:"attributes"`
	SourceIdentity string            `json:"sourceIdentity,omitempty"`
}

// SessionIssuer is the role (or user) that issued the session.
type SessionIssuer struct {
	Type        string `json:"type"`
	PrincipalID string `json:"principalId"`
	ARN         string `json:"arn"`
	AccountID   string `json:"accountId"`
	UserName    string `json:"userName"`
}

// SessionAttributes are CloudTrail's session attributes; it spells the
// booleans as strings.
type SessionAttributes struct {
	CreationDate     string `json:"creationDate"`
	MFAAuthenticated string `json:"mfaAuthenticated"`
}

// TimeFormat is CloudTrail's eventTime format (whole seconds, UTC).
const TimeFormat = "2006-01-02T15:04:05Z"

// MarshalJSON writes the CloudTrail record. eventTime has whole seconds as
// CloudTrail's does; a missing parameters element is null.
func (e *Event) MarshalJSON() ([]byte, error) {
	return e.AppendJSON(make([]byte, 0, 1024))
}

// UnmarshalJSON reads a record written by MarshalJSON.
func (e *Event) UnmarshalJSON(b []byte) error {
	type plain Event
	aux := struct {
		*plain
		EventTime string `json:"eventTime"`
	}{plain: (*plain)(e)}
	if err := json.Unmarshal(b, &aux); err != nil {
		return err
	}
	t, err := time.Parse(TimeFormat, aux.EventTime)
	if err != nil {
		return fmt.Errorf("eventTime: %w", err)
	}
	e.EventTime = t
	return nil
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
