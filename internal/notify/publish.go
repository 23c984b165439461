package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"unicode/utf8"

	"github.com/bulwark-security/bulwark/internal/api"
	"github.com/bulwark-security/bulwark/internal/awsproto"
	"github.com/bulwark-security/bulwark/internal/store"
)

// Delivery kinds stored in the queue beyond SNS's message types: a raw
// notification is the bare message with x-amz-sns-rawdelivery: true.
const kindRawNotification = "RawNotification"

type publishResult struct {
	MessageID string `xml:"MessageId"`
}

// PublishInput is a message to publish.
type PublishInput struct {
	TopicARN   string
	Subject    *string
	Message    string
	Attributes map[string]MessageAttribute
	// Structure is "json" when Message holds one message per protocol.
	Structure string
}

func (s *Service) publish(ctx context.Context, c *api.Call, in *params) (any, error) {
	v := in.v
	topicARN := v.Get("TopicArn")
	if target := v.Get("TargetArn"); target != "" {
		if topicARN != "" {
			return nil, awsproto.Errorf(400, "InvalidParameter", "Invalid parameter: TopicArn or TargetArn Reason: Only one of the parameters can be set.")
		}
		topicARN = target
	}
	if v.Get("PhoneNumber") != "" {
		return nil, awsproto.Errorf(400, "InvalidParameter", "Invalid parameter: PhoneNumber Reason: SMS is not supported by Bulwark")
	}
	if topicARN == "" {
		return nil, awsproto.Errorf(400, "InvalidParameter", "Invalid parameter: TopicArn or TargetArn Reason: no value for required parameter")
	}
	if _, ok := v["Message"]; !ok || v.Get("Message") == "" {
		return nil, awsproto.Errorf(400, "InvalidParameter", "Invalid parameter: Empty message")
	}
	p := PublishInput{TopicARN: topicARN, Message: v.Get("Message"), Structure: v.Get("MessageStructure")}
	if subj, ok := v["Subject"]; ok {
		p.Subject = &subj[0]
	}
	attrs, size, err := messageAttributes(v)
	if err != nil {
		return nil, err
	}
	p.Attributes = attrs
	if len(p.Message)+size > MaxPublishBytes {
		return nil, awsproto.Errorf(400, "InvalidParameter", "Invalid parameter: Message too long")
	}
	if _, err := s.getTopic(ctx, c, topicARN, "TopicArn"); err != nil {
		return nil, err
	}
	id, err := s.Publish(ctx, p)
	if err != nil {
		return nil, err
	}
	return &publishResult{MessageID: id}, nil
}

