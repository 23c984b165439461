package iam

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/bulwark-security/bulwark/internal/api"
	"github.com/bulwark-security/bulwark/internal/store"
)

// GetAccountAuthorizationDetails filters (EntityType in the API reference).
const (
	filterUser      = "User"
	filterRole      = "Role"
	filterGroup     = "Group"
	filterLocal     = "LocalManagedPolicy"
	filterAWS       = "AWSManagedPolicy"
	maxDetailFilter = 5
)

type accountDetailsInput struct {
	Filter map[string]bool
	Page   pageInput
}

func (in *accountDetailsInput) DecodeQuery(v url.Values) error {
	f := newForm(v)
	in.Filter = map[string]bool{}
	for i, e := range f.list("Filter", maxDetailFilter) {
		switch e {
		case filterUser, filterRole, filterGroup, filterLocal, filterAWS:
			in.Filter[e] = true
		default:
			f.errs = append(f.errs, fmt.Sprintf("Value '%s' at 'filter.%d.member' failed to satisfy constraint: Member must satisfy enum value set: [%s, %s, %s, %s, %s]",
				shorten(e), i+1, filterUser, filterRole, filterGroup, filterLocal, filterAWS))
		}
	}
	if len(in.Filter) == 0 {
		// No filter means every type.
		for _, e := range []string{filterUser, filterRole, filterGroup, filterLocal, filterAWS} {
			in.Filter[e] = true
		}
	}
	in.Page = f.page()
	return f.err()
}

type inlineDetailXML struct {
	PolicyName     string `xml:"PolicyName"`
	PolicyDocument string `xml:"PolicyDocument"`
}

type inlineDetailsXML struct {
	Members []inlineDetailXML `xml:"member"`
}

type attachedListXML struct {
	Members []attachedPolicyXML `xml:"member"`
}

type userDetailXML struct {
	Path                    string           `xml:"Path"`
	UserName                string           `xml:"UserName"`
	UserID                  string           `xml:"UserId"`
	Arn                     string           `xml:"Arn"`
	CreateDate              string           `xml:"CreateDate"`
	UserPolicyList          inlineDetailsXML `xml:"UserPolicyList"`
	GroupList               stringsXML       `xml:"GroupList"`
	AttachedManagedPolicies attachedListXML  `xml:"AttachedManagedPolicies"`
	PermissionsBoundary     *boundaryXML     `xml:"PermissionsBoundary,omitempty"`
	Tags                    *tagsXML         `xml:"Tags,omitempty"`
}

type groupDetailXML struct {
	Path                    string           `xml:"Path"`
	GroupName               string           `xml:"GroupName"`
	GroupID                 string           `xml:"GroupId"`
	Arn                     string           `xml:"Arn"`
	CreateDate              string           `xml:"CreateDate"`
	GroupPolicyList         inlineDetailsXML `xml:"GroupPolicyList"`
	AttachedManagedPolicies attachedListXML  `xml:"AttachedManagedPolicies"`
}

type roleDetailXML struct {
	Path                     string           `xml:"Path"`
	RoleName                 string           `xml:"RoleName"`
	RoleID                   string           `xml:"RoleId"`
	Arn                      string           `xml:"Arn"`
	CreateDate               string           `xml:"CreateDate"`
	AssumeRolePolicyDocument string           `xml:"AssumeRolePolicyDocument"`
	InstanceProfileList      struct{}         `xml:"InstanceProfileList"`
	RolePolicyList           inlineDetailsXML `xml:"RolePolicyList"`
	AttachedManagedPolicies  attachedListXML  `xml:"AttachedManagedPolicies"`
	PermissionsBoundary      *boundaryXML     `xml:"PermissionsBoundary,omitempty"`
	Tags                     *tagsXML         `xml:"Tags,omitempty"`
	RoleLastUsed             *roleLastUsedXML `xml:"RoleLastUsed,omitempty"`
}

type policyDetailXML struct {
	PolicyName                    string `xml:"PolicyName"`
	PolicyID                      string `xml:"PolicyId"`
	Arn                           string `xml:"Arn"`
	Path                          string `xml:"Path"`
	DefaultVersionID              string `xml:"DefaultVersionId"`
	AttachmentCount               int    `xml:"AttachmentCount"`
	PermissionsBoundaryUsageCount int    `xml:"PermissionsBoundaryUsageCount"`
	IsAttachable                  bool   `xml:"IsAttachable"`
	Description                   string `xml:"Description,omitempty"`
	CreateDate                    string `xml:"CreateDate"`
	UpdateDate                    string `xml:"UpdateDate"`
	PolicyVersionList             struct {
		Members []policyVersionXML `xml:"member"`
	} `xml:"PolicyVersionList"`
}

