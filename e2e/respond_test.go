package e2e

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/bulwark-security/bulwark/internal/notify"
)

// responseCLI runs the aws CLI with Bulwark's bulwark-response model on
// its data path, as the README tells users to.
func responseCLI(t *testing.T, s *server) *cli {
	t.Helper()
	models, err := filepath.Abs("../docs/aws-models")
	if err != nil {
		t.Fatal(err)
	}
	c := rootCLI(t, s)
	c.env = append(c.env, "AWS_DATA_PATH="+models)
	return c
}

// TestResponseDisablesBruteForcedKey is the scenario: a burst of
// bad signatures for a user's access key produces a finding, a response
// rule (put with the aws CLI) deactivates the key and notifies a topic,
// and the subscribed endpoint verifies the notification's signature. The
// key then fails as an inactive key does on AWS, and the action is in the
// audit trail.
func TestResponseDisablesBruteForcedKey(t *testing.T) {
	t.Parallel()
	s := startServer(t, []string{"BULWARK_DETECT=signature_failures=5,signature_window=2m"})
	root := rootCLI(t, s)
	recv := newSNSReceiver(t, s)

	root.ok(nil, "iam", "create-user", "--user-name", "victim")
	var key struct {
		AccessKey struct{ AccessKeyId, SecretAccessKey string }
	}
	root.ok(&key, "iam", "create-access-key", "--user-name", "victim")
	akid, secret := key.AccessKey.AccessKeyId, key.AccessKey.SecretAccessKey
	keyCLI(t, s, akid, secret, "").ok(nil, "sts", "get-caller-identity")

	var topic struct{ TopicArn string }
	root.ok(&topic, "sns", "create-topic", "--name", "security-alerts")
	root.ok(nil, "sns", "subscribe", "--topic-arn", topic.TopicArn, "--protocol", "http", "--notification-endpoint", recv.srv.URL)
	recv.next(notify.TypeSubscriptionConfirmation)
	waitConfirmed(t, root, topic.TopicArn)

	rule := map[string]any{
		"Description": "Deactivate access keys under brute force and tell the security team",
		"Pattern": map[string]any{
			"GeneratorId": []string{"bulwark/signature-failures"},
			"Resources":   map[string]any{"Type": []string{"AwsIamAccessKey"}},
			"Severity":    map[string]any{"Label": []any{map[string]any{"anything-but": []string{"INFORMATIONAL", "LOW"}}}},
		},
		"Actions": []map[string]any{{"Type": "DisableAccessKey"}, {"Type": "NotifyTopic", "TopicArn": topic.TopicArn}},
	}
	ruleFile := filepath.Join(t.TempDir(), "rule.json")
	b, _ := json.Marshal(rule)
	if err := os.WriteFile(ruleFile, b, 0o600); err != nil {
		t.Fatal(err)
	}
	rc := responseCLI(t, s)
	var put struct {
		Name    string
		Enabled bool
	}
	rc.ok(&put, "bulwark-response", "put-response-rule", "--name", "brute-force", "--rule", "file://"+ruleFile)
	if put.Name != "brute-force" || !put.Enabled {
		t.Fatalf("put-response-rule = %+v", put)
	}

	// The burst: requests signed with the right key id and a wrong secret.
	// The rule may disable the key before the burst ends; the requests
	// after that fail as requests with an inactive key do.
	bad := stsClient(s, akid, "not-the-secret-0123456789012345678901234", "")
	for range 6 {
		_, err := bad.GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{})
		if err == nil || !strings.Contains(err.Error(), "SignatureDoesNotMatch") && !strings.Contains(err.Error(), "InvalidClientTokenId") {
			t.Fatalf("bad signature: %v", err)
		}
	}

	n := recv.next(notify.TypeNotification)
	var finding struct {
		GeneratorId string
		Resources   []struct{ Type, Id string }
	}
	if err := json.Unmarshal([]byte(n.Message), &finding); err != nil {
		t.Fatalf("notification message is not a finding: %v: %s", err, n.Message)
	}
	if finding.GeneratorId != "bulwark/signature-failures" || len(finding.Resources) == 0 || finding.Resources[0].Id != akid {
		t.Fatalf("notified finding = %+v", finding)
	}
	if n.Subject == nil || !strings.HasPrefix(*n.Subject, "Bulwark finding: ") {
		t.Fatalf("Subject = %v", n.Subject)
	}
	recv.checkNoFailures()

	// The key is now inactive: AWS answers InvalidClientTokenId.
	keyCLI(t, s, akid, secret, "").fails("InvalidClientTokenId", nil, "sts", "get-caller-identity")
	var keys struct {
		AccessKeyMetadata []struct{ AccessKeyId, Status string }
	}
	root.ok(&keys, "iam", "list-access-keys", "--user-name", "victim")
	if len(keys.AccessKeyMetadata) != 1 || keys.AccessKeyMetadata[0].Status != "Inactive" {
		t.Fatalf("keys = %+v", keys)
	}

	var execs struct {
		Executions []struct {
			RuleName, Status, Action string
			ActionIndex              int
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		rc.ok(&execs, "bulwark-response", "list-response-executions", "--rule-name", "brute-force")
		done := 0
		for _, e := range execs.Executions {
			if e.Status == "SUCCEEDED" {
				done++
			}
		}
		if done == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("executions = %+v", execs)
		}
		time.Sleep(200 * time.Millisecond)
	}

	// The deactivation is in the audit trail, made by bulwark-response.
	var events struct {
		Events []struct{ EventName, CloudTrailEvent string }
	}
	root.ok(&events, "cloudtrail", "lookup-events", "--lookup-attributes", "AttributeKey=EventName,AttributeValue=UpdateAccessKey")
	found := false
	for _, e := range events.Events {
		if strings.Contains(e.CloudTrailEvent, `"AWSService"`) && strings.Contains(e.CloudTrailEvent, akid) {
			found = true
		}
	}
	if !found {
		t.Fatalf("no UpdateAccessKey event by bulwark-response in %+v", events.Events)
	}
}

func waitConfirmed(t *testing.T, c *cli, topicARN string) {
	t.Helper()
	var subs struct {
		Subscriptions []struct{ SubscriptionArn string }
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		c.ok(&subs, "sns", "list-subscriptions-by-topic", "--topic-arn", topicARN)
		if len(subs.Subscriptions) == 1 && subs.Subscriptions[0].SubscriptionArn != "PendingConfirmation" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("subscription not confirmed: %+v", subs)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
