package sts

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/bulwark-security/bulwark/internal/api"
	"github.com/bulwark-security/bulwark/internal/arn"
	"github.com/bulwark-security/bulwark/internal/awsproto"
	"github.com/bulwark-security/bulwark/internal/credentials"
	"github.com/bulwark-security/bulwark/internal/policy"
	"github.com/bulwark-security/bulwark/internal/session"
	"github.com/bulwark-security/bulwark/internal/store"
)

type assumeRoleInput struct {
	RoleArn           string
	RoleSessionName   string
	DurationSeconds   int
	durationGiven     bool
	Policy            string
	PolicyArns        []string
	Tags              []api.Tag
	TransitiveTagKeys []string
	ExternalID        string
	SourceIdentity    string
	SerialNumber      string
}

func (in *assumeRoleInput) DecodeQuery(v url.Values) error {
	in.RoleArn, in.RoleSessionName = v.Get("RoleArn"), v.Get("RoleSessionName")
	in.Policy, in.ExternalID, in.SourceIdentity = v.Get("Policy"), v.Get("ExternalId"), v.Get("SourceIdentity")
	in.SerialNumber = v.Get("SerialNumber")
	var err error
	if in.DurationSeconds, in.durationGiven, err = duration(v, 3600); err != nil {
		return err
	}
	var arns []string
	for i := 1; ; i++ {
		a, ok := v[fmt.Sprintf("PolicyArns.member.%d.arn", i)]
		if !ok {
			break
		}
		if len(arns) >= maxPolicyARNs {
			return awsproto.ValidationError("1 validation error detected: Value at 'policyArns' failed to satisfy constraint: Member must have length less than or equal to %d", maxPolicyARNs)
		}
		arns = append(arns, a[0])
	}
	in.PolicyArns = arns
	if in.Tags, err = tags(v, "Tags", maxSessionTags); err != nil {
		return err
	}
	in.TransitiveTagKeys, err = members(v, "TransitiveTagKeys", maxSessionTags)
	return err
}

func (in *assumeRoleInput) Validate() error {
	switch {
	case in.RoleArn == "":
		return awsproto.ValidationError("1 validation error detected: Value null at 'roleArn' failed to satisfy constraint: Member must not be null")
	case len(in.RoleArn) < 20 || len(in.RoleArn) > 2048:
		return validation(in.RoleArn, "roleArn", "Member must have length greater than or equal to 20")
	case in.RoleSessionName == "":
		return awsproto.ValidationError("1 validation error detected: Value null at 'roleSessionName' failed to satisfy constraint: Member must not be null")
	case !sessionNameRE.MatchString(in.RoleSessionName):
		return validation(in.RoleSessionName, "roleSessionName", `Member must satisfy regular expression pattern: [\w+=,.@-]*`)
	case in.ExternalID != "" && (len(in.ExternalID) < 2 || len(in.ExternalID) > 1224 || !externalIDRE.MatchString(in.ExternalID)):
		return validation(in.ExternalID, "externalId", `Member must satisfy regular expression pattern: [\w+=,.@:\/-]*`)
	case in.SourceIdentity != "" && !sourceIdentRE.MatchString(in.SourceIdentity):
		return validation(in.SourceIdentity, "sourceIdentity", `Member must satisfy regular expression pattern: [\w+=,.@-]*`)
	}
	if _, err := arn.Parse(in.RoleArn); err != nil {
		return validation(in.RoleArn, "roleArn", "Member must be a valid ARN")
	}
	for _, a := range in.PolicyArns {
		if _, err := arn.Parse(a); err != nil || len(a) < 20 {
			return validation(a, "policyArns.member.arn", "Member must be a valid ARN")
		}
	}
	tagKeys := map[string]bool{}
	for _, t := range in.Tags {
		tagKeys[strings.ToLower(t.Key)] = true
	}
	for _, k := range in.TransitiveTagKeys {
		if !tagKeys[strings.ToLower(k)] {
			return awsproto.Errorf(400, "InvalidParameterValue", "The specified transitive tag key must be included in the requested tags.")
		}
	}
	return nil
}

// RequestContext supplies the keys trust policies test (STS API reference
// and "Available keys for AWS STS").
func (in *assumeRoleInput) RequestContext(*api.Call) map[string][]string {
	m := map[string][]string{"sts:RoleSessionName": {in.RoleSessionName}}
	if in.ExternalID != "" {
		m["sts:ExternalId"] = []string{in.ExternalID}
	}
	if in.SourceIdentity != "" {
		m["sts:SourceIdentity"] = []string{in.SourceIdentity}
	}
	addTagContext(m, in.Tags)
	if len(in.TransitiveTagKeys) > 0 {
		m["sts:TransitiveTagKeys"] = in.TransitiveTagKeys
	}
	return m
}

