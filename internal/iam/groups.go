package iam

import (
	"context"
	"fmt"
	"net/url"

	"github.com/bulwark-security/bulwark/internal/api"
	"github.com/bulwark-security/bulwark/internal/store"
)

type createGroupInput struct{ GroupName, Path string }

func (in *createGroupInput) DecodeQuery(v url.Values) error {
	f := newForm(v)
	in.GroupName = f.name("GroupName", 128)
	in.Path = f.path("Path")
	return f.err()
}

type groupInput struct{ GroupName string }

func (in *groupInput) DecodeQuery(v url.Values) error {
	f := newForm(v)
	in.GroupName = f.name("GroupName", 128)
	return f.err()
}

type groupPageInput struct {
	GroupName string
	Page      pageInput
}

func (in *groupPageInput) DecodeQuery(v url.Values) error {
	f := newForm(v)
	in.GroupName = f.name("GroupName", 128)
	in.Page = f.page()
	return f.err()
}

type updateGroupInput struct{ GroupName, NewGroupName, NewPath string }

func (in *updateGroupInput) DecodeQuery(v url.Values) error {
	f := newForm(v)
	in.GroupName = f.name("GroupName", 128)
	in.NewGroupName = f.optName("NewGroupName", 128)
	in.NewPath = f.optPath("NewPath")
	return f.err()
}

type membershipInput struct{ GroupName, UserName string }

func (in *membershipInput) DecodeQuery(v url.Values) error {
	f := newForm(v)
	in.GroupName = f.name("GroupName", 128)
	in.UserName = f.name("UserName", maxExistingName)
	return f.err()
}

func (s *service) groupARN(acct, name string) string {
	ctx, cancel := lookupContext()
	defer cancel()
	g, err := s.cfg.IAM.GetGroup(ctx, acct, name)
	if err != nil {
		return entityARN(acct, "group", "/", name)
	}
	return g.ARN
}

func (s *service) resCreateGroup(c *api.Call, in *createGroupInput) []string {
	return []string{entityARN(account(c), "group", in.Path, in.GroupName)}
}

func (s *service) resGroup(c *api.Call, in *groupInput) []string {
	return []string{s.groupARN(account(c), in.GroupName)}
}

func (s *service) resGroupPage(c *api.Call, in *groupPageInput) []string {
	return []string{s.groupARN(account(c), in.GroupName)}
}

func (s *service) resUpdateGroup(c *api.Call, in *updateGroupInput) []string {
	return []string{s.groupARN(account(c), in.GroupName)}
}

// AddUserToGroup and RemoveUserFromGroup authorise on the group (Service
// Authorization Reference: resource type group).
func (s *service) resMembership(c *api.Call, in *membershipInput) []string {
	return []string{s.groupARN(account(c), in.GroupName)}
}

type groupXML struct {
	Path       string `xml:"Path"`
	GroupName  string `xml:"GroupName"`
	GroupID    string `xml:"GroupId"`
	Arn        string `xml:"Arn"`
	CreateDate string `xml:"CreateDate"`
}

func groupOf(g store.Group) groupXML {
	return groupXML{Path: g.Path, GroupName: g.GroupName, GroupID: g.GroupID, Arn: g.ARN, CreateDate: isoTime(g.CreatedAt)}
}

type groupResult struct {
	Group groupXML `xml:"Group"`
}

type getGroupResult struct {
	Group groupXML `xml:"Group"`
	Users struct {
		Members []userXML `xml:"member"`
	} `xml:"Users"`
	IsTruncated bool   `xml:"IsTruncated"`
	Marker      string `xml:"Marker,omitempty"`
}

type groupsResult struct {
	Groups struct {
		Members []groupXML `xml:"member"`
	} `xml:"Groups"`
	IsTruncated bool   `xml:"IsTruncated"`
	Marker      string `xml:"Marker,omitempty"`
}

func groupsOf(groups []store.Group, more bool) *groupsResult {
	r := &groupsResult{IsTruncated: more && len(groups) > 0}
	r.Groups.Members = make([]groupXML, len(groups))
	for i, g := range groups {
		r.Groups.Members[i] = groupOf(g)
	}
	if r.IsTruncated {
		r.Marker = encodeMarker(groups[len(groups)-1].GroupName)
	}
	return r
}

func (s *service) createGroup(ctx context.Context, c *api.Call, in *createGroupInput) (any, error) {
	acct := account(c)
	g := store.Group{AccountID: acct, GroupName: in.GroupName, GroupID: newUniqueID("AGPA"), Path: in.Path,
		ARN: entityARN(acct, "group", in.Path, in.GroupName), CreatedAt: s.now()}
	if err := s.cfg.IAM.CreateGroup(ctx, g); err != nil {
		return nil, errMap{conflict: entityExists("Group with name %s already exists.", in.GroupName)}.wrap(err, "create group")
	}
	return &groupResult{Group: groupOf(g)}, nil
}

