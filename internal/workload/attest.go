package workload

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/bulwark-security/bulwark/internal/api"
	"github.com/bulwark-security/bulwark/internal/awsproto"
	"github.com/bulwark-security/bulwark/internal/oidc"
	"github.com/bulwark-security/bulwark/internal/policy"
	"github.com/bulwark-security/bulwark/internal/store"
	"github.com/bulwark-security/bulwark/internal/sts"
)

// The agent-facing calls carry no signature: the join token, OIDC token or
// agent token in the request is the proof, as for
// sts:AssumeRoleWithWebIdentity. They still take the server's one request
// path, so every attempt is audited.
func (s *Service) agentService() *api.Service {
	return &api.Service{
		SigningName:        AgentSigningName,
		EventSource:        EventSource,
		Protocol:           api.Query,
		Version:            AgentVersion,
		XMLNamespace:       AgentNamespace,
		AccessDeniedCode:   "AccessDenied",
		AccessDeniedStatus: http.StatusForbidden,
		Actions: []api.Action{
			api.Define(api.Action{Name: "AttestWorkload", IAMAction: SigningName + ":AttestWorkload", Access: api.AccessWrite,
				Unauthenticated: true},
				func(*api.Call, *attestInput) []string { return []string{"*"} }, s.attest),
			api.Define(api.Action{Name: "GetWorkloadCredentials", IAMAction: SigningName + ":GetWorkloadCredentials", Access: api.AccessWrite,
				Unauthenticated: true},
				func(*api.Call, *credentialsInput) []string { return []string{"*"} }, s.credentials),
		},
	}
}

// notAuthorized is the one answer for every failed attestation, whatever
// failed (unknown, used or expired token, revoked workload, wrong
// subject), so a caller learns nothing from the difference. The reason is
// logged through the cause.
func notAuthorized(cause error) error {
	return awsproto.Errorf(http.StatusForbidden, "AccessDenied", "Not authorized to attest the workload.").WithCause(cause)
}

func deniedCredentials(cause error) error {
	return awsproto.Errorf(http.StatusForbidden, "AccessDenied", "Not authorized to get credentials for the workload.").WithCause(cause)
}

type attestInput struct {
	WorkloadArn   string
	JoinToken     string
	IdentityToken string
	join          Secret
}

func (in *attestInput) DecodeQuery(v url.Values) error {
	in.WorkloadArn, in.JoinToken, in.IdentityToken = v.Get("WorkloadArn"), v.Get("JoinToken"), v.Get("IdentityToken")
	return nil
}

// Validate never echoes a token.
func (in *attestInput) Validate() error {
	switch {
	case len(in.WorkloadArn) > 2048:
		return awsproto.ValidationError("1 validation error detected: Value at 'workloadArn' failed to satisfy constraint: Member must have length less than or equal to 2048")
	case (in.JoinToken == "") == (in.IdentityToken == ""):
		return awsproto.ValidationError("Exactly one of JoinToken and IdentityToken is required.")
	case in.IdentityToken != "" && in.WorkloadArn == "":
		return awsproto.ValidationError("1 validation error detected: Value null at 'workloadArn' failed to satisfy constraint: Member must not be null")
	case len(in.IdentityToken) > oidc.MaxTokenLen:
		return awsproto.ValidationError("1 validation error detected: Value at 'identityToken' failed to satisfy constraint: Member must have length less than or equal to %d", oidc.MaxTokenLen)
	}
	if in.JoinToken != "" {
		var ok bool
		if in.join, ok = ParseSecret(joinTokenPrefix, in.JoinToken); !ok {
			return awsproto.ValidationError("The join token is malformed.")
		}
	}
	return nil
}

type attestResult struct {
	WorkloadArn          string `xml:"WorkloadArn"`
	RoleArn              string `xml:"RoleArn"`
	AgentToken           string `xml:"AgentToken"`
	AgentTokenExpiration string `xml:"AgentTokenExpiration"`
}

func isoTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05Z") }

// identify records who the call is for in the audit trail, never a token.
func identify(c *api.Call, w *store.Workload) {
	c.Principal = &api.Principal{Type: "Workload", ARN: w.ARN, AccountID: w.AccountID, UserID: w.WorkloadID, UserName: w.Name}
}

