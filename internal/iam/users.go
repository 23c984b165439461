package iam

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/bulwark-security/bulwark/internal/api"
	"github.com/bulwark-security/bulwark/internal/awsproto"
	"github.com/bulwark-security/bulwark/internal/store"
)

// Inputs. Resource functions run before RequestContext (api.Define binds
// them in that order), so they may record what they looked up (an entity's
// boundary) for the condition keys.

type createUserInput struct {
	UserName, Path, PermissionsBoundary string
	Tags                                []store.Tag
}

func (in *createUserInput) DecodeQuery(v url.Values) error {
	f := newForm(v)
	in.UserName = f.name("UserName", maxNameLen)
	in.Path = f.path("Path")
	if _, ok := f.get("PermissionsBoundary"); ok {
		in.PermissionsBoundary = f.arn("PermissionsBoundary")
	}
	in.Tags = f.tags("Tags")
	return f.err()
}

func (in *createUserInput) RequestContext(*api.Call) map[string][]string {
	m := tagContext(in.Tags)
	if in.PermissionsBoundary != "" {
		m = mergeContext(m, map[string][]string{keyBoundary: {in.PermissionsBoundary}})
	}
	return m
}

// userInput names one user; GetUser alone may omit it.
type userInput struct {
	UserName string
	found
}

func (in *userInput) DecodeQuery(v url.Values) error {
	f := newForm(v)
	in.UserName = f.name("UserName", maxExistingName)
	return f.err()
}

// RequestContext adds the boundary, which only resUser keeps (for the
// actions with iam:PermissionsBoundary).
func (in *userInput) RequestContext(*api.Call) map[string][]string {
	return mergeContext(in.resourceContext(), boundaryContext(in.boundary))
}

type optUserInput struct {
	UserName string
	found
}

func (in *optUserInput) DecodeQuery(v url.Values) error {
	f := newForm(v)
	in.UserName = f.optName("UserName", maxExistingName)
	return f.err()
}

type listInput struct {
	PathPrefix string
	Page       pageInput
}

func (in *listInput) DecodeQuery(v url.Values) error {
	f := newForm(v)
	in.PathPrefix = f.pathPrefix("PathPrefix")
	in.Page = f.page()
	return f.err()
}

type updateUserInput struct {
	UserName, NewUserName, NewPath string
	found
}

func (in *updateUserInput) DecodeQuery(v url.Values) error {
	f := newForm(v)
	in.UserName = f.name("UserName", maxExistingName)
	in.NewUserName = f.optName("NewUserName", maxNameLen)
	in.NewPath = f.optPath("NewPath")
	return f.err()
}

type tagUserInput struct {
	UserName string
	Tags     []store.Tag
	found
}

func (in *tagUserInput) DecodeQuery(v url.Values) error {
	f := newForm(v)
	in.UserName = f.name("UserName", maxExistingName)
	in.Tags = f.tags("Tags")
	if len(in.Tags) == 0 && len(f.errs) == 0 {
		f.fail("Tags", nil, "Member must not be null")
	}
	return f.err()
}

func (in *tagUserInput) RequestContext(*api.Call) map[string][]string {
	return mergeContext(in.resourceContext(), tagContext(in.Tags))
}

type untagUserInput struct {
	UserName string
	TagKeys  []string
	found
}

func (in *untagUserInput) DecodeQuery(v url.Values) error {
	f := newForm(v)
	in.UserName = f.name("UserName", maxExistingName)
	in.TagKeys = f.tagKeys("TagKeys")
	return f.err()
}

func (in *untagUserInput) RequestContext(*api.Call) map[string][]string {
	return mergeContext(in.resourceContext(), map[string][]string{keyTagKeys: in.TagKeys})
}

type userPageInput struct {
	UserName string
	Page     pageInput
	found
}

func (in *userPageInput) DecodeQuery(v url.Values) error {
	f := newForm(v)
	in.UserName = f.name("UserName", maxExistingName)
	in.Page = f.page()
	return f.err()
}

type userBoundaryInput struct {
	UserName, PermissionsBoundary string
	found
}

func (in *userBoundaryInput) DecodeQuery(v url.Values) error {
	f := newForm(v)
	in.UserName = f.name("UserName", maxNameLen)
	in.PermissionsBoundary = f.arn("PermissionsBoundary")
	return f.err()
}

func (in *userBoundaryInput) RequestContext(*api.Call) map[string][]string {
	return mergeContext(in.resourceContext(), boundaryContext(in.PermissionsBoundary))
}

