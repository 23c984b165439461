// Package sts is Bulwark's AWS Security Token Service (query protocol,
// version 2011-06-15). Its action table is the list of STS operations the
// server answers; anything not in it is InvalidAction.
package sts

import (
	"context"
	"net/http"
	"net/url"

	"github.com/bulwark-security/bulwark/internal/api"
)

// Namespace is the STS query protocol's XML namespace.
const Namespace = "https://sts.amazonaws.com/doc/2011-06-15/"

// Service is the STS service and its action table.
type Service struct{}

// New returns the STS service description.
func New() *api.Service {
	s := &Service{}
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
