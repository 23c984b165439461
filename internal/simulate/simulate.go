// Package simulate implements IAM's policy simulator actions,
// SimulatePrincipalPolicy and SimulateCustomPolicy, on the same policy
// engine that authorises every request. Like AWS's simulator it uses only
// the context entries the caller supplies (no global keys are filled in),
// and reports the statements that matched and the context keys that were
// missing.
package simulate

import (
	"context"
	"errors"
	"net/url"
	"strconv"
	"strings"

	"github.com/bulwark-security/bulwark/internal/api"
	"github.com/bulwark-security/bulwark/internal/arn"
	"github.com/bulwark-security/bulwark/internal/authz"
	"github.com/bulwark-security/bulwark/internal/awsproto"
	"github.com/bulwark-security/bulwark/internal/policy"
	"github.com/bulwark-security/bulwark/internal/store"
)

// Loader loads principals' and managed policies.
type Loader interface {
	EntityIdentity(ctx context.Context, account string, kind store.EntityKind, name string) (*authz.Identity, error)
	Managed(ctx context.Context, arn string) (*policy.Policy, error)
}

// Limits of the simulator's inputs.
const (
	maxActions   = 100
	maxResources = 100
	maxPolicies  = 50
	maxEntries   = 100
	maxValues    = 100
)

// Actions returns the two simulator rows for the IAM action table.
func Actions(l Loader) []api.Action {
	return []api.Action{
		api.Define(api.Action{Name: "SimulatePrincipalPolicy", IAMAction: "iam:SimulatePrincipalPolicy", Access: api.AccessRead},
			func(_ *api.Call, in *principalInput) []string { return []string{in.PolicySourceArn} },
			func(ctx context.Context, c *api.Call, in *principalInput) (any, error) {
				return simulatePrincipal(ctx, l, c, in)
			}),
		api.Define(api.Action{Name: "SimulateCustomPolicy", IAMAction: "iam:SimulateCustomPolicy", Access: api.AccessRead},
			func(*api.Call, *customInput) []string { return []string{"*"} },
			func(ctx context.Context, c *api.Call, in *customInput) (any, error) {
				return simulateCustom(ctx, c, in)
			}),
	}
}

// common holds the inputs both actions share.
type common struct {
	ActionNames         []string
	ResourceArns        []string
	ResourcePolicy      string
	ResourceOwner       string
	CallerArn           string
	ContextEntries      []entry
	BoundaryPolicyInput []string
	MaxItems            int
	Marker              int
}

type entry struct {
	Key    string
	Type   string
	Values []string
}

type principalInput struct {
	common
	PolicySourceArn string
	PolicyInputList []string
}

type customInput struct {
	common
	PolicyInputList []string
}

func list(v url.Values, prefix string, limit int) ([]string, error) {
	var out []string
	for i := 1; ; i++ {
		val, ok := v[prefix+".member."+strconv.Itoa(i)]
		if !ok {
			return out, nil
		}
		if len(out) >= limit {
			return nil, awsproto.ValidationError("%s: at most %d entries", prefix, limit)
		}
		out = append(out, val[0])
	}
}

var contextKeyTypes = map[string]bool{"string": true, "stringList": true, "numeric": true, "numericList": true,
	"boolean": true, "booleanList": true, "ip": true, "ipList": true, "binary": true, "binaryList": true, "date": true, "dateList": true}

