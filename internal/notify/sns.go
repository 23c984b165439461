// Package notify is Bulwark's SNS-compatible notification service (query
// protocol, version 2010-03-31): topics, HTTP and HTTPS subscriptions with
// SNS's confirmation handshake, and Publish. Messages are delivered in
// SNS's JSON format, signed with SignatureVersion 2 (RSA-SHA256) by a key
// the keyring seals, from a durable queue in the store that several
// servers share; Verifier is what a receiving endpoint uses to check them.
package notify

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/bulwark-security/bulwark/internal/api"
	"github.com/bulwark-security/bulwark/internal/authz"
	"github.com/bulwark-security/bulwark/internal/awsproto"
	"github.com/bulwark-security/bulwark/internal/policy"
	"github.com/bulwark-security/bulwark/internal/store"
)

// Namespace is the SNS query protocol's XML namespace.
const Namespace = "http://sns.amazonaws.com/doc/2010-03-31/"

// Version is the SNS API version.
const Version = "2010-03-31"

// CertPathPrefix is where Bulwark serves its signing certificate.
const CertPathPrefix = "/_bulwark/sns/"

// tokenTTL is how long a confirmation token stays valid: SNS lets a
// pending subscription be confirmed for three days.
const tokenTTL = 3 * 24 * time.Hour

// Config is what the service needs.
type Config struct {
	Store store.SNS
	// Meta holds the signing key (sealed).
	Meta Meta
	Keys Keyring
	// Authorizer decides signed Unsubscribe calls, which the handler
	// authorises itself because unsigned ones carry a token instead.
	Authorizer authz.Authorizer
	Region     string
	// Endpoint is the URL subscribers reach this server at; SubscribeURL,
	// UnsubscribeURL and SigningCertURL point there.
	Endpoint string
	Logger   *slog.Logger
	Now      func() time.Time
	// MaxQueued bounds the delivery queue (default 100000 messages).
	MaxQueued int
	// Delivery tunes the worker; zero values take the defaults.
	Delivery DeliveryConfig
}

// Service is the SNS implementation and its delivery worker.
type Service struct {
	cfg    Config
	signer *Signer
	wake   chan struct{}
	m      *metrics
}

// New returns the service.
func New(cfg Config) (*Service, error) {
	if cfg.Store == nil || cfg.Meta == nil || cfg.Keys == nil || cfg.Authorizer == nil || cfg.Region == "" || cfg.Endpoint == "" {
		return nil, errors.New("notify: Store, Meta, Keys, Authorizer, Region and Endpoint are required")
	}
	if _, err := url.Parse(cfg.Endpoint); err != nil {
		return nil, fmt.Errorf("notify: endpoint: %w", err)
	}
	cfg.Endpoint = strings.TrimRight(cfg.Endpoint, "/")
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.MaxQueued <= 0 {
		cfg.MaxQueued = 100000
	}
	cfg.Delivery.defaults()
	return &Service{cfg: cfg, signer: NewSigner(cfg.Meta, cfg.Keys, cfg.Now), wake: make(chan struct{}, 1), m: newMetrics()}, nil
}

// Signer returns the message signer.
func (s *Service) Signer() *Signer { return s.signer }

