package iam

import (
	"context"
	"fmt"
	"net/url"

	"github.com/bulwark-security/bulwark/internal/api"
	"github.com/bulwark-security/bulwark/internal/policy"
	"github.com/bulwark-security/bulwark/internal/store"
)

type createRoleInput struct {
	RoleName, Path, AssumeRolePolicyDocument, Description, PermissionsBoundary string
	MaxSessionDuration                                                         int
	Tags                                                                       []store.Tag
}

func (in *createRoleInput) DecodeQuery(v url.Values) error {
	f := newForm(v)
	in.RoleName = f.name("RoleName", maxNameLen)
	in.Path = f.path("Path")
	in.AssumeRolePolicyDocument = f.document("AssumeRolePolicyDocument")
	in.Description, _ = f.description("Description")
	in.MaxSessionDuration = f.integer("MaxSessionDuration", minMaxSessionDuration, maxMaxSessionDuration, minMaxSessionDuration)
	if _, ok := f.get("PermissionsBoundary"); ok {
		in.PermissionsBoundary = f.arn("PermissionsBoundary")
	}
	in.Tags = f.tags("Tags")
	return f.err()
}

func (in *createRoleInput) RequestContext(*api.Call) map[string][]string {
	m := tagContext(in.Tags)
	if in.PermissionsBoundary != "" {
		m = mergeContext(m, map[string][]string{keyBoundary: {in.PermissionsBoundary}})
	}
	return m
}

type roleInput struct {
	RoleName string
	found
}

func (in *roleInput) DecodeQuery(v url.Values) error {
	f := newForm(v)
	in.RoleName = f.name("RoleName", maxNameLen)
	return f.err()
}

// RequestContext adds the boundary, which only resRole keeps (for the
// actions with iam:PermissionsBoundary).
func (in *roleInput) RequestContext(*api.Call) map[string][]string {
	return mergeContext(in.resourceContext(), boundaryContext(in.boundary))
}

type rolePageInput struct {
	RoleName string
	Page     pageInput
	found
}

func (in *rolePageInput) DecodeQuery(v url.Values) error {
	f := newForm(v)
	in.RoleName = f.name("RoleName", maxNameLen)
	in.Page = f.page()
	return f.err()
}

type updateRoleInput struct {
	RoleName           string
	Description        *string
	MaxSessionDuration *int
	found
}

func (in *updateRoleInput) DecodeQuery(v url.Values) error {
	f := newForm(v)
	in.RoleName = f.name("RoleName", maxNameLen)
	if d, ok := f.description("Description"); ok {
		in.Description = &d
	}
	if _, ok := f.get("MaxSessionDuration"); ok {
		n := f.integer("MaxSessionDuration", minMaxSessionDuration, maxMaxSessionDuration, minMaxSessionDuration)
		in.MaxSessionDuration = &n
	}
	return f.err()
}

type updateRoleDescriptionInput struct {
	RoleName, Description string
	found
}

func (in *updateRoleDescriptionInput) DecodeQuery(v url.Values) error {
	f := newForm(v)
	in.RoleName = f.name("RoleName", maxNameLen)
	var ok bool
	if in.Description, ok = f.description("Description"); !ok {
		f.fail("Description", nil, "Member must not be null")
	}
	return f.err()
}

type assumeRolePolicyInput struct {
	RoleName, PolicyDocument string
	found
}

func (in *assumeRolePolicyInput) DecodeQuery(v url.Values) error {
	f := newForm(v)
	in.RoleName = f.name("RoleName", maxNameLen)
	in.PolicyDocument = f.document("PolicyDocument")
	return f.err()
}

type tagRoleInput struct {
	RoleName string
	Tags     []store.Tag
	found
}

func (in *tagRoleInput) DecodeQuery(v url.Values) error {
	f := newForm(v)
	in.RoleName = f.name("RoleName", maxNameLen)
	in.Tags = f.tags("Tags")
	if len(in.Tags) == 0 && len(f.errs) == 0 {
		f.fail("Tags", nil, "Member must not be null")
	}
	return f.err()
}

func (in *tagRoleInput) RequestContext(*api.Call) map[string][]string {
	return mergeContext(in.resourceContext(), tagContext(in.Tags))
}

