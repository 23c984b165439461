// Package sts is Bulwark's AWS Security Token Service (query protocol,
// version 2011-06-15). Its action table is the list of STS operations the
// server answers; anything not in it is InvalidAction.
package sts

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/bulwark-security/bulwark/internal/api"
	"github.com/bulwark-security/bulwark/internal/authz"
	"github.com/bulwark-security/bulwark/internal/oidc"
	"github.com/bulwark-security/bulwark/internal/store"
)

// Namespace is the STS query protocol's XML namespace.
const Namespace = "https://sts.amazonaws.com/doc/2011-06-15/"

// Keyring seals and opens session tokens.
type Keyring interface {
	Seal(plaintext, aad []byte) ([]byte, error)
	Open(sealed, aad []byte) ([]byte, error)
}

// Config is what STS needs. Only the GetCallerIdentity action works with a
// zero Config; the others need Store, IAM, Keyring and Authorizer.
type Config struct {
	Store   store.Store
	IAM     store.IAM
	Keyring Keyring
	// Authorizer decides the extra permissions some calls need
	// (sts:TagSession for session tags, sts:SetSourceIdentity).
	Authorizer authz.Authorizer
	// OIDC verifies web identity tokens (AssumeRoleWithWebIdentity); that
	// action fails without it.
	OIDC *oidc.Verifier
	Now  func() time.Time
}

// Service is the STS implementation.
type Service struct {
	cfg Config
}

// New returns the STS service description.
func New(cfg Config) *api.Service {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	s := &Service{cfg: cfg}
	return &api.Service{
		SigningName:        "sts",
		EventSource:        "sts.amazonaws.com",
		Protocol:           api.Query,
		Version:            "2011-06-15",
		XMLNamespace:       Namespace,
		AccessDeniedCode:   "AccessDenied",
		AccessDeniedStatus: http.StatusForbidden,
		Actions: []api.Action{
			api.Define(api.Action{
				Name: "GetCallerIdentity", IAMAction: "sts:GetCallerIdentity", Access: api.AccessRead,
				AlwaysAllowed: true,
			}, anyResource[getCallerIdentityInput], s.getCallerIdentity),
			api.Define(api.Action{
				Name: "AssumeRole", IAMAction: "sts:AssumeRole", Access: api.AccessWrite,
				ConditionKeys:  []string{"sts:ExternalId", "sts:RoleSessionName", "sts:SourceIdentity", "sts:TransitiveTagKeys", "aws:RequestTag/${TagKey}", "aws:TagKeys"},
				ResourcePolicy: s.trustPolicy, RequireResourceAllow: true,
			}, func(_ *api.Call, in *assumeRoleInput) []string { return []string{in.RoleArn} }, s.assumeRole),
			api.Define(api.Action{
				// "Calling AssumeRoleWithWebIdentity does not require the
				// use of AWS security credentials" (STS API reference): the
				// handler verifies the token and evaluates the trust policy.
				Name: "AssumeRoleWithWebIdentity", IAMAction: webIdentityAction, Access: api.AccessWrite,
				ConditionKeys:   []string{"sts:RoleSessionName", "aws:FederatedProvider"},
				Unauthenticated: true,
			}, func(_ *api.Call, in *assumeRoleWithWebIdentityInput) []string { return []string{in.RoleArn} }, s.assumeRoleWithWebIdentity),
			api.Define(api.Action{
				// "No permissions are required for a user to get a session
				// token" (STS API reference, GetSessionToken).
				Name: "GetSessionToken", IAMAction: "sts:GetSessionToken", Access: api.AccessRead,
				AlwaysAllowed: true,
			}, anyResource[getSessionTokenInput], s.getSessionToken),
			api.Define(api.Action{
				Name: "GetAccessKeyInfo", IAMAction: "sts:GetAccessKeyInfo", Access: api.AccessRead,
			}, anyResource[getAccessKeyInfoInput], s.getAccessKeyInfo),
			api.Define(api.Action{
				Name: "DecodeAuthorizationMessage", IAMAction: "sts:DecodeAuthorizationMessage", Access: api.AccessRead,
			}, anyResource[decodeAuthorizationMessageInput], s.decodeAuthorizationMessage),
		},
	}
}

func anyResource[In any](*api.Call, *In) []string { return []string{"*"} }

type getCallerIdentityInput struct{}

// DecodeQuery implements api.QueryInput: GetCallerIdentity takes no
// parameters and, like AWS, ignores any it is given.
func (*getCallerIdentityInput) DecodeQuery(url.Values) error { return nil }

type getCallerIdentityResult struct {
	UserID  string `xml:"UserId"`
	Account string `xml:"Account"`
	Arn     string `xml:"Arn"`
}

// getCallerIdentity returns who signed the request. AWS documents that no
// permission is needed and an explicit deny does not apply.
func (*Service) getCallerIdentity(_ context.Context, c *api.Call, _ *getCallerIdentityInput) (any, error) {
	p := c.Principal
	return &getCallerIdentityResult{UserID: p.UserID, Account: p.AccountID, Arn: p.ARN}, nil
}

// credentialsXML is the Credentials element of STS responses.
type credentialsXML struct {
	AccessKeyID     string `xml:"AccessKeyId"`
	SecretAccessKey string `xml:"SecretAccessKey"`
	SessionToken    string `xml:"SessionToken"`
	Expiration      string `xml:"Expiration"`
}

func isoTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05Z") }

// ready checks the service has what the credential-issuing calls need.
func (s *Service) ready() error {
	if s.cfg.Store == nil || s.cfg.IAM == nil || s.cfg.Keyring == nil || s.cfg.Authorizer == nil {
		return errors.New("sts: service not configured for issuing credentials")
	}
	return nil
}

// authorizeExtra asks the authorizer about a second action the request
// implies (sts:TagSession, sts:SetSourceIdentity) on the same resource.
func (s *Service) authorizeExtra(ctx context.Context, c *api.Call, action string, resource string, rctx map[string][]string) error {
	a := *c.Action
	a.IAMAction, a.AlwaysAllowed = action, false
	req := &authz.Request{Call: c, Action: &a, Resources: []string{resource}, Context: rctx,
		RequireResourceAllow: c.Action.RequireResourceAllow}
	if c.Action.ResourcePolicy != nil {
		p, err := c.Action.ResourcePolicy(ctx, c, resource)
		if err != nil {
			return err
		}
		req.ResourcePolicy = p
	}
	d, err := s.cfg.Authorizer.Authorize(ctx, req)
	if err != nil {
		return fmt.Errorf("authorize %s: %w", action, err)
	}
	if !d.Allowed {
		cc := *c
		cc.Action = &a
		return authz.Denied(&cc, d)
	}
	return nil
}
