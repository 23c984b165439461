package iam

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/bulwark-security/bulwark/internal/api"
	"github.com/bulwark-security/bulwark/internal/awsproto"
	"github.com/bulwark-security/bulwark/internal/policy"
	"github.com/bulwark-security/bulwark/internal/store"
)

// policyRef is implemented by inputs that name a managed policy by ARN.
type policyRef interface{ policyARN() string }

func resPolicy[In any](_ *api.Call, in *In) []string {
	return []string{any(in).(policyRef).policyARN()}
}

type createPolicyInput struct {
	PolicyName, Path, PolicyDocument, Description string
	Tags                                          []store.Tag
}

func (in *createPolicyInput) DecodeQuery(v url.Values) error {
	f := newForm(v)
	in.PolicyName = f.name("PolicyName", maxPolicyNameLen)
	in.Path = f.policyPath("Path")
	in.PolicyDocument = f.document("PolicyDocument")
	in.Description = f.policyDescription("Description")
	in.Tags = f.tags("Tags")
	return f.err()
}

func (in *createPolicyInput) RequestContext(*api.Call) map[string][]string {
	return tagContext(in.Tags)
}

type policyARNInput struct{ PolicyArn string }

func (in *policyARNInput) DecodeQuery(v url.Values) error {
	f := newForm(v)
	in.PolicyArn = f.arn("PolicyArn")
	return f.err()
}

func (in *policyARNInput) policyARN() string { return in.PolicyArn }

type listPoliciesInput struct {
	Scope, PathPrefix, PolicyUsageFilter string
	OnlyAttached                         bool
	Page                                 pageInput
}

func (in *listPoliciesInput) DecodeQuery(v url.Values) error {
	f := newForm(v)
	in.Scope = f.enum("Scope", false, "All", "AWS", "Local")
	if in.Scope == "" {
		in.Scope = "All"
	}
	in.OnlyAttached = f.boolean("OnlyAttached")
	in.PathPrefix = f.policyPathPrefix("PathPrefix")
	in.PolicyUsageFilter = f.enum("PolicyUsageFilter", false, "PermissionsPolicy", "PermissionsBoundary")
	in.Page = f.page()
	return f.err()
}

type createPolicyVersionInput struct {
	PolicyArn, PolicyDocument string
	SetAsDefault              bool
}

func (in *createPolicyVersionInput) DecodeQuery(v url.Values) error {
	f := newForm(v)
	in.PolicyArn = f.arn("PolicyArn")
	in.PolicyDocument = f.document("PolicyDocument")
	in.SetAsDefault = f.boolean("SetAsDefault")
	return f.err()
}

func (in *createPolicyVersionInput) policyARN() string { return in.PolicyArn }

type policyVersionInput struct{ PolicyArn, VersionID string }

func (in *policyVersionInput) DecodeQuery(v url.Values) error {
	f := newForm(v)
	in.PolicyArn = f.arn("PolicyArn")
	in.VersionID = f.versionID("VersionId")
	return f.err()
}

func (in *policyVersionInput) policyARN() string { return in.PolicyArn }

type policyPageInput struct {
	PolicyArn string
	Page      pageInput
}

func (in *policyPageInput) DecodeQuery(v url.Values) error {
	f := newForm(v)
	in.PolicyArn = f.arn("PolicyArn")
	in.Page = f.page()
	return f.err()
}

func (in *policyPageInput) policyARN() string { return in.PolicyArn }

type tagPolicyInput struct {
	PolicyArn string
	Tags      []store.Tag
}

func (in *tagPolicyInput) DecodeQuery(v url.Values) error {
	f := newForm(v)
	in.PolicyArn = f.arn("PolicyArn")
	in.Tags = f.tags("Tags")
	if len(in.Tags) == 0 && len(f.errs) == 0 {
		f.fail("Tags", nil, "Member must not be null")
	}
	return f.err()
}

func (in *tagPolicyInput) policyARN() string { return in.PolicyArn }

func (in *tagPolicyInput) RequestContext(*api.Call) map[string][]string { return tagContext(in.Tags) }

type untagPolicyInput struct {
	PolicyArn string
	TagKeys   []string
}

