package respond

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/bulwark-security/bulwark/internal/api"
	"github.com/bulwark-security/bulwark/internal/authz"
	"github.com/bulwark-security/bulwark/internal/awsproto"
	"github.com/bulwark-security/bulwark/internal/findings"
	"github.com/bulwark-security/bulwark/internal/store"
)

// Service names of the rules API: a JSON 1.1 service with no AWS
// equivalent, callable with the aws CLI once its model is added
// (docs/aws-models/bulwark-response; see the README).
const (
	SigningName  = "bulwark-response"
	TargetPrefix = "BulwarkResponse"
)

// APIConfig is what the rules API needs.
type APIConfig struct {
	Engine *Engine
	// Authorizer checks that whoever puts a rule may do what its actions
	// do (iam:UpdateAccessKey, iam:PutRolePolicy, iam:PutUserPolicy,
	// sns:Publish), so a rule is never a way around IAM.
	Authorizer authz.Authorizer
}

type ruleAPI struct {
	cfg APIConfig
}

// API returns the rules API's action table.
func API(cfg APIConfig) *api.Service {
	s := &ruleAPI{cfg: cfg}
	rule := func(c *api.Call, name string) string {
		return "arn:aws:bulwark-response:" + c.Region + ":" + c.Principal.AccountID + ":rule/" + name
	}
	byName := func(c *api.Call, in *nameInput) []string { return []string{rule(c, in.Name)} }
	all := func(c *api.Call, _ *listInput) []string { return []string{"*"} }
	return &api.Service{
		SigningName:        SigningName,
		EventSource:        "bulwark-response.amazonaws.com",
		Protocol:           api.JSON,
		TargetPrefix:       TargetPrefix,
		AccessDeniedCode:   "AccessDeniedException",
		AccessDeniedStatus: http.StatusBadRequest,
		Actions: []api.Action{
			api.Define(api.Action{Name: "PutResponseRule", IAMAction: "bulwark-response:PutResponseRule", Access: api.AccessPermissions},
				func(c *api.Call, in *putInput) []string { return []string{rule(c, in.Name)} }, s.put),
			api.Define(api.Action{Name: "GetResponseRule", IAMAction: "bulwark-response:GetResponseRule", Access: api.AccessRead}, byName, s.get),
			api.Define(api.Action{Name: "ListResponseRules", IAMAction: "bulwark-response:ListResponseRules", Access: api.AccessList}, all, s.list),
			api.Define(api.Action{Name: "DeleteResponseRule", IAMAction: "bulwark-response:DeleteResponseRule", Access: api.AccessPermissions}, byName, s.delete),
			api.Define(api.Action{Name: "ListResponseExecutions", IAMAction: "bulwark-response:ListResponseExecutions", Access: api.AccessList}, all, s.executions),
			api.Define(api.Action{Name: "TestResponseRule", IAMAction: "bulwark-response:TestResponseRule", Access: api.AccessRead},
				func(*api.Call, *testInput) []string { return []string{"*"} }, s.test),
		},
	}
}

func validation(format string, args ...any) error {
	return awsproto.ValidationException(format, args...)
}

func notFound(name string) error {
	return awsproto.Errorf(400, "ResourceNotFoundException", "Response rule %s does not exist.", truncate(name, 64))
}

type nameInput struct {
	Name string `json:"Name"`
}

func (in *nameInput) Validate() error {
	if !ruleNameRE.MatchString(in.Name) {
		return validation("Name must be 1 to 64 letters, digits, '_', '.' or '-'.")
	}
	return nil
}

type putInput struct {
	Name    string `json:"Name"`
	Rule    string `json:"Rule"`
	Enabled *bool  `json:"Enabled"`
}

func (in *putInput) Validate() error {
	if !ruleNameRE.MatchString(in.Name) {
		return validation("Name must be 1 to 64 letters, digits, '_', '.' or '-'.")
	}
	if in.Rule == "" {
		return validation("Rule is required.")
	}
	return nil
}

type ruleOutput struct {
	Name      string  `json:"Name"`
	Rule      string  `json:"Rule"`
	Enabled   bool    `json:"Enabled"`
	CreatedAt float64 `json:"CreatedAt"`
	UpdatedAt float64 `json:"UpdatedAt"`
}