// API returns the service's action table.
func (s *Service) API() *api.Service {
	topic := func(field string) func(c *api.Call, in *params) []string {
		return func(c *api.Call, in *params) []string { return []string{in.v.Get(field)} }
	}
	anyRes := func(*api.Call, *params) []string { return []string{"*"} }
	createTopicRes := func(c *api.Call, in *params) []string {
		return []string{s.topicARN(c.Principal.AccountID, in.v.Get("Name"))}
	}
	subTopic := func(c *api.Call, in *params) []string {
		return []string{topicOfSubscription(in.v.Get("SubscriptionArn"))}
	}
	rp := s.topicPolicy
	return &api.Service{
		SigningName:        "sns",
		EventSource:        "sns.amazonaws.com",
		Protocol:           api.Query,
		Version:            Version,
		XMLNamespace:       Namespace,
		AccessDeniedCode:   "AuthorizationError",
		AccessDeniedStatus: http.StatusForbidden,
		Actions: []api.Action{
			api.Define(api.Action{Name: "CreateTopic", IAMAction: "sns:CreateTopic", Access: api.AccessWrite,
				ConditionKeys: []string{"aws:RequestTag/${TagKey}", "aws:TagKeys"}}, createTopicRes, s.createTopic),
			api.Define(api.Action{Name: "DeleteTopic", IAMAction: "sns:DeleteTopic", Access: api.AccessWrite, ResourcePolicy: rp},
				topic("TopicArn"), s.deleteTopic),
			api.Define(api.Action{Name: "ListTopics", IAMAction: "sns:ListTopics", Access: api.AccessList}, anyRes, s.listTopics),
			api.Define(api.Action{Name: "GetTopicAttributes", IAMAction: "sns:GetTopicAttributes", Access: api.AccessRead, ResourcePolicy: rp},
				topic("TopicArn"), s.getTopicAttributes),
			api.Define(api.Action{Name: "SetTopicAttributes", IAMAction: "sns:SetTopicAttributes", Access: api.AccessPermissions, ResourcePolicy: rp},
				topic("TopicArn"), s.setTopicAttributes),
			api.Define(api.Action{Name: "Subscribe", IAMAction: "sns:Subscribe", Access: api.AccessWrite, ResourcePolicy: rp,
				ConditionKeys: []string{"sns:Endpoint", "sns:Protocol"}}, topic("TopicArn"), s.subscribe),
			api.Define(api.Action{
				// The token proves the caller received the confirmation
				// message, so SNS accepts it unsigned (SubscribeURL).
				Name: "ConfirmSubscription", IAMAction: "sns:ConfirmSubscription", Access: api.AccessWrite,
				Unauthenticated: true}, topic("TopicArn"), s.confirmSubscription),
			api.Define(api.Action{
				// Unsigned calls (UnsubscribeURL) carry a token; signed
				// ones are authorised in the handler.
				Name: "Unsubscribe", IAMAction: "sns:Unsubscribe", Access: api.AccessWrite,
				Unauthenticated: true}, subTopic, s.unsubscribe),
			api.Define(api.Action{Name: "ListSubscriptions", IAMAction: "sns:ListSubscriptions", Access: api.AccessList}, anyRes, s.listSubscriptions),
			api.Define(api.Action{Name: "ListSubscriptionsByTopic", IAMAction: "sns:ListSubscriptionsByTopic", Access: api.AccessList, ResourcePolicy: rp},
				topic("TopicArn"), s.listSubscriptionsByTopic),
			api.Define(api.Action{Name: "GetSubscriptionAttributes", IAMAction: "sns:GetSubscriptionAttributes", Access: api.AccessRead},
				subTopic, s.getSubscriptionAttributes),
			api.Define(api.Action{Name: "SetSubscriptionAttributes", IAMAction: "sns:SetSubscriptionAttributes", Access: api.AccessWrite},
				subTopic, s.setSubscriptionAttributes),
			api.Define(api.Action{Name: "Publish", IAMAction: "sns:Publish", Access: api.AccessWrite, ResourcePolicy: rp},
				func(c *api.Call, in *params) []string {
					if t := in.v.Get("TopicArn"); t != "" {
						return []string{t}
					}
					return []string{in.v.Get("TargetArn")}
				}, s.publish),
			api.Define(api.Action{Name: "TagResource", IAMAction: "sns:TagResource", Access: api.AccessTagging, ResourcePolicy: rp,
				ConditionKeys: []string{"aws:RequestTag/${TagKey}", "aws:TagKeys"}}, topic("ResourceArn"), s.tagResource),
			api.Define(api.Action{Name: "UntagResource", IAMAction: "sns:UntagResource", Access: api.AccessTagging, ResourcePolicy: rp,
				ConditionKeys: []string{"aws:TagKeys"}}, topic("ResourceArn"), s.untagResource),
			api.Define(api.Action{Name: "ListTagsForResource", IAMAction: "sns:ListTagsForResource", Access: api.AccessRead, ResourcePolicy: rp},
				topic("ResourceArn"), s.listTagsForResource),
		},
	}
}

// params is every action's input: the form values, validated by the
// handler (SNS's inputs are small and differ per action). The exported
// fields are what the audit record shows (requestParameters, redacted by
// the trail: Token is hidden); message bodies and attributes are not
// recorded, as CloudTrail does not record them for SNS.
type params struct {
	v url.Values

	Name            string `json:"name,omitempty"`
	TopicArn        string `json:"topicArn,omitempty"`
	TargetArn       string `json:"targetArn,omitempty"`
	SubscriptionArn string `json:"subscriptionArn,omitempty"`
	ResourceArn     string `json:"resourceArn,omitempty"`
	Protocol        string `json:"protocol,omitempty"`
	Endpoint        string `json:"endpoint,omitempty"`
	AttributeName   string `json:"attributeName,omitempty"`
	Subject         string `json:"subject,omitempty"`
	Token           string `json:"token,omitempty"`
}

// DecodeQuery implements api.QueryInput.
func (p *params) DecodeQuery(v url.Values) error {
	p.v = v
	short := func(k string) string { return truncate(v.Get(k), maxEndpointLen) }
	p.Name, p.TopicArn, p.TargetArn = short("Name"), short("TopicArn"), short("TargetArn")
	p.SubscriptionArn, p.ResourceArn, p.Protocol = short("SubscriptionArn"), short("ResourceArn"), short("Protocol")
	p.Endpoint, p.AttributeName, p.Subject, p.Token = short("Endpoint"), short("AttributeName"), short("Subject"), short("Token")
	return nil
}

// RequestContext implements api.ContextProvider: the tag keys of tagging
// calls and sns:Endpoint / sns:Protocol of Subscribe.
func (p *params) RequestContext(c *api.Call) map[string][]string {
	ctx := map[string][]string{}
	switch c.Action.Name {
	case "CreateTopic", "TagResource":
		if tags, err := tagsParam(p.v, "Tags"); err == nil && len(tags) > 0 {
			for _, t := range tags {
				ctx["aws:RequestTag/"+t.Key] = []string{t.Value}
				ctx["aws:TagKeys"] = append(ctx["aws:TagKeys"], t.Key)
			}
		}
	case "UntagResource":
		if keys, err := membersParam(p.v, "TagKeys", maxTags); err == nil {
			ctx["aws:TagKeys"] = keys
		}
	case "Subscribe":
		ctx["sns:Endpoint"] = []string{p.v.Get("Endpoint")}
		ctx["sns:Protocol"] = []string{p.v.Get("Protocol")}
	}
	return ctx
}

func (s *Service) topicARN(account, name string) string {
	return "arn:aws:sns:" + s.cfg.Region + ":" + account + ":" + name
}