func (in *untagPolicyInput) DecodeQuery(v url.Values) error {
	f := newForm(v)
	in.PolicyArn = f.arn("PolicyArn")
	in.TagKeys = f.tagKeys("TagKeys")
	return f.err()
}

func (in *untagPolicyInput) policyARN() string { return in.PolicyArn }

func (in *untagPolicyInput) RequestContext(*api.Call) map[string][]string {
	return map[string][]string{keyTagKeys: in.TagKeys}
}

type listEntitiesInput struct {
	PolicyArn, EntityFilter, PathPrefix, PolicyUsageFilter string
	Page                                                   pageInput
}

func (in *listEntitiesInput) DecodeQuery(v url.Values) error {
	f := newForm(v)
	in.PolicyArn = f.arn("PolicyArn")
	in.EntityFilter = f.enum("EntityFilter", false, "User", "Role", "Group", "LocalManagedPolicy", "AWSManagedPolicy")
	in.PathPrefix = f.entityPathPrefix("PathPrefix")
	in.PolicyUsageFilter = f.enum("PolicyUsageFilter", false, "PermissionsPolicy", "PermissionsBoundary")
	in.Page = f.page()
	return f.err()
}

func (in *listEntitiesInput) policyARN() string { return in.PolicyArn }

func (s *service) resCreatePolicy(c *api.Call, in *createPolicyInput) []string {
	return []string{policyARNFor(account(c), in.Path, in.PolicyName)}
}

func policyARNFor(acct, path, name string) string {
	if path == "" {
		path = "/"
	}
	return "arn:aws:iam::" + acct + ":policy" + path + name
}

type policyXML struct {
	PolicyName                    string   `xml:"PolicyName"`
	PolicyID                      string   `xml:"PolicyId"`
	Arn                           string   `xml:"Arn"`
	Path                          string   `xml:"Path"`
	DefaultVersionID              string   `xml:"DefaultVersionId"`
	AttachmentCount               int      `xml:"AttachmentCount"`
	PermissionsBoundaryUsageCount int      `xml:"PermissionsBoundaryUsageCount"`
	IsAttachable                  bool     `xml:"IsAttachable"`
	Description                   string   `xml:"Description,omitempty"`
	CreateDate                    string   `xml:"CreateDate"`
	UpdateDate                    string   `xml:"UpdateDate"`
	Tags                          *tagsXML `xml:"Tags,omitempty"`
}

// policyOf renders a managed policy; full adds Description and Tags, which
// only CreatePolicy and GetPolicy return.
func policyOf(p store.ManagedPolicy, full bool) policyXML {
	x := policyXML{PolicyName: p.PolicyName, PolicyID: p.PolicyID, Arn: p.ARN, Path: p.Path,
		DefaultVersionID: p.DefaultVersionID, AttachmentCount: p.AttachmentCount,
		PermissionsBoundaryUsageCount: p.PermissionsBoundaryUsageCount, IsAttachable: true,
		CreateDate: isoTime(p.CreatedAt), UpdateDate: isoTime(p.UpdatedAt)}
	if full {
		x.Description = p.Description
		x.Tags = tagList(p.Tags)
	}
	return x
}

type policyResult struct {
	Policy policyXML `xml:"Policy"`
}

type policiesResult struct {
	Policies struct {
		Members []policyXML `xml:"member"`
	} `xml:"Policies"`
	IsTruncated bool   `xml:"IsTruncated"`
	Marker      string `xml:"Marker,omitempty"`
}

type policyVersionXML struct {
	Document         string `xml:"Document,omitempty"`
	VersionID        string `xml:"VersionId"`
	IsDefaultVersion bool   `xml:"IsDefaultVersion"`
	CreateDate       string `xml:"CreateDate"`
}

func versionOf(v store.PolicyVersion, withDoc bool) policyVersionXML {
	x := policyVersionXML{VersionID: v.VersionID, IsDefaultVersion: v.IsDefault, CreateDate: isoTime(v.CreatedAt)}
	if withDoc {
		x.Document = urlEncode(v.Document)
	}
	return x
}

type policyVersionResult struct {
	PolicyVersion policyVersionXML `xml:"PolicyVersion"`
}

