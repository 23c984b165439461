package policybench

import (
	"context"
	"fmt"
	"strings"

	"github.com/cedar-policy/cedar-go"
	"github.com/cedar-policy/cedar-go/types"
	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"

	"github.com/bulwark-security/bulwark/internal/policy"
)

// Decision is an engine's answer in the three IAM outcomes.
type Decision = policy.Effect

// Bulwark holds the compiled IAM policies of every role.
type Bulwark struct {
	sets      []*policy.Set
	principal []policy.Principal
}

// NewBulwark parses and compiles the authorization set.
func NewBulwark() (*Bulwark, error) {
	b := &Bulwark{}
	for r := range Roles {
		s := &policy.Set{}
		for i, doc := range IAMPolicies(r) {
			id := fmt.Sprintf("arn:aws:iam::%s:policy/%s-p%d", Account, RoleName(r), i)
			p, err := policy.ParseOptions([]byte(doc), policy.Options{ID: id})
			if err != nil {
				return nil, fmt.Errorf("parse %s: %w", id, err)
			}
			s.Identity = append(s.Identity, p)
		}
		b.sets = append(b.sets, s)
		b.principal = append(b.principal, policy.Principal{
			ARN:       fmt.Sprintf("arn:aws:sts::%s:assumed-role/%s/i-0abc", Account, RoleName(r)),
			IssuerARN: fmt.Sprintf("arn:aws:iam::%s:role/%s", Account, RoleName(r)),
			Account:   Account,
		})
	}
	return b, nil
}

// Decide fills ctx (reused by the caller, one per goroutine) from q and
// evaluates; it allocates nothing once ctx has grown.
func (b *Bulwark) Decide(ctx *policy.Context, q *Request) Decision {
	ctx.Reset()
	setIf(ctx, "aws:PrincipalTag/team", q.Team)
	setIf(ctx, "aws:SourceIp", q.SourceIP)
	setIf(ctx, "aws:CurrentTime", q.CurrentTime)
	setIf(ctx, "aws:MultiFactorAuthPresent", q.MFA)
	setIf(ctx, "aws:SecureTransport", q.SecureTransport)
	setIf(ctx, "aws:ResourceTag/access", q.ResourceAccess)
	req := b.request(ctx, q)
	return policy.Evaluate(b.sets[q.Role], &req).Effect
}

func (b *Bulwark) request(ctx *policy.Context, q *Request) policy.Request {
	return policy.Request{
		Action:          q.Action,
		Resource:        q.Resource,
		ResourceAccount: Account,
		Principal:       b.principal[q.Role],
		Context:         ctx,
	}
}

func setIf(ctx *policy.Context, k, v string) {
	if v != "" {
		ctx.Set(k, v)
	}
}

// OPA is the Rego version of the set as a prepared query.
type OPA struct {
	pq rego.PreparedEvalQuery
}

// NewOPA compiles the Rego module and prepares the decision query.
func NewOPA(ctx context.Context) (*OPA, error) { return newOPASource(ctx, RegoSource()) }

func newOPASource(ctx context.Context, src string) (*OPA, error) {
	pq, err := rego.New(
		rego.Query("data.bulwark.authz.decision"),
		rego.Module("authz.rego", src),
	).PrepareForEval(ctx)
	if err != nil {
		return nil, fmt.Errorf("prepare rego: %w", err)
	}
	return &OPA{pq: pq}, nil
}

// Input converts q to OPA's parsed input once, so that the measured work is
// the decision, not JSON conversion.
func (o *OPA) Input(q *Request) (ast.Value, error) {
	c := map[string]any{}
	for k, v := range map[string]string{
		"aws:PrincipalTag/team":      q.Team,
		"aws:SourceIp":               q.SourceIP,
		"aws:CurrentTime":            q.CurrentTime,
		"aws:MultiFactorAuthPresent": q.MFA,
		"aws:SecureTransport":        q.SecureTransport,
		"aws:ResourceTag/access":     q.ResourceAccess,
	} {
		if v != "" {
			c[k] = v
		}
	}
	return ast.InterfaceToValue(map[string]any{
		"role": RoleName(q.Role), "action": q.Action, "resource": q.Resource, "context": c,
	})
}

