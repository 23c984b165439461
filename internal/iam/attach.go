package iam

import (
	"context"
	"net/url"

	"github.com/bulwark-security/bulwark/internal/api"
	"github.com/bulwark-security/bulwark/internal/awsproto"
	"github.com/bulwark-security/bulwark/internal/policy"
	"github.com/bulwark-security/bulwark/internal/store"
)

// entityDesc describes the user, group or role an attach or inline-policy
// call names, so the three spellings of each call share one implementation.
type entityDesc struct {
	kind        store.EntityKind
	param       string // "UserName"
	nameMax     int    // for attach calls
	existingMax int    // for inline policy calls (existingUserNameType for users)
	arnKind     string // "user"
	inlineKind  policy.Kind
	quota       string // "PoliciesPerUser"
	hasBoundary bool
	notFound    func(name string) *awsproto.Error
}

var (
	userDesc = entityDesc{kind: store.EntityUser, param: "UserName", nameMax: maxNameLen, existingMax: maxExistingName, arnKind: "user",
		inlineKind: policy.KindUserInline, quota: "PoliciesPerUser", hasBoundary: true, notFound: noSuchUser}
	groupDesc = entityDesc{kind: store.EntityGroup, param: "GroupName", nameMax: 128, existingMax: 128, arnKind: "group",
		inlineKind: policy.KindGroupInline, quota: "PoliciesPerGroup", notFound: noSuchGroup}
	roleDesc = entityDesc{kind: store.EntityRole, param: "RoleName", nameMax: maxNameLen, existingMax: maxNameLen, arnKind: "role",
		inlineKind: policy.KindRoleInline, quota: "PoliciesPerRole", hasBoundary: true, notFound: noSuchRole}
)

// entityType selects an entityDesc at compile time.
type entityType interface{ desc() *entityDesc }

type (
	userT  struct{}
	groupT struct{}
	roleT  struct{}
)

func (userT) desc() *entityDesc  { return &userDesc }
func (groupT) desc() *entityDesc { return &groupDesc }
func (roleT) desc() *entityDesc  { return &roleDesc }

func descOf[K entityType]() *entityDesc {
	var k K
	return k.desc()
}

// entityField is the entity name of an input, and the boundary its
// resource function found (for iam:PermissionsBoundary).
type entityField struct {
	Name string
	found
}

func (e *entityField) ref() *entityField { return e }

type entityRef interface{ ref() *entityField }

// entityInfo resolves an entity's ARN and boundary (see userInfo).
func (s *service) entityInfo(d *entityDesc, acct, name string, f *found) string {
	switch d.kind {
	case store.EntityUser:
		return s.userInfo(acct, name, f)
	case store.EntityRole:
		return s.roleInfo(acct, name, f)
	}
	return s.groupARN(acct, name)
}

func resEntity[K entityType, In any](s *service) api.Resources[In] {
	return func(c *api.Call, in *In) []string {
		e := any(in).(entityRef).ref()
		return []string{s.entityInfo(descOf[K](), account(c), e.Name, &e.found)}
	}
}

// getEntity checks the entity exists and returns its canonical name.
func (s *service) getEntity(ctx context.Context, d *entityDesc, acct, name string) (string, error) {
	var err error
	canonical := name
	switch d.kind {
	case store.EntityUser:
		var u store.User
		u, err = s.cfg.IAM.GetUser(ctx, acct, name)
		canonical = u.UserName
	case store.EntityGroup:
		var g store.Group
		g, err = s.cfg.IAM.GetGroup(ctx, acct, name)
		canonical = g.GroupName
	case store.EntityRole:
		var r store.Role
		r, err = s.cfg.IAM.GetRole(ctx, acct, name)
		canonical = r.RoleName
	}
	if err != nil {
		return "", errMap{notFound: d.notFound(name)}.wrap(err, "get "+d.arnKind)
	}
	return canonical, nil
}

type attachInput[K entityType] struct {
	entityField
	PolicyArn string
}

func (in *attachInput[K]) DecodeQuery(v url.Values) error {
	d := descOf[K]()
	f := newForm(v)
	in.Name = f.name(d.param, d.nameMax)
	in.PolicyArn = f.arn("PolicyArn")
	return f.err()
}

func (in *attachInput[K]) RequestContext(*api.Call) map[string][]string {
	m := mergeContext(in.resourceContext(), map[string][]string{keyPolicyARN: {in.PolicyArn}})
	if in.boundary != "" && descOf[K]().hasBoundary {
		m[keyBoundary] = []string{in.boundary}
	}
	return m
}

type entityPageInput[K entityType] struct {
	entityField
	PathPrefix string
	Page       pageInput
}