// Publish validates a message and queues it for every confirmed
// subscription of the topic; it returns the MessageId. Errors are
// *awsproto.Error values. The response package uses it to notify topics.
func (s *Service) Publish(ctx context.Context, p PublishInput) (string, error) {
	if !utf8.ValidString(p.Message) || p.Message == "" {
		return "", awsproto.Errorf(400, "InvalidParameter", "Invalid parameter: Message")
	}
	if p.Subject != nil && !validSubject(*p.Subject) {
		return "", awsproto.Errorf(400, "InvalidParameter", "Invalid parameter: Subject")
	}
	var perProtocol map[string]string
	switch p.Structure {
	case "":
	case "json":
		if err := json.Unmarshal([]byte(p.Message), &perProtocol); err != nil {
			return "", awsproto.Errorf(400, "InvalidParameter", "Invalid parameter: Message Structure - JSON message body failed to parse")
		}
		if _, ok := perProtocol["default"]; !ok {
			return "", awsproto.Errorf(400, "InvalidParameter", "Invalid parameter: Message Structure - No default entry in JSON message body")
		}
	default:
		return "", invalidParameter("MessageStructure")
	}
	if len(p.Message) > MaxPublishBytes {
		return "", awsproto.Errorf(400, "InvalidParameter", "Invalid parameter: Message too long")
	}
	t, err := s.cfg.Store.GetTopic(ctx, p.TopicARN)
	if errors.Is(err, store.ErrNotFound) {
		return "", notFound("Topic does not exist")
	}
	if err != nil {
		return "", awsproto.InternalFailure(err)
	}
	certURL, err := s.certURL(ctx)
	if err != nil {
		return "", awsproto.InternalFailure(err)
	}
	id := newUUID()
	ts := FormatTimestamp(s.cfg.Now())
	version := topicSignatureVersion(t)
	// One signed message per distinct text: the signature does not cover
	// UnsubscribeURL, so subscriptions with the same protocol share it.
	signed := map[string]*Message{}
	messageFor := func(protocol string) (*Message, error) {
		text := p.Message
		if perProtocol != nil {
			var ok bool
			if text, ok = perProtocol[protocol]; !ok {
				text = perProtocol["default"]
			}
		}
		if m := signed[text]; m != nil {
			return m, nil
		}
		m := &Message{Type: TypeNotification, MessageID: id, TopicArn: t.ARN, Subject: p.Subject, Message: text,
			Timestamp: ts, SigningCertURL: certURL, MessageAttributes: p.Attributes}
		if err := s.signer.Sign(ctx, m, version); err != nil {
			return nil, err
		}
		signed[text] = m
		return m, nil
	}

	var ds []store.Delivery
	after := ""
	for {
		subs, err := s.cfg.Store.ListSubscriptions(ctx, t.AccountID, t.ARN, after, 1000)
		if err != nil {
			return "", awsproto.InternalFailure(err)
		}
		for _, sub := range subs {
			if !sub.Confirmed {
				continue
			}
			m, err := messageFor(sub.Protocol)
			if err != nil {
				return "", awsproto.InternalFailure(err)
			}
			var body []byte
			kind := TypeNotification
			if sub.Attributes["RawMessageDelivery"] == "true" {
				kind, body = kindRawNotification, []byte(m.Message)
			} else {
				mm := *m
				if mm.UnsubscribeURL, err = s.unsubscribeURL(ctx, sub.ARN); err != nil {
					return "", awsproto.InternalFailure(err)
				}
				if body, err = mm.encode(); err != nil {
					return "", awsproto.InternalFailure(err)
				}
			}
			d, err := s.delivery(t, sub, m, kind, body)
			if err != nil {
				return "", awsproto.InternalFailure(err)
			}
			ds = append(ds, d)
		}
		if len(subs) < 1000 {
			break
		}
		after = subs[len(subs)-1].ARN
	}
	if err := s.enqueue(ctx, ds); err != nil {
		return "", err
	}
	s.m.published.Inc()
	return id, nil
}

// delivery builds a queue row, its body sealed to its id.
func (s *Service) delivery(t store.Topic, sub store.Subscription, m *Message, kind string, body []byte) (store.Delivery, error) {
	id := newUUID()
	sealed, err := s.cfg.Keys.Seal(body, deliveryAAD(id))
	if err != nil {
		return store.Delivery{}, fmt.Errorf("seal message body: %w", err)
	}
	policy := effectiveSubscriptionPolicyJSON(t.Attributes["DeliveryPolicy"], sub.Attributes["DeliveryPolicy"])
	now := s.cfg.Now()
	return store.Delivery{ID: id, SubscriptionARN: sub.ARN, TopicARN: t.ARN, MessageID: m.MessageID, Kind: kind,
		Endpoint: sub.Endpoint, Policy: policy, Body: sealed, NextAttemptAt: now, CreatedAt: now}, nil
}

func deliveryAAD(id string) []byte { return []byte("bulwark sns delivery " + id) }

func (s *Service) enqueue(ctx context.Context, ds []store.Delivery) error {
	if len(ds) == 0 {
		return nil
	}
	err := s.cfg.Store.EnqueueDeliveries(ctx, ds, s.cfg.MaxQueued)
	if errors.Is(err, store.ErrQueueFull) {
		s.m.rejected.Add(float64(len(ds)))
		return awsproto.Errorf(http.StatusTooManyRequests, "Throttled", "Rate exceeded")
	}
	if err != nil {
		return awsproto.InternalFailure(err)
	}
	s.m.queued.Add(float64(len(ds)))
	select {
	case s.wake <- struct{}{}:
	default:
	}
	return nil
}