func boundaryContext(arn string) map[string][]string {
	if arn == "" {
		return nil
	}
	return map[string][]string{keyBoundary: {arn}}
}

// Resources.

// userInfo resolves a user's ARN (with its path, which policies may match)
// and boundary; a user that does not exist gets the ARN with path "/" and
// the handler answers NoSuchEntity after authorisation, as AWS does.
func (s *service) userInfo(acct, name string, f *found) string {
	ctx, cancel := lookupContext()
	defer cancel()
	u, err := s.cfg.IAM.GetUser(ctx, acct, name)
	if err != nil {
		return entityARN(acct, "user", "/", name)
	}
	f.tags, f.boundary = u.Tags, u.PermissionsBoundary
	return u.ARN
}

// userARN resolves the user's ARN and tags and drops the boundary, for the
// actions without iam:PermissionsBoundary.
func (s *service) userARN(c *api.Call, name string, f *found) []string {
	arn := s.userInfo(account(c), name, f)
	f.boundary = ""
	return []string{arn}
}

func (s *service) resCreateUser(c *api.Call, in *createUserInput) []string {
	return []string{entityARN(account(c), "user", in.Path, in.UserName)}
}

func (s *service) resUser(c *api.Call, in *userInput) []string {
	return []string{s.userInfo(account(c), in.UserName, &in.found)}
}

// resUserPlain is resUser for actions without the iam:PermissionsBoundary
// condition key (the IAM User Guide lists the actions that have it).
func (s *service) resUserPlain(c *api.Call, in *userInput) []string {
	return s.userARN(c, in.UserName, &in.found)
}

func (s *service) resOptUser(c *api.Call, in *optUserInput) []string {
	if in.UserName == "" {
		return []string{c.Principal.ARN}
	}
	return s.userARN(c, in.UserName, &in.found)
}

func (s *service) resUpdateUser(c *api.Call, in *updateUserInput) []string {
	return s.userARN(c, in.UserName, &in.found)
}

func (s *service) resTagUser(c *api.Call, in *tagUserInput) []string {
	return s.userARN(c, in.UserName, &in.found)
}

func (s *service) resUntagUser(c *api.Call, in *untagUserInput) []string {
	return s.userARN(c, in.UserName, &in.found)
}

func (s *service) resUserPage(c *api.Call, in *userPageInput) []string {
	return s.userARN(c, in.UserName, &in.found)
}

func (s *service) resUserBoundary(c *api.Call, in *userBoundaryInput) []string {
	return s.userARN(c, in.UserName, &in.found)
}

// Results.

type userXML struct {
	Path                string       `xml:"Path,omitempty"`
	UserName            string       `xml:"UserName,omitempty"`
	UserID              string       `xml:"UserId"`
	Arn                 string       `xml:"Arn"`
	CreateDate          string       `xml:"CreateDate"`
	PermissionsBoundary *boundaryXML `xml:"PermissionsBoundary,omitempty"`
	Tags                *tagsXML     `xml:"Tags,omitempty"`
}

func userOf(u store.User, full bool) userXML {
	x := userXML{Path: u.Path, UserName: u.UserName, UserID: u.UserID, Arn: u.ARN, CreateDate: isoTime(u.CreatedAt)}
	if full {
		x.PermissionsBoundary = boundary(u.PermissionsBoundary)
		x.Tags = tagList(u.Tags)
	}
	return x
}

type userResult struct {
	User userXML `xml:"User"`
}

type usersResult struct {
	Users struct {
		Members []userXML `xml:"member"`
	} `xml:"Users"`
	IsTruncated bool   `xml:"IsTruncated"`
	Marker      string `xml:"Marker,omitempty"`
}

type tagsResult struct {
	Tags        tagsXML `xml:"Tags"`
	IsTruncated bool    `xml:"IsTruncated"`
	Marker      string  `xml:"Marker,omitempty"`
}

// checkBoundary verifies a permissions boundary names a managed policy the
// caller's account can use.
func (s *service) checkBoundary(ctx context.Context, acct, arn string) error {
	if pa := policyAccount(arn); pa != acct && pa != "aws" {
		return invalidInput("ARN %s is not valid.", arn)
	}
	if _, err := s.cfg.IAM.GetPolicy(ctx, arn); err != nil {
		return errMap{notFound: noSuchEntity("Scope ARN: %s does not exist or is not attachable.", arn)}.wrap(err, "get boundary policy")
	}
	return nil
}

// Handlers.