func (c *common) decode(v url.Values) error {
	var err error
	if c.ActionNames, err = list(v, "ActionNames", maxActions); err != nil {
		return err
	}
	if c.ResourceArns, err = list(v, "ResourceArns", maxResources); err != nil {
		return err
	}
	if c.BoundaryPolicyInput, err = list(v, "PermissionsBoundaryPolicyInputList", maxPolicies); err != nil {
		return err
	}
	c.ResourcePolicy, c.ResourceOwner, c.CallerArn = v.Get("ResourcePolicy"), v.Get("ResourceOwner"), v.Get("CallerArn")
	for i := 1; ; i++ {
		base := "ContextEntries.member." + strconv.Itoa(i)
		name, ok := v[base+".ContextKeyName"]
		if !ok {
			break
		}
		if len(c.ContextEntries) >= maxEntries {
			return awsproto.ValidationError("ContextEntries: at most %d entries", maxEntries)
		}
		e := entry{Key: name[0], Type: v.Get(base + ".ContextKeyType")}
		if e.Key == "" || len(e.Key) > 256 || !contextKeyTypes[e.Type] {
			return awsproto.Errorf(400, "InvalidInput", "Invalid context entry %d: a key name (1-256 characters) and a valid ContextKeyType are required.", i)
		}
		if e.Values, err = list(v, base+".ContextKeyValues", maxValues); err != nil {
			return err
		}
		c.ContextEntries = append(c.ContextEntries, e)
	}
	c.MaxItems = 1000
	if s := v.Get("MaxItems"); s != "" {
		if c.MaxItems, err = strconv.Atoi(s); err != nil || c.MaxItems < 1 || c.MaxItems > 1000 {
			return awsproto.ValidationError("1 validation error detected: Value '%s' at 'maxItems' failed to satisfy constraint: Member must have value between 1 and 1000", s)
		}
	}
	if s := v.Get("Marker"); s != "" {
		if c.Marker, err = strconv.Atoi(s); err != nil || c.Marker < 0 {
			return awsproto.Errorf(400, "InvalidInput", "Invalid Marker.")
		}
	}
	if len(c.ActionNames) == 0 {
		return awsproto.ValidationError("1 validation error detected: Value null at 'actionNames' failed to satisfy constraint: Member must not be null")
	}
	if len(c.ResourceArns) == 0 {
		c.ResourceArns = []string{"*"}
	}
	return nil
}

func (in *principalInput) DecodeQuery(v url.Values) error {
	if err := in.common.decode(v); err != nil {
		return err
	}
	in.PolicySourceArn = v.Get("PolicySourceArn")
	if in.PolicySourceArn == "" {
		return awsproto.ValidationError("1 validation error detected: Value null at 'policySourceArn' failed to satisfy constraint: Member must not be null")
	}
	var err error
	in.PolicyInputList, err = list(v, "PolicyInputList", maxPolicies)
	return err
}

func (in *customInput) DecodeQuery(v url.Values) error {
	if err := in.common.decode(v); err != nil {
		return err
	}
	var err error
	if in.PolicyInputList, err = list(v, "PolicyInputList", maxPolicies); err != nil {
		return err
	}
	if len(in.PolicyInputList) == 0 {
		return awsproto.ValidationError("1 validation error detected: Value null at 'policyInputList' failed to satisfy constraint: Member must not be null")
	}
	return nil
}

func parse(doc string, kind policy.Kind, id string) (*policy.Policy, error) {
	p, err := policy.ParseOptions([]byte(doc), policy.Options{Kind: kind, ID: id})
	if err != nil {
		var pe *policy.Error
		if errors.As(err, &pe) {
			return nil, awsproto.Errorf(400, "MalformedPolicyDocument", "%s", pe.Message())
		}
		return nil, awsproto.Errorf(400, "MalformedPolicyDocument", "Syntax errors in policy.")
	}
	return p, nil
}