func (in *entityPageInput[K]) DecodeQuery(v url.Values) error {
	d := descOf[K]()
	f := newForm(v)
	in.Name = f.name(d.param, d.nameMax)
	in.PathPrefix = f.policyPathPrefix("PathPrefix")
	in.Page = f.page()
	return f.err()
}

type attachedPolicyXML struct {
	PolicyName string `xml:"PolicyName"`
	PolicyArn  string `xml:"PolicyArn"`
}

type attachedResult struct {
	AttachedPolicies struct {
		Members []attachedPolicyXML `xml:"member"`
	} `xml:"AttachedPolicies"`
	IsTruncated bool   `xml:"IsTruncated"`
	Marker      string `xml:"Marker,omitempty"`
}

func attachPolicy[K entityType](s *service) api.Handler[attachInput[K]] {
	return func(ctx context.Context, c *api.Call, in *attachInput[K]) (any, error) {
		d, acct := descOf[K](), account(c)
		name, err := s.getEntity(ctx, d, acct, in.Name)
		if err != nil {
			return nil, err
		}
		if _, err := s.getPolicy0(ctx, c, in.PolicyArn); err != nil {
			if e, ok := err.(*awsproto.Error); ok && e.Code == "NoSuchEntity" {
				return nil, noSuchPolicy(in.PolicyArn)
			}
			return nil, err
		}
		err = s.cfg.IAM.AttachPolicy(ctx, acct, d.kind, name, in.PolicyArn, maxManagedPerEntity)
		if err != nil {
			return nil, errMap{notFound: noSuchPolicy(in.PolicyArn),
				limit: limitExceeded("Cannot exceed quota for %s: %d", d.quota, maxManagedPerEntity)}.wrap(err, "attach policy")
		}
		return nil, nil
	}
}

func detachPolicy[K entityType](s *service) api.Handler[attachInput[K]] {
	return func(ctx context.Context, c *api.Call, in *attachInput[K]) (any, error) {
		d, acct := descOf[K](), account(c)
		name, err := s.getEntity(ctx, d, acct, in.Name)
		if err != nil {
			return nil, err
		}
		if err := s.cfg.IAM.DetachPolicy(ctx, acct, d.kind, name, in.PolicyArn); err != nil {
			return nil, errMap{notFound: noSuchEntity("Policy %s was not found.", in.PolicyArn)}.wrap(err, "detach policy")
		}
		return nil, nil
	}
}

func listAttached[K entityType](s *service) api.Handler[entityPageInput[K]] {
	return func(ctx context.Context, c *api.Call, in *entityPageInput[K]) (any, error) {
		d, acct := descOf[K](), account(c)
		name, err := s.getEntity(ctx, d, acct, in.Name)
		if err != nil {
			return nil, err
		}
		ps, more, err := s.cfg.IAM.ListAttachedPolicies(ctx, acct, d.kind, name, in.Page.storePage(in.PathPrefix))
		if err != nil {
			return nil, errMap{notFound: d.notFound(in.Name)}.wrap(err, "list attached policies")
		}
		r := &attachedResult{IsTruncated: more && len(ps) > 0}
		r.AttachedPolicies.Members = make([]attachedPolicyXML, len(ps))
		for i, p := range ps {
			r.AttachedPolicies.Members[i] = attachedPolicyXML{PolicyName: p.PolicyName, PolicyArn: p.ARN}
		}
		if r.IsTruncated {
			r.Marker = encodeMarker(ps[len(ps)-1].PolicyName)
		}
		return r, nil
	}
}

// Inline policies.

type putInlineInput[K entityType] struct {
	entityField
	PolicyName, PolicyDocument string
}

func (in *putInlineInput[K]) DecodeQuery(v url.Values) error {
	d := descOf[K]()
	f := newForm(v)
	in.Name = f.name(d.param, d.existingMax)
	in.PolicyName = f.name("PolicyName", maxPolicyNameLen)
	in.PolicyDocument = f.document("PolicyDocument")
	return f.err()
}

func (in *putInlineInput[K]) RequestContext(*api.Call) map[string][]string {
	if descOf[K]().hasBoundary {
		return mergeContext(in.resourceContext(), boundaryContext(in.boundary))
	}
	return in.resourceContext()
}

type inlineInput[K entityType] struct {
	entityField
	PolicyName string
}

func (in *inlineInput[K]) DecodeQuery(v url.Values) error {
	d := descOf[K]()
	f := newForm(v)
	in.Name = f.name(d.param, d.existingMax)
	in.PolicyName = f.name("PolicyName", maxPolicyNameLen)
	return f.err()
}

