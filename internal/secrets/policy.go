package secrets

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"github.com/bulwark-security/bulwark/internal/api"
	"github.com/bulwark-security/bulwark/internal/policy"
	"github.com/bulwark-security/bulwark/internal/store"
)

// policyCache holds secrets' compiled resource policies by ARN, keyed by
// their text, so each is compiled once.
type policyCache struct {
	mu sync.RWMutex
	m  map[string]cachedPolicy
}

type cachedPolicy struct {
	text string
	p    *policy.Policy
}

const maxCachedPolicies = 10000

func (pc *policyCache) get(arn, text string) (*policy.Policy, error) {
	pc.mu.RLock()
	e, ok := pc.m[arn]
	pc.mu.RUnlock()
	if ok && e.text == text {
		return e.p, nil
	}
	p, err := policy.ParseOptions([]byte(text), policy.Options{Kind: policy.KindResource, ID: arn})
	if err != nil {
		return nil, err
	}
	pc.mu.Lock()
	if pc.m == nil || len(pc.m) >= maxCachedPolicies {
		pc.m = make(map[string]cachedPolicy)
	}
	pc.m[arn] = cachedPolicy{text: text, p: p}
	pc.mu.Unlock()
	return p, nil
}

// resourcePolicy is the action table's ResourcePolicy: the secret's policy,
// or nil when it has none or does not exist.
func (s *Service) resourcePolicy(ctx context.Context, c *api.Call, arn string) (*policy.Policy, error) {
	if v, ok := s.resolved.LoadAndDelete(c); ok {
		if sec := v.(*store.Secret); sec.ARN == arn {
			return s.policyOf(sec)
		}
	}
	sec, err := s.cfg.Store.GetSecret(ctx, arn)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("load resource policy of %s: %w", arn, err)
	}
	return s.policyOf(&sec)
}

func (s *Service) policyOf(sec *store.Secret) (*policy.Policy, error) {
	if sec.ResourcePolicy == "" {
		return nil, nil
	}
	p, err := s.policies.get(sec.ARN, sec.ResourcePolicy)
	if err != nil {
		// Stored policies were validated; fail closed if one no longer is.
		return nil, fmt.Errorf("compile resource policy of %s: %w", sec.ARN, err)
	}
	return p, nil
}

// ---- PutResourcePolicy / GetResourcePolicy / DeleteResourcePolicy

type putPolicyInput struct {
	SecretID          string `json:"SecretId"`
	ResourcePolicy    string `json:"ResourcePolicy"`
	BlockPublicPolicy *bool  `json:"BlockPublicPolicy"`
	found
}

func (in *putPolicyInput) secretID() string { return in.SecretID }

func (in *putPolicyInput) Validate() error {
	switch {
	case !validSecretID(in.SecretID):
		return invalidParam("SecretId must be between 1 and %d characters.", maxIDLen)
	case in.ResourcePolicy == "" || len(in.ResourcePolicy) > maxPolicyLen:
		return invalidParam("ResourcePolicy must be between 1 and %d characters.", maxPolicyLen)
	}
	return nil
}

func (in *putPolicyInput) block() bool { return in.BlockPublicPolicy != nil && *in.BlockPublicPolicy }

func (in *putPolicyInput) RequestContext(*api.Call) map[string][]string {
	m := in.context()
	if in.BlockPublicPolicy != nil {
		m[keyBlockPublic] = []string{strconv.FormatBool(*in.BlockPublicPolicy)}
	}
	return m
}