// parseTopicARN checks arn names a topic in this region and returns its
// account and name.
func (s *Service) parseTopicARN(arn, field string) (account, name string, err error) {
	parts := strings.Split(arn, ":")
	if len(parts) != 6 || parts[0] != "arn" || parts[1] != "aws" || parts[2] != "sns" || len(parts[4]) != 12 || !topicNameRE.MatchString(parts[5]) {
		return "", "", invalidParameter(field)
	}
	if parts[3] != s.cfg.Region {
		return "", "", invalidParameter(field)
	}
	return parts[4], parts[5], nil
}

// topicOfSubscription is the topic part of a subscription ARN
// (<topic arn>:<uuid>), or "" if it has none.
func topicOfSubscription(arn string) string {
	i := strings.LastIndexByte(arn, ':')
	if i < 0 || strings.Count(arn, ":") != 6 {
		return ""
	}
	return arn[:i]
}

// getTopic loads a topic, NotFound if absent or in another account than
// the caller's (SNS does not say which).
func (s *Service) getTopic(ctx context.Context, c *api.Call, arn, field string) (store.Topic, error) {
	if _, _, err := s.parseTopicARN(arn, field); err != nil {
		return store.Topic{}, err
	}
	t, err := s.cfg.Store.GetTopic(ctx, arn)
	if errors.Is(err, store.ErrNotFound) {
		return store.Topic{}, notFound("Topic does not exist")
	}
	if err != nil {
		return store.Topic{}, awsproto.InternalFailure(err)
	}
	return t, nil
}

// topicPolicy is the topic's access policy (its Policy attribute), as a
// resource-based policy; nil (the default policy, which only admits the
// owning account) when unset.
func (s *Service) topicPolicy(ctx context.Context, _ *api.Call, resource string) (*policy.Policy, error) {
	if _, _, err := s.parseTopicARN(resource, "TopicArn"); err != nil {
		return nil, nil
	}
	t, err := s.cfg.Store.GetTopic(ctx, resource)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, awsproto.InternalFailure(err)
	}
	doc := t.Attributes["Policy"]
	if doc == "" {
		return nil, nil
	}
	p, err := policy.ParseOptions([]byte(doc), policy.Options{Kind: policy.KindResource, SizeLimit: -1, ID: t.ARN + "/policy"})
	if err != nil {
		return nil, awsproto.InternalFailure(fmt.Errorf("compile policy of topic %s: %w", t.ARN, err))
	}
	return p, nil
}

// ---- topics ----

type createTopicResult struct {
	TopicArn string `xml:"TopicArn"`
}

// settableTopicAttrs are the topic attributes Bulwark accepts.
var settableTopicAttrs = []string{"DisplayName", "Policy", "DeliveryPolicy", "SignatureVersion", "TracingConfig"}

func validateTopicAttr(name, value string) error {
	if !slices.Contains(settableTopicAttrs, name) {
		if name == "FifoTopic" || name == "ContentBasedDeduplication" || name == "KmsMasterKeyId" {
			return awsproto.Errorf(400, "InvalidParameter", "Invalid parameter: Attributes Reason: %s is not supported by Bulwark", name)
		}
		return awsproto.Errorf(400, "InvalidParameter", "Invalid parameter: AttributeName")
	}
	if len(value) > maxTopicAttrLen {
		return awsproto.Errorf(400, "InvalidParameter", "Invalid parameter: Attributes Reason: %s is too long", name)
	}
	switch name {
	case "DisplayName":
		if len(value) > 100 {
			return awsproto.Errorf(400, "InvalidParameter", "Invalid parameter: DisplayName")
		}
	case "SignatureVersion":
		if value != "1" && value != "2" {
			return awsproto.Errorf(400, "InvalidParameter", "Invalid parameter: SignatureVersion")
		}
	case "TracingConfig":
		if value != "PassThrough" && value != "Active" {
			return awsproto.Errorf(400, "InvalidParameter", "Invalid parameter: TracingConfig")
		}
	case "Policy":
		if value != "" {
			if _, err := policy.ParseOptions([]byte(value), policy.Options{Kind: policy.KindResource}); err != nil {
				return awsproto.Errorf(400, "InvalidParameter", "Invalid parameter: Policy Error: %s", truncate(err.Error(), 200))
			}
		}
	case "DeliveryPolicy":
		if value != "" {
			if _, err := parseTopicDeliveryPolicy(value); err != nil {
				return awsproto.Errorf(400, "InvalidParameter", "Invalid parameter: DeliveryPolicy: %s", truncate(err.Error(), 200))
			}
		}
	}
	return nil
}

