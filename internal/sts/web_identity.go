package sts

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"time"

	"github.com/bulwark-security/bulwark/internal/api"
	"github.com/bulwark-security/bulwark/internal/arn"
	"github.com/bulwark-security/bulwark/internal/awsproto"
	"github.com/bulwark-security/bulwark/internal/oidc"
	"github.com/bulwark-security/bulwark/internal/policy"
	"github.com/bulwark-security/bulwark/internal/store"
)

// webIdentityAction is the IAM action trust policies name for OIDC
// federation.
const webIdentityAction = "sts:AssumeRoleWithWebIdentity"

type assumeRoleWithWebIdentityInput struct {
	RoleArn          string
	RoleSessionName  string
	WebIdentityToken string
	ProviderID       string
	DurationSeconds  int
	Policy           string
	PolicyArns       []string
}

func (in *assumeRoleWithWebIdentityInput) DecodeQuery(v url.Values) error {
	in.RoleArn, in.RoleSessionName = v.Get("RoleArn"), v.Get("RoleSessionName")
	in.WebIdentityToken, in.ProviderID, in.Policy = v.Get("WebIdentityToken"), v.Get("ProviderId"), v.Get("Policy")
	var err error
	if in.DurationSeconds, _, err = duration(v, 3600); err != nil {
		return err
	}
	var arns []string
	for i := 1; ; i++ {
		a, ok := v["PolicyArns.member."+strconv.Itoa(i)+".arn"]
		if !ok {
			break
		}
		if len(arns) >= maxPolicyARNs {
			return awsproto.ValidationError("1 validation error detected: Value at 'policyArns' failed to satisfy constraint: Member must have length less than or equal to %d", maxPolicyARNs)
		}
		arns = append(arns, a[0])
	}
	in.PolicyArns = arns
	return nil
}

// Validate applies the STS API reference's constraints. The token itself
// is never echoed in an error.
func (in *assumeRoleWithWebIdentityInput) Validate() error {
	switch {
	case in.RoleArn == "":
		return awsproto.ValidationError("1 validation error detected: Value null at 'roleArn' failed to satisfy constraint: Member must not be null")
	case len(in.RoleArn) < 20 || len(in.RoleArn) > 2048:
		return validation(in.RoleArn, "roleArn", "Member must have length greater than or equal to 20")
	case in.RoleSessionName == "":
		return awsproto.ValidationError("1 validation error detected: Value null at 'roleSessionName' failed to satisfy constraint: Member must not be null")
	case !sessionNameRE.MatchString(in.RoleSessionName):
		return validation(in.RoleSessionName, "roleSessionName", `Member must satisfy regular expression pattern: [\w+=,.@-]*`)
	case in.WebIdentityToken == "":
		return awsproto.ValidationError("1 validation error detected: Value null at 'webIdentityToken' failed to satisfy constraint: Member must not be null")
	case len(in.WebIdentityToken) < 4 || len(in.WebIdentityToken) > oidc.MaxTokenLen:
		return awsproto.ValidationError("1 validation error detected: Value at 'webIdentityToken' failed to satisfy constraint: Member must have length less than or equal to %d", oidc.MaxTokenLen)
	case in.ProviderID != "" && (len(in.ProviderID) < 4 || len(in.ProviderID) > 2048):
		return validation(in.ProviderID, "providerId", "Member must have length greater than or equal to 4")
	}
	if _, _, ok := roleName(in.RoleArn); !ok {
		if _, err := arn.Parse(in.RoleArn); err != nil {
			return validation(in.RoleArn, "roleArn", "Member must be a valid ARN")
		}
	}
	for _, a := range in.PolicyArns {
		if _, err := arn.Parse(a); err != nil || len(a) < 20 {
			return validation(a, "policyArns.member.arn", "Member must be a valid ARN")
		}
	}
	return nil
}