func addTagContext(m map[string][]string, tags []api.Tag) {
	for _, t := range tags {
		m["aws:RequestTag/"+t.Key] = []string{t.Value}
		m["aws:TagKeys"] = append(m["aws:TagKeys"], t.Key)
	}
}

// roleName returns the account and name of a role ARN
// (arn:aws:iam::<acct>:role/<path/>name).
func roleName(roleARN string) (account, name string, ok bool) {
	a, err := arn.Parse(roleARN)
	if err != nil || a.Service != "iam" || !strings.HasPrefix(a.Resource, "role/") {
		return "", "", false
	}
	res := a.Resource[len("role/"):]
	name = res[strings.LastIndexByte(res, '/')+1:]
	return a.Account, name, name != ""
}

// trustPolicy loads a role's trust policy for authorisation. A role that
// does not exist has none, and the call is then denied like any other
// unauthorised AssumeRole (AWS does not reveal whether the role exists).
func (s *Service) trustPolicy(ctx context.Context, _ *api.Call, resource string) (*policy.Policy, error) {
	if err := s.ready(); err != nil {
		return nil, awsproto.InternalFailure(err)
	}
	account, name, ok := roleName(resource)
	if !ok {
		return nil, nil
	}
	r, err := s.cfg.IAM.GetRole(ctx, account, name)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, awsproto.InternalFailure(fmt.Errorf("load role %s: %w", name, err))
	}
	if r.ARN != resource {
		return nil, nil // a wrong path names another (non-existent) role
	}
	p, err := policy.ParseOptions([]byte(r.AssumeRolePolicyDocument), policy.Options{Kind: policy.KindTrust, SizeLimit: -1, ID: r.ARN + "/trust-policy"})
	if err != nil {
		return nil, awsproto.InternalFailure(fmt.Errorf("compile trust policy of %s: %w", name, err))
	}
	return p, nil
}

type assumedRoleUser struct {
	AssumedRoleID string `xml:"AssumedRoleId"`
	Arn           string `xml:"Arn"`
}

type assumeRoleResult struct {
	Credentials      credentialsXML  `xml:"Credentials"`
	AssumedRoleUser  assumedRoleUser `xml:"AssumedRoleUser"`
	PackedPolicySize int             `xml:"PackedPolicySize,omitempty"`
	SourceIdentity   string          `xml:"SourceIdentity,omitempty"`
}