type accountDetailsResult struct {
	UserDetailList struct {
		Members []userDetailXML `xml:"member"`
	} `xml:"UserDetailList"`
	GroupDetailList struct {
		Members []groupDetailXML `xml:"member"`
	} `xml:"GroupDetailList"`
	RoleDetailList struct {
		Members []roleDetailXML `xml:"member"`
	} `xml:"RoleDetailList"`
	Policies struct {
		Members []policyDetailXML `xml:"member"`
	} `xml:"Policies"`
	IsTruncated bool   `xml:"IsTruncated"`
	Marker      string `xml:"Marker,omitempty"`
}

// detailItem is one entry of the account listing; the key orders users,
// then groups, roles and policies, each by name.
type detailItem struct {
	key    string
	user   *store.User
	group  *store.Group
	role   *store.Role
	policy *store.ManagedPolicy
}

// listAll reads every page of a store listing.
func listAll[T any](list func(store.Page) ([]T, bool, error), name func(T) string) ([]T, error) {
	var out []T
	p := store.Page{MaxItems: maxMaxItems}
	for {
		items, more, err := list(p)
		if err != nil {
			return nil, err
		}
		out = append(out, items...)
		if !more || len(items) == 0 {
			return out, nil
		}
		p.Marker = name(items[len(items)-1])
	}
}

func (s *service) getAccountAuthorizationDetails(ctx context.Context, c *api.Call, in *accountDetailsInput) (any, error) {
	acct := account(c)
	items, err := s.detailItems(ctx, acct, in.Filter)
	if err != nil {
		return nil, err
	}
	page, next := pageSlice(items, func(it detailItem) string { return it.key }, in.Page)
	r := &accountDetailsResult{IsTruncated: next != "", Marker: next}
	for _, it := range page {
		switch {
		case it.user != nil:
			d, err := s.userDetail(ctx, *it.user)
			if err != nil {
				return nil, err
			}
			r.UserDetailList.Members = append(r.UserDetailList.Members, d)
		case it.group != nil:
			g := *it.group
			d := groupDetailXML{Path: g.Path, GroupName: g.GroupName, GroupID: g.GroupID, Arn: g.ARN, CreateDate: isoTime(g.CreatedAt)}
			if d.GroupPolicyList, d.AttachedManagedPolicies, err = s.entityPolicies(ctx, acct, store.EntityGroup, g.GroupName); err != nil {
				return nil, err
			}
			r.GroupDetailList.Members = append(r.GroupDetailList.Members, d)
		case it.role != nil:
			ro := *it.role
			d := roleDetailXML{Path: ro.Path, RoleName: ro.RoleName, RoleID: ro.RoleID, Arn: ro.ARN, CreateDate: isoTime(ro.CreatedAt),
				AssumeRolePolicyDocument: urlEncode(ro.AssumeRolePolicyDocument), PermissionsBoundary: boundary(ro.PermissionsBoundary),
				Tags: tagList(ro.Tags), RoleLastUsed: lastUsed(ro)}
			if d.RolePolicyList, d.AttachedManagedPolicies, err = s.entityPolicies(ctx, acct, store.EntityRole, ro.RoleName); err != nil {
				return nil, err
			}
			r.RoleDetailList.Members = append(r.RoleDetailList.Members, d)
		case it.policy != nil:
			d, err := s.policyDetail(ctx, *it.policy)
			if err != nil {
				return nil, err
			}
			r.Policies.Members = append(r.Policies.Members, d)
		}
	}
	return r, nil
}

func (s *service) detailItems(ctx context.Context, acct string, filter map[string]bool) ([]detailItem, error) {
	var items []detailItem
	if filter[filterUser] {
		users, err := listAll(func(p store.Page) ([]store.User, bool, error) { return s.cfg.IAM.ListUsers(ctx, acct, p) },
			func(u store.User) string { return u.UserName })
		if err != nil {
			return nil, fmt.Errorf("list users: %w", err)
		}
		for i := range users {
			items = append(items, detailItem{key: "1/" + users[i].UserName, user: &users[i]})
		}
	}
	if filter[filterGroup] {
		groups, err := listAll(func(p store.Page) ([]store.Group, bool, error) { return s.cfg.IAM.ListGroups(ctx, acct, p) },
			func(g store.Group) string { return g.GroupName })
		if err != nil {
			return nil, fmt.Errorf("list groups: %w", err)
		}
		for i := range groups {
			items = append(items, detailItem{key: "2/" + groups[i].GroupName, group: &groups[i]})
		}
	}
	if filter[filterRole] {
		roles, err := listAll(func(p store.Page) ([]store.Role, bool, error) { return s.cfg.IAM.ListRoles(ctx, acct, p) },
			func(r store.Role) string { return r.RoleName })
		if err != nil {
			return nil, fmt.Errorf("list roles: %w", err)
		}
		for i := range roles {
			items = append(items, detailItem{key: "3/" + roles[i].RoleName, role: &roles[i]})
		}
	}
	for _, scope := range []struct {
		filter, scope, prefix string
		onlyAttached          bool
	}{{filterLocal, "Local", "4/", false}, {filterAWS, "AWS", "5/", true}} {
		if !filter[scope.filter] {
			continue
		}
		// AWS managed policies are listed when something in the account
		// uses them, as AWS does.
		ps, err := listAll(func(p store.Page) ([]store.ManagedPolicy, bool, error) {
			return s.cfg.IAM.ListPolicies(ctx, acct, scope.scope, scope.onlyAttached, p)
		}, func(p store.ManagedPolicy) string { return p.PolicyName })
		if err != nil {
			return nil, fmt.Errorf("list policies: %w", err)
		}
		for i := range ps {
			items = append(items, detailItem{key: scope.prefix + ps[i].PolicyName, policy: &ps[i]})
		}
	}
	slices.SortStableFunc(items, func(a, b detailItem) int { return strings.Compare(a.key, b.key) })
	return items, nil
}