type policyVersionsResult struct {
	Versions struct {
		Members []policyVersionXML `xml:"member"`
	} `xml:"Versions"`
	IsTruncated bool   `xml:"IsTruncated"`
	Marker      string `xml:"Marker,omitempty"`
}

// getPolicy loads a managed policy the caller's account can see: its own or
// an AWS managed one. Other accounts' policies do not exist for it.
func (s *service) getPolicy0(ctx context.Context, c *api.Call, arn string) (store.ManagedPolicy, error) {
	notFound := noSuchEntity("Policy %s was not found.", arn)
	if pa := policyAccount(arn); pa != account(c) && pa != "aws" {
		if pa == "" {
			return store.ManagedPolicy{}, invalidInput("ARN %s is not valid.", arn)
		}
		return store.ManagedPolicy{}, notFound
	}
	p, err := s.cfg.IAM.GetPolicy(ctx, arn)
	if err != nil {
		return store.ManagedPolicy{}, errMap{notFound: notFound}.wrap(err, "get policy")
	}
	return p, nil
}

// mutablePolicy is getPolicy0 for calls that change the policy: AWS managed
// policies cannot be changed.
func (s *service) mutablePolicy(ctx context.Context, c *api.Call, arn string) (store.ManagedPolicy, error) {
	p, err := s.getPolicy0(ctx, c, arn)
	if err != nil {
		return p, err
	}
	if isAWSManaged(arn) {
		return p, unmodifiable("Cannot perform the operation on the AWS managed policy %s.", arn)
	}
	return p, nil
}

func (s *service) createPolicy(ctx context.Context, c *api.Call, in *createPolicyInput) (any, error) {
	if err := parseDocument(in.PolicyDocument, policy.KindIdentity); err != nil {
		return nil, err
	}
	acct := account(c)
	now := s.now()
	p := store.ManagedPolicy{AccountID: acct, PolicyName: in.PolicyName, PolicyID: newUniqueID("ANPA"),
		Path: in.Path, ARN: policyARNFor(acct, in.Path, in.PolicyName), DefaultVersionID: "v1",
		Description: in.Description, CreatedAt: now, UpdatedAt: now, Tags: in.Tags}
	if err := s.cfg.IAM.CreatePolicy(ctx, p, in.PolicyDocument); err != nil {
		return nil, errMap{conflict: entityExists("A policy called %s already exists. Duplicate names are not allowed.", in.PolicyName)}.
			wrap(err, "create policy")
	}
	return &policyResult{Policy: policyOf(p, true)}, nil
}

func (s *service) getPolicy(ctx context.Context, c *api.Call, in *policyARNInput) (any, error) {
	p, err := s.getPolicy0(ctx, c, in.PolicyArn)
	if err != nil {
		return nil, err
	}
	return &policyResult{Policy: policyOf(p, true)}, nil
}

func (s *service) listPolicies(ctx context.Context, c *api.Call, in *listPoliciesInput) (any, error) {
	ps, more, err := s.cfg.IAM.ListPolicies(ctx, account(c), in.Scope, in.OnlyAttached, in.Page.storePage(in.PathPrefix))
	if err != nil {
		return nil, fmt.Errorf("list policies: %w", err)
	}
	r := &policiesResult{IsTruncated: more && len(ps) > 0}
	r.Policies.Members = make([]policyXML, 0, len(ps))
	for _, p := range ps {
		// The usage filter narrows within the page the store returned.
		if in.PolicyUsageFilter == "PermissionsBoundary" && p.PermissionsBoundaryUsageCount == 0 ||
			in.PolicyUsageFilter == "PermissionsPolicy" && in.OnlyAttached && p.AttachmentCount == 0 {
			continue
		}
		r.Policies.Members = append(r.Policies.Members, policyOf(p, false))
	}
	if r.IsTruncated {
		r.Marker = encodeMarker(ps[len(ps)-1].PolicyName)
	}
	return r, nil
}