func (s *Service) attest(ctx context.Context, c *api.Call, in *attestInput) (any, error) {
	now := s.cfg.Now().UTC()
	agent := NewSecret(agentTokenPrefix)
	at := store.AgentToken{Hash: agent.Hash(), CreatedAt: now, ExpiresAt: now.Add(s.cfg.AgentTokenTTL)}
	var w store.Workload
	if in.JoinToken != "" {
		at.Attestation = AttestJoinToken
		var err error
		w, err = s.cfg.Store.RedeemJoinToken(ctx, in.join.Hash(), now, at)
		if errors.Is(err, store.ErrNotFound) {
			return nil, notAuthorized(errors.New("join token unknown, used, expired or for a revoked workload"))
		}
		if err != nil {
			return nil, fmt.Errorf("redeem join token: %w", err)
		}
		if in.WorkloadArn != "" && in.WorkloadArn != w.ARN {
			// The token is spent either way: a caller with a token for
			// one workload and the name of another learns nothing.
			return nil, notAuthorized(fmt.Errorf("join token is for %s, not %s", w.ARN, truncate(in.WorkloadArn, 256)))
		}
	} else {
		at.Attestation = AttestJWT
		var err error
		if w, err = s.verifyJWT(ctx, in.WorkloadArn, in.IdentityToken); err != nil {
			return nil, err
		}
		at.WorkloadARN = w.ARN
		if err := s.cfg.Store.CreateAgentToken(ctx, at); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return nil, notAuthorized(errors.New("workload revoked during attestation"))
			}
			return nil, fmt.Errorf("store agent token: %w", err)
		}
	}
	identify(c, &w)
	return &attestResult{WorkloadArn: w.ARN, RoleArn: w.RoleARN, AgentToken: agent.Reveal(), AgentTokenExpiration: isoTime(at.ExpiresAt)}, nil
}

// verifyJWT checks an OIDC token against the workload's jwt:* selectors
// and the IAM OIDC provider of its issuer in the workload's account (the
// configured issuer: its JWKS, client ids and thumbprints).
func (s *Service) verifyJWT(ctx context.Context, workloadARN, token string) (store.Workload, error) {
	w, err := s.cfg.Store.GetWorkload(ctx, workloadARN)
	if errors.Is(err, store.ErrNotFound) {
		return w, notAuthorized(errors.New("no such workload"))
	}
	if err != nil {
		return w, fmt.Errorf("load workload: %w", err)
	}
	if w.Revoked() {
		return w, notAuthorized(errors.New("workload revoked"))
	}
	iss, sub, aud := selector(w.Selectors, selIssuer), selector(w.Selectors, selSubject), selector(w.Selectors, selAudience)
	if iss == "" || sub == "" {
		return w, notAuthorized(errors.New("workload has no jwt:iss and jwt:sub selectors"))
	}
	if s.cfg.OIDC == nil {
		return w, errors.New("workload: no OIDC verifier configured")
	}
	tok, err := oidc.ParseJWT(token)
	if err != nil {
		return w, notAuthorized(err)
	}
	if tok.Claims.Issuer != iss {
		return w, notAuthorized(errors.New("token issuer does not match jwt:iss"))
	}
	issuerID, err := oidc.IssuerID(iss)
	if err != nil {
		return w, notAuthorized(err)
	}
	providerARN := "arn:aws:iam::" + w.AccountID + ":oidc-provider/" + issuerID
	prov, err := s.cfg.IAM.GetOIDCProvider(ctx, providerARN)
	if errors.Is(err, store.ErrNotFound) {
		return w, notAuthorized(fmt.Errorf("no IAM OIDC provider %s", providerARN))
	}
	if err != nil {
		return w, fmt.Errorf("load OIDC provider %s: %w", providerARN, err)
	}
	res, err := s.cfg.OIDC.Verify(ctx, tok, oidc.Provider{URL: prov.URL, ClientIDs: prov.ClientIDs, Thumbprints: prov.Thumbprints})
	if err != nil {
		if oidc.KindOf(err) == oidc.KindIDPCommunication {
			return w, awsproto.Errorf(http.StatusBadRequest, "IDPCommunicationError", "The identity provider could not be reached.").WithCause(err)
		}
		return w, notAuthorized(err)
	}
	if res.Claims.Subject != sub {
		return w, notAuthorized(errors.New("token subject does not match jwt:sub"))
	}
	if aud != "" && res.Audience != aud {
		return w, notAuthorized(errors.New("token audience does not match jwt:aud"))
	}
	return w, nil
}