type untagRoleInput struct {
	RoleName string
	TagKeys  []string
	found
}

func (in *untagRoleInput) DecodeQuery(v url.Values) error {
	f := newForm(v)
	in.RoleName = f.name("RoleName", maxNameLen)
	in.TagKeys = f.tagKeys("TagKeys")
	return f.err()
}

func (in *untagRoleInput) RequestContext(*api.Call) map[string][]string {
	return mergeContext(in.resourceContext(), map[string][]string{keyTagKeys: in.TagKeys})
}

type roleBoundaryInput struct {
	RoleName, PermissionsBoundary string
	found
}

func (in *roleBoundaryInput) DecodeQuery(v url.Values) error {
	f := newForm(v)
	in.RoleName = f.name("RoleName", maxNameLen)
	in.PermissionsBoundary = f.arn("PermissionsBoundary")
	return f.err()
}

func (in *roleBoundaryInput) RequestContext(*api.Call) map[string][]string {
	return mergeContext(in.resourceContext(), boundaryContext(in.PermissionsBoundary))
}

// roleInfo resolves a role's ARN and boundary (see userInfo).
func (s *service) roleInfo(acct, name string, f *found) string {
	ctx, cancel := lookupContext()
	defer cancel()
	r, err := s.cfg.IAM.GetRole(ctx, acct, name)
	if err != nil {
		return entityARN(acct, "role", "/", name)
	}
	f.tags, f.boundary = r.Tags, r.PermissionsBoundary
	return r.ARN
}

// roleARN resolves the role's ARN and tags and drops the boundary (see userARN).
func (s *service) roleARN(c *api.Call, name string, f *found) []string {
	arn := s.roleInfo(account(c), name, f)
	f.boundary = ""
	return []string{arn}
}

func (s *service) resCreateRole(c *api.Call, in *createRoleInput) []string {
	return []string{entityARN(account(c), "role", in.Path, in.RoleName)}
}

func (s *service) resRole(c *api.Call, in *roleInput) []string {
	return []string{s.roleInfo(account(c), in.RoleName, &in.found)}
}

// resRolePlain is resRole for actions without iam:PermissionsBoundary.
func (s *service) resRolePlain(c *api.Call, in *roleInput) []string {
	return s.roleARN(c, in.RoleName, &in.found)
}

func (s *service) resRolePage(c *api.Call, in *rolePageInput) []string {
	return s.roleARN(c, in.RoleName, &in.found)
}

func (s *service) resUpdateRole(c *api.Call, in *updateRoleInput) []string {
	return s.roleARN(c, in.RoleName, &in.found)
}

func (s *service) resUpdateRoleDescription(c *api.Call, in *updateRoleDescriptionInput) []string {
	return s.roleARN(c, in.RoleName, &in.found)
}

func (s *service) resAssumeRolePolicy(c *api.Call, in *assumeRolePolicyInput) []string {
	return s.roleARN(c, in.RoleName, &in.found)
}

func (s *service) resTagRole(c *api.Call, in *tagRoleInput) []string {
	return s.roleARN(c, in.RoleName, &in.found)
}

func (s *service) resUntagRole(c *api.Call, in *untagRoleInput) []string {
	return s.roleARN(c, in.RoleName, &in.found)
}

func (s *service) resRoleBoundary(c *api.Call, in *roleBoundaryInput) []string {
	return s.roleARN(c, in.RoleName, &in.found)
}

type roleLastUsedXML struct {
	LastUsedDate string `xml:"LastUsedDate,omitempty"`
	Region       string `xml:"Region,omitempty"`
}

type roleXML struct {
	Path                     string           `xml:"Path"`
	RoleName                 string           `xml:"RoleName"`
	RoleID                   string           `xml:"RoleId"`
	Arn                      string           `xml:"Arn"`
	CreateDate               string           `xml:"CreateDate"`
	AssumeRolePolicyDocument string           `xml:"AssumeRolePolicyDocument,omitempty"`
	Description              string           `xml:"Description,omitempty"`
	MaxSessionDuration       int              `xml:"MaxSessionDuration,omitempty"`
	PermissionsBoundary      *boundaryXML     `xml:"PermissionsBoundary,omitempty"`
	Tags                     *tagsXML         `xml:"Tags,omitempty"`
	RoleLastUsed             *roleLastUsedXML `xml:"RoleLastUsed,omitempty"`
}