func (s *Service) createTopic(ctx context.Context, c *api.Call, in *params) (any, error) {
	name := in.v.Get("Name")
	if !topicNameRE.MatchString(name) {
		return nil, awsproto.Errorf(400, "InvalidParameter", "Invalid parameter: Topic Name")
	}
	attrs, err := entries(in.v, "Attributes")
	if err != nil {
		return nil, err
	}
	for k, v := range attrs {
		if err := validateTopicAttr(k, v); err != nil {
			return nil, err
		}
		if v == "" {
			delete(attrs, k)
		}
	}
	tags, err := tagsParam(in.v, "Tags")
	if err != nil {
		return nil, err
	}
	t := store.Topic{ARN: s.topicARN(c.Principal.AccountID, name), AccountID: c.Principal.AccountID, Region: s.cfg.Region,
		Name: name, Attributes: attrs, Tags: toStoreTags(tags), CreatedAt: s.cfg.Now()}
	err = s.cfg.Store.CreateTopic(ctx, t)
	if errors.Is(err, store.ErrConflict) {
		// CreateTopic is idempotent by name, but not with different
		// attributes or tags (SNS refuses those).
		old, gerr := s.cfg.Store.GetTopic(ctx, t.ARN)
		if gerr != nil {
			return nil, awsproto.InternalFailure(gerr)
		}
		for k, v := range attrs {
			if old.Attributes[k] != v {
				return nil, awsproto.Errorf(400, "InvalidParameter", "Invalid parameter: Attributes Reason: Topic already exists with different attributes")
			}
		}
		if len(tags) > 0 && !sameTags(old.Tags, t.Tags) {
			return nil, awsproto.Errorf(400, "InvalidParameter", "Invalid parameter: Tags Reason: Topic already exists with different tags")
		}
		return &createTopicResult{TopicArn: old.ARN}, nil
	}
	if errors.Is(err, store.ErrNotFound) {
		return nil, awsproto.InternalFailure(fmt.Errorf("account %s missing: %w", c.Principal.AccountID, err))
	}
	if err != nil {
		return nil, awsproto.InternalFailure(err)
	}
	return &createTopicResult{TopicArn: t.ARN}, nil
}

func toStoreTags(tags []api.Tag) []store.Tag {
	out := make([]store.Tag, len(tags))
	for i, t := range tags {
		out[i] = store.Tag{Key: t.Key, Value: t.Value}
	}
	return out
}

func sameTags(a, b []store.Tag) bool {
	if len(a) != len(b) {
		return false
	}
	m := map[string]string{}
	for _, t := range a {
		m[t.Key] = t.Value
	}
	for _, t := range b {
		if v, ok := m[t.Key]; !ok || v != t.Value {
			return false
		}
	}
	return true
}

func (s *Service) deleteTopic(ctx context.Context, c *api.Call, in *params) (any, error) {
	arn := in.v.Get("TopicArn")
	if _, _, err := s.parseTopicARN(arn, "TopicArn"); err != nil {
		return nil, err
	}
	// Deleting a topic that does not exist succeeds, as in SNS.
	if err := s.cfg.Store.DeleteTopic(ctx, arn); err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, awsproto.InternalFailure(err)
	}
	return nil, nil
}

type topicMember struct {
	TopicArn string `xml:"TopicArn"`
}

type listTopicsResult struct {
	Topics    []topicMember `xml:"Topics>member"`
	NextToken string        `xml:"NextToken,omitempty"`
}

func (s *Service) listTopics(ctx context.Context, c *api.Call, in *params) (any, error) {
	after, err := parsePageToken(in.v.Get("NextToken"))
	if err != nil {
		return nil, err
	}
	ts, err := s.cfg.Store.ListTopics(ctx, c.Principal.AccountID, s.cfg.Region, after, pageSize+1)
	if err != nil {
		return nil, awsproto.InternalFailure(err)
	}
	res := &listTopicsResult{Topics: []topicMember{}}
	if len(ts) > pageSize {
		ts = ts[:pageSize]
		res.NextToken = pageToken(ts[len(ts)-1].ARN)
	}
	for _, t := range ts {
		res.Topics = append(res.Topics, topicMember{TopicArn: t.ARN})
	}
	return res, nil
}

type attrEntry struct {
	Key   string `xml:"key"`
	Value string `xml:"value"`
}

type attributesResult struct {
	Attributes []attrEntry `xml:"Attributes>entry"`
}

func attrList(m map[string]string) []attrEntry {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	out := make([]attrEntry, 0, len(keys))
	for _, k := range keys {
		out = append(out, attrEntry{Key: k, Value: m[k]})
	}
	return out
}

// defaultTopicPolicy is the access policy SNS gives a new topic: the
// owning account may use it.
func defaultTopicPolicy(arn, account string) string {
	p := map[string]any{
		"Version": "2008-10-17",
		"Id":      "__default_policy_ID",
		"Statement": []any{map[string]any{
			"Sid": "__default_statement_ID", "Effect": "Allow",
			"Principal": map[string]string{"AWS": "*"},
			"Action": []string{"SNS:GetTopicAttributes", "SNS:SetTopicAttributes", "SNS:AddPermission", "SNS:RemovePermission",
				"SNS:DeleteTopic", "SNS:Subscribe", "SNS:ListSubscriptionsByTopic", "SNS:Publish"},
			"Resource":  arn,
			"Condition": map[string]any{"StringEquals": map[string]string{"AWS:SourceOwner": account}},
		}},
	}
	b, _ := json.Marshal(p)
	return string(b)
}

func (s *Service) getTopicAttributes(ctx context.Context, c *api.Call, in *params) (any, error) {
	t, err := s.getTopic(ctx, c, in.v.Get("TopicArn"), "TopicArn")
	if err != nil {
		return nil, err
	}
	confirmed, pending := 0, 0
	after := ""
	for {
		subs, err := s.cfg.Store.ListSubscriptions(ctx, t.AccountID, t.ARN, after, 1000)
		if err != nil {
			return nil, awsproto.InternalFailure(err)
		}
		for _, sub := range subs {
			if sub.Confirmed {
				confirmed++
			} else {
				pending++
			}
		}
		if len(subs) < 1000 {
			break
		}
		after = subs[len(subs)-1].ARN
	}
	attrs := map[string]string{
		"TopicArn": t.ARN, "Owner": t.AccountID, "DisplayName": t.Attributes["DisplayName"],
		"Policy":                  defaultTopicPolicy(t.ARN, t.AccountID),
		"SubscriptionsConfirmed":  strconv.Itoa(confirmed),
		"SubscriptionsPending":    strconv.Itoa(pending),
		"SubscriptionsDeleted":    "0",
		"EffectiveDeliveryPolicy": effectiveDeliveryPolicyJSON(t.Attributes["DeliveryPolicy"]),
		"SignatureVersion":        topicSignatureVersion(t),
	}
	for k, v := range t.Attributes {
		attrs[k] = v
	}
	return &attributesResult{Attributes: attrList(attrs)}, nil
}

