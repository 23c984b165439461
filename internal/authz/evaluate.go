package authz

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/bulwark-security/bulwark/internal/api"
	"github.com/bulwark-security/bulwark/internal/arn"
	"github.com/bulwark-security/bulwark/internal/policy"
)

// Source supplies the policies of principals.
type Source interface {
	Identity(ctx context.Context, p *api.Principal) (*Identity, error)
	SessionPolicies(ctx context.Context, p *api.Principal) ([]*policy.Policy, error)
}

// Policies is the authorizer that evaluates IAM policies: the principal's
// identity-based policies, its permissions boundary, its session policies
// and the resource's resource-based policy, with AWS's evaluation logic
// (internal/policy). It fails closed: any error loading policies denies.
type Policies struct {
	Source Source
}

var ctxPool = sync.Pool{New: func() any { return new(policy.Context) }}

// Authorize implements Authorizer.
func (a *Policies) Authorize(ctx context.Context, req *Request) (Decision, error) {
	if req.Action.AlwaysAllowed {
		return Decision{Allowed: true}, nil
	}
	c, p := req.Call, req.Call.Principal
	set := policy.Set{Resource: req.ResourcePolicy, RequireResourceAllow: req.RequireResourceAllow}
	var tags []api.Tag
	if !p.IsRoot() {
		id, err := a.Source.Identity(ctx, p)
		if errors.Is(err, ErrNoSuchPrincipal) {
			return Decision{Resource: firstResource(req.Resources), Reason: NoIdentityPolicy}, nil
		}
		if err != nil {
			return Decision{}, err
		}
		set.Identity, set.Boundary = id.Policies, id.Boundary
		for _, t := range id.Tags {
			tags = append(tags, api.Tag{Key: t.Key, Value: t.Value})
		}
		if set.Session, err = a.Source.SessionPolicies(ctx, p); err != nil {
			return Decision{}, err
		}
	}
	// Session tags override the principal's tags with the same key.
	tags = append(tags, p.Tags...)

	pc := ctxPool.Get().(*policy.Context)
	defer func() { pc.Reset(); ctxPool.Put(pc) }()
	fillContext(pc, c, tags, req.Context)

	preq := policy.Request{Action: req.Action.IAMAction, Principal: PolicyPrincipal(p), Context: pc}
	resources := req.Resources
	if len(resources) == 0 {
		resources = []string{"*"}
	}
	for _, res := range resources {
		preq.Resource = res
		preq.ResourceAccount = resourceAccount(res)
		d := policy.Evaluate(&set, &preq)
		if !d.Allowed() {
			return Decision{Resource: res, Reason: reasonOf(&d), Policy: &d}, nil
		}
	}
	return Decision{Allowed: true}, nil
}

func firstResource(rs []string) string {
	if len(rs) == 0 {
		return "*"
	}
	return rs[0]
}

// resourceAccount is the account field of an ARN ("" for "*" or ARNs
// without one, meaning the caller's).
func resourceAccount(res string) string {
	if res == "*" {
		return ""
	}
	a, err := arn.Parse(res)
	if err != nil {
		return ""
	}
	return a.Account
}

func reasonOf(d *policy.Decision) Reason {
	switch d.Reason {
	case policy.ReasonExplicitDeny:
		for _, st := range d.Statements() {
			if st.PolicyType() == policy.TypeResource {
				return ExplicitDenyResource
			}
		}
		return ExplicitDenyIdentity
	case policy.ReasonNoBoundaryAllow:
		return NoBoundaryAllow
	case policy.ReasonNoSessionAllow:
		return NoSessionPolicyAllow
	case policy.ReasonNoResourceAllow:
		return NoResourceAllow
	}
	return NoIdentityPolicy
}

// PolicyPrincipal describes an authenticated caller to the policy engine.
func PolicyPrincipal(p *api.Principal) policy.Principal {
	pp := policy.Principal{Type: policy.PrincipalIAM, ARN: p.ARN, Account: p.AccountID}
	switch {
	case p.IsRoot():
		pp.Type = policy.PrincipalRoot
	case p.RoleARN != "":
		pp.IssuerARN = p.RoleARN
	}
	return pp
}

// PrincipalARN is aws:PrincipalArn: the role's ARN for a role session (not
// the session's), the user's or root's ARN otherwise.
func PrincipalARN(p *api.Principal) string {
	if p.RoleARN != "" {
		return p.RoleARN
	}
	return p.ARN
}

// principalType is aws:PrincipalType.
func principalType(p *api.Principal) string {
	switch {
	case p.IsRoot():
		return "Account"
	case p.RoleARN != "":
		return "AssumedRole"
	case p.Type == "FederatedUser":
		return "FederatedUser"
	}
	return "User"
}

// fillContext sets the global condition keys AWS supplies on every request
// (IAM User Guide, "AWS global condition context keys") and the action's
// request-specific keys.
func fillContext(pc *policy.Context, c *api.Call, tags []api.Tag, extra map[string][]string) {
	p := c.Principal
	t := c.Time.UTC()
	pc.Set("aws:CurrentTime", t.Format(time.RFC3339))
	pc.Set("aws:EpochTime", strconv.FormatInt(t.Unix(), 10))
	if c.SourceIP.IsValid() {
		pc.Set("aws:SourceIp", c.SourceIP.String())
	}
	pc.Set("aws:SecureTransport", strconv.FormatBool(c.SecureTransport))
	pc.Set("aws:RequestedRegion", c.Region)
	if c.UserAgent != "" {
		pc.Set("aws:UserAgent", c.UserAgent)
	}
	pc.Set("aws:PrincipalArn", PrincipalARN(p))
	pc.Set("aws:PrincipalAccount", p.AccountID)
	pc.Set("aws:PrincipalType", principalType(p))
	pc.Set("aws:userid", p.UserID)
	if p.Type == "IAMUser" {
		pc.Set("aws:username", p.UserName)
	}
	pc.Set("aws:ViaAWSService", "false")
	if p.Temporary {
		// Present only for temporary credentials, as AWS documents: a
		// long-term key leaves aws:MultiFactorAuthPresent absent.
		pc.Set("aws:MultiFactorAuthPresent", strconv.FormatBool(p.MFAPresent))
		pc.Set("aws:TokenIssueTime", p.IssuedAt.UTC().Format(time.RFC3339))
	}
	if p.SourceIdentity != "" {
		pc.Set("aws:SourceIdentity", p.SourceIdentity)
	}
	for _, tg := range tags {
		pc.Set("aws:PrincipalTag/"+tg.Key, tg.Value)
	}
	for k, vs := range extra {
		if strings.TrimSpace(k) != "" {
			pc.Set(k, vs...)
		}
	}
}
