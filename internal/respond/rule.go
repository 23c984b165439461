package respond

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// Action types.
const (
	// ActionDisableAccessKey sets every long-term access key the finding
	// names (Resources of Type AwsIamAccessKey) to Inactive, as
	// iam:UpdateAccessKey does, and drops it from the credential cache.
	ActionDisableAccessKey = "DisableAccessKey"
	// ActionRevokeRoleSessions attaches the inline policy
	// AWSRevokeOlderSessions to every role the finding names (AwsIamRole),
	// denying everything to sessions issued before now, as the IAM
	// console's "Revoke active sessions" does.
	ActionRevokeRoleSessions = "RevokeRoleSessions"
	// ActionQuarantine attaches an inline deny-all policy to every user
	// and role the finding names (AwsIamUser, AwsIamRole).
	ActionQuarantine = "QuarantinePrincipal"
	// ActionNotifyTopic publishes the finding's JSON to an SNS topic.
	ActionNotifyTopic = "NotifyTopic"
)

// RevokeSessionsPolicyName is the inline policy name the IAM console uses.
const RevokeSessionsPolicyName = "AWSRevokeOlderSessions"

// DefaultQuarantinePolicyName names the quarantine policy unless the
// action names another.
const DefaultQuarantinePolicyName = "BulwarkQuarantine"

// Rule is a response rule: when a new finding matches Pattern, each of
// Actions runs once for it.
type Rule struct {
	Description string          `json:"Description,omitempty"`
	Pattern     json.RawMessage `json:"Pattern"`
	Actions     []Action        `json:"Actions"`

	pattern *Pattern
}

// Action is one response action.
type Action struct {
	Type string `json:"Type"`
	// TopicArn is the topic NotifyTopic publishes to.
	TopicArn string `json:"TopicArn,omitempty"`
	// PolicyName names QuarantinePrincipal's inline policy.
	PolicyName string `json:"PolicyName,omitempty"`
	// IncludeRoot lets DisableAccessKey disable the account root's keys;
	// off by default so a rule cannot lock the account out.
	IncludeRoot bool `json:"IncludeRoot,omitempty"`
}

const (
	maxRuleBytes   = 16 << 10
	maxRuleActions = 10
)

var (
	ruleNameRE   = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,64}$`)
	policyNameRE = regexp.MustCompile(`^[\w+=,.@-]{1,128}$`)
	topicARNRE   = regexp.MustCompile(`^arn:aws:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}$`)
)

// ParseRule parses and validates a rule body.
func ParseRule(body []byte) (*Rule, error) {
	if len(body) > maxRuleBytes {
		return nil, fmt.Errorf("rule is larger than %d bytes", maxRuleBytes)
	}
	var r Rule
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		return nil, fmt.Errorf("rule is not valid JSON: %w", err)
	}
	if dec.More() {
		return nil, errors.New("trailing data after the rule")
	}
	if len(r.Pattern) == 0 {
		return nil, errors.New("rule has no Pattern")
	}
	p, err := ParsePattern(r.Pattern)
	if err != nil {
		return nil, err
	}
	r.pattern = p
	if len(r.Actions) == 0 || len(r.Actions) > maxRuleActions {
		return nil, fmt.Errorf("rule needs 1 to %d Actions", maxRuleActions)
	}
	if len(r.Description) > 512 {
		return nil, errors.New("Description is longer than 512 characters")
	}
	for i, a := range r.Actions {
		if err := a.validate(); err != nil {
			return nil, fmt.Errorf("action %d: %w", i+1, err)
		}
	}
	return &r, nil
}

func (a Action) validate() error {
	switch a.Type {
	case ActionDisableAccessKey, ActionRevokeRoleSessions:
		if a.TopicArn != "" || a.PolicyName != "" {
			return fmt.Errorf("%s takes no TopicArn or PolicyName", a.Type)
		}
	case ActionQuarantine:
		if a.PolicyName != "" && !policyNameRE.MatchString(a.PolicyName) {
			return errors.New("bad PolicyName")
		}
		if a.TopicArn != "" {
			return errors.New("QuarantinePrincipal takes no TopicArn")
		}
	case ActionNotifyTopic:
		if !topicARNRE.MatchString(a.TopicArn) {
			return errors.New("NotifyTopic needs a topic ARN in TopicArn")
		}
	default:
		return fmt.Errorf("unknown action Type %q (want %s)", a.Type,
			strings.Join([]string{ActionDisableAccessKey, ActionRevokeRoleSessions, ActionQuarantine, ActionNotifyTopic}, ", "))
	}
	if a.IncludeRoot && a.Type != ActionDisableAccessKey {
		return errors.New("IncludeRoot applies to DisableAccessKey only")
	}
	return nil
}

// Matches reports whether a finding (its ASFF JSON) matches the rule.
func (r *Rule) Matches(finding []byte) (bool, error) {
	var doc map[string]any
	if err := json.Unmarshal(finding, &doc); err != nil {
		return false, fmt.Errorf("finding is not a JSON object: %w", err)
	}
	return r.pattern.Match(doc), nil
}

func (a Action) json() string {
	b, _ := json.Marshal(a)
	return string(b)
}