// topicSignatureVersion: Bulwark signs with SignatureVersion 2 (SHA256)
// unless the topic asks for 1; SNS's default is 1.
func topicSignatureVersion(t store.Topic) string {
	if v := t.Attributes["SignatureVersion"]; v != "" {
		return v
	}
	return "2"
}

func (s *Service) setTopicAttributes(ctx context.Context, c *api.Call, in *params) (any, error) {
	arn := in.v.Get("TopicArn")
	if _, err := s.getTopic(ctx, c, arn, "TopicArn"); err != nil {
		return nil, err
	}
	name, err := required(in.v, "AttributeName")
	if err != nil {
		return nil, err
	}
	value := in.v.Get("AttributeValue")
	if err := validateTopicAttr(name, value); err != nil {
		return nil, err
	}
	err = s.cfg.Store.UpdateTopic(ctx, arn, func(t *store.Topic) error {
		if value == "" {
			delete(t.Attributes, name)
		} else {
			t.Attributes[name] = value
		}
		return nil
	})
	if errors.Is(err, store.ErrNotFound) {
		return nil, notFound("Topic does not exist")
	}
	if err != nil {
		return nil, awsproto.InternalFailure(err)
	}
	return nil, nil
}

// ---- tags ----

type emptyResult struct{}

type tagMember struct {
	Key   string `xml:"Key"`
	Value string `xml:"Value"`
}

type listTagsResult struct {
	Tags []tagMember `xml:"Tags>member"`
}

// tagTarget loads the topic a tagging call names; SNS answers
// ResourceNotFound (404) for these.
func (s *Service) tagTarget(ctx context.Context, c *api.Call, arn string) error {
	if _, _, err := s.parseTopicARN(arn, "ResourceArn"); err != nil {
		return err
	}
	if _, err := s.cfg.Store.GetTopic(ctx, arn); errors.Is(err, store.ErrNotFound) {
		return awsproto.Errorf(404, "ResourceNotFound", "Resource does not exist")
	} else if err != nil {
		return awsproto.InternalFailure(err)
	}
	return nil
}

func (s *Service) tagResource(ctx context.Context, c *api.Call, in *params) (any, error) {
	arn := in.v.Get("ResourceArn")
	tags, err := tagsParam(in.v, "Tags")
	if err != nil {
		return nil, err
	}
	if len(tags) == 0 {
		return nil, invalidParameter("Tags")
	}
	if err := s.tagTarget(ctx, c, arn); err != nil {
		return nil, err
	}
	err = s.cfg.Store.UpdateTopic(ctx, arn, func(t *store.Topic) error {
		for _, nt := range tags {
			i := slices.IndexFunc(t.Tags, func(x store.Tag) bool { return x.Key == nt.Key })
			if i >= 0 {
				t.Tags[i].Value = nt.Value
			} else {
				t.Tags = append(t.Tags, store.Tag{Key: nt.Key, Value: nt.Value})
			}
		}
		if len(t.Tags) > maxTags {
			return awsproto.Errorf(400, "TagLimitExceeded", "Could not complete request: tag quota of per resource exceeded")
		}
		return nil
	})
	if err != nil {
		var ae *awsproto.Error
		if errors.As(err, &ae) {
			return nil, ae
		}
		return nil, awsproto.InternalFailure(err)
	}
	return &emptyResult{}, nil
}

func (s *Service) untagResource(ctx context.Context, c *api.Call, in *params) (any, error) {
	arn := in.v.Get("ResourceArn")
	keys, err := membersParam(in.v, "TagKeys", maxTags)
	if err != nil {
		return nil, err
	}
	if len(keys) == 0 {
		return nil, invalidParameter("TagKeys")
	}
	if err := s.tagTarget(ctx, c, arn); err != nil {
		return nil, err
	}
	err = s.cfg.Store.UpdateTopic(ctx, arn, func(t *store.Topic) error {
		t.Tags = slices.DeleteFunc(t.Tags, func(x store.Tag) bool { return slices.Contains(keys, x.Key) })
		return nil
	})
	if err != nil {
		return nil, awsproto.InternalFailure(err)
	}
	return &emptyResult{}, nil
}

func (s *Service) listTagsForResource(ctx context.Context, c *api.Call, in *params) (any, error) {
	arn := in.v.Get("ResourceArn")
	if err := s.tagTarget(ctx, c, arn); err != nil {
		return nil, err
	}
	t, err := s.cfg.Store.GetTopic(ctx, arn)
	if err != nil {
		return nil, awsproto.InternalFailure(err)
	}
	res := &listTagsResult{Tags: []tagMember{}}
	for _, tg := range t.Tags {
		res.Tags = append(res.Tags, tagMember{Key: tg.Key, Value: tg.Value})
	}
	return res, nil
}

// ---- subscriptions ----

type subscribeResult struct {
	SubscriptionArn string `xml:"SubscriptionArn"`
}