func simulatePrincipal(ctx context.Context, l Loader, c *api.Call, in *principalInput) (any, error) {
	a, err := arn.Parse(in.PolicySourceArn)
	if err != nil || a.Service != "iam" && a.Service != "sts" {
		return nil, awsproto.Errorf(400, "InvalidInput", "Invalid ARN: %s", trunc(in.PolicySourceArn))
	}
	var kind store.EntityKind
	res := a.Resource
	switch {
	case strings.HasPrefix(res, "user/"):
		kind = store.EntityUser
	case strings.HasPrefix(res, "group/"):
		kind = store.EntityGroup
	case strings.HasPrefix(res, "role/"):
		kind = store.EntityRole
	case strings.HasPrefix(res, "assumed-role/"):
		kind, res = store.EntityRole, "role/"+strings.Split(res, "/")[1]
	default:
		return nil, awsproto.Errorf(400, "InvalidInput", "Invalid ARN: %s", trunc(in.PolicySourceArn))
	}
	name := res[strings.LastIndexByte(res, '/')+1:]
	id, err := l.EntityIdentity(ctx, a.Account, kind, name)
	if errors.Is(err, authz.ErrNoSuchPrincipal) {
		return nil, awsproto.Errorf(404, "NoSuchEntity", "The %s with name %s cannot be found.", kind, name)
	}
	if err != nil {
		return nil, err
	}
	set := policy.Set{Identity: append([]*policy.Policy(nil), id.Policies...), Boundary: id.Boundary}
	for i, doc := range in.PolicyInputList {
		p, err := parse(doc, policy.KindIdentity, "PolicyInputList."+strconv.Itoa(i+1))
		if err != nil {
			return nil, err
		}
		set.Identity = append(set.Identity, p)
	}
	caller := in.CallerArn
	if caller == "" {
		caller = in.PolicySourceArn
	}
	return run(c, &set, &in.common, caller, a.Account)
}

func simulateCustom(_ context.Context, c *api.Call, in *customInput) (any, error) {
	set := policy.Set{}
	for i, doc := range in.PolicyInputList {
		p, err := parse(doc, policy.KindIdentity, "PolicyInputList."+strconv.Itoa(i+1))
		if err != nil {
			return nil, err
		}
		set.Identity = append(set.Identity, p)
	}
	caller := in.CallerArn
	if caller == "" {
		caller = "arn:aws:iam::" + c.Principal.AccountID + ":user/simulated"
	}
	return run(c, &set, &in.common, caller, c.Principal.AccountID)
}

func run(c *api.Call, set *policy.Set, in *common, callerARN, account string) (any, error) {
	if len(in.BoundaryPolicyInput) > 1 {
		return nil, awsproto.Errorf(400, "InvalidInput", "At most one permissions boundary policy may be simulated.")
	}
	for _, doc := range in.BoundaryPolicyInput {
		p, err := parse(doc, policy.KindIdentity, "PermissionsBoundaryPolicyInputList.1")
		if err != nil {
			return nil, err
		}
		set.Boundary = p
	}
	if in.ResourcePolicy != "" {
		p, err := parse(in.ResourcePolicy, policy.KindResource, "ResourcePolicy")
		if err != nil {
			return nil, err
		}
		set.Resource = p
	}
	pc := &policy.Context{}
	for _, e := range in.ContextEntries {
		pc.Set(e.Key, e.Values...)
	}
	principal := policy.Principal{Type: policy.PrincipalIAM, ARN: callerARN, Account: account}
	if a, err := arn.Parse(callerARN); err == nil {
		principal.Account = a.Account
		if a.Resource == "root" {
			principal.Type = policy.PrincipalRoot
		}
	}
	var results []evaluationResult
	for _, action := range in.ActionNames {
		for _, res := range in.ResourceArns {
			req := policy.Request{Action: action, Resource: res, Principal: principal, Context: pc, ResourceAccount: in.ResourceOwner}
			if in.ResourceOwner != "" {
				if a, err := arn.Parse(in.ResourceOwner); err == nil {
					req.ResourceAccount = a.Account
				}
			} else if res != "*" {
				if a, err := arn.Parse(res); err == nil {
					req.ResourceAccount = a.Account
				}
			}
			sim := policy.Simulate(set, &req)
			results = append(results, toResult(action, res, set, &sim))
		}
	}
	out := &simulateResult{}
	start := min(in.Marker, len(results))
	end := min(start+in.MaxItems, len(results))
	out.EvaluationResults.Members = results[start:end]
	if end < len(results) {
		out.IsTruncated, out.Marker = true, strconv.Itoa(end)
	}
	return out, nil
}