// entityPolicies lists an entity's inline policies (with their documents)
// and attached managed policies.
func (s *service) entityPolicies(ctx context.Context, acct string, kind store.EntityKind, name string) (inlineDetailsXML, attachedListXML, error) {
	var inl inlineDetailsXML
	var att attachedListXML
	names, err := listAll(func(p store.Page) ([]string, bool, error) {
		return s.cfg.IAM.ListInlinePolicies(ctx, acct, kind, name, p)
	}, func(n string) string { return n })
	if err != nil {
		return inl, att, fmt.Errorf("list inline policies of %s %s: %w", kind, name, err)
	}
	for _, pn := range names {
		ip, err := s.cfg.IAM.GetInlinePolicy(ctx, acct, kind, name, pn)
		if err != nil {
			return inl, att, fmt.Errorf("get inline policy %s of %s %s: %w", pn, kind, name, err)
		}
		inl.Members = append(inl.Members, inlineDetailXML{PolicyName: pn, PolicyDocument: urlEncode(ip.Document)})
	}
	attached, err := listAll(func(p store.Page) ([]store.ManagedPolicy, bool, error) {
		return s.cfg.IAM.ListAttachedPolicies(ctx, acct, kind, name, p)
	}, func(m store.ManagedPolicy) string { return m.PolicyName })
	if err != nil {
		return inl, att, fmt.Errorf("list attached policies of %s %s: %w", kind, name, err)
	}
	for _, m := range attached {
		att.Members = append(att.Members, attachedPolicyXML{PolicyName: m.PolicyName, PolicyArn: m.ARN})
	}
	return inl, att, nil
}

func (s *service) userDetail(ctx context.Context, u store.User) (userDetailXML, error) {
	d := userDetailXML{Path: u.Path, UserName: u.UserName, UserID: u.UserID, Arn: u.ARN, CreateDate: isoTime(u.CreatedAt),
		PermissionsBoundary: boundary(u.PermissionsBoundary), Tags: tagList(u.Tags)}
	var err error
	if d.UserPolicyList, d.AttachedManagedPolicies, err = s.entityPolicies(ctx, u.AccountID, store.EntityUser, u.UserName); err != nil {
		return d, err
	}
	groups, err := listAll(func(p store.Page) ([]store.Group, bool, error) {
		return s.cfg.IAM.ListGroupsForUser(ctx, u.AccountID, u.UserName, p)
	}, func(g store.Group) string { return g.GroupName })
	if err != nil {
		return d, fmt.Errorf("list groups for user %s: %w", u.UserName, err)
	}
	for _, g := range groups {
		d.GroupList.Members = append(d.GroupList.Members, g.GroupName)
	}
	return d, nil
}

func (s *service) policyDetail(ctx context.Context, p store.ManagedPolicy) (policyDetailXML, error) {
	d := policyDetailXML{PolicyName: p.PolicyName, PolicyID: p.PolicyID, Arn: p.ARN, Path: p.Path,
		DefaultVersionID: p.DefaultVersionID, AttachmentCount: p.AttachmentCount,
		PermissionsBoundaryUsageCount: p.PermissionsBoundaryUsageCount, IsAttachable: true,
		Description: p.Description, CreateDate: isoTime(p.CreatedAt), UpdateDate: isoTime(p.UpdatedAt)}
	vs, err := s.cfg.IAM.ListPolicyVersions(ctx, p.ARN)
	if err != nil {
		return d, fmt.Errorf("list versions of %s: %w", p.ARN, err)
	}
	sortVersionsDesc(vs)
	for _, v := range vs {
		d.PolicyVersionList.Members = append(d.PolicyVersionList.Members, versionOf(v, true))
	}
	return d, nil
}