func (s *Service) assumeRole(ctx context.Context, c *api.Call, in *assumeRoleInput) (any, error) {
	if err := s.ready(); err != nil {
		return nil, err
	}
	caller := c.Principal
	if caller.IsRoot() {
		return nil, awsproto.Errorf(403, "AccessDenied", "Roles may not be assumed by root accounts.")
	}
	if in.SerialNumber != "" {
		return nil, awsproto.Errorf(403, "AccessDenied", "MultiFactorAuthentication failed, unable to validate MFA code.")
	}
	account, name, _ := roleName(in.RoleArn)
	role, err := s.cfg.IAM.GetRole(ctx, account, name)
	if err != nil {
		return nil, fmt.Errorf("load role %s: %w", name, err) // authorised a moment ago: a race with DeleteRole
	}

	// Durations: the role's maximum, one hour for role chaining.
	chained := caller.RoleARN != ""
	if chained && in.durationGiven && in.DurationSeconds > 3600 {
		return nil, awsproto.ValidationError("The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.")
	}
	if in.DurationSeconds > role.MaxSessionDuration {
		return nil, awsproto.ValidationError("The requested DurationSeconds exceeds the MaxSessionDuration set for this role.")
	}

	// Session policies: validated now, enforced on every later call.
	policyJSON, packed, err := s.sessionPolicies(ctx, in.Policy, in.PolicyArns)
	if err != nil {
		return nil, err
	}
	in.Policy = policyJSON

	// Session tags need sts:TagSession; transitive tags of a chained
	// session carry over and cannot be overridden.
	sessTags, transitive := in.Tags, in.TransitiveTagKeys
	if chained {
		for _, k := range caller.TransitiveTagKeys {
			for _, t := range caller.Tags {
				if !strings.EqualFold(t.Key, k) {
					continue
				}
				for _, nt := range in.Tags {
					if strings.EqualFold(nt.Key, k) {
						return nil, awsproto.Errorf(400, "InvalidParameterValue", "One or more session tags cannot be overridden because they were set as transitive tags by a previous session.")
					}
				}
				sessTags = append(sessTags, t)
				transitive = append(transitive, t.Key)
			}
		}
	}
	for _, t := range sessTags {
		packed += len(t.Key) + len(t.Value)
	}
	if packed > maxPackedPolicy {
		return nil, awsproto.Errorf(400, "PackedPolicyTooLarge", "Packed size of the session policies and session tags exceeds the limit (%d%%).", packed*100/maxPackedPolicy)
	}
	if len(in.Tags) > 0 {
		rctx := map[string][]string{}
		addTagContext(rctx, in.Tags)
		if err := s.authorizeExtra(ctx, c, "sts:TagSession", in.RoleArn, rctx); err != nil {
			return nil, err
		}
	}
	sourceIdentity := caller.SourceIdentity
	if in.SourceIdentity != "" {
		if sourceIdentity != "" && sourceIdentity != in.SourceIdentity {
			return nil, awsproto.Errorf(403, "AccessDenied", "The source identity cannot be changed once set in a role session.")
		}
		if err := s.authorizeExtra(ctx, c, "sts:SetSourceIdentity", in.RoleArn,
			map[string][]string{"sts:SourceIdentity": {in.SourceIdentity}}); err != nil {
			return nil, err
		}
		sourceIdentity = in.SourceIdentity
	}

	now := s.cfg.Now().UTC().Truncate(time.Second)
	p := api.Principal{
		Type:              "AssumedRole",
		ARN:               "arn:aws:sts::" + role.AccountID + ":assumed-role/" + role.RoleName + "/" + in.RoleSessionName,
		AccountID:         role.AccountID,
		UserID:            role.RoleID + ":" + in.RoleSessionName,
		RoleName:          role.RoleName,
		RoleARN:           role.ARN,
		SessionName:       in.RoleSessionName,
		IssuedAt:          now,
		Expiration:        now.Add(time.Duration(in.DurationSeconds) * time.Second),
		SessionPolicy:     in.Policy,
		SessionPolicyARNs: in.PolicyArns,
		Tags:              sessTags,
		TransitiveTagKeys: transitive,
		SourceIdentity:    sourceIdentity,
		Chained:           chained,
	}
	creds, err := s.issue(p)
	if err != nil {
		return nil, err
	}
	if err := s.cfg.IAM.TouchRole(ctx, role.AccountID, role.RoleName, now, c.Region); err != nil {
		return nil, fmt.Errorf("record role use: %w", err)
	}
	res := &assumeRoleResult{Credentials: *creds, AssumedRoleUser: assumedRoleUser{AssumedRoleID: p.UserID, Arn: p.ARN},
		SourceIdentity: sourceIdentity}
	if packed > 0 {
		res.PackedPolicySize = max(1, packed*100/maxPackedPolicy)
	}
	return res, nil
}

// issue mints a temporary key for p and seals the session into its token.
func (s *Service) issue(p api.Principal) (*credentialsXML, error) {
	akid, err := temporaryKeyID(p.AccountID)
	if err != nil {
		return nil, err
	}
	secret := credentials.NewSecretAccessKey()
	p.AccessKeyID, p.Temporary = akid, true
	tok, err := session.Seal(s.cfg.Keyring, &session.Session{AccessKeyID: akid, Secret: secret, Principal: p})
	if err != nil {
		return nil, fmt.Errorf("issue session: %w", err)
	}
	return &credentialsXML{AccessKeyID: akid, SecretAccessKey: string(secret), SessionToken: tok, Expiration: isoTime(p.Expiration)}, nil
}

// malformed turns a policy parse error into AWS's MalformedPolicyDocument
// (or PackedPolicyTooLarge for a size error).
func malformed(err error) error {
	var pe *policy.Error
	if errors.As(err, &pe) {
		if pe.Code == policy.CodeLimitExceeded {
			return awsproto.Errorf(400, "PackedPolicyTooLarge", "%s", pe.Message())
		}
		return awsproto.Errorf(400, "MalformedPolicyDocument", "%s", pe.Message())
	}
	return awsproto.Errorf(400, "MalformedPolicyDocument", "Syntax errors in policy.")
}

// sessionPolicies validates the session policies of an AssumeRole or
// AssumeRoleWithWebIdentity call: the inline policy is parsed and returned
// in its compact form, each managed policy ARN must exist. packed is their
// size toward the packed-policy limit.
func (s *Service) sessionPolicies(ctx context.Context, doc string, arns []string) (policyJSON string, packed int, err error) {
	if doc != "" {
		p, err := policy.Parse([]byte(doc), policy.KindSession)
		if err != nil {
			return "", 0, malformed(err)
		}
		policyJSON = string(p.JSON())
		packed = len(policyJSON)
	}
	for _, a := range arns {
		if _, err := s.cfg.IAM.GetPolicy(ctx, a); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return "", 0, awsproto.Errorf(400, "InvalidParameterValue", "Policy %s does not exist or is not attachable.", a)
			}
			return "", 0, fmt.Errorf("load session policy %s: %w", a, err)
		}
		packed += len(a)
	}
	return policyJSON, packed, nil
}