func (s *service) deletePolicy(ctx context.Context, c *api.Call, in *policyARNInput) (any, error) {
	p, err := s.mutablePolicy(ctx, c, in.PolicyArn)
	if err != nil {
		return nil, err
	}
	if p.AttachmentCount > 0 || p.PermissionsBoundaryUsageCount > 0 {
		return nil, deleteConflict("Cannot delete a policy attached to entities.")
	}
	versions, err := s.cfg.IAM.ListPolicyVersions(ctx, p.ARN)
	if err != nil {
		return nil, fmt.Errorf("list policy versions: %w", err)
	}
	if len(versions) > 1 {
		return nil, deleteConflict("This policy has more than one version. Before you delete a policy, you must delete the policy's versions. The default version is deleted with the policy.")
	}
	if err := s.cfg.IAM.DeletePolicy(ctx, p.ARN); err != nil {
		return nil, errMap{notFound: noSuchEntity("Policy %s was not found.", in.PolicyArn),
			deleteConflict: deleteConflict("Cannot delete a policy attached to entities.")}.wrap(err, "delete policy")
	}
	return nil, nil
}

func (s *service) createPolicyVersion(ctx context.Context, c *api.Call, in *createPolicyVersionInput) (any, error) {
	p, err := s.mutablePolicy(ctx, c, in.PolicyArn)
	if err != nil {
		return nil, err
	}
	if err := parseDocument(in.PolicyDocument, policy.KindIdentity); err != nil {
		return nil, err
	}
	v, err := s.cfg.IAM.CreatePolicyVersion(ctx, p.ARN, in.PolicyDocument, in.SetAsDefault, maxPolicyVersions, s.now())
	if err != nil {
		return nil, errMap{notFound: noSuchEntity("Policy %s was not found.", in.PolicyArn),
			limit: limitExceeded("A managed policy can have up to %d versions. Before you create a new version, you must delete an existing version.", maxPolicyVersions)}.
			wrap(err, "create policy version")
	}
	return &policyVersionResult{PolicyVersion: versionOf(v, false)}, nil
}

func noSuchVersion(arn, id string) *awsproto.Error {
	return noSuchEntity("Policy %s version %s does not exist or is not attachable.", arn, id)
}

func (s *service) getPolicyVersion(ctx context.Context, c *api.Call, in *policyVersionInput) (any, error) {
	if _, err := s.getPolicy0(ctx, c, in.PolicyArn); err != nil {
		return nil, err
	}
	v, err := s.cfg.IAM.GetPolicyVersion(ctx, in.PolicyArn, in.VersionID)
	if err != nil {
		return nil, errMap{notFound: noSuchVersion(in.PolicyArn, in.VersionID)}.wrap(err, "get policy version")
	}
	return &policyVersionResult{PolicyVersion: versionOf(v, true)}, nil
}

func (s *service) listPolicyVersions(ctx context.Context, c *api.Call, in *policyPageInput) (any, error) {
	if _, err := s.getPolicy0(ctx, c, in.PolicyArn); err != nil {
		return nil, err
	}
	vs, err := s.cfg.IAM.ListPolicyVersions(ctx, in.PolicyArn)
	if err != nil {
		return nil, errMap{notFound: noSuchEntity("Policy %s was not found.", in.PolicyArn)}.wrap(err, "list policy versions")
	}
	// AWS lists the newest version first; page on that order.
	sortVersionsDesc(vs)
	start := 0
	if in.Page.after != "" {
		for start < len(vs) && vs[start].VersionID != in.Page.after {
			start++
		}
		start++
	}
	if start > len(vs) {
		start = len(vs)
	}
	vs = vs[start:]
	r := &policyVersionsResult{}
	if len(vs) > in.Page.MaxItems {
		vs = vs[:in.Page.MaxItems]
		r.IsTruncated, r.Marker = true, encodeMarker(vs[len(vs)-1].VersionID)
	}
	r.Versions.Members = make([]policyVersionXML, len(vs))
	for i, v := range vs {
		r.Versions.Members[i] = versionOf(v, false)
	}
	return r, nil
}

// sortVersionsDesc orders versions newest first (v10 after v9 numerically).
func sortVersionsDesc(vs []store.PolicyVersion) {
	num := func(id string) int {
		n := 0
		for _, ch := range strings.TrimPrefix(id, "v") {
			if ch < '0' || ch > '9' {
				break
			}
			n = n*10 + int(ch-'0')
		}
		return n
	}
	slices.SortStableFunc(vs, func(a, b store.PolicyVersion) int { return num(b.VersionID) - num(a.VersionID) })
}