type simulateResult struct {
	EvaluationResults struct {
		Members []evaluationResult `xml:"member"`
	} `xml:"EvaluationResults"`
	IsTruncated bool   `xml:"IsTruncated"`
	Marker      string `xml:"Marker,omitempty"`
}

type evaluationResult struct {
	EvalActionName    string `xml:"EvalActionName"`
	EvalResourceName  string `xml:"EvalResourceName"`
	EvalDecision      string `xml:"EvalDecision"`
	MatchedStatements struct {
		Members []statement `xml:"member"`
	} `xml:"MatchedStatements"`
	MissingContextValues struct {
		Members []string `xml:"member"`
	} `xml:"MissingContextValues"`
	EvalDecisionDetails *decisionDetails `xml:"EvalDecisionDetails,omitempty"`
	Boundary            *boundaryDetail  `xml:"PermissionsBoundaryDecisionDetail,omitempty"`
}

type boundaryDetail struct {
	Allowed bool `xml:"AllowedByPermissionsBoundary"`
}

type decisionDetails struct {
	Entries []mapEntry `xml:"entry"`
}

type mapEntry struct {
	Key   string `xml:"key"`
	Value string `xml:"value"`
}

type position struct {
	Line   int `xml:"Line"`
	Column int `xml:"Column"`
}

type statement struct {
	SourcePolicyID   string    `xml:"SourcePolicyId"`
	SourcePolicyType string    `xml:"SourcePolicyType"`
	StartPosition    *position `xml:"StartPosition,omitempty"`
	EndPosition      *position `xml:"EndPosition,omitempty"`
}

// sourcePolicyType is AWS's PolicySourceType for a matched statement.
func sourcePolicyType(ref policy.StatementRef) string {
	id := ref.PolicyID()
	switch {
	case ref.PolicyType() == policy.TypeResource:
		return "resource"
	case strings.HasPrefix(id, "arn:aws:iam::aws:policy/"):
		return "aws-managed"
	case strings.HasPrefix(id, "arn:aws:iam::"):
		return "user-managed"
	case strings.HasPrefix(id, "user/"):
		return "user"
	case strings.HasPrefix(id, "group/"):
		return "group"
	case strings.HasPrefix(id, "role/"):
		return "role"
	}
	return "IAM Policy"
}

func toResult(action, res string, set *policy.Set, sim *policy.Simulation) evaluationResult {
	r := evaluationResult{EvalActionName: action, EvalResourceName: res, EvalDecision: sim.Decision.Effect.String()}
	for _, m := range sim.Matched {
		st := statement{SourcePolicyID: m.PolicyID(), SourcePolicyType: sourcePolicyType(m)}
		if p := m.Policy(); p != nil && m.Index() < len(p.Statements()) {
			ps := p.Statements()[m.Index()]
			st.StartPosition = &position{Line: ps.Start.Line, Column: ps.Start.Column}
			st.EndPosition = &position{Line: ps.End.Line, Column: ps.End.Column}
		}
		r.MatchedStatements.Members = append(r.MatchedStatements.Members, st)
	}
	r.MissingContextValues.Members = sim.MissingKeys
	if set.Boundary != nil {
		r.Boundary = &boundaryDetail{sim.BoundaryAllows}
	}
	if set.Resource != nil {
		r.EvalDecisionDetails = &decisionDetails{Entries: []mapEntry{{"resource", resourceDecision(set, sim)}}}
	}
	return r
}

func resourceDecision(set *policy.Set, sim *policy.Simulation) string {
	for _, m := range sim.Matched {
		if m.PolicyType() == policy.TypeResource {
			return sim.Decision.Effect.String()
		}
	}
	return "implicitDeny"
}

func trunc(s string) string {
	if len(s) > 128 {
		return s[:128]
	}
	return s
}
