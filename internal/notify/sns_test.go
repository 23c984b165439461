package notify

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/bulwark-security/bulwark/internal/awsproto"
)

func v(kv ...string) url.Values {
	out := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		out.Set(kv[i], kv[i+1])
	}
	return out
}

const topic = "arn:aws:sns:us-east-1:" + acct + ":alerts"

func wantCode(t *testing.T, err error, code string, status int) {
	t.Helper()
	if code == "" {
		if err != nil {
			t.Fatalf("unexpected error %v", err)
		}
		return
	}
	var ae *awsproto.Error
	if !errors.As(err, &ae) || ae.Code != code || ae.Status != status {
		t.Fatalf("error = %v, want %s (%d)", err, code, status)
	}
}

// TestActions runs SNS actions against a store and checks AWS's codes.
func TestActions(t *testing.T) {
	f := newFixture(t)
	if _, err := f.call(t, "CreateTopic", v("Name", "alerts", "Attributes.entry.1.key", "DisplayName", "Attributes.entry.1.value", "Alerts",
		"Tags.member.1.Key", "team", "Tags.member.1.Value", "sec")); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		action string
		params url.Values
		code   string
		status int
		check  func(t *testing.T, res any)
	}{
		{"create is idempotent", "CreateTopic", v("Name", "alerts"), "", 0, func(t *testing.T, res any) {
			if res.(*createTopicResult).TopicArn != topic {
				t.Errorf("TopicArn = %v", res)
			}
		}},
		{"create with other attributes", "CreateTopic", v("Name", "alerts", "Attributes.entry.1.key", "DisplayName", "Attributes.entry.1.value", "Other"), "InvalidParameter", 400, nil},
		{"create with other tags", "CreateTopic", v("Name", "alerts", "Tags.member.1.Key", "team", "Tags.member.1.Value", "ops"), "InvalidParameter", 400, nil},
		{"bad topic name", "CreateTopic", v("Name", "no spaces"), "InvalidParameter", 400, nil},
		{"fifo topic", "CreateTopic", v("Name", "f", "Attributes.entry.1.key", "FifoTopic", "Attributes.entry.1.value", "true"), "InvalidParameter", 400, nil},
		{"unknown attribute", "CreateTopic", v("Name", "f", "Attributes.entry.1.key", "Nope", "Attributes.entry.1.value", "1"), "InvalidParameter", 400, nil},
		{"aws: tag key", "CreateTopic", v("Name", "f", "Tags.member.1.Key", "aws:x", "Tags.member.1.Value", "1"), "InvalidParameter", 400, nil},
		{"attributes", "GetTopicAttributes", v("TopicArn", topic), "", 0, func(t *testing.T, res any) {
			got := map[string]string{}
			for _, e := range res.(*attributesResult).Attributes {
				got[e.Key] = e.Value
			}
			for k, want := range map[string]string{"TopicArn": topic, "Owner": acct, "DisplayName": "Alerts", "SignatureVersion": "2",
				"SubscriptionsConfirmed": "0", "SubscriptionsPending": "0"} {
				if got[k] != want {
					t.Errorf("%s = %q, want %q", k, got[k], want)
				}
			}
			if !strings.Contains(got["Policy"], "__default_policy_ID") || !strings.Contains(got["EffectiveDeliveryPolicy"], `"numRetries":3`) {
				t.Errorf("Policy/EffectiveDeliveryPolicy = %q / %q", got["Policy"], got["EffectiveDeliveryPolicy"])
			}
		}},
		{"attributes of a missing topic", "GetTopicAttributes", v("TopicArn", topic+"x"), "NotFound", 404, nil},
		{"malformed topic ARN", "GetTopicAttributes", v("TopicArn", "arn:aws:sqs:us-east-1:"+acct+":q"), "InvalidParameter", 400, nil},
		{"topic in another region", "GetTopicAttributes", v("TopicArn", "arn:aws:sns:eu-west-1:"+acct+":alerts"), "InvalidParameter", 400, nil},
		{"set SignatureVersion 1", "SetTopicAttributes", v("TopicArn", topic, "AttributeName", "SignatureVersion", "AttributeValue", "1"), "", 0, nil},
		{"set SignatureVersion 3", "SetTopicAttributes", v("TopicArn", topic, "AttributeName", "SignatureVersion", "AttributeValue", "3"), "InvalidParameter", 400, nil},
		{"set bad delivery policy", "SetTopicAttributes", v("TopicArn", topic, "AttributeName", "DeliveryPolicy", "AttributeValue", `{"http":{"defaultHealthyRetryPolicy":{"numRetries":500,"minDelayTarget":1,"maxDelayTarget":2}}}`), "InvalidParameter", 400, nil},
		{"set bad policy", "SetTopicAttributes", v("TopicArn", topic, "AttributeName", "Policy", "AttributeValue", `{"Statement":"x"}`), "InvalidParameter", 400, nil},
		{"subscribe email", "Subscribe", v("TopicArn", topic, "Protocol", "email", "Endpoint", "a@example.com"), "InvalidParameter", 400, nil},
		{"subscribe sqs", "Subscribe", v("TopicArn", topic, "Protocol", "sqs", "Endpoint", "arn:aws:sqs:us-east-1:"+acct+":q"), "InvalidParameter", 400, nil},
		{"endpoint of another protocol", "Subscribe", v("TopicArn", topic, "Protocol", "https", "Endpoint", "http://a.example/"), "InvalidParameter", 400, nil},
		{"credentials in endpoint", "Subscribe", v("TopicArn", topic, "Protocol", "https", "Endpoint", "https://u:p@a.example/"), "InvalidParameter", 400, nil},
		{"subscribe to a missing topic", "Subscribe", v("TopicArn", topic+"x", "Protocol", "https", "Endpoint", "https://a.example/"), "NotFound", 404, nil},
		{"subscribe with unknown attribute", "Subscribe", v("TopicArn", topic, "Protocol", "https", "Endpoint", "https://a.example/", "Attributes.entry.1.key", "FilterPolicy", "Attributes.entry.1.value", "{}"), "InvalidParameter", 400, nil},
		{"publish to a missing topic", "Publish", v("TopicArn", topic+"x", "Message", "m"), "NotFound", 404, nil},
		{"publish without a message", "Publish", v("TopicArn", topic), "InvalidParameter", 400, nil},
		{"publish too long", "Publish", v("TopicArn", topic, "Message", strings.Repeat("x", MaxPublishBytes+1)), "InvalidParameter", 400, nil},
		{"publish at the limit", "Publish", v("TopicArn", topic, "Message", strings.Repeat("x", MaxPublishBytes)), "", 0, nil},
		{"attributes count toward the limit", "Publish", v("TopicArn", topic, "Message", strings.Repeat("x", MaxPublishBytes-10),
			"MessageAttributes.entry.1.Name", "name", "MessageAttributes.entry.1.Value.DataType", "String", "MessageAttributes.entry.1.Value.StringValue", "value"), "InvalidParameter", 400, nil},
		{"subject with a newline", "Publish", v("TopicArn", topic, "Message", "m", "Subject", "a\nb"), "InvalidParameter", 400, nil},
		{"subject too long", "Publish", v("TopicArn", topic, "Message", "m", "Subject", strings.Repeat("s", 101)), "InvalidParameter", 400, nil},
		{"both TopicArn and TargetArn", "Publish", v("TopicArn", topic, "TargetArn", topic, "Message", "m"), "InvalidParameter", 400, nil},
		{"SMS", "Publish", v("PhoneNumber", "+15555550100", "Message", "m"), "InvalidParameter", 400, nil},
		{"json structure without default", "Publish", v("TopicArn", topic, "Message", `{"http":"x"}`, "MessageStructure", "json"), "InvalidParameter", 400, nil},
		{"number attribute that is not a number", "Publish", v("TopicArn", topic, "Message", "m", "MessageAttributes.entry.1.Name", "n",
			"MessageAttributes.entry.1.Value.DataType", "Number", "MessageAttributes.entry.1.Value.StringValue", "ten"), "ParameterValueInvalid", 400, nil},
		{"reserved attribute name", "Publish", v("TopicArn", topic, "Message", "m", "MessageAttributes.entry.1.Name", "AWS.x",
			"MessageAttributes.entry.1.Value.DataType", "String", "MessageAttributes.entry.1.Value.StringValue", "v"), "InvalidParameterValue", 400, nil},
		{"publish", "Publish", v("TopicArn", topic, "Message", "m", "Subject", "Hello"), "", 0, func(t *testing.T, res any) {
			if len(res.(*publishResult).MessageID) != 36 {
				t.Errorf("MessageId = %v", res)
			}
		}},
		{"tag", "TagResource", v("ResourceArn", topic, "Tags.member.1.Key", "env", "Tags.member.1.Value", "prod"), "", 0, nil},
		{"list tags", "ListTagsForResource", v("ResourceArn", topic), "", 0, func(t *testing.T, res any) {
			if tags := res.(*listTagsResult).Tags; len(tags) != 2 {
				t.Errorf("tags = %v", tags)
			}
		}},
		{"untag", "UntagResource", v("ResourceArn", topic, "TagKeys.member.1", "env"), "", 0, nil},
		{"tag a missing topic", "TagResource", v("ResourceArn", topic+"x", "Tags.member.1.Key", "a", "Tags.member.1.Value", "b"), "ResourceNotFound", 404, nil},
		{"subscription attributes of a missing subscription", "GetSubscriptionAttributes", v("SubscriptionArn", topic+":00000000-0000-0000-0000-000000000000"), "NotFound", 404, nil},
		{"confirm with a wrong token", "ConfirmSubscription", v("TopicArn", topic, "Token", "nope"), "InvalidParameter", 400, nil},
		{"bad NextToken", "ListTopics", v("NextToken", "!!!"), "InvalidParameter", 400, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := f.call(t, tt.action, tt.params)
			wantCode(t, err, tt.code, tt.status)
			if tt.check != nil && err == nil {
				tt.check(t, res)
			}
		})
	}
}