type assumeRoleWithWebIdentityResult struct {
	SubjectFromWebIdentityToken string          `xml:"SubjectFromWebIdentityToken"`
	Audience                    string          `xml:"Audience"`
	AssumedRoleUser             assumedRoleUser `xml:"AssumedRoleUser"`
	Credentials                 credentialsXML  `xml:"Credentials"`
	Provider                    string          `xml:"Provider"`
	PackedPolicySize            int             `xml:"PackedPolicySize,omitempty"`
	SourceIdentity              string          `xml:"SourceIdentity,omitempty"`
}

// notAuthorized is AWS's answer when the trust policy does not allow the
// token's identity (or the role does not exist, which AWS does not reveal).
func notAuthorized() error {
	return awsproto.Errorf(403, "AccessDenied", "Not authorized to perform sts:AssumeRoleWithWebIdentity")
}

// tokenError maps an oidc failure to STS's error codes (STS API reference,
// AssumeRoleWithWebIdentity "Errors"); the message never holds the token.
func tokenError(err error) error {
	var oe *oidc.Error
	if !errors.As(err, &oe) {
		return fmt.Errorf("verify web identity token: %w", err)
	}
	switch oe.Kind {
	case oidc.KindExpired:
		return awsproto.Errorf(400, "ExpiredTokenException", "%s", oe.Message).WithCause(err)
	case oidc.KindIDPCommunication:
		return awsproto.Errorf(400, "IDPCommunicationError", "%s", oe.Message).WithCause(err)
	}
	return awsproto.Errorf(400, "InvalidIdentityToken", "%s", oe.Message).WithCause(err)
}

