package secrets

import (
	"context"
	"fmt"

	"github.com/bulwark-security/bulwark/internal/api"
	"github.com/bulwark-security/bulwark/internal/authz"
	"github.com/bulwark-security/bulwark/internal/awsproto"
	"github.com/bulwark-security/bulwark/internal/store"
)

type batchGetSecretValueInput struct {
	SecretIDList []string `json:"SecretIdList"`
	Filters      []filter `json:"Filters"`
	MaxResults   *int     `json:"MaxResults"`
	NextToken    string   `json:"NextToken"`
}

func (in *batchGetSecretValueInput) Validate() error {
	if (len(in.SecretIDList) == 0) == (len(in.Filters) == 0) {
		return invalidParam("Either 'SecretIdList' or 'Filters' must be provided, but not both.")
	}
	if len(in.SecretIDList) > 20 {
		return invalidParam("SecretIdList can have at most 20 items.")
	}
	for _, id := range in.SecretIDList {
		if !validSecretID(id) {
			return invalidParam("SecretId must be between 1 and %d characters.", maxIDLen)
		}
	}
	if in.MaxResults != nil {
		if len(in.Filters) == 0 {
			return invalidParam("'MaxResults' is only valid when 'Filters' is provided.")
		}
		if *in.MaxResults < 1 || *in.MaxResults > 20 {
			return invalidParam("MaxResults must be between 1 and 20.")
		}
	}
	if len(in.NextToken) > 4096 {
		return invalidParam("Invalid NextToken.")
	}
	return checkFilters(in.Filters)
}

type batchError struct {
	SecretID  string `json:"SecretId"`
	ErrorCode string `json:"ErrorCode"`
	Message   string `json:"Message"`
}

type batchGetOutput struct {
	SecretValues []*secretValueOutput `json:"SecretValues"`
	Errors       []batchError         `json:"Errors"`
	NextToken    string               `json:"NextToken,omitempty"`
}

// batchGetSecretValue returns the current value of several secrets. As AWS
// documents, the caller needs secretsmanager:BatchGetSecretValue (checked
// by the server), secretsmanager:GetSecretValue on each secret (checked
// here, with its resource policy; a denial is an entry of Errors, not a
// failure of the call) and, with Filters, secretsmanager:ListSecrets.
func (s *Service) batchGetSecretValue(ctx context.Context, c *api.Call, in *batchGetSecretValueInput) (any, error) {
	out := &batchGetOutput{SecretValues: []*secretValueOutput{}, Errors: []batchError{}}
	if len(in.Filters) > 0 {
		if err := s.authorize(ctx, c, "ListSecrets", "*", nil, nil); err != nil {
			return nil, err
		}
		page, next, err := s.findSecrets(ctx, c, in.Filters, false, "", "", in.MaxResults, in.NextToken, 20)
		if err != nil {
			return nil, err
		}
		out.NextToken = next
		for i := range page {
			sec := page[i]
			s.batchOne(ctx, c, sec.ARN, &found{secret: &sec, arn: sec.ARN}, out)
		}
		return out, nil
	}
	for _, id := range in.SecretIDList {
		var f found
		s.resolve(c, id, &f)
		s.batchOne(ctx, c, id, &f, out)
	}
	return out, nil
}

func (s *Service) batchOne(ctx context.Context, c *api.Call, id string, f *found, out *batchGetOutput) {
	record := func(err error) {
		e := awsproto.As(err)
		if e.Status >= 500 {
			s.cfg.Logger.Error("batch get secret value", "requestID", c.RequestID, "secret", f.arn, "err", err)
		}
		out.Errors = append(out.Errors, batchError{SecretID: id, ErrorCode: e.Code, Message: e.Message})
	}
	if err := s.authorize(ctx, c, "GetSecretValue", f.arn, f.context(), f.secret); err != nil {
		record(err)
		return
	}
	sec, err := f.live()
	if err != nil {
		record(err)
		return
	}
	v, err := s.pickVersion(ctx, sec.ARN, "", "")
	if err != nil {
		record(err)
		return
	}
	val, err := s.readValue(ctx, c, sec, &v)
	if err != nil {
		record(err)
		return
	}
	s.touch(ctx, sec, &v)
	out.SecretValues = append(out.SecretValues, val)
}

// authorize asks the authorizer whether c may perform another action of
// this service on resource, with the secret's resource policy when sec is
// not nil.
func (s *Service) authorize(ctx context.Context, c *api.Call, action, resource string, cond map[string][]string, sec *store.Secret) error {
	a := s.svc.Action(action)
	if a == nil {
		a = findAction(s.svc, action)
	}
	req := &authz.Request{Call: c, Action: a, Resources: []string{resource}, Context: cond}
	if sec != nil {
		p, err := s.policyOf(sec)
		if err != nil {
			return awsproto.InternalFailure(err)
		}
		req.ResourcePolicy = p
	}
	dec, err := s.cfg.Authorizer.Authorize(ctx, req)
	if err != nil {
		return awsproto.InternalFailure(fmt.Errorf("authorize %s: %w", a.IAMAction, err))
	}
	if !dec.Allowed {
		return fail(codeAccessDenied, "User: %s is not authorized to perform: %s on resource: %s",
			c.Principal.ARN, a.IAMAction, dec.Resource)
	}
	return nil
}

// findAction looks an action up before the registry has indexed the table.
func findAction(svc *api.Service, name string) *api.Action {
	for i := range svc.Actions {
		if svc.Actions[i].Name == name {
			return &svc.Actions[i]
		}
	}
	panic("secrets: no action " + name)
}