func TestListTopicsPages(t *testing.T) {
	f := newFixture(t)
	for i := range 150 {
		if _, err := f.call(t, "CreateTopic", v("Name", fmt.Sprintf("t%03d", i))); err != nil {
			t.Fatal(err)
		}
	}
	res, err := f.call(t, "ListTopics", v())
	if err != nil {
		t.Fatal(err)
	}
	p1 := res.(*listTopicsResult)
	if len(p1.Topics) != 100 || p1.NextToken == "" {
		t.Fatalf("page 1: %d topics, NextToken %q", len(p1.Topics), p1.NextToken)
	}
	res, err = f.call(t, "ListTopics", v("NextToken", p1.NextToken))
	if err != nil {
		t.Fatal(err)
	}
	p2 := res.(*listTopicsResult)
	if len(p2.Topics) != 50 || p2.NextToken != "" || p2.Topics[0].TopicArn <= p1.Topics[99].TopicArn {
		t.Fatalf("page 2: %d topics, NextToken %q", len(p2.Topics), p2.NextToken)
	}
}

func TestDeleteTopicIsIdempotent(t *testing.T) {
	f := newFixture(t)
	for range 2 {
		if _, err := f.call(t, "DeleteTopic", v("TopicArn", topic)); err != nil {
			t.Fatal(err)
		}
	}
}