func (s *service) getGroup(ctx context.Context, c *api.Call, in *groupPageInput) (any, error) {
	acct := account(c)
	g, err := s.cfg.IAM.GetGroup(ctx, acct, in.GroupName)
	if err != nil {
		return nil, errMap{notFound: noSuchGroup(in.GroupName)}.wrap(err, "get group")
	}
	users, more, err := s.cfg.IAM.ListGroupMembers(ctx, acct, g.GroupName, in.Page.storePage(""))
	if err != nil {
		return nil, errMap{notFound: noSuchGroup(in.GroupName)}.wrap(err, "list group members")
	}
	r := &getGroupResult{Group: groupOf(g), IsTruncated: more && len(users) > 0}
	r.Users.Members = make([]userXML, len(users))
	for i, u := range users {
		r.Users.Members[i] = userOf(u, false)
	}
	if r.IsTruncated {
		r.Marker = encodeMarker(users[len(users)-1].UserName)
	}
	return r, nil
}

func (s *service) listGroups(ctx context.Context, c *api.Call, in *listInput) (any, error) {
	groups, more, err := s.cfg.IAM.ListGroups(ctx, account(c), in.Page.storePage(in.PathPrefix))
	if err != nil {
		return nil, fmt.Errorf("list groups: %w", err)
	}
	return groupsOf(groups, more), nil
}

func (s *service) updateGroup(ctx context.Context, c *api.Call, in *updateGroupInput) (any, error) {
	if in.NewGroupName == "" && in.NewPath == "" {
		return nil, nil
	}
	if err := s.cfg.IAM.UpdateGroup(ctx, account(c), in.GroupName, in.NewGroupName, in.NewPath); err != nil {
		return nil, errMap{notFound: noSuchGroup(in.GroupName),
			conflict: entityExists("Group with name %s already exists.", in.NewGroupName)}.wrap(err, "update group")
	}
	return nil, nil
}

func (s *service) deleteGroup(ctx context.Context, c *api.Call, in *groupInput) (any, error) {
	acct := account(c)
	g, err := s.cfg.IAM.GetGroup(ctx, acct, in.GroupName)
	if err != nil {
		return nil, errMap{notFound: noSuchGroup(in.GroupName)}.wrap(err, "get group")
	}
	members, _, err := s.cfg.IAM.ListGroupMembers(ctx, acct, g.GroupName, store.Page{MaxItems: 1})
	if err != nil {
		return nil, fmt.Errorf("list group members: %w", err)
	}
	msg := ""
	if len(members) > 0 {
		msg = "Cannot delete entity, must remove users from group first."
	} else if msg, err = s.policyDependents(ctx, acct, store.EntityGroup, g.GroupName); err != nil {
		return nil, err
	}
	if msg != "" {
		return nil, deleteConflict("%s", msg)
	}
	if err := s.cfg.IAM.DeleteGroup(ctx, acct, g.GroupName); err != nil {
		return nil, errMap{notFound: noSuchGroup(in.GroupName),
			deleteConflict: deleteConflict("Cannot delete entity, must remove dependent entities first.")}.wrap(err, "delete group")
	}
	return nil, nil
}

func (s *service) addUserToGroup(ctx context.Context, c *api.Call, in *membershipInput) (any, error) {
	acct := account(c)
	if _, err := s.cfg.IAM.GetUser(ctx, acct, in.UserName); err != nil {
		return nil, errMap{notFound: noSuchUser(in.UserName)}.wrap(err, "get user")
	}
	err := s.cfg.IAM.AddUserToGroup(ctx, acct, in.GroupName, in.UserName, maxGroupsPerUser)
	if err != nil {
		return nil, errMap{notFound: noSuchGroup(in.GroupName),
			limit: limitExceeded("Cannot exceed quota for GroupsPerUser: %d", maxGroupsPerUser)}.wrap(err, "add user to group")
	}
	return nil, nil
}

func (s *service) removeUserFromGroup(ctx context.Context, c *api.Call, in *membershipInput) (any, error) {
	acct := account(c)
	if _, err := s.cfg.IAM.GetUser(ctx, acct, in.UserName); err != nil {
		return nil, errMap{notFound: noSuchUser(in.UserName)}.wrap(err, "get user")
	}
	if err := s.cfg.IAM.RemoveUserFromGroup(ctx, acct, in.GroupName, in.UserName); err != nil {
		return nil, errMap{notFound: noSuchEntity("The user with name %s is not in the group with name %s.", in.UserName, in.GroupName)}.
			wrap(err, "remove user from group")
	}
	return nil, nil
}

func (s *service) listGroupsForUser(ctx context.Context, c *api.Call, in *userPageInput) (any, error) {
	acct := account(c)
	if _, err := s.cfg.IAM.GetUser(ctx, acct, in.UserName); err != nil {
		return nil, errMap{notFound: noSuchUser(in.UserName)}.wrap(err, "get user")
	}
	groups, more, err := s.cfg.IAM.ListGroupsForUser(ctx, acct, in.UserName, in.Page.storePage(""))
	if err != nil {
		return nil, errMap{notFound: noSuchUser(in.UserName)}.wrap(err, "list groups for user")
	}
	return groupsOf(groups, more), nil
}