// pendingARN is what SNS shows in place of a pending subscription's ARN.
const pendingARN = "pending confirmation"

var settableSubAttrs = []string{"DeliveryPolicy", "RawMessageDelivery"}

func validateSubAttr(name, value string) error {
	switch name {
	case "RawMessageDelivery":
		if value != "true" && value != "false" {
			return awsproto.Errorf(400, "InvalidParameter", "Invalid parameter: Attributes Reason: RawMessageDelivery: Invalid value [%s]. Must be true or false.", truncate(value, 32))
		}
	case "DeliveryPolicy":
		if value != "" {
			if _, err := parseSubscriptionDeliveryPolicy(value); err != nil {
				return awsproto.Errorf(400, "InvalidParameter", "Invalid parameter: DeliveryPolicy: %s", truncate(err.Error(), 200))
			}
		}
	default:
		return awsproto.Errorf(400, "InvalidParameter", "Invalid parameter: Attributes Reason: Unknown attribute %s", truncate(name, 64))
	}
	return nil
}

// validEndpoint checks an HTTP(S) endpoint: an absolute URL of the
// subscription's protocol with a host. Credentials in the URL are refused:
// Bulwark would have to store them in plaintext.
func validEndpoint(protocol, endpoint string) error {
	if len(endpoint) > maxEndpointLen {
		return invalidParameter("Endpoint")
	}
	u, err := url.Parse(endpoint)
	if err != nil || u.Scheme != protocol || u.Host == "" || u.Opaque != "" {
		return awsproto.Errorf(400, "InvalidParameter", "Invalid parameter: Endpoint must match the specified protocol")
	}
	if u.User != nil {
		return awsproto.Errorf(400, "InvalidParameter", "Invalid parameter: Endpoint Reason: credentials in the endpoint URL are not supported")
	}
	return nil
}

func newToken() (token string, hash []byte) {
	b := make([]byte, 64)
	_, _ = rand.Read(b)
	token = hex.EncodeToString(b)
	sum := sha256.Sum256([]byte(token))
	return token, sum[:]
}

func tokenHash(token string) []byte {
	sum := sha256.Sum256([]byte(token))
	return sum[:]
}

func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

func (s *Service) subscribe(ctx context.Context, c *api.Call, in *params) (any, error) {
	t, err := s.getTopic(ctx, c, in.v.Get("TopicArn"), "TopicArn")
	if err != nil {
		return nil, err
	}
	protocol, err := required(in.v, "Protocol")
	if err != nil {
		return nil, err
	}
	protocol = strings.ToLower(protocol)
	if protocol != "http" && protocol != "https" {
		return nil, awsproto.Errorf(400, "InvalidParameter", "Invalid parameter: Amazon SNS does not support this protocol string: %s", truncate(protocol, 32))
	}
	endpoint, err := required(in.v, "Endpoint")
	if err != nil {
		return nil, err
	}
	if err := validEndpoint(protocol, endpoint); err != nil {
		return nil, err
	}
	attrs, err := entries(in.v, "Attributes")
	if err != nil {
		return nil, err
	}
	for k, v := range attrs {
		if err := validateSubAttr(k, v); err != nil {
			return nil, err
		}
	}
	returnARN := in.v.Get("ReturnSubscriptionArn") == "true"
	now := s.cfg.Now()
	token, hash := newToken()

	sub, err := s.cfg.Store.FindSubscription(ctx, t.ARN, protocol, endpoint)
	switch {
	case err == nil && sub.Confirmed:
		return &subscribeResult{SubscriptionArn: sub.ARN}, nil
	case err == nil:
		// Pending: a new token and a new confirmation message.
		err = s.cfg.Store.UpdateSubscription(ctx, sub.ARN, func(x *store.Subscription) error {
			x.TokenHash, x.TokenExpiresAt = hash, now.Add(tokenTTL)
			for k, v := range attrs {
				x.Attributes[k] = v
			}
			return nil
		})
	case errors.Is(err, store.ErrNotFound):
		sub = store.Subscription{ARN: t.ARN + ":" + newUUID(), TopicARN: t.ARN, AccountID: t.AccountID,
			Owner: c.Principal.AccountID, Protocol: protocol, Endpoint: endpoint, TokenHash: hash,
			TokenExpiresAt: now.Add(tokenTTL), Attributes: attrs, CreatedAt: now}
		err = s.cfg.Store.CreateSubscription(ctx, sub)
	}
	if errors.Is(err, store.ErrNotFound) {
		return nil, notFound("Topic does not exist")
	}
	if err != nil {
		return nil, awsproto.InternalFailure(err)
	}
	if err := s.sendConfirmation(ctx, t, sub, token); err != nil {
		return nil, err
	}
	if returnARN {
		return &subscribeResult{SubscriptionArn: sub.ARN}, nil
	}
	return &subscribeResult{SubscriptionArn: pendingARN}, nil
}

// SubscribeURL is where the confirmation message sends the endpoint: an
// unsigned GET of ConfirmSubscription on this server, as SNS's is on its.
func (s *Service) subscribeURL(topicARN, token string) string {
	q := url.Values{"Action": {"ConfirmSubscription"}, "TopicArn": {topicARN}, "Token": {token}, "Version": {Version}}
	return s.cfg.Endpoint + "/?" + q.Encode()
}

func (s *Service) unsubscribeURL(ctx context.Context, subARN string) (string, error) {
	tok, err := s.signer.unsubscribeToken(ctx, subARN)
	if err != nil {
		return "", err
	}
	q := url.Values{"Action": {"Unsubscribe"}, "SubscriptionArn": {subARN}, "Token": {tok}, "Version": {Version}}
	return s.cfg.Endpoint + "/?" + q.Encode(), nil
}