// Decide evaluates the prepared query on a prepared input.
func (o *OPA) Decide(ctx context.Context, input ast.Value) (Decision, error) {
	rs, err := o.pq.Eval(ctx, rego.EvalParsedInput(input))
	if err != nil {
		return policy.ImplicitDeny, fmt.Errorf("eval rego: %w", err)
	}
	if len(rs) != 1 || len(rs[0].Expressions) != 1 {
		return policy.ImplicitDeny, fmt.Errorf("eval rego: unexpected result %v", rs)
	}
	switch rs[0].Expressions[0].Value {
	case "allow":
		return policy.Allow, nil
	case "explicitDeny":
		return policy.ExplicitDeny, nil
	case "implicitDeny":
		return policy.ImplicitDeny, nil
	}
	return policy.ImplicitDeny, fmt.Errorf("eval rego: unexpected decision %v", rs[0].Expressions[0].Value)
}

// Cedar is the Cedar version of the set with its entities: roles, actions
// (members of the wildcard action groups) and resources (with their ARN).
type Cedar struct {
	ps       *cedar.PolicySet
	entities types.EntityMap
}

// NewCedar parses the policies and builds the action entities.
func NewCedar() (*Cedar, error) {
	ps, err := cedar.NewPolicySetFromBytes("authz.cedar", []byte(CedarSource()))
	if err != nil {
		return nil, fmt.Errorf("parse cedar: %w", err)
	}
	c := &Cedar{ps: ps, entities: types.EntityMap{}}
	for _, g := range ActionGroups {
		uid := types.NewEntityUID("Action", types.String(g))
		c.entities[uid] = types.Entity{UID: uid}
	}
	for _, a := range Actions {
		var parents []types.EntityUID
		for _, g := range ActionGroups {
			if prefix, ok := strings.CutSuffix(g, "*"); ok && strings.HasPrefix(a, prefix) {
				parents = append(parents, types.NewEntityUID("Action", types.String(g)))
			}
		}
		uid := types.NewEntityUID("Action", types.String(a))
		c.entities[uid] = types.Entity{UID: uid, Parents: types.NewEntityUIDSet(parents...)}
	}
	return c, nil
}

// Request converts q to a Cedar request, adding its resource entity; done
// once per request so that the measured work is the decision.
func (c *Cedar) Request(q *Request) (cedar.Request, error) {
	res := types.NewEntityUID("Resource", types.String(q.Resource))
	c.entities[res] = types.Entity{UID: res, Attributes: types.NewRecord(types.RecordMap{"arn": types.String(q.Resource)})}
	m := types.RecordMap{}
	if q.Team != "" {
		m["team"] = types.String(q.Team)
	}
	if q.SourceIP != "" {
		ip, err := types.ParseIPAddr(q.SourceIP)
		if err != nil {
			return cedar.Request{}, fmt.Errorf("source ip %q: %w", q.SourceIP, err)
		}
		m["sourceIp"] = ip
	}
	if q.CurrentTime != "" {
		t, err := types.ParseDatetime(q.CurrentTime)
		if err != nil {
			return cedar.Request{}, fmt.Errorf("current time %q: %w", q.CurrentTime, err)
		}
		m["now"] = t
	}
	if q.MFA != "" {
		m["mfa"] = types.Boolean(strings.EqualFold(q.MFA, "true"))
	}
	if q.SecureTransport != "" {
		m["secureTransport"] = types.Boolean(strings.EqualFold(q.SecureTransport, "true"))
	}
	if q.ResourceAccess != "" {
		m["resourceAccess"] = types.String(q.ResourceAccess)
	}
	return cedar.Request{
		Principal: types.NewEntityUID("Role", types.String(RoleName(q.Role))),
		Action:    types.NewEntityUID("Action", types.String(q.Action)),
		Resource:  res,
		Context:   types.NewRecord(m),
	}, nil
}

// Decide authorizes a prepared request. A Deny with reasons is an explicit
// deny (a forbid matched); without, nothing permitted it.
func (c *Cedar) Decide(req cedar.Request) (Decision, error) {
	d, diag := cedar.Authorize(c.ps, c.entities, req)
	if len(diag.Errors) > 0 {
		return policy.ImplicitDeny, fmt.Errorf("cedar: %v", diag.Errors)
	}
	switch {
	case d == cedar.Allow:
		return policy.Allow, nil
	case len(diag.Reasons) > 0:
		return policy.ExplicitDeny, nil
	}
	return policy.ImplicitDeny, nil
}