type credentialsInput struct {
	AgentToken      string
	DurationSeconds int
	agent           Secret
}

func (in *credentialsInput) DecodeQuery(v url.Values) error {
	in.AgentToken = v.Get("AgentToken")
	if d := v.Get("DurationSeconds"); d != "" {
		n, err := strconv.Atoi(d)
		if err != nil || len(d) > 6 {
			return awsproto.ValidationError("1 validation error detected: Value at 'durationSeconds' failed to satisfy constraint: Member must be a number")
		}
		in.DurationSeconds = n
	}
	return nil
}

func (in *credentialsInput) Validate() error {
	var ok bool
	if in.agent, ok = ParseSecret(agentTokenPrefix, in.AgentToken); !ok {
		return awsproto.ValidationError("The agent token is missing or malformed.")
	}
	if in.DurationSeconds < 0 || in.DurationSeconds > 43200 {
		return awsproto.ValidationError("1 validation error detected: Value at 'durationSeconds' failed to satisfy constraint: Member must have value less than or equal to 43200")
	}
	return nil
}

type credentialsXML struct {
	AccessKeyID     string `xml:"AccessKeyId"`
	SecretAccessKey string `xml:"SecretAccessKey"`
	SessionToken    string `xml:"SessionToken"`
	Expiration      string `xml:"Expiration"`
}

type credentialsResult struct {
	WorkloadArn string         `xml:"WorkloadArn"`
	RoleArn     string         `xml:"RoleArn"`
	Credentials credentialsXML `xml:"Credentials"`
}

// credentials issues a role session for an attested workload. The role is
// read now, so a workload revoked or moved to another role gets nothing for
// its old one from the next refresh on; and the role's trust policy decides,
// through the policy engine, whether this workload may have it.
func (s *Service) credentials(ctx context.Context, c *api.Call, in *credentialsInput) (any, error) {
	now := s.cfg.Now().UTC()
	w, tok, err := s.cfg.Store.UseAgentToken(ctx, in.agent.Hash(), now, now.Add(s.cfg.AgentTokenTTL))
	if errors.Is(err, store.ErrNotFound) {
		return nil, awsproto.Errorf(http.StatusBadRequest, "ExpiredTokenException", "The agent token is unknown, expired or its workload revoked; attest again.")
	}
	if err != nil {
		return nil, fmt.Errorf("use agent token: %w", err)
	}
	identify(c, &w)
	account, name, ok := roleParts(w.RoleARN)
	if !ok {
		return nil, deniedCredentials(fmt.Errorf("workload role %q is not a role ARN", w.RoleARN))
	}
	role, err := s.cfg.IAM.GetRole(ctx, account, name)
	if errors.Is(err, store.ErrNotFound) || (err == nil && role.ARN != w.RoleARN) {
		return nil, deniedCredentials(fmt.Errorf("role %s does not exist", w.RoleARN))
	}
	if err != nil {
		return nil, fmt.Errorf("load role %s: %w", name, err)
	}
	trust, err := policy.ParseOptions([]byte(role.AssumeRolePolicyDocument), policy.Options{Kind: policy.KindTrust, SizeLimit: -1, ID: role.ARN + "/trust-policy"})
	if err != nil {
		return nil, fmt.Errorf("compile trust policy of %s: %w", name, err)
	}
	sessionName := sessionName(w.Name)
	d := policy.Evaluate(&policy.Set{Resource: trust, RequireResourceAllow: true}, &policy.Request{
		Action: "sts:AssumeRole", Resource: role.ARN, ResourceAccount: role.AccountID,
		Principal: policy.Principal{Type: policy.PrincipalService, Service: ServicePrincipal},
		Context:   TrustContext(c, &w, tok.Attestation, sessionName),
	})
	if !d.Allowed() {
		return nil, deniedCredentials(fmt.Errorf("trust policy of %s does not allow %s", role.ARN, w.ARN))
	}

	dur := time.Hour
	if in.DurationSeconds > 0 {
		dur = time.Duration(in.DurationSeconds) * time.Second
	}
	if dur < s.cfg.MinDuration {
		return nil, awsproto.ValidationError("1 validation error detected: Value '%d' at 'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal to %d",
			in.DurationSeconds, int(s.cfg.MinDuration/time.Second))
	}
	if dur > time.Duration(role.MaxSessionDuration)*time.Second {
		return nil, awsproto.ValidationError("The requested DurationSeconds exceeds the MaxSessionDuration set for this role.")
	}
	issued := now.Truncate(time.Second)
	p := api.Principal{
		Type:        "AssumedRole",
		ARN:         "arn:aws:sts::" + role.AccountID + ":assumed-role/" + role.RoleName + "/" + sessionName,
		AccountID:   role.AccountID,
		UserID:      role.RoleID + ":" + sessionName,
		RoleName:    role.RoleName,
		RoleARN:     role.ARN,
		SessionName: sessionName,
		IssuedAt:    issued,
		Expiration:  issued.Add(dur),
		Tags:        SessionTags(&w),
	}
	creds, err := sts.Issue(s.cfg.Keyring, p)
	if err != nil {
		return nil, err
	}
	if err := s.cfg.IAM.TouchRole(ctx, role.AccountID, role.RoleName, now, c.Region); err != nil {
		return nil, fmt.Errorf("record role use: %w", err)
	}
	return &credentialsResult{WorkloadArn: w.ARN, RoleArn: role.ARN, Credentials: credentialsXML{
		AccessKeyID: creds.AccessKeyID, SecretAccessKey: creds.SecretAccessKey, SessionToken: creds.SessionToken, Expiration: creds.Expiration}}, nil
}