func (s *Service) certURL(ctx context.Context) (string, error) {
	id, err := s.signer.CertID(ctx)
	if err != nil {
		return "", err
	}
	return s.cfg.Endpoint + CertPathPrefix + certFileName(id), nil
}

func (s *Service) sendConfirmation(ctx context.Context, t store.Topic, sub store.Subscription, token string) error {
	certURL, err := s.certURL(ctx)
	if err != nil {
		return awsproto.InternalFailure(err)
	}
	m := &Message{Type: TypeSubscriptionConfirmation, MessageID: newUUID(), Token: token, TopicArn: t.ARN,
		Message: "You have chosen to subscribe to the topic " + t.ARN +
			".\nTo confirm the subscription, visit the SubscribeURL included in this message.",
		SubscribeURL: s.subscribeURL(t.ARN, token), Timestamp: FormatTimestamp(s.cfg.Now()), SigningCertURL: certURL}
	if err := s.signer.Sign(ctx, m, topicSignatureVersion(t)); err != nil {
		return awsproto.InternalFailure(err)
	}
	body, err := m.encode()
	if err != nil {
		return awsproto.InternalFailure(err)
	}
	d, err := s.delivery(t, sub, m, TypeSubscriptionConfirmation, body)
	if err != nil {
		return awsproto.InternalFailure(err)
	}
	return s.enqueue(ctx, []store.Delivery{d})
}

func (s *Service) confirmSubscription(ctx context.Context, c *api.Call, in *params) (any, error) {
	topicARN := in.v.Get("TopicArn")
	if _, _, err := s.parseTopicARN(topicARN, "TopicArn"); err != nil {
		return nil, err
	}
	token, err := required(in.v, "Token")
	if err != nil {
		return nil, err
	}
	if len(token) > 2048 {
		return nil, invalidParameter("Token")
	}
	if c.Principal != nil && c.Principal.Type == api.PrincipalTypeWebIdentity {
		c.Principal.Type = "Unknown" // an unsigned call: CloudTrail's word for it
	}
	h := tokenHash(token)
	sub, err := s.cfg.Store.SubscriptionByToken(ctx, topicARN, h)
	if errors.Is(err, store.ErrNotFound) {
		return nil, invalidParameter("Token")
	}
	if err != nil {
		return nil, awsproto.InternalFailure(err)
	}
	// The store found it by hash; compare again in constant time so the
	// decision never rests on a lookup's timing.
	if subtle.ConstantTimeCompare(sub.TokenHash, h) != 1 {
		return nil, invalidParameter("Token")
	}
	now := s.cfg.Now()
	if sub.Confirmed {
		return &subscribeResult{SubscriptionArn: sub.ARN}, nil
	}
	if now.After(sub.TokenExpiresAt) {
		return nil, awsproto.Errorf(400, "InvalidParameter", "Invalid token")
	}
	authOnUnsub := in.v.Get("AuthenticateOnUnsubscribe") == "true"
	err = s.cfg.Store.UpdateSubscription(ctx, sub.ARN, func(x *store.Subscription) error {
		x.Confirmed, x.ConfirmedAt = true, now
		if authOnUnsub {
			x.Attributes["ConfirmationWasAuthenticated"] = "true"
		}
		return nil
	})
	if errors.Is(err, store.ErrNotFound) {
		return nil, notFound("Subscription does not exist")
	}
	if err != nil {
		return nil, awsproto.InternalFailure(err)
	}
	return &subscribeResult{SubscriptionArn: sub.ARN}, nil
}

func (s *Service) unsubscribe(ctx context.Context, c *api.Call, in *params) (any, error) {
	arn := in.v.Get("SubscriptionArn")
	topicARN := topicOfSubscription(arn)
	if _, _, err := s.parseTopicARN(topicARN, "SubscriptionArn"); err != nil {
		return nil, err
	}
	unsigned := c.Principal == nil || c.Principal.Type == api.PrincipalTypeWebIdentity
	if unsigned && c.Principal != nil {
		c.Principal.Type = "Unknown" // an unsigned call: CloudTrail's word for it
	}
	sub, err := s.cfg.Store.GetSubscription(ctx, arn)
	if errors.Is(err, store.ErrNotFound) {
		if unsigned {
			return nil, invalidParameter("Token")
		}
		if err := s.authorizeSigned(ctx, c, topicARN); err != nil {
			return nil, err
		}
		return nil, notFound("Subscription does not exist")
	}
	if err != nil {
		return nil, awsproto.InternalFailure(err)
	}
	if unsigned {
		if sub.Attributes["ConfirmationWasAuthenticated"] == "true" {
			return nil, awsproto.Errorf(403, "AuthorizationError", "Unsubscribe of this subscription requires a signed request")
		}
		want, err := s.signer.unsubscribeToken(ctx, arn)
		if err != nil {
			return nil, awsproto.InternalFailure(err)
		}
		if subtle.ConstantTimeCompare([]byte(in.v.Get("Token")), []byte(want)) != 1 {
			return nil, invalidParameter("Token")
		}
	} else if err := s.authorizeSigned(ctx, c, topicARN); err != nil {
		return nil, err
	}
	if err := s.cfg.Store.DeleteSubscription(ctx, arn); err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, awsproto.InternalFailure(err)
	}
	return nil, nil
}