func (in *inlineInput[K]) RequestContext(*api.Call) map[string][]string {
	if descOf[K]().hasBoundary {
		return mergeContext(in.resourceContext(), boundaryContext(in.boundary))
	}
	return in.resourceContext()
}

type inlineListInput[K entityType] struct {
	entityField
	Page pageInput
}

func (in *inlineListInput[K]) DecodeQuery(v url.Values) error {
	d := descOf[K]()
	f := newForm(v)
	in.Name = f.name(d.param, d.existingMax)
	in.Page = f.page()
	return f.err()
}

// inlinePolicyResult is Get{User,Group,Role}PolicyResult; exactly one of
// the name fields is set.
type inlinePolicyResult struct {
	UserName       string `xml:"UserName,omitempty"`
	GroupName      string `xml:"GroupName,omitempty"`
	RoleName       string `xml:"RoleName,omitempty"`
	PolicyName     string `xml:"PolicyName"`
	PolicyDocument string `xml:"PolicyDocument"`
}

type policyNamesResult struct {
	PolicyNames stringsXML `xml:"PolicyNames"`
	IsTruncated bool       `xml:"IsTruncated"`
	Marker      string     `xml:"Marker,omitempty"`
}

func noSuchInline(d *entityDesc, name string) *awsproto.Error {
	return noSuchEntity("The %s policy with name %s cannot be found.", d.arnKind, name)
}

func putInline[K entityType](s *service) api.Handler[putInlineInput[K]] {
	return func(ctx context.Context, c *api.Call, in *putInlineInput[K]) (any, error) {
		d, acct := descOf[K](), account(c)
		if err := parseDocument(in.PolicyDocument, d.inlineKind); err != nil {
			return nil, err
		}
		name, err := s.getEntity(ctx, d, acct, in.Name)
		if err != nil {
			return nil, err
		}
		p := store.InlinePolicy{AccountID: acct, EntityKind: d.kind, EntityName: name, PolicyName: in.PolicyName,
			Document: in.PolicyDocument}
		if err := s.cfg.IAM.PutInlinePolicy(ctx, p); err != nil {
			return nil, errMap{notFound: d.notFound(in.Name)}.wrap(err, "put inline policy")
		}
		return nil, nil
	}
}

func getInline[K entityType](s *service) api.Handler[inlineInput[K]] {
	return func(ctx context.Context, c *api.Call, in *inlineInput[K]) (any, error) {
		d, acct := descOf[K](), account(c)
		name, err := s.getEntity(ctx, d, acct, in.Name)
		if err != nil {
			return nil, err
		}
		p, err := s.cfg.IAM.GetInlinePolicy(ctx, acct, d.kind, name, in.PolicyName)
		if err != nil {
			return nil, errMap{notFound: noSuchInline(d, in.PolicyName)}.wrap(err, "get inline policy")
		}
		r := &inlinePolicyResult{PolicyName: p.PolicyName, PolicyDocument: urlEncode(p.Document)}
		switch d.kind {
		case store.EntityUser:
			r.UserName = name
		case store.EntityGroup:
			r.GroupName = name
		case store.EntityRole:
			r.RoleName = name
		}
		return r, nil
	}
}

func listInline[K entityType](s *service) api.Handler[inlineListInput[K]] {
	return func(ctx context.Context, c *api.Call, in *inlineListInput[K]) (any, error) {
		d, acct := descOf[K](), account(c)
		name, err := s.getEntity(ctx, d, acct, in.Name)
		if err != nil {
			return nil, err
		}
		names, more, err := s.cfg.IAM.ListInlinePolicies(ctx, acct, d.kind, name, in.Page.storePage(""))
		if err != nil {
			return nil, errMap{notFound: d.notFound(in.Name)}.wrap(err, "list inline policies")
		}
		r := &policyNamesResult{PolicyNames: stringList(names), IsTruncated: more && len(names) > 0}
		if r.IsTruncated {
			r.Marker = encodeMarker(names[len(names)-1])
		}
		return r, nil
	}
}

func deleteInline[K entityType](s *service) api.Handler[inlineInput[K]] {
	return func(ctx context.Context, c *api.Call, in *inlineInput[K]) (any, error) {
		d, acct := descOf[K](), account(c)
		name, err := s.getEntity(ctx, d, acct, in.Name)
		if err != nil {
			return nil, err
		}
		if err := s.cfg.IAM.DeleteInlinePolicy(ctx, acct, d.kind, name, in.PolicyName); err != nil {
			return nil, errMap{notFound: noSuchInline(d, in.PolicyName)}.wrap(err, "delete inline policy")
		}
		return nil, nil
	}
}