func epoch(t time.Time) float64 {
	if t.IsZero() {
		return 0
	}
	return float64(t.UnixMilli()) / 1000
}

func toOutput(r store.ResponseRule) ruleOutput {
	return ruleOutput{Name: r.Name, Rule: r.Body, Enabled: r.Enabled, CreatedAt: epoch(r.CreatedAt), UpdatedAt: epoch(r.UpdatedAt)}
}

// impliedActions are the IAM actions (and resources) a rule's actions
// amount to.
func impliedActions(account string, r *Rule) [][2]string {
	var out [][2]string
	for _, a := range r.Actions {
		switch a.Type {
		case ActionDisableAccessKey:
			out = append(out, [2]string{"iam:UpdateAccessKey", "arn:aws:iam::" + account + ":user/*"})
		case ActionRevokeRoleSessions:
			out = append(out, [2]string{"iam:PutRolePolicy", "arn:aws:iam::" + account + ":role/*"})
		case ActionQuarantine:
			out = append(out, [2]string{"iam:PutUserPolicy", "arn:aws:iam::" + account + ":user/*"},
				[2]string{"iam:PutRolePolicy", "arn:aws:iam::" + account + ":role/*"})
		case ActionNotifyTopic:
			out = append(out, [2]string{"sns:Publish", a.TopicArn})
		}
	}
	return out
}

func (s *ruleAPI) put(ctx context.Context, c *api.Call, in *putInput) (any, error) {
	r, err := ParseRule([]byte(in.Rule))
	if err != nil {
		return nil, validation("Rule is invalid: %s", truncate(err.Error(), 300))
	}
	account := c.Principal.AccountID
	for _, a := range r.Actions {
		if a.Type == ActionNotifyTopic {
			if _, acct, ok := topicAccount(a.TopicArn); !ok || acct != account {
				return nil, validation("NotifyTopic's TopicArn must name a topic in account %s.", account)
			}
		}
	}
	for _, ia := range impliedActions(account, r) {
		if err := s.authorizeImplied(ctx, c, ia[0], ia[1]); err != nil {
			return nil, err
		}
	}
	enabled := true
	if in.Enabled != nil {
		enabled = *in.Enabled
	}
	now := c.Time
	created := now
	if old, err := s.cfg.Engine.cfg.Store.GetResponseRule(ctx, account, in.Name); err == nil {
		created = old.CreatedAt
	}
	rr := store.ResponseRule{AccountID: account, Name: in.Name, Body: in.Rule, Enabled: enabled, CreatedAt: created, UpdatedAt: now}
	if err := s.cfg.Engine.cfg.Store.PutResponseRule(ctx, rr); err != nil {
		return nil, awsproto.InternalFailure(err)
	}
	s.cfg.Engine.RulesChanged()
	return toOutput(rr), nil
}

func topicAccount(arn string) (region, account string, ok bool) {
	if !topicARNRE.MatchString(arn) {
		return "", "", false
	}
	parts := strings.Split(arn, ":")
	return parts[3], parts[4], true
}

// authorizeImplied asks whether the caller may do what a rule would do on
// its behalf later.
func (s *ruleAPI) authorizeImplied(ctx context.Context, c *api.Call, action, resource string) error {
	a := *c.Action
	a.IAMAction = action
	d, err := s.cfg.Authorizer.Authorize(ctx, &authz.Request{Call: c, Action: &a, Resources: []string{resource}})
	if err != nil {
		return awsproto.InternalFailure(fmt.Errorf("authorize %s: %w", action, err))
	}
	if !d.Allowed {
		return authz.Denied(&api.Call{Principal: c.Principal, Action: &a, Service: c.Service}, d)
	}
	return nil
}

func (s *ruleAPI) get(ctx context.Context, c *api.Call, in *nameInput) (any, error) {
	r, err := s.cfg.Engine.cfg.Store.GetResponseRule(ctx, c.Principal.AccountID, in.Name)
	if errors.Is(err, store.ErrNotFound) {
		return nil, notFound(in.Name)
	}
	if err != nil {
		return nil, awsproto.InternalFailure(err)
	}
	return toOutput(r), nil
}

