package notify

import (
	"bytes"
	"crypto"
	"encoding/json"
	"errors"
	"strings"
	"time"
)

// SNS message types (the Type field and the x-amz-sns-message-type header).
const (
	TypeNotification             = "Notification"
	TypeSubscriptionConfirmation = "SubscriptionConfirmation"
	TypeUnsubscribeConfirmation  = "UnsubscribeConfirmation"
)

// Message is an SNS message as delivered to an HTTP/HTTPS endpoint. The
// field order is the one SNS writes ("HTTP/HTTPS notification JSON format",
// "HTTP/HTTPS subscription confirmation JSON format"); fields a type does
// not carry are omitted.
type Message struct {
	Type              string                      `json:"Type"`
	MessageID         string                      `json:"MessageId"`
	Token             string                      `json:"Token,omitempty"`
	TopicArn          string                      `json:"TopicArn"`
	Subject           *string                     `json:"Subject,omitempty"`
	Message           string                      `json:"Message"`
	SubscribeURL      string                      `json:"SubscribeURL,omitempty"`
	Timestamp         string                      `json:"Timestamp"`
	SignatureVersion  string                      `json:"SignatureVersion"`
	Signature         string                      `json:"Signature"`
	SigningCertURL    string                      `json:"SigningCertURL"`
	UnsubscribeURL    string                      `json:"UnsubscribeURL,omitempty"`
	MessageAttributes map[string]MessageAttribute `json:"MessageAttributes,omitempty"`
}

// MessageAttribute is a message attribute as the JSON message carries it:
// Binary values are base64.
type MessageAttribute struct {
	Type  string `json:"Type"`
	Value string `json:"Value"`
}

// timestampLayout is SNS's Timestamp format: ISO 8601 UTC with milliseconds.
const timestampLayout = "2006-01-02T15:04:05.000Z"

// FormatTimestamp formats t as SNS's Timestamp field.
func FormatTimestamp(t time.Time) string { return t.UTC().Format(timestampLayout) }

var errUnknownType = errors.New("unknown SNS message type")

// StringToSign builds the canonical string SNS signs, per "Verifying the
// signatures of Amazon SNS messages": for a Notification the fields
// Message, MessageId, Subject (only if present), Timestamp, TopicArn, Type;
// for SubscriptionConfirmation and UnsubscribeConfirmation the fields
// Message, MessageId, SubscribeURL, Timestamp, Token, TopicArn, Type; each
// as its name, a newline, its value, a newline.
func StringToSign(m *Message) ([]byte, error) {
	var b bytes.Buffer
	add := func(k, v string) {
		b.WriteString(k)
		b.WriteByte('\n')
		b.WriteString(v)
		b.WriteByte('\n')
	}
	switch m.Type {
	case TypeNotification:
		add("Message", m.Message)
		add("MessageId", m.MessageID)
		if m.Subject != nil {
			add("Subject", *m.Subject)
		}
		add("Timestamp", m.Timestamp)
		add("TopicArn", m.TopicArn)
		add("Type", m.Type)
	case TypeSubscriptionConfirmation, TypeUnsubscribeConfirmation:
		add("Message", m.Message)
		add("MessageId", m.MessageID)
		add("SubscribeURL", m.SubscribeURL)
		add("Timestamp", m.Timestamp)
		add("Token", m.Token)
		add("TopicArn", m.TopicArn)
		add("Type", m.Type)
	default:
		return nil, errUnknownType
	}
	return b.Bytes(), nil
}

// signatureHash is the digest each SignatureVersion signs with.
func signatureHash(version string) (crypto.Hash, bool) {
	switch version {
	case "1":
		return crypto.SHA1, true
	case "2":
		return crypto.SHA256, true
	}
	return 0, false
}

// encode writes m as SNS does: no HTML escaping of <, > and &.
func (m *Message) encode() ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(m); err != nil {
		return nil, err
	}
	return bytes.TrimRight(b.Bytes(), "\n"), nil
}

// certFileName is the name of the signing certificate in SigningCertURL,
// as SNS names its own ("SimpleNotificationService-<id>.pem").
func certFileName(id string) string { return "SimpleNotificationService-" + id + ".pem" }

// certIDFromFileName is certFileName's inverse.
func certIDFromFileName(name string) (string, bool) {
	id, ok := strings.CutPrefix(name, "SimpleNotificationService-")
	if !ok {
		return "", false
	}
	id, ok = strings.CutSuffix(id, ".pem")
	if !ok || id == "" {
		return "", false
	}
	return id, true
}