// authorizeSigned asks the authorizer about a signed call of an action the
// server runs without authorisation (Unsubscribe).
func (s *Service) authorizeSigned(ctx context.Context, c *api.Call, resource string) error {
	a := *c.Action
	a.Unauthenticated = false
	p, err := s.topicPolicy(ctx, c, resource)
	if err != nil {
		return err
	}
	req := &authz.Request{Call: c, Action: &a, Resources: []string{resource}, ResourcePolicy: p}
	d, err := s.cfg.Authorizer.Authorize(ctx, req)
	if err != nil {
		return awsproto.InternalFailure(fmt.Errorf("authorize %s: %w", a.IAMAction, err))
	}
	if !d.Allowed {
		return authz.Denied(c, d)
	}
	return nil
}

type subscriptionMember struct {
	TopicArn        string `xml:"TopicArn"`
	Protocol        string `xml:"Protocol"`
	SubscriptionArn string `xml:"SubscriptionArn"`
	Owner           string `xml:"Owner"`
	Endpoint        string `xml:"Endpoint"`
}

type listSubscriptionsResult struct {
	Subscriptions []subscriptionMember `xml:"Subscriptions>member"`
	NextToken     string               `xml:"NextToken,omitempty"`
}

func (s *Service) listSubs(ctx context.Context, account, topicARN, token string) (any, error) {
	after, err := parsePageToken(token)
	if err != nil {
		return nil, err
	}
	subs, err := s.cfg.Store.ListSubscriptions(ctx, account, topicARN, after, pageSize+1)
	if err != nil {
		return nil, awsproto.InternalFailure(err)
	}
	res := &listSubscriptionsResult{Subscriptions: []subscriptionMember{}}
	if len(subs) > pageSize {
		subs = subs[:pageSize]
		res.NextToken = pageToken(subs[len(subs)-1].ARN)
	}
	for _, sub := range subs {
		arn := sub.ARN
		if !sub.Confirmed {
			arn = "PendingConfirmation"
		}
		res.Subscriptions = append(res.Subscriptions, subscriptionMember{TopicArn: sub.TopicARN, Protocol: sub.Protocol,
			SubscriptionArn: arn, Owner: sub.Owner, Endpoint: sub.Endpoint})
	}
	return res, nil
}

func (s *Service) listSubscriptions(ctx context.Context, c *api.Call, in *params) (any, error) {
	return s.listSubs(ctx, c.Principal.AccountID, "", in.v.Get("NextToken"))
}

func (s *Service) listSubscriptionsByTopic(ctx context.Context, c *api.Call, in *params) (any, error) {
	t, err := s.getTopic(ctx, c, in.v.Get("TopicArn"), "TopicArn")
	if err != nil {
		return nil, err
	}
	return s.listSubs(ctx, t.AccountID, t.ARN, in.v.Get("NextToken"))
}

func (s *Service) getSub(ctx context.Context, arn string) (store.Subscription, error) {
	if _, _, err := s.parseTopicARN(topicOfSubscription(arn), "SubscriptionArn"); err != nil {
		return store.Subscription{}, err
	}
	sub, err := s.cfg.Store.GetSubscription(ctx, arn)
	if errors.Is(err, store.ErrNotFound) {
		return store.Subscription{}, notFound("Subscription does not exist")
	}
	if err != nil {
		return store.Subscription{}, awsproto.InternalFailure(err)
	}
	return sub, nil
}

func (s *Service) getSubscriptionAttributes(ctx context.Context, c *api.Call, in *params) (any, error) {
	sub, err := s.getSub(ctx, in.v.Get("SubscriptionArn"))
	if err != nil {
		return nil, err
	}
	attrs := map[string]string{
		"SubscriptionArn": sub.ARN, "TopicArn": sub.TopicARN, "Owner": sub.Owner, "Protocol": sub.Protocol,
		"Endpoint": sub.Endpoint, "PendingConfirmation": strconv.FormatBool(!sub.Confirmed),
		"ConfirmationWasAuthenticated": "false", "RawMessageDelivery": "false",
		"SubscriptionPrincipal": "arn:aws:iam::" + sub.Owner + ":root",
	}
	for k, v := range sub.Attributes {
		attrs[k] = v
	}
	if t, err := s.cfg.Store.GetTopic(ctx, sub.TopicARN); err == nil {
		attrs["EffectiveDeliveryPolicy"] = effectiveSubscriptionPolicyJSON(t.Attributes["DeliveryPolicy"], sub.Attributes["DeliveryPolicy"])
	}
	return &attributesResult{Attributes: attrList(attrs)}, nil
}

func (s *Service) setSubscriptionAttributes(ctx context.Context, c *api.Call, in *params) (any, error) {
	arn := in.v.Get("SubscriptionArn")
	if _, err := s.getSub(ctx, arn); err != nil {
		return nil, err
	}
	name, err := required(in.v, "AttributeName")
	if err != nil {
		return nil, err
	}
	value := in.v.Get("AttributeValue")
	if err := validateSubAttr(name, value); err != nil {
		return nil, err
	}
	err = s.cfg.Store.UpdateSubscription(ctx, arn, func(x *store.Subscription) error {
		if value == "" {
			delete(x.Attributes, name)
		} else {
			x.Attributes[name] = value
		}
		return nil
	})
	if errors.Is(err, store.ErrNotFound) {
		return nil, notFound("Subscription does not exist")
	}
	if err != nil {
		return nil, awsproto.InternalFailure(err)
	}
	return nil, nil
}