// roleOf renders a role; full adds what GetRole returns beyond ListRoles
// (boundary, tags, last use).
func roleOf(r store.Role, full bool) roleXML {
	x := roleXML{Path: r.Path, RoleName: r.RoleName, RoleID: r.RoleID, Arn: r.ARN, CreateDate: isoTime(r.CreatedAt),
		AssumeRolePolicyDocument: urlEncode(r.AssumeRolePolicyDocument), Description: r.Description,
		MaxSessionDuration: r.MaxSessionDuration}
	if full {
		x.PermissionsBoundary = boundary(r.PermissionsBoundary)
		x.Tags = tagList(r.Tags)
		x.RoleLastUsed = lastUsed(r)
	}
	return x
}

func lastUsed(r store.Role) *roleLastUsedXML {
	lu := &roleLastUsedXML{}
	if !r.LastUsedAt.IsZero() {
		lu.LastUsedDate, lu.Region = isoTime(r.LastUsedAt), r.LastUsedRegion
	}
	return lu
}

type roleResult struct {
	Role roleXML `xml:"Role"`
}

type rolesResult struct {
	Roles struct {
		Members []roleXML `xml:"member"`
	} `xml:"Roles"`
	IsTruncated bool   `xml:"IsTruncated"`
	Marker      string `xml:"Marker,omitempty"`
}

func (s *service) createRole(ctx context.Context, c *api.Call, in *createRoleInput) (any, error) {
	acct := account(c)
	if err := parseDocument(in.AssumeRolePolicyDocument, policy.KindTrust); err != nil {
		return nil, err
	}
	if in.PermissionsBoundary != "" {
		if err := s.checkBoundary(ctx, acct, in.PermissionsBoundary); err != nil {
			return nil, err
		}
	}
	r := store.Role{
		AccountID: acct, RoleName: in.RoleName, RoleID: newUniqueID("AROA"), Path: in.Path,
		ARN: entityARN(acct, "role", in.Path, in.RoleName), CreatedAt: s.now(),
		AssumeRolePolicyDocument: in.AssumeRolePolicyDocument, Description: in.Description,
		MaxSessionDuration: in.MaxSessionDuration, PermissionsBoundary: in.PermissionsBoundary, Tags: in.Tags,
	}
	if err := s.cfg.IAM.CreateRole(ctx, r); err != nil {
		return nil, errMap{conflict: entityExists("Role with name %s already exists.", in.RoleName)}.wrap(err, "create role")
	}
	x := roleOf(r, true)
	x.RoleLastUsed = nil // CreateRole does not return it
	return &roleResult{Role: x}, nil
}

func (s *service) getRole(ctx context.Context, c *api.Call, in *roleInput) (any, error) {
	r, err := s.cfg.IAM.GetRole(ctx, account(c), in.RoleName)
	if err != nil {
		return nil, errMap{notFound: noSuchRole(in.RoleName)}.wrap(err, "get role")
	}
	return &roleResult{Role: roleOf(r, true)}, nil
}

func (s *service) listRoles(ctx context.Context, c *api.Call, in *listInput) (any, error) {
	roles, more, err := s.cfg.IAM.ListRoles(ctx, account(c), in.Page.storePage(in.PathPrefix))
	if err != nil {
		return nil, fmt.Errorf("list roles: %w", err)
	}
	res := &rolesResult{IsTruncated: more && len(roles) > 0}
	res.Roles.Members = make([]roleXML, len(roles))
	for i, r := range roles {
		res.Roles.Members[i] = roleOf(r, false)
	}
	if res.IsTruncated {
		res.Marker = encodeMarker(roles[len(roles)-1].RoleName)
	}
	return res, nil
}

func (s *service) updateRole(ctx context.Context, c *api.Call, in *updateRoleInput) (any, error) {
	if err := s.cfg.IAM.UpdateRole(ctx, account(c), in.RoleName, in.Description, in.MaxSessionDuration); err != nil {
		return nil, errMap{notFound: noSuchRole(in.RoleName)}.wrap(err, "update role")
	}
	return nil, nil
}