func (s *service) setDefaultPolicyVersion(ctx context.Context, c *api.Call, in *policyVersionInput) (any, error) {
	if _, err := s.mutablePolicy(ctx, c, in.PolicyArn); err != nil {
		return nil, err
	}
	if err := s.cfg.IAM.SetDefaultPolicyVersion(ctx, in.PolicyArn, in.VersionID); err != nil {
		return nil, errMap{notFound: noSuchVersion(in.PolicyArn, in.VersionID)}.wrap(err, "set default policy version")
	}
	return nil, nil
}

func (s *service) deletePolicyVersion(ctx context.Context, c *api.Call, in *policyVersionInput) (any, error) {
	p, err := s.mutablePolicy(ctx, c, in.PolicyArn)
	if err != nil {
		return nil, err
	}
	if p.DefaultVersionID == in.VersionID {
		return nil, deleteConflict("Cannot delete the default version of a policy.")
	}
	if err := s.cfg.IAM.DeletePolicyVersion(ctx, in.PolicyArn, in.VersionID); err != nil {
		return nil, errMap{notFound: noSuchVersion(in.PolicyArn, in.VersionID),
			deleteConflict: deleteConflict("Cannot delete the default version of a policy.")}.wrap(err, "delete policy version")
	}
	return nil, nil
}

func (s *service) tagPolicy(ctx context.Context, c *api.Call, in *tagPolicyInput) (any, error) {
	if _, err := s.mutablePolicy(ctx, c, in.PolicyArn); err != nil {
		return nil, err
	}
	err := s.cfg.IAM.TagResource(ctx, account(c), store.TagPolicy, in.PolicyArn, in.Tags, maxTagsPerResource)
	if err != nil {
		return nil, errMap{notFound: noSuchEntity("Policy %s was not found.", in.PolicyArn), limit: tagLimit("policy")}.
			wrap(err, "tag policy")
	}
	return nil, nil
}

func (s *service) untagPolicy(ctx context.Context, c *api.Call, in *untagPolicyInput) (any, error) {
	if _, err := s.mutablePolicy(ctx, c, in.PolicyArn); err != nil {
		return nil, err
	}
	if err := s.cfg.IAM.UntagResource(ctx, account(c), store.TagPolicy, in.PolicyArn, in.TagKeys); err != nil {
		return nil, errMap{notFound: noSuchEntity("Policy %s was not found.", in.PolicyArn)}.wrap(err, "untag policy")
	}
	return nil, nil
}

func (s *service) listPolicyTags(ctx context.Context, c *api.Call, in *policyPageInput) (any, error) {
	p, err := s.getPolicy0(ctx, c, in.PolicyArn)
	if err != nil {
		return nil, err
	}
	return pageTags(p.Tags, in.Page), nil
}

type entitiesResult struct {
	PolicyGroups struct {
		Members []policyGroupXML `xml:"member"`
	} `xml:"PolicyGroups"`
	PolicyUsers struct {
		Members []policyUserXML `xml:"member"`
	} `xml:"PolicyUsers"`
	PolicyRoles struct {
		Members []policyRoleXML `xml:"member"`
	} `xml:"PolicyRoles"`
	IsTruncated bool   `xml:"IsTruncated"`
	Marker      string `xml:"Marker,omitempty"`
}

type policyGroupXML struct {
	GroupName string `xml:"GroupName"`
	GroupID   string `xml:"GroupId"`
}

type policyUserXML struct {
	UserName string `xml:"UserName"`
	UserID   string `xml:"UserId"`
}

type policyRoleXML struct {
	RoleName string `xml:"RoleName"`
	RoleID   string `xml:"RoleId"`
}

