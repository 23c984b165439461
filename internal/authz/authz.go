// Package authz decides whether an authenticated call may run. The server
// asks it before every handler; no handler can skip it. It turns the call
// (principal, IAM action, resources, condition keys) into a decision and, on
// denial, into the AccessDenied error AWS would send.
package authz

import (
	"context"
	"fmt"

	"github.com/bulwark-security/bulwark/internal/api"
	"github.com/bulwark-security/bulwark/internal/awsproto"
	"github.com/bulwark-security/bulwark/internal/policy"
)

// Request is one authorisation question.
type Request struct {
	Call      *api.Call
	Action    *api.Action
	Resources []string
	// Context holds the action's request-specific condition keys.
	Context map[string][]string
	// ResourcePolicy is the resource's resource-based policy (a role's trust
	// policy for sts:AssumeRole), or nil.
	ResourcePolicy *policy.Policy
	// RequireResourceAllow: the resource policy must allow even within the
	// account (KMS key policies, role trust policies).
	RequireResourceAllow bool
}

// Reason says why a request was denied, in the words AWS's AccessDenied
// messages use.
type Reason int

const (
	// NoIdentityPolicy: no identity-based policy allows the action.
	NoIdentityPolicy Reason = iota + 1
	// ExplicitDenyIdentity: an explicit deny in an identity-based policy.
	ExplicitDenyIdentity
	// ExplicitDenyResource: an explicit deny in a resource-based policy.
	ExplicitDenyResource
	// NoBoundaryAllow: the permissions boundary does not allow the action.
	NoBoundaryAllow
	// NoSessionPolicyAllow: the session policy does not allow the action.
	NoSessionPolicyAllow
	// NoResourceAllow: the resource-based policy does not allow the action.
	NoResourceAllow
)

// Decision is the outcome for one request.
type Decision struct {
	Allowed bool
	// Resource is the resource the denial concerns (the first denied one).
	Resource string
	Reason   Reason
	// Policy is the policy engine's decision, when policies were evaluated
	// (for simulation and explanations); nil otherwise.
	Policy *policy.Decision
}

// Authorizer decides requests. Implementations fail closed: an error means
// deny.
type Authorizer interface {
	Authorize(ctx context.Context, req *Request) (Decision, error)
}

// RootOnly is the authorizer before any policy exists: the account's root
// principal may do anything in its own account, every other principal is
// denied (AWS's answer for a principal with no policies), and actions AWS
// answers without permission (sts:GetCallerIdentity) are allowed.
type RootOnly struct{}

// Authorize implements Authorizer.
func (RootOnly) Authorize(_ context.Context, req *Request) (Decision, error) {
	if req.Action.AlwaysAllowed {
		return Decision{Allowed: true}, nil
	}
	if req.Call.Principal.IsRoot() {
		return Decision{Allowed: true}, nil
	}
	res := "*"
	if len(req.Resources) > 0 {
		res = req.Resources[0]
	}
	return Decision{Resource: res, Reason: NoIdentityPolicy}, nil
}

// Denied builds the AccessDenied error for a denied request, as AWS words
// it: "User: <arn> is not authorized to perform: <action> on resource:
// <arn> because no identity-based policy allows the <action> action".
func Denied(c *api.Call, d Decision) *awsproto.Error {
	act := c.Action.IAMAction
	var why string
	switch d.Reason {
	case ExplicitDenyIdentity:
		why = "with an explicit deny in an identity-based policy"
	case ExplicitDenyResource:
		why = "with an explicit deny in a resource-based policy"
	case NoBoundaryAllow:
		why = "because no permissions boundary allows the " + act + " action"
	case NoSessionPolicyAllow:
		why = "because no session policy allows the " + act + " action"
	case NoResourceAllow:
		why = "because no resource-based policy allows the " + act + " action"
	default:
		why = "because no identity-based policy allows the " + act + " action"
	}
	msg := fmt.Sprintf("User: %s is not authorized to perform: %s on resource: %s %s",
		c.Principal.ARN, act, d.Resource, why)
	return &awsproto.Error{Code: c.Service.AccessDeniedCode, Status: c.Service.AccessDeniedStatus, Sender: true, Message: msg}
}
