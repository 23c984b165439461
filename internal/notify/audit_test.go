package notify

import (
	"net/url"
	"strings"
	"testing"

	"github.com/bulwark-security/bulwark/internal/audit"
)

// TestAuditedInput: the audit record of an SNS call names its resources
// but never the confirmation token or the message.
func TestAuditedInput(t *testing.T) {
	var p params
	_ = p.DecodeQuery(url.Values{"TopicArn": {topic}, "Token": {"secret-token-value"}, "Message": {"the body"}})
	got := string(audit.Render(&p, nil))
	if !strings.Contains(got, topic) || strings.Contains(got, "secret-token-value") || strings.Contains(got, "the body") {
		t.Fatalf("requestParameters = %s", got)
	}
}