func (s *service) createUser(ctx context.Context, c *api.Call, in *createUserInput) (any, error) {
	acct := account(c)
	if in.PermissionsBoundary != "" {
		if err := s.checkBoundary(ctx, acct, in.PermissionsBoundary); err != nil {
			return nil, err
		}
	}
	u := store.User{
		AccountID: acct, UserName: in.UserName, UserID: newUniqueID("AIDA"), Path: in.Path,
		ARN: entityARN(acct, "user", in.Path, in.UserName), CreatedAt: s.now(),
		PermissionsBoundary: in.PermissionsBoundary, Tags: in.Tags,
	}
	if err := s.cfg.IAM.CreateUser(ctx, u); err != nil {
		return nil, errMap{conflict: entityExists("User with name %s already exists.", in.UserName)}.wrap(err, "create user")
	}
	return &userResult{User: userOf(u, true)}, nil
}

func (s *service) getUser(ctx context.Context, c *api.Call, in *optUserInput) (any, error) {
	p := c.Principal
	name := in.UserName
	if name == "" {
		switch {
		case p.IsRoot():
			// AWS answers root with the account id as UserId and the
			// account's creation date, without UserName or Path.
			a, err := s.cfg.Store.GetAccount(ctx, p.AccountID)
			if err != nil {
				return nil, fmt.Errorf("get account %s: %w", p.AccountID, err)
			}
			return &userResult{User: userXML{UserID: p.AccountID, Arn: p.ARN, CreateDate: isoTime(a.CreatedAt)}}, nil
		case p.UserName != "" && p.RoleName == "":
			name = p.UserName
		default:
			return nil, awsproto.ValidationError("Must specify userName when calling with non-User credentials")
		}
	}
	u, err := s.cfg.IAM.GetUser(ctx, account(c), name)
	if err != nil {
		return nil, errMap{notFound: noSuchUser(name)}.wrap(err, "get user")
	}
	return &userResult{User: userOf(u, true)}, nil
}

func (s *service) listUsers(ctx context.Context, c *api.Call, in *listInput) (any, error) {
	users, more, err := s.cfg.IAM.ListUsers(ctx, account(c), in.Page.storePage(in.PathPrefix))
	if err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	r := &usersResult{IsTruncated: more && len(users) > 0}
	r.Users.Members = make([]userXML, len(users))
	for i, u := range users {
		r.Users.Members[i] = userOf(u, false)
	}
	if r.IsTruncated {
		r.Marker = encodeMarker(users[len(users)-1].UserName)
	}
	return r, nil
}

func (s *service) updateUser(ctx context.Context, c *api.Call, in *updateUserInput) (any, error) {
	acct := account(c)
	if in.NewUserName == "" && in.NewPath == "" {
		return nil, nil
	}
	keys, err := s.userKeys(ctx, acct, in.UserName)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	err = s.cfg.IAM.UpdateUser(ctx, acct, in.UserName, in.NewUserName, in.NewPath)
	if err != nil {
		return nil, errMap{notFound: noSuchUser(in.UserName),
			conflict: entityExists("User with name %s already exists.", in.NewUserName)}.wrap(err, "update user")
	}
	// The keys now belong to a principal with another name or ARN.
	for _, k := range keys {
		s.cfg.OnAccessKeyChange(k.AccessKeyID)
	}
	return nil, nil
}

// userKeys lists a user's access keys; ErrNotFound if the user does not exist.
func (s *service) userKeys(ctx context.Context, acct, name string) ([]store.AccessKey, error) {
	u, err := s.cfg.IAM.GetUser(ctx, acct, name)
	if err != nil {
		return nil, err
	}
	keys, err := s.cfg.Store.ListAccessKeys(ctx, u.ARN)
	if err != nil {
		return nil, fmt.Errorf("list access keys of %s: %w", name, err)
	}
	return keys, nil
}

func (s *service) deleteUser(ctx context.Context, c *api.Call, in *userInput) (any, error) {
	acct := account(c)
	u, err := s.cfg.IAM.GetUser(ctx, acct, in.UserName)
	if err != nil {
		return nil, errMap{notFound: noSuchUser(in.UserName)}.wrap(err, "get user")
	}
	// The store enforces the rule; these reads only choose AWS's message.
	msg, err := s.userDependents(ctx, u)
	if err != nil {
		return nil, err
	}
	if msg != "" {
		return nil, deleteConflict("%s", msg)
	}
	if err := s.cfg.IAM.DeleteUser(ctx, acct, u.UserName); err != nil {
		return nil, errMap{notFound: noSuchUser(in.UserName),
			deleteConflict: deleteConflict("Cannot delete entity, must remove dependent entities first.")}.wrap(err, "delete user")
	}
	return nil, nil
}