func (s *Service) putResourcePolicy(ctx context.Context, _ *api.Call, in *putPolicyInput) (any, error) {
	sec, err := in.live()
	if err != nil {
		return nil, err
	}
	p, err := parsePolicy(in.ResourcePolicy)
	if err != nil {
		return nil, err
	}
	if in.block() && grantsPublicAccess(p) {
		return nil, fail(codePublicPolicy, "This resource policy contains a statement that grants public access to the secret. Remove the statement or set BlockPublicPolicy to false.")
	}
	up, err := s.mutate(ctx, sec.ARN, func(m *store.Secret) error {
		m.ResourcePolicy = in.ResourcePolicy
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &arnNameOutput{ARN: up.ARN, Name: up.Name}, nil
}

// parsePolicy validates a resource policy as Secrets Manager stores it.
func parsePolicy(doc string) (*policy.Policy, error) {
	p, err := policy.Parse([]byte(doc), policy.KindResource)
	if err == nil {
		return p, nil
	}
	var pe *policy.Error
	if errors.As(err, &pe) && pe.Code == policy.CodeLimitExceeded {
		return nil, fail(codeLimit, "%s", pe.Message())
	}
	if errors.As(err, &pe) {
		return nil, fail(codeMalformed, "%s", pe.Message())
	}
	return nil, fail(codeMalformed, "Syntax errors in policy.")
}

type getPolicyOutput struct {
	ARN            string `json:"ARN"`
	Name           string `json:"Name"`
	ResourcePolicy string `json:"ResourcePolicy,omitempty"`
}

func (s *Service) getResourcePolicy(_ context.Context, _ *api.Call, in *secretIDInput) (any, error) {
	sec, err := in.get()
	if err != nil {
		return nil, err
	}
	return &getPolicyOutput{ARN: sec.ARN, Name: sec.Name, ResourcePolicy: sec.ResourcePolicy}, nil
}

func (s *Service) deleteResourcePolicy(ctx context.Context, _ *api.Call, in *secretIDInput) (any, error) {
	sec, err := in.live()
	if err != nil {
		return nil, err
	}
	up, err := s.mutate(ctx, sec.ARN, func(m *store.Secret) error {
		m.ResourcePolicy = ""
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &arnNameOutput{ARN: up.ARN, Name: up.Name}, nil
}

// ---- ValidateResourcePolicy

type validatePolicyInput struct {
	SecretID       string `json:"SecretId"`
	ResourcePolicy string `json:"ResourcePolicy"`
	found
}

func (in *validatePolicyInput) secretID() string { return in.SecretID }

func (in *validatePolicyInput) Validate() error {
	switch {
	case in.SecretID != "" && !validSecretID(in.SecretID):
		return invalidParam("SecretId must be between 1 and %d characters.", maxIDLen)
	case in.ResourcePolicy == "" || len(in.ResourcePolicy) > maxPolicyLen:
		return invalidParam("ResourcePolicy must be between 1 and %d characters.", maxPolicyLen)
	}
	return nil
}

// resValidate authorises ValidateResourcePolicy on the secret if one is
// named, else on "*".
func (s *Service) resValidate(c *api.Call, in *validatePolicyInput) []string {
	if in.SecretID == "" {
		in.arn = "*"
		return []string{"*"}
	}
	s.resolve(c, in.SecretID, &in.found)
	return []string{in.arn}
}

func (in *validatePolicyInput) RequestContext(*api.Call) map[string][]string {
	if in.SecretID == "" {
		return nil
	}
	return in.context()
}

type validationError struct {
	CheckName    string `json:"CheckName"`
	ErrorMessage string `json:"ErrorMessage"`
}

type validatePolicyOutput struct {
	PolicyValidationPassed bool              `json:"PolicyValidationPassed"`
	ValidationErrors       []validationError `json:"ValidationErrors"`
}

// Check names of ValidateResourcePolicy's findings.
const (
	checkSyntax = "POLICY_SYNTAX_CHECK"
	checkPublic = "PUBLIC_ACCESS_CHECK"
)

func (s *Service) validateResourcePolicy(_ context.Context, _ *api.Call, in *validatePolicyInput) (any, error) {
	if in.SecretID != "" {
		if _, err := in.get(); err != nil {
			return nil, err
		}
	}
	out := &validatePolicyOutput{ValidationErrors: []validationError{}}
	p, err := policy.Parse([]byte(in.ResourcePolicy), policy.KindResource)
	var pe *policy.Error
	switch {
	case errors.As(err, &pe):
		for _, pr := range pe.Problems {
			out.ValidationErrors = append(out.ValidationErrors, validationError{CheckName: checkSyntax, ErrorMessage: pr.Message})
		}
	case err != nil:
		out.ValidationErrors = append(out.ValidationErrors, validationError{CheckName: checkSyntax, ErrorMessage: "Syntax errors in policy."})
	case grantsPublicAccess(p):
		out.ValidationErrors = append(out.ValidationErrors, validationError{CheckName: checkPublic,
			ErrorMessage: "The policy grants access to the secret to anyone (a wildcard principal without a condition that limits it to known accounts or organizations)."})
	}
	out.PolicyValidationPassed = len(out.ValidationErrors) == 0
	return out, nil
}

// restrictingKeys are the condition keys that tie a wildcard principal to
// known accounts, organizations or networks, so the statement is not
// public (the keys AWS's block public access analysis accepts).
var restrictingKeys = map[string]bool{
	"aws:principalaccount": true, "aws:principalarn": true, "aws:principalorgid": true,
	"aws:principalorgpaths": true, "aws:sourceaccount": true, "aws:sourcearn": true,
	"aws:sourceowner": true, "aws:sourcevpc": true, "aws:sourcevpce": true, "aws:userid": true,
	"aws:sourceip": true, "kms:calleraccount": true, "aws:sourceorgid": true, "aws:sourceorgpaths": true,
}

// grantsPublicAccess reports whether an Allow statement grants access to
// any principal (Principal "*", an AWS principal with a wildcard, or
// NotPrincipal) without a positive, wildcard-free condition on a key that
// restricts who the caller is.
func grantsPublicAccess(p *policy.Policy) bool {
	for _, st := range p.Statements() {
		if st.Effect != policy.EffectAllow {
			continue
		}
		if !wildcardPrincipal(st.Principal) && st.NotPrincipal == nil {
			continue
		}
		if !restricted(st.Condition) {
			return true
		}
	}
	return false
}

func wildcardPrincipal(ps *policy.Principals) bool {
	if ps == nil {
		return false
	}
	if ps.Wildcard {
		return true
	}
	for _, a := range ps.AWS {
		if strings.Contains(a, "*") {
			return true
		}
	}
	return false
}

func restricted(cs []policy.Condition) bool {
	for _, c := range cs {
		if !restrictingKeys[strings.ToLower(c.Key)] {
			continue
		}
		op := strings.ToLower(c.Operator)
		if strings.Contains(op, "not") || strings.HasSuffix(op, "ifexists") || strings.HasPrefix(op, "forallvalues:") || op == "null" {
			continue
		}
		open := false
		for _, v := range c.Values {
			if strings.ContainsAny(v, "*?") || v == "0.0.0.0/0" || v == "::/0" {
				open = true
			}
		}
		if !open && len(c.Values) > 0 {
			return true
		}
	}
	return false
}