type listInput struct {
	RuleName   string `json:"RuleName"`
	MaxResults int    `json:"MaxResults"`
}

func (in *listInput) Validate() error {
	if in.RuleName != "" && !ruleNameRE.MatchString(in.RuleName) {
		return validation("RuleName is invalid.")
	}
	if in.MaxResults < 0 || in.MaxResults > 1000 {
		return validation("MaxResults must be between 1 and 1000.")
	}
	return nil
}

type listOutput struct {
	Rules []ruleOutput `json:"Rules"`
}

func (s *ruleAPI) list(ctx context.Context, c *api.Call, _ *listInput) (any, error) {
	rs, err := s.cfg.Engine.cfg.Store.ListResponseRules(ctx, c.Principal.AccountID)
	if err != nil {
		return nil, awsproto.InternalFailure(err)
	}
	out := listOutput{Rules: []ruleOutput{}}
	for _, r := range rs {
		out.Rules = append(out.Rules, toOutput(r))
	}
	return out, nil
}

func (s *ruleAPI) delete(ctx context.Context, c *api.Call, in *nameInput) (any, error) {
	err := s.cfg.Engine.cfg.Store.DeleteResponseRule(ctx, c.Principal.AccountID, in.Name)
	if errors.Is(err, store.ErrNotFound) {
		return nil, notFound(in.Name)
	}
	if err != nil {
		return nil, awsproto.InternalFailure(err)
	}
	s.cfg.Engine.RulesChanged()
	return struct{}{}, nil
}

type executionOutput struct {
	RuleName    string  `json:"RuleName"`
	FindingId   string  `json:"FindingId"`
	ActionIndex int     `json:"ActionIndex"`
	Action      string  `json:"Action"`
	Status      string  `json:"Status"`
	Attempts    int     `json:"Attempts"`
	LastError   string  `json:"LastError,omitempty"`
	CreatedAt   float64 `json:"CreatedAt"`
	DoneAt      float64 `json:"DoneAt,omitempty"`
}

type executionsOutput struct {
	Executions []executionOutput `json:"Executions"`
}

func (s *ruleAPI) executions(ctx context.Context, c *api.Call, in *listInput) (any, error) {
	n := in.MaxResults
	if n == 0 {
		n = 100
	}
	es, err := s.cfg.Engine.cfg.Store.ListResponseExecutions(ctx, c.Principal.AccountID, in.RuleName, n)
	if err != nil {
		return nil, awsproto.InternalFailure(err)
	}
	out := executionsOutput{Executions: []executionOutput{}}
	for _, e := range es {
		out.Executions = append(out.Executions, executionOutput{RuleName: e.RuleName, FindingId: e.FindingID, ActionIndex: e.ActionIndex,
			Action: e.Action, Status: e.Status, Attempts: e.Attempts, LastError: e.LastError, CreatedAt: epoch(e.CreatedAt), DoneAt: epoch(e.DoneAt)})
	}
	return out, nil
}

type testInput struct {
	Rule    string `json:"Rule"`
	Finding string `json:"Finding"`
}

type testOutput struct {
	Match bool `json:"Match"`
}

func (s *ruleAPI) test(_ context.Context, _ *api.Call, in *testInput) (any, error) {
	r, err := ParseRule([]byte(in.Rule))
	if err != nil {
		return nil, validation("Rule is invalid: %s", truncate(err.Error(), 300))
	}
	if len(in.Finding) > 256<<10 {
		return nil, validation("Finding is too large.")
	}
	var f findings.Finding
	if err := json.Unmarshal([]byte(in.Finding), &f); err != nil {
		return nil, validation("Finding is not ASFF JSON: %s", truncate(err.Error(), 200))
	}
	doc, err := json.Marshal(f)
	if err != nil {
		return nil, awsproto.InternalFailure(err)
	}
	ok, err := r.Matches(doc)
	if err != nil {
		return nil, validation("%s", err.Error())
	}
	return testOutput{Match: ok}, nil
}