// SessionTags are the tags of a workload's role sessions, as EKS Pod
// Identity tags its sessions with the cluster, namespace and service
// account: workload-name, workload-id and every selector, so permission
// policies can use aws:PrincipalTag/<key> (ABAC, or policy variables such
// as ${aws:PrincipalTag/team}).
func SessionTags(w *store.Workload) []api.Tag {
	tags := make([]api.Tag, 0, len(w.Selectors)+2)
	tags = append(tags, api.Tag{Key: "workload-name", Value: w.Name}, api.Tag{Key: "workload-id", Value: w.WorkloadID})
	for _, sel := range w.Selectors {
		tags = append(tags, api.Tag{Key: sel.Key, Value: sel.Value})
	}
	return tags
}

// sessionName is the role session name of a workload's sessions: its name,
// which nameRE keeps within STS's [\w+=,.@-]{2,64}.
func sessionName(name string) string {
	if len(name) < 2 {
		return name + "_"
	}
	return name
}

// TrustContext is the request context of a workload's trust policy
// evaluation: the global keys of an unsigned request, aws:SourceArn and
// aws:SourceAccount (the workload, as ECS supplies the task's cluster and
// account), aws:PrincipalServiceName, sts:RoleSessionName and the
// bulwark-workloads:* keys.
func TrustContext(c *api.Call, w *store.Workload, attestation, session string) *policy.Context {
	pc := new(policy.Context)
	t := c.Time.UTC()
	pc.Set("aws:CurrentTime", t.Format(time.RFC3339))
	pc.Set("aws:EpochTime", strconv.FormatInt(t.Unix(), 10))
	if c.SourceIP.IsValid() {
		pc.Set("aws:SourceIp", c.SourceIP.String())
	}
	pc.Set("aws:SecureTransport", strconv.FormatBool(c.SecureTransport))
	pc.Set("aws:RequestedRegion", c.Region)
	pc.Set("aws:PrincipalServiceName", ServicePrincipal)
	pc.Set("aws:SourceArn", w.ARN)
	pc.Set("aws:SourceAccount", w.AccountID)
	pc.Set("sts:RoleSessionName", session)
	pc.Set(SigningName+":WorkloadName", w.Name)
	pc.Set(SigningName+":WorkloadId", w.WorkloadID)
	pc.Set(SigningName+":AttestationType", attestation)
	for _, sel := range w.Selectors {
		pc.Set(SigningName+":Selector/"+sel.Key, sel.Value)
	}
	return pc
}