func (s *service) userDependents(ctx context.Context, u store.User) (string, error) {
	one := store.Page{MaxItems: 1}
	keys, err := s.cfg.Store.ListAccessKeys(ctx, u.ARN)
	if err != nil {
		return "", fmt.Errorf("list access keys: %w", err)
	}
	if len(keys) > 0 {
		return "Cannot delete entity, must delete access keys first.", nil
	}
	groups, _, err := s.cfg.IAM.ListGroupsForUser(ctx, u.AccountID, u.UserName, one)
	if err != nil {
		return "", fmt.Errorf("list groups for user: %w", err)
	}
	if len(groups) > 0 {
		return "Cannot delete entity, must remove users from group first.", nil
	}
	return s.policyDependents(ctx, u.AccountID, store.EntityUser, u.UserName)
}

// policyDependents words the DeleteConflict of an entity with policies.
func (s *service) policyDependents(ctx context.Context, acct string, kind store.EntityKind, name string) (string, error) {
	one := store.Page{MaxItems: 1}
	inline, _, err := s.cfg.IAM.ListInlinePolicies(ctx, acct, kind, name, one)
	if err != nil {
		return "", fmt.Errorf("list inline policies: %w", err)
	}
	if len(inline) > 0 {
		return "Cannot delete entity, must delete policies first.", nil
	}
	attached, _, err := s.cfg.IAM.ListAttachedPolicies(ctx, acct, kind, name, one)
	if err != nil {
		return "", fmt.Errorf("list attached policies: %w", err)
	}
	if len(attached) > 0 {
		return "Cannot delete entity, must detach all policies first.", nil
	}
	return "", nil
}

func (s *service) tagUser(ctx context.Context, c *api.Call, in *tagUserInput) (any, error) {
	err := s.cfg.IAM.TagResource(ctx, account(c), store.TagUser, in.UserName, in.Tags, maxTagsPerResource)
	if err != nil {
		return nil, errMap{notFound: noSuchUser(in.UserName), limit: tagLimit("user")}.wrap(err, "tag user")
	}
	return nil, nil
}

func (s *service) untagUser(ctx context.Context, c *api.Call, in *untagUserInput) (any, error) {
	if err := s.cfg.IAM.UntagResource(ctx, account(c), store.TagUser, in.UserName, in.TagKeys); err != nil {
		return nil, errMap{notFound: noSuchUser(in.UserName)}.wrap(err, "untag user")
	}
	return nil, nil
}

func (s *service) listUserTags(ctx context.Context, c *api.Call, in *userPageInput) (any, error) {
	u, err := s.cfg.IAM.GetUser(ctx, account(c), in.UserName)
	if err != nil {
		return nil, errMap{notFound: noSuchUser(in.UserName)}.wrap(err, "get user")
	}
	return pageTags(u.Tags, in.Page), nil
}

// pageTags answers List*Tags: tags ordered by key, paged.
func pageTags(tags []store.Tag, p pageInput) *tagsResult {
	sorted := slices.Clone(tags)
	slices.SortFunc(sorted, func(a, b store.Tag) int { return strings.Compare(a.Key, b.Key) })
	page, next := pageSlice(sorted, func(t store.Tag) string { return t.Key }, p)
	return &tagsResult{Tags: listTags(page), IsTruncated: next != "", Marker: next}
}

func (s *service) putUserBoundary(ctx context.Context, c *api.Call, in *userBoundaryInput) (any, error) {
	acct := account(c)
	if err := s.checkBoundary(ctx, acct, in.PermissionsBoundary); err != nil {
		return nil, err
	}
	if err := s.cfg.IAM.SetUserBoundary(ctx, acct, in.UserName, in.PermissionsBoundary); err != nil {
		return nil, errMap{notFound: noSuchUser(in.UserName)}.wrap(err, "set user boundary")
	}
	return nil, nil
}

func (s *service) deleteUserBoundary(ctx context.Context, c *api.Call, in *userInput) (any, error) {
	if err := s.cfg.IAM.SetUserBoundary(ctx, account(c), in.UserName, ""); err != nil {
		return nil, errMap{notFound: noSuchUser(in.UserName)}.wrap(err, "delete user boundary")
	}
	return nil, nil
}