func (s *service) updateRoleDescription(ctx context.Context, c *api.Call, in *updateRoleDescriptionInput) (any, error) {
	acct := account(c)
	if err := s.cfg.IAM.UpdateRole(ctx, acct, in.RoleName, &in.Description, nil); err != nil {
		return nil, errMap{notFound: noSuchRole(in.RoleName)}.wrap(err, "update role description")
	}
	r, err := s.cfg.IAM.GetRole(ctx, acct, in.RoleName)
	if err != nil {
		return nil, errMap{notFound: noSuchRole(in.RoleName)}.wrap(err, "get role")
	}
	return &roleResult{Role: roleOf(r, true)}, nil
}

func (s *service) updateAssumeRolePolicy(ctx context.Context, c *api.Call, in *assumeRolePolicyInput) (any, error) {
	if err := parseDocument(in.PolicyDocument, policy.KindTrust); err != nil {
		return nil, err
	}
	if err := s.cfg.IAM.UpdateAssumeRolePolicy(ctx, account(c), in.RoleName, in.PolicyDocument); err != nil {
		return nil, errMap{notFound: noSuchRole(in.RoleName)}.wrap(err, "update assume role policy")
	}
	return nil, nil
}

func (s *service) deleteRole(ctx context.Context, c *api.Call, in *roleInput) (any, error) {
	acct := account(c)
	r, err := s.cfg.IAM.GetRole(ctx, acct, in.RoleName)
	if err != nil {
		return nil, errMap{notFound: noSuchRole(in.RoleName)}.wrap(err, "get role")
	}
	msg, err := s.policyDependents(ctx, acct, store.EntityRole, r.RoleName)
	if err != nil {
		return nil, err
	}
	if msg != "" {
		return nil, deleteConflict("%s", msg)
	}
	if err := s.cfg.IAM.DeleteRole(ctx, acct, r.RoleName); err != nil {
		return nil, errMap{notFound: noSuchRole(in.RoleName),
			deleteConflict: deleteConflict("Cannot delete entity, must detach all policies first.")}.wrap(err, "delete role")
	}
	return nil, nil
}

func (s *service) tagRole(ctx context.Context, c *api.Call, in *tagRoleInput) (any, error) {
	err := s.cfg.IAM.TagResource(ctx, account(c), store.TagRole, in.RoleName, in.Tags, maxTagsPerResource)
	if err != nil {
		return nil, errMap{notFound: noSuchRole(in.RoleName), limit: tagLimit("role")}.wrap(err, "tag role")
	}
	return nil, nil
}

func (s *service) untagRole(ctx context.Context, c *api.Call, in *untagRoleInput) (any, error) {
	if err := s.cfg.IAM.UntagResource(ctx, account(c), store.TagRole, in.RoleName, in.TagKeys); err != nil {
		return nil, errMap{notFound: noSuchRole(in.RoleName)}.wrap(err, "untag role")
	}
	return nil, nil
}

func (s *service) listRoleTags(ctx context.Context, c *api.Call, in *rolePageInput) (any, error) {
	r, err := s.cfg.IAM.GetRole(ctx, account(c), in.RoleName)
	if err != nil {
		return nil, errMap{notFound: noSuchRole(in.RoleName)}.wrap(err, "get role")
	}
	return pageTags(r.Tags, in.Page), nil
}

func (s *service) putRoleBoundary(ctx context.Context, c *api.Call, in *roleBoundaryInput) (any, error) {
	acct := account(c)
	if err := s.checkBoundary(ctx, acct, in.PermissionsBoundary); err != nil {
		return nil, err
	}
	if err := s.cfg.IAM.SetRoleBoundary(ctx, acct, in.RoleName, in.PermissionsBoundary); err != nil {
		return nil, errMap{notFound: noSuchRole(in.RoleName)}.wrap(err, "set role boundary")
	}
	return nil, nil
}

func (s *service) deleteRoleBoundary(ctx context.Context, c *api.Call, in *roleInput) (any, error) {
	if err := s.cfg.IAM.SetRoleBoundary(ctx, account(c), in.RoleName, ""); err != nil {
		return nil, errMap{notFound: noSuchRole(in.RoleName)}.wrap(err, "delete role boundary")
	}
	return nil, nil
}