func (s *service) listEntitiesForPolicy(ctx context.Context, c *api.Call, in *listEntitiesInput) (any, error) {
	if _, err := s.getPolicy0(ctx, c, in.PolicyArn); err != nil {
		return nil, err
	}
	acct := account(c)
	var refs []store.InlinePolicy
	if in.PolicyUsageFilter != "PermissionsBoundary" {
		attached, err := s.cfg.IAM.ListEntitiesForPolicy(ctx, in.PolicyArn)
		if err != nil {
			return nil, errMap{notFound: noSuchEntity("Policy %s was not found.", in.PolicyArn)}.wrap(err, "list entities for policy")
		}
		refs = attached
	}
	if in.PolicyUsageFilter != "PermissionsPolicy" {
		bounded, err := s.boundaryUsers(ctx, acct, in.PolicyArn)
		if err != nil {
			return nil, err
		}
		refs = append(refs, bounded...)
	}
	type entity struct {
		key        string
		kind       store.EntityKind
		name, id   string
		path       string
		validEntry bool
	}
	var all []entity
	for _, r := range refs {
		if r.AccountID != "" && r.AccountID != acct {
			continue
		}
		switch {
		case in.EntityFilter == "User" && r.EntityKind != store.EntityUser,
			in.EntityFilter == "Group" && r.EntityKind != store.EntityGroup,
			in.EntityFilter == "Role" && r.EntityKind != store.EntityRole:
			continue
		}
		e := entity{kind: r.EntityKind, name: r.EntityName, key: string(r.EntityKind) + "/" + r.EntityName}
		if slices.ContainsFunc(all, func(o entity) bool { return o.key == e.key }) {
			continue // attached and used as its boundary
		}
		switch r.EntityKind {
		case store.EntityUser:
			u, err := s.cfg.IAM.GetUser(ctx, acct, r.EntityName)
			e.id, e.path, e.validEntry = u.UserID, u.Path, err == nil
		case store.EntityGroup:
			g, err := s.cfg.IAM.GetGroup(ctx, acct, r.EntityName)
			e.id, e.path, e.validEntry = g.GroupID, g.Path, err == nil
		case store.EntityRole:
			ro, err := s.cfg.IAM.GetRole(ctx, acct, r.EntityName)
			e.id, e.path, e.validEntry = ro.RoleID, ro.Path, err == nil
		}
		if !e.validEntry || (in.PathPrefix != "" && !strings.HasPrefix(e.path, in.PathPrefix)) {
			continue
		}
		all = append(all, e)
	}
	sortByKey(all, func(e entity) string { return e.key })
	page, next := pageSlice(all, func(e entity) string { return e.key }, in.Page)
	r := &entitiesResult{IsTruncated: next != "", Marker: next}
	for _, e := range page {
		switch e.kind {
		case store.EntityUser:
			r.PolicyUsers.Members = append(r.PolicyUsers.Members, policyUserXML{UserName: e.name, UserID: e.id})
		case store.EntityGroup:
			r.PolicyGroups.Members = append(r.PolicyGroups.Members, policyGroupXML{GroupName: e.name, GroupID: e.id})
		case store.EntityRole:
			r.PolicyRoles.Members = append(r.PolicyRoles.Members, policyRoleXML{RoleName: e.name, RoleID: e.id})
		}
	}
	return r, nil
}

func sortByKey[T any](items []T, key func(T) string) {
	slices.SortStableFunc(items, func(a, b T) int { return strings.Compare(key(a), key(b)) })
}

// boundaryUsers lists the users and roles of an account whose permissions
// boundary is the policy (the store counts them but does not list them).
func (s *service) boundaryUsers(ctx context.Context, acct, arn string) ([]store.InlinePolicy, error) {
	var out []store.InlinePolicy
	users, err := listAll(func(p store.Page) ([]store.User, bool, error) { return s.cfg.IAM.ListUsers(ctx, acct, p) },
		func(u store.User) string { return u.UserName })
	if err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	for _, u := range users {
		if u.PermissionsBoundary == arn {
			out = append(out, store.InlinePolicy{AccountID: acct, EntityKind: store.EntityUser, EntityName: u.UserName})
		}
	}
	roles, err := listAll(func(p store.Page) ([]store.Role, bool, error) { return s.cfg.IAM.ListRoles(ctx, acct, p) },
		func(r store.Role) string { return r.RoleName })
	if err != nil {
		return nil, fmt.Errorf("list roles: %w", err)
	}
	for _, r := range roles {
		if r.PermissionsBoundary == arn {
			out = append(out, store.InlinePolicy{AccountID: acct, EntityKind: store.EntityRole, EntityName: r.RoleName})
		}
	}
	return out, nil
}