// assumeRoleWithWebIdentity exchanges an OIDC ID token for a role session.
// The request is not signed: the token is the proof. The handler therefore
// authorises the call itself, after verifying the token: the role's trust
// policy alone must allow the IAM OIDC provider (a federated principal,
// which has no identity policies) for sts:AssumeRoleWithWebIdentity, with
// the token's claims as condition keys.
func (s *Service) assumeRoleWithWebIdentity(ctx context.Context, c *api.Call, in *assumeRoleWithWebIdentityInput) (any, error) {
	if err := s.ready(); err != nil {
		return nil, err
	}
	if s.cfg.OIDC == nil {
		return nil, errors.New("sts: no OIDC verifier configured")
	}
	account, name, ok := roleName(in.RoleArn)
	if !ok {
		return nil, notAuthorized()
	}

	// 1. The token: its issuer must be an IAM OIDC provider of the role's
	// account, and its signature, audience and times must check out.
	tok, err := oidc.ParseJWT(in.WebIdentityToken)
	if err != nil {
		return nil, tokenError(err)
	}
	issuerID, err := oidc.IssuerID(tok.Claims.Issuer)
	if err != nil {
		return nil, tokenError(err)
	}
	providerARN := "arn:aws:iam::" + account + ":oidc-provider/" + issuerID
	prov, err := s.cfg.IAM.GetOIDCProvider(ctx, providerARN)
	if errors.Is(err, store.ErrNotFound) {
		return nil, awsproto.Errorf(400, "InvalidIdentityToken", "No OpenIDConnect provider found in your account for %s", truncate(tok.Claims.Issuer, 256))
	}
	if err != nil {
		return nil, fmt.Errorf("load OIDC provider %s: %w", providerARN, err)
	}
	res, err := s.cfg.OIDC.Verify(ctx, tok, oidc.Provider{URL: prov.URL, ClientIDs: prov.ClientIDs, Thumbprints: prov.Thumbprints})
	if err != nil {
		return nil, tokenError(err)
	}
	claims := &res.Claims
	if c.Principal == nil || (c.Principal.Type == api.PrincipalTypeWebIdentity && c.Principal.UserID == "") {
		// The audit record names the federated user, as CloudTrail does.
		c.Principal = &api.Principal{Type: api.PrincipalTypeWebIdentity, AccountID: account,
			UserID: truncate(issuerID+":"+res.Audience+":"+claims.Subject, 512), UserName: truncate(claims.Subject, 256)}
	}

	// 2. The trust policy decides; a missing role is denied like a
	// forbidden one.
	role, err := s.cfg.IAM.GetRole(ctx, account, name)
	if errors.Is(err, store.ErrNotFound) {
		return nil, notAuthorized()
	}
	if err != nil {
		return nil, fmt.Errorf("load role %s: %w", name, err)
	}
	if role.ARN != in.RoleArn {
		return nil, notAuthorized()
	}
	trust, err := policy.ParseOptions([]byte(role.AssumeRolePolicyDocument), policy.Options{Kind: policy.KindTrust, SizeLimit: -1, ID: role.ARN + "/trust-policy"})
	if err != nil {
		return nil, fmt.Errorf("compile trust policy of %s: %w", name, err)
	}
	pc := webIdentityContext(c, issuerID, providerARN, res, in.RoleSessionName)
	d := policy.Evaluate(&policy.Set{Resource: trust, RequireResourceAllow: true}, &policy.Request{
		Action: webIdentityAction, Resource: role.ARN, ResourceAccount: role.AccountID,
		Principal: policy.Principal{Type: policy.PrincipalFederated, Federated: providerARN},
		Context:   pc,
	})
	if !d.Allowed() {
		return nil, notAuthorized()
	}

	// 3. The session, as AssumeRole makes it.
	if in.DurationSeconds > role.MaxSessionDuration {
		return nil, awsproto.ValidationError("The requested DurationSeconds exceeds the MaxSessionDuration set for this role.")
	}
	policyJSON, packed, err := s.sessionPolicies(ctx, in.Policy, in.PolicyArns)
	if err != nil {
		return nil, err
	}
	in.Policy = policyJSON
	if packed > maxPackedPolicy {
		return nil, awsproto.Errorf(400, "PackedPolicyTooLarge", "Packed size of the session policies and session tags exceeds the limit (%d%%).", packed*100/maxPackedPolicy)
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
	}
	creds, err := s.issue(p)
	if err != nil {
		return nil, err
	}
	if err := s.cfg.IAM.TouchRole(ctx, role.AccountID, role.RoleName, now, c.Region); err != nil {
		return nil, fmt.Errorf("record role use: %w", err)
	}
	out := &assumeRoleWithWebIdentityResult{
		SubjectFromWebIdentityToken: claims.Subject,
		Audience:                    res.Audience,
		AssumedRoleUser:             assumedRoleUser{AssumedRoleID: p.UserID, Arn: p.ARN},
		Credentials:                 *creds,
		// For an IAM OIDC provider AWS answers with the provider's ARN.
		Provider: providerARN,
	}
	if packed > 0 {
		out.PackedPolicySize = max(1, packed*100/maxPackedPolicy)
	}
	return out, nil
}

// webIdentityContext is the request context of the trust policy
// evaluation: the global keys that apply to an unsigned request, the
// provider's keys as the IAM User Guide names them ("<host/path>:aud",
// ":sub", ":amr", ":azp", ":oaud" for the token's other audiences),
// aws:FederatedProvider and sts:RoleSessionName.
func webIdentityContext(c *api.Call, issuerID, providerARN string, res *oidc.Result, sessionName string) *policy.Context {
	pc := new(policy.Context)
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
	pc.Set("aws:FederatedProvider", providerARN)
	pc.Set("sts:RoleSessionName", sessionName)
	cl := &res.Claims
	pc.Set(issuerID+":aud", res.Audience)
	pc.Set(issuerID+":sub", cl.Subject)
	var others []string
	for _, a := range cl.Audience {
		if a != res.Audience {
			others = append(others, a)
		}
	}
	if len(others) > 0 {
		pc.Set(issuerID+":oaud", others...)
	}
	if len(cl.AMR) > 0 {
		pc.Set(issuerID+":amr", cl.AMR...)
	}
	if cl.AuthorizedParty != "" {
		pc.Set(issuerID+":azp", cl.AuthorizedParty)
	}
	return pc
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
