package storetest

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bulwark-security/bulwark/internal/store"
)

// IAMStore is a store with its IAM part, as both backends implement it.
type IAMStore = interface {
	store.Store
	store.IAM
}

// RunIAM runs the conformance suite of store.IAM. Each subtest calls open
// for a fresh, empty, migrated store, as Run does.
func RunIAM(t *testing.T, open func(t *testing.T) IAMStore) {
	t.Helper()
	tests := []struct {
		name string
		fn   func(t *testing.T, s IAMStore)
	}{
		{"Users", testIAMUsers},
		{"Paging", testIAMPaging},
		{"UpdateUser", testIAMUpdateUser},
		{"DeleteUserConflicts", testIAMDeleteUserConflicts},
		{"UserAccessKeys", testIAMUserAccessKeys},
		{"Groups", testIAMGroups},
		{"Roles", testIAMRoles},
		{"Tags", testIAMTags},
		{"Policies", testIAMPolicies},
		{"PolicyListing", testIAMPolicyListing},
		{"DeletePolicyConflicts", testIAMDeletePolicyConflicts},
		{"PolicyVersions", testIAMPolicyVersions},
		{"Attachments", testIAMAttachments},
		{"InlinePolicies", testIAMInlinePolicies},
		{"OIDCProviders", testIAMOIDCProviders},
		{"Generation", testIAMGeneration},
		{"Reset", testIAMReset},
		{"RaceAccessKeys", testIAMRaceAccessKeys},
		{"RacePolicyVersions", testIAMRacePolicyVersions},
		{"RaceGroupsPerUser", testIAMRaceGroupsPerUser},
		{"RaceAttachDelete", testIAMRaceAttachDelete},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := open(t)
			mustCreateAccount(t, s, acct)
			tt.fn(t, s)
		})
	}
}

const otherAcct = "210987654321"

var idSeq atomic.Int64

// uid returns a unique IAM-style id with the prefix.
func uid(prefix string) string { return fmt.Sprintf("%s%017d", prefix, idSeq.Add(1)) }

func iamUser(account, path, name string) store.User {
	return store.User{AccountID: account, UserName: name, UserID: uid("AIDA"), Path: path,
		ARN: "arn:aws:iam::" + account + ":user" + path + name, CreatedAt: at}
}

func iamGroup(account, path, name string) store.Group {
	return store.Group{AccountID: account, GroupName: name, GroupID: uid("AGPA"), Path: path,
		ARN: "arn:aws:iam::" + account + ":group" + path + name, CreatedAt: at}
}

func iamRole(account, name string) store.Role {
	return store.Role{AccountID: account, RoleName: name, RoleID: uid("AROA"), Path: "/",
		ARN: "arn:aws:iam::" + account + ":role/" + name, CreatedAt: at,
		AssumeRolePolicyDocument: `{"Version":"2012-10-17","Statement":[]}`, MaxSessionDuration: 3600}
}

func policyARN(account, name string) string {
	if account == "aws" {
		return "arn:aws:iam::aws:policy/" + name
	}
	return "arn:aws:iam::" + account + ":policy/" + name
}

func iamPolicy(account, name string) store.ManagedPolicy {
	return store.ManagedPolicy{AccountID: account, PolicyName: name, PolicyID: uid("ANPA"), Path: "/",
		ARN: policyARN(account, name), CreatedAt: at}
}

const doc1 = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}`

func tag(k, v string) store.Tag { return store.Tag{Key: k, Value: v} }

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func mustUser(t *testing.T, s IAMStore, name string) store.User {
	t.Helper()
	u := iamUser(acct, "/", name)
	must(t, s.CreateUser(t.Context(), u))
	return u
}

func mustPolicy(t *testing.T, s IAMStore, account, name string) store.ManagedPolicy {
	t.Helper()
	p := iamPolicy(account, name)
	must(t, s.CreatePolicy(t.Context(), p, doc1))
	return p
}

func userKey(u store.User, id string) store.AccessKey {
	return store.AccessKey{AccessKeyID: id, AccountID: u.AccountID, PrincipalType: store.PrincipalUser,
		PrincipalARN: u.ARN, PrincipalID: u.UserID, UserName: u.UserName, Status: store.KeyActive,
		SealedSecret: []byte("sealed"), CreatedAt: at}
}

func generation(t *testing.T, s IAMStore) int64 {
	t.Helper()
	g, err := s.IAMGeneration(t.Context())
	must(t, err)
	return g
}

func names[T any](items []T, name func(T) string) []string {
	out := []string{}
	for _, it := range items {
		out = append(out, name(it))
	}
	return out
}

func userName(u store.User) string            { return u.UserName }
func groupName(g store.Group) string          { return g.GroupName }
func policyName(p store.ManagedPolicy) string { return p.PolicyName }

func checkNames(t *testing.T, what string, got []string, want ...string) {
	t.Helper()
	if len(want) == 0 {
		want = []string{}
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s = %q, want %q", what, got, want)
	}
}

// errMentions checks a wrapped sentinel and the words naming the cause.
func errMentions(t *testing.T, err, want error, words ...string) {
	t.Helper()
	checkErr(t, err, want)
	for _, w := range words {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not mention %q", err, w)
		}
	}
}

func testIAMUsers(t *testing.T, s IAMStore) {
	ctx := t.Context()
	boundary := mustPolicy(t, s, acct, "Boundary")
	u := iamUser(acct, "/dev/", "Alice")
	u.PermissionsBoundary = boundary.ARN
	u.Tags = []store.Tag{tag("team", "blue"), tag("Team", "red"), tag("cost", "1")}
	must(t, s.CreateUser(ctx, u))

	for _, name := range []string{"Alice", "alice", "ALICE"} {
		got, err := s.GetUser(ctx, acct, name)
		must(t, err)
		checkTime(t, "CreatedAt", got.CreatedAt, wantTime)
		want := u
		want.CreatedAt = got.CreatedAt
		if !reflect.DeepEqual(got, want) {
			t.Errorf("GetUser(%s) = %+v\nwant %+v", name, got, want)
		}
	}
	plain := mustUser(t, s, "bob")
	got, err := s.GetUser(ctx, acct, "bob")
	must(t, err)
	if got.Tags != nil || got.PermissionsBoundary != "" || got.UserID != plain.UserID {
		t.Errorf("plain user = %+v, want no tags (nil) and no boundary", got)
	}

	bad := func(mut func(*store.User)) store.User { v := iamUser(acct, "/", "carol"); mut(&v); return v }
	tests := []struct {
		name string
		user store.User
		want error
	}{
		{"same name other case", iamUser(acct, "/", "BOB"), store.ErrConflict},
		{"same name other path", iamUser(acct, "/x/", "alice"), store.ErrConflict},
		{"same user id", bad(func(v *store.User) { v.UserID = plain.UserID }), store.ErrConflict},
		{"missing account", iamUser("999999999999", "/", "dave"), store.ErrNotFound},
		{"missing boundary", bad(func(v *store.User) { v.PermissionsBoundary = policyARN(acct, "Nope") }), store.ErrNotFound},
		{"other account's boundary", bad(func(v *store.User) { v.PermissionsBoundary = policyARN(otherAcct, "B") }), store.ErrNotFound},
	}
	mustCreateAccount(t, s, otherAcct)
	mustPolicy(t, s, otherAcct, "B")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { checkErr(t, s.CreateUser(ctx, tt.user), tt.want) })
	}
	// The same name in another account is another user.
	must(t, s.CreateUser(ctx, iamUser(otherAcct, "/", "alice")))
	_, err = s.GetUser(ctx, acct, "nobody")
	checkErr(t, err, store.ErrNotFound)
	_, err = s.GetUser(ctx, "999999999999", "alice")
	checkErr(t, err, store.ErrNotFound)

	must(t, s.SetUserBoundary(ctx, acct, "ALICE", ""))
	got, _ = s.GetUser(ctx, acct, "alice")
	if got.PermissionsBoundary != "" {
		t.Errorf("boundary after removal = %q", got.PermissionsBoundary)
	}
	awsB := mustPolicy(t, s, "aws", "PowerUserAccess")
	must(t, s.SetUserBoundary(ctx, acct, "alice", awsB.ARN))
	checkErr(t, s.SetUserBoundary(ctx, acct, "alice", policyARN(acct, "Nope")), store.ErrNotFound)
	checkErr(t, s.SetUserBoundary(ctx, acct, "nobody", ""), store.ErrNotFound)
}

func testIAMPaging(t *testing.T, s IAMStore) {
	ctx := t.Context()
	for _, u := range []struct{ path, name string }{
		{"/", "delta"}, {"/eng/", "Alpha"}, {"/eng/team/", "charlie"}, {"/ops/", "Bravo"}, {"/eng/", "echo"},
	} {
		must(t, s.CreateUser(ctx, iamUser(acct, u.path, u.name)))
	}
	must(t, s.CreateUser(ctx, func() store.User { mustCreateAccount(t, s, otherAcct); return iamUser(otherAcct, "/", "zulu") }()))

	var all []string
	p := store.Page{MaxItems: 2}
	for range 10 {
		users, more, err := s.ListUsers(ctx, acct, p)
		must(t, err)
		if len(users) > 2 {
			t.Fatalf("page of %d users for MaxItems 2", len(users))
		}
		all = append(all, names(users, userName)...)
		if !more {
			break
		}
		p.Marker = users[len(users)-1].UserName
	}
	checkNames(t, "users by pages of 2", all, "Alpha", "Bravo", "charlie", "delta", "echo")

	tests := []struct {
		page store.Page
		want []string
		more bool
	}{
		{store.Page{}, []string{"Alpha", "Bravo", "charlie", "delta", "echo"}, false},
		{store.Page{PathPrefix: "/"}, []string{"Alpha", "Bravo", "charlie", "delta", "echo"}, false},
		{store.Page{PathPrefix: "/eng/"}, []string{"Alpha", "charlie", "echo"}, false},
		{store.Page{PathPrefix: "/eng/team/"}, []string{"charlie"}, false},
		{store.Page{PathPrefix: "/nope/"}, nil, false},
		{store.Page{PathPrefix: "/eng/", MaxItems: 1}, []string{"Alpha"}, true},
		{store.Page{PathPrefix: "/eng/", Marker: "ALPHA", MaxItems: 1}, []string{"charlie"}, true},
		{store.Page{Marker: "Charlie"}, []string{"delta", "echo"}, false},
		{store.Page{Marker: "cz"}, []string{"delta", "echo"}, false},
		{store.Page{Marker: "echo"}, nil, false},
		{store.Page{MaxItems: 5}, []string{"Alpha", "Bravo", "charlie", "delta", "echo"}, false},
		{store.Page{MaxItems: 4}, []string{"Alpha", "Bravo", "charlie", "delta"}, true},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%+v", tt.page), func(t *testing.T) {
			users, more, err := s.ListUsers(ctx, acct, tt.page)
			must(t, err)
			checkNames(t, "users", names(users, userName), tt.want...)
			if more != tt.more {
				t.Errorf("more = %v, want %v", more, tt.more)
			}
		})
	}
	users, _, err := s.ListUsers(ctx, "999999999999", store.Page{})
	must(t, err)
	checkNames(t, "users of an unknown account", names(users, userName))
}

func testIAMUpdateUser(t *testing.T, s IAMStore) {
	ctx := t.Context()
	u := mustUser(t, s, "old")
	mustUser(t, s, "taken")
	g := iamGroup(acct, "/", "devs")
	must(t, s.CreateGroup(ctx, g))
	must(t, s.AddUserToGroup(ctx, acct, "devs", "old", 10))
	pol := mustPolicy(t, s, acct, "P")
	must(t, s.AttachPolicy(ctx, acct, store.EntityUser, "old", pol.ARN, 10))
	must(t, s.PutInlinePolicy(ctx, store.InlinePolicy{AccountID: acct, EntityKind: store.EntityUser, EntityName: "old", PolicyName: "inl", Document: doc1}))
	must(t, s.CreateUserAccessKey(ctx, userKey(u, "AKIAOLDOLDOLDOLDOLD1"), 2))

	checkErr(t, s.UpdateUser(ctx, acct, "old", "TAKEN", ""), store.ErrConflict)
	checkErr(t, s.UpdateUser(ctx, acct, "nobody", "x", ""), store.ErrNotFound)

	must(t, s.UpdateUser(ctx, acct, "OLD", "New", "/moved/"))
	_, err := s.GetUser(ctx, acct, "old")
	checkErr(t, err, store.ErrNotFound)
	got, err := s.GetUser(ctx, acct, "new")
	must(t, err)
	wantARN := "arn:aws:iam::" + acct + ":user/moved/New"
	if got.UserName != "New" || got.Path != "/moved/" || got.ARN != wantARN || got.UserID != u.UserID {
		t.Errorf("renamed user = %+v", got)
	}
	groups, _, err := s.ListGroupsForUser(ctx, acct, "new", store.Page{})
	must(t, err)
	checkNames(t, "groups of renamed user", names(groups, groupName), "devs")
	members, _, err := s.ListGroupMembers(ctx, acct, "devs", store.Page{})
	must(t, err)
	checkNames(t, "members", names(members, userName), "New")
	att, _, err := s.ListAttachedPolicies(ctx, acct, store.EntityUser, "new", store.Page{})
	must(t, err)
	checkNames(t, "attached", names(att, policyName), "P")
	ip, err := s.GetInlinePolicy(ctx, acct, store.EntityUser, "new", "INL")
	must(t, err)
	if ip.EntityName != "New" || ip.PolicyName != "inl" || ip.Document != doc1 {
		t.Errorf("inline policy after rename = %+v", ip)
	}
	ents, err := s.ListEntitiesForPolicy(ctx, pol.ARN)
	must(t, err)
	if len(ents) != 1 || ents[0].EntityName != "New" || ents[0].EntityKind != store.EntityUser {
		t.Errorf("entities after rename = %+v", ents)
	}
	k, err := s.GetAccessKey(ctx, "AKIAOLDOLDOLDOLDOLD1")
	must(t, err)
	if k.PrincipalARN != wantARN || k.UserName != "New" {
		t.Errorf("key after rename: arn %q user %q", k.PrincipalARN, k.UserName)
	}
	keys, err := s.ListAccessKeys(ctx, wantARN)
	must(t, err)
	if len(keys) != 1 {
		t.Errorf("keys listed under the new ARN = %d", len(keys))
	}
	// Only the path; then only the case of the name.
	must(t, s.UpdateUser(ctx, acct, "new", "", "/"))
	must(t, s.UpdateUser(ctx, acct, "new", "NEW", ""))
	got, _ = s.GetUser(ctx, acct, "new")
	if got.UserName != "NEW" || got.ARN != "arn:aws:iam::"+acct+":user/NEW" {
		t.Errorf("after path and case change = %+v", got)
	}
}

func testIAMDeleteUserConflicts(t *testing.T, s IAMStore) {
	ctx := t.Context()
	pol := mustPolicy(t, s, acct, "P")
	must(t, s.CreateGroup(ctx, iamGroup(acct, "/", "g")))
	tests := []struct {
		name   string
		add    func(u store.User) error
		remove func(u store.User) error
		words  string
	}{
		{"access key",
			func(u store.User) error { return s.CreateUserAccessKey(ctx, userKey(u, "AKIA"+uid("")[:16]), 2) },
			func(u store.User) error {
				keys, err := s.ListAccessKeys(ctx, u.ARN)
				if err != nil || len(keys) != 1 {
					return fmt.Errorf("keys %v %v", keys, err)
				}
				return s.DeleteAccessKey(ctx, keys[0].AccessKeyID)
			}, "access keys"},
		{"group membership",
			func(u store.User) error { return s.AddUserToGroup(ctx, acct, "g", u.UserName, 10) },
			func(u store.User) error { return s.RemoveUserFromGroup(ctx, acct, "G", strings.ToUpper(u.UserName)) },
			"group memberships"},
		{"inline policy",
			func(u store.User) error {
				return s.PutInlinePolicy(ctx, store.InlinePolicy{AccountID: acct, EntityKind: store.EntityUser, EntityName: u.UserName, PolicyName: "x", Document: doc1})
			},
			func(u store.User) error { return s.DeleteInlinePolicy(ctx, acct, store.EntityUser, u.UserName, "X") },
			"inline policies"},
		{"attached policy",
			func(u store.User) error { return s.AttachPolicy(ctx, acct, store.EntityUser, u.UserName, pol.ARN, 10) },
			func(u store.User) error { return s.DetachPolicy(ctx, acct, store.EntityUser, u.UserName, pol.ARN) },
			"attached policies"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := mustUser(t, s, fmt.Sprintf("user%d", i))
			must(t, tt.add(u))
			errMentions(t, s.DeleteUser(ctx, acct, u.UserName), store.ErrDeleteConflict, "1 "+tt.words)
			if _, err := s.GetUser(ctx, acct, u.UserName); err != nil {
				t.Fatalf("user gone after refused delete: %v", err)
			}
			must(t, tt.remove(u))
			must(t, s.DeleteUser(ctx, acct, u.UserName))
			_, err := s.GetUser(ctx, acct, u.UserName)
			checkErr(t, err, store.ErrNotFound)
		})
	}
	t.Run("everything at once", func(t *testing.T) {
		u := mustUser(t, s, "busy")
		for _, tt := range tests {
			must(t, tt.add(u))
		}
		errMentions(t, s.DeleteUser(ctx, acct, "busy"), store.ErrDeleteConflict,
			"access keys", "group memberships", "inline policies", "attached policies")
	})
	t.Run("boundary does not block", func(t *testing.T) {
		u := iamUser(acct, "/", "bounded")
		u.PermissionsBoundary = pol.ARN
		must(t, s.CreateUser(ctx, u))
		must(t, s.DeleteUser(ctx, acct, "BOUNDED"))
	})
	checkErr(t, s.DeleteUser(ctx, acct, "nobody"), store.ErrNotFound)
}

func testIAMUserAccessKeys(t *testing.T, s IAMStore) {
	ctx := t.Context()
	u := mustUser(t, s, "Keyed")
	k := userKey(u, "AKIAKEYEDKEYEDKEYED1")
	// Principal fields come from the stored user, whatever the caller says.
	k.UserName, k.PrincipalARN, k.PrincipalID = "keyed", "wrong", "wrong"
	must(t, s.CreateUserAccessKey(ctx, k, 2))
	got, err := s.GetAccessKey(ctx, k.AccessKeyID)
	must(t, err)
	want := userKey(u, k.AccessKeyID)
	want.CreatedAt = wantTime
	checkKey(t, got, want)

	must(t, s.CreateUserAccessKey(ctx, userKey(u, "AKIAKEYEDKEYEDKEYED2"), 2))
	errMentions(t, s.CreateUserAccessKey(ctx, userKey(u, "AKIAKEYEDKEYEDKEYED3"), 2), store.ErrLimitExceeded, "2 access keys")
	checkErr(t, s.CreateUserAccessKey(ctx, userKey(u, "AKIAKEYEDKEYEDKEYED1"), 5), store.ErrConflict)
	checkErr(t, s.CreateUserAccessKey(ctx, userKey(iamUser(acct, "/", "ghost"), "AKIAGHOSTGHOSTGHOST1"), 2), store.ErrNotFound)
	bad := userKey(u, "AKIAKEYEDKEYEDKEYED4")
	bad.Status = "Broken"
	checkErr(t, s.CreateUserAccessKey(ctx, bad, 5), errAny)
	must(t, s.DeleteAccessKey(ctx, "AKIAKEYEDKEYEDKEYED2"))
	must(t, s.CreateUserAccessKey(ctx, userKey(u, "AKIAKEYEDKEYEDKEYED3"), 2))
}

func testIAMGroups(t *testing.T, s IAMStore) {
	ctx := t.Context()
	g := iamGroup(acct, "/eng/", "Devs")
	must(t, s.CreateGroup(ctx, g))
	got, err := s.GetGroup(ctx, acct, "DEVS")
	must(t, err)
	checkTime(t, "CreatedAt", got.CreatedAt, wantTime)
	g.CreatedAt = got.CreatedAt
	if !reflect.DeepEqual(got, g) {
		t.Errorf("GetGroup = %+v, want %+v", got, g)
	}
	checkErr(t, s.CreateGroup(ctx, iamGroup(acct, "/", "devs")), store.ErrConflict)
	checkErr(t, s.CreateGroup(ctx, iamGroup("999999999999", "/", "x")), store.ErrNotFound)
	_, err = s.GetGroup(ctx, acct, "nope")
	checkErr(t, err, store.ErrNotFound)
	must(t, s.CreateGroup(ctx, iamGroup(acct, "/", "ops")))
	must(t, s.CreateGroup(ctx, iamGroup(acct, "/", "admins")))
	groups, more, err := s.ListGroups(ctx, acct, store.Page{MaxItems: 2})
	must(t, err)
	checkNames(t, "groups", names(groups, groupName), "admins", "Devs")
	if !more {
		t.Error("more = false with a third group")
	}
	groups, _, err = s.ListGroups(ctx, acct, store.Page{PathPrefix: "/eng/"})
	must(t, err)
	checkNames(t, "groups under /eng/", names(groups, groupName), "Devs")

	for _, n := range []string{"ann", "Ben", "cat"} {
		mustUser(t, s, n)
	}
	must(t, s.AddUserToGroup(ctx, acct, "devs", "ben", 2))
	must(t, s.AddUserToGroup(ctx, acct, "DEVS", "BEN", 2)) // idempotent, not counted twice
	must(t, s.AddUserToGroup(ctx, acct, "devs", "ann", 2))
	must(t, s.AddUserToGroup(ctx, acct, "ops", "ben", 2))
	errMentions(t, s.AddUserToGroup(ctx, acct, "admins", "ben", 2), store.ErrLimitExceeded, "2 groups")
	must(t, s.AddUserToGroup(ctx, acct, "ops", "ben", 2)) // already a member: no limit applies
	checkErr(t, s.AddUserToGroup(ctx, acct, "nope", "ben", 2), store.ErrNotFound)
	checkErr(t, s.AddUserToGroup(ctx, acct, "devs", "nobody", 2), store.ErrNotFound)

	members, more, err := s.ListGroupMembers(ctx, acct, "devs", store.Page{})
	must(t, err)
	checkNames(t, "members", names(members, userName), "ann", "Ben")
	if more {
		t.Error("more = true")
	}
	members, more, err = s.ListGroupMembers(ctx, acct, "devs", store.Page{MaxItems: 1, Marker: "ANN"})
	must(t, err)
	checkNames(t, "members after ann", names(members, userName), "Ben")
	if more {
		t.Error("more = true on the last page")
	}
	_, _, err = s.ListGroupMembers(ctx, acct, "nope", store.Page{})
	checkErr(t, err, store.ErrNotFound)
	groups, _, err = s.ListGroupsForUser(ctx, acct, "BEN", store.Page{})
	must(t, err)
	checkNames(t, "groups of ben", names(groups, groupName), "Devs", "ops")
	groups, _, err = s.ListGroupsForUser(ctx, acct, "cat", store.Page{})
	must(t, err)
	checkNames(t, "groups of cat", names(groups, groupName))
	_, _, err = s.ListGroupsForUser(ctx, acct, "nobody", store.Page{})
	checkErr(t, err, store.ErrNotFound)

	checkErr(t, s.RemoveUserFromGroup(ctx, acct, "devs", "cat"), store.ErrNotFound)
	checkErr(t, s.RemoveUserFromGroup(ctx, acct, "nope", "ben"), store.ErrNotFound)

	// Rename: members, policies follow.
	pol := mustPolicy(t, s, acct, "P")
	must(t, s.AttachPolicy(ctx, acct, store.EntityGroup, "devs", pol.ARN, 10))
	must(t, s.PutInlinePolicy(ctx, store.InlinePolicy{AccountID: acct, EntityKind: store.EntityGroup, EntityName: "devs", PolicyName: "i", Document: doc1}))
	checkErr(t, s.UpdateGroup(ctx, acct, "devs", "OPS", ""), store.ErrConflict)
	checkErr(t, s.UpdateGroup(ctx, acct, "nope", "x", ""), store.ErrNotFound)
	must(t, s.UpdateGroup(ctx, acct, "devs", "Builders", "/b/"))
	got, err = s.GetGroup(ctx, acct, "builders")
	must(t, err)
	if got.GroupName != "Builders" || got.Path != "/b/" || got.ARN != "arn:aws:iam::"+acct+":group/b/Builders" || got.GroupID != g.GroupID {
		t.Errorf("renamed group = %+v", got)
	}
	members, _, err = s.ListGroupMembers(ctx, acct, "builders", store.Page{})
	must(t, err)
	checkNames(t, "members after rename", names(members, userName), "ann", "Ben")
	att, _, err := s.ListAttachedPolicies(ctx, acct, store.EntityGroup, "builders", store.Page{})
	must(t, err)
	checkNames(t, "attached after rename", names(att, policyName), "P")
	if _, err := s.GetInlinePolicy(ctx, acct, store.EntityGroup, "builders", "i"); err != nil {
		t.Errorf("inline policy after rename: %v", err)
	}

	errMentions(t, s.DeleteGroup(ctx, acct, "builders"), store.ErrDeleteConflict, "2 members", "1 inline policies", "1 attached policies")
	must(t, s.RemoveUserFromGroup(ctx, acct, "builders", "ann"))
	must(t, s.RemoveUserFromGroup(ctx, acct, "builders", "ben"))
	must(t, s.DetachPolicy(ctx, acct, store.EntityGroup, "builders", pol.ARN))
	must(t, s.DeleteInlinePolicy(ctx, acct, store.EntityGroup, "builders", "i"))
	must(t, s.DeleteGroup(ctx, acct, "BUILDERS"))
	checkErr(t, s.DeleteGroup(ctx, acct, "builders"), store.ErrNotFound)
}

func testIAMRoles(t *testing.T, s IAMStore) {
	ctx := t.Context()
	b := mustPolicy(t, s, acct, "B")
	r := iamRole(acct, "App")
	r.Path = "/svc/"
	r.ARN = "arn:aws:iam::" + acct + ":role/svc/App"
	r.Description = "the app"
	r.MaxSessionDuration = 7200
	r.PermissionsBoundary = b.ARN
	r.Tags = []store.Tag{tag("env", "prod")}
	must(t, s.CreateRole(ctx, r))
	got, err := s.GetRole(ctx, acct, "app")
	must(t, err)
	checkTime(t, "CreatedAt", got.CreatedAt, wantTime)
	if !got.LastUsedAt.IsZero() || got.LastUsedRegion != "" {
		t.Errorf("new role last used = %v %q", got.LastUsedAt, got.LastUsedRegion)
	}
	r.CreatedAt = got.CreatedAt
	if !reflect.DeepEqual(got, r) {
		t.Errorf("GetRole = %+v\nwant %+v", got, r)
	}
	checkErr(t, s.CreateRole(ctx, iamRole(acct, "APP")), store.ErrConflict)
	bad := iamRole(acct, "other")
	bad.PermissionsBoundary = policyARN(acct, "missing")
	checkErr(t, s.CreateRole(ctx, bad), store.ErrNotFound)
	_, err = s.GetRole(ctx, acct, "nope")
	checkErr(t, err, store.ErrNotFound)

	must(t, s.CreateRole(ctx, iamRole(acct, "batch")))
	roles, more, err := s.ListRoles(ctx, acct, store.Page{})
	must(t, err)
	checkNames(t, "roles", names(roles, func(r store.Role) string { return r.RoleName }), "App", "batch")
	if more {
		t.Error("more = true")
	}
	roles, _, err = s.ListRoles(ctx, acct, store.Page{PathPrefix: "/svc/"})
	must(t, err)
	checkNames(t, "roles under /svc/", names(roles, func(r store.Role) string { return r.RoleName }), "App")

	desc, dur := "new description", 43200
	must(t, s.UpdateRole(ctx, acct, "APP", &desc, nil))
	got, _ = s.GetRole(ctx, acct, "app")
	if got.Description != desc || got.MaxSessionDuration != 7200 {
		t.Errorf("after description update: %q %d", got.Description, got.MaxSessionDuration)
	}
	must(t, s.UpdateRole(ctx, acct, "app", nil, &dur))
	got, _ = s.GetRole(ctx, acct, "app")
	if got.Description != desc || got.MaxSessionDuration != dur {
		t.Errorf("after duration update: %q %d", got.Description, got.MaxSessionDuration)
	}
	checkErr(t, s.UpdateRole(ctx, acct, "nope", &desc, nil), store.ErrNotFound)
	must(t, s.UpdateAssumeRolePolicy(ctx, acct, "app", doc1))
	got, _ = s.GetRole(ctx, acct, "app")
	if got.AssumeRolePolicyDocument != doc1 {
		t.Errorf("trust policy = %q", got.AssumeRolePolicyDocument)
	}
	checkErr(t, s.UpdateAssumeRolePolicy(ctx, acct, "nope", doc1), store.ErrNotFound)
	must(t, s.SetRoleBoundary(ctx, acct, "app", ""))
	checkErr(t, s.SetRoleBoundary(ctx, acct, "app", policyARN(acct, "missing")), store.ErrNotFound)
	checkErr(t, s.SetRoleBoundary(ctx, acct, "nope", ""), store.ErrNotFound)

	gen := generation(t, s)
	must(t, s.TouchRole(ctx, acct, "APP", at, "eu-west-1"))
	if g := generation(t, s); g != gen {
		t.Errorf("TouchRole changed the generation %d -> %d", gen, g)
	}
	got, _ = s.GetRole(ctx, acct, "app")
	checkTime(t, "LastUsedAt", got.LastUsedAt, wantTime)
	if got.LastUsedRegion != "eu-west-1" {
		t.Errorf("LastUsedRegion = %q", got.LastUsedRegion)
	}
	checkErr(t, s.TouchRole(ctx, acct, "nope", at, "x"), store.ErrNotFound)

	pol := mustPolicy(t, s, acct, "P")
	must(t, s.AttachPolicy(ctx, acct, store.EntityRole, "app", pol.ARN, 10))
	must(t, s.PutInlinePolicy(ctx, store.InlinePolicy{AccountID: acct, EntityKind: store.EntityRole, EntityName: "app", PolicyName: "i", Document: doc1}))
	errMentions(t, s.DeleteRole(ctx, acct, "app"), store.ErrDeleteConflict, "inline policies", "attached policies")
	must(t, s.DetachPolicy(ctx, acct, store.EntityRole, "app", pol.ARN))
	errMentions(t, s.DeleteRole(ctx, acct, "app"), store.ErrDeleteConflict, "inline policies")
	must(t, s.DeleteInlinePolicy(ctx, acct, store.EntityRole, "app", "i"))
	must(t, s.SetRoleBoundary(ctx, acct, "app", b.ARN)) // a boundary does not block deletion
	must(t, s.DeleteRole(ctx, acct, "App"))
	checkErr(t, s.DeleteRole(ctx, acct, "app"), store.ErrNotFound)
}

func testIAMTags(t *testing.T, s IAMStore) {
	ctx := t.Context()
	mustUser(t, s, "u")
	must(t, s.CreateRole(ctx, iamRole(acct, "r")))
	pol := mustPolicy(t, s, acct, "p")
	awsPol := mustPolicy(t, s, "aws", "ReadOnlyAccess")
	oidc := store.OIDCProvider{AccountID: acct, ARN: "arn:aws:iam::" + acct + ":oidc-provider/example.com", URL: "https://example.com", CreatedAt: at}
	must(t, s.CreateOIDCProvider(ctx, oidc))
	get := map[store.TagTarget]func(id string) ([]store.Tag, error){
		store.TagUser: func(id string) ([]store.Tag, error) { u, err := s.GetUser(ctx, acct, id); return u.Tags, err },
		store.TagRole: func(id string) ([]store.Tag, error) { r, err := s.GetRole(ctx, acct, id); return r.Tags, err },
		store.TagPolicy: func(id string) ([]store.Tag, error) {
			p, err := s.GetPolicy(ctx, id)
			return p.Tags, err
		},
		store.TagOIDCProvider: func(id string) ([]store.Tag, error) {
			p, err := s.GetOIDCProvider(ctx, id)
			return p.Tags, err
		},
	}
	for _, tt := range []struct {
		kind store.TagTarget
		id   string
	}{{store.TagUser, "U"}, {store.TagRole, "R"}, {store.TagPolicy, pol.ARN}, {store.TagOIDCProvider, oidc.ARN}} {
		t.Run(string(tt.kind), func(t *testing.T) {
			check := func(want ...store.Tag) {
				t.Helper()
				got, err := get[tt.kind](tt.id)
				must(t, err)
				if len(want) == 0 {
					want = nil
				}
				if !reflect.DeepEqual(got, want) {
					t.Errorf("tags = %v, want %v", got, want)
				}
			}
			check()
			must(t, s.TagResource(ctx, acct, tt.kind, tt.id, []store.Tag{tag("b", "1"), tag("a", "2")}, 3))
			check(tag("b", "1"), tag("a", "2"))
			// Overwrite in place, keys are case-sensitive, duplicates in one call: last wins.
			must(t, s.TagResource(ctx, acct, tt.kind, tt.id, []store.Tag{tag("a", "x"), tag("A", "3"), tag("A", "4")}, 3))
			check(tag("b", "1"), tag("a", "x"), tag("A", "4"))
			must(t, s.TagResource(ctx, acct, tt.kind, tt.id, []store.Tag{tag("b", "2")}, 3)) // at the limit, overwriting
			errMentions(t, s.TagResource(ctx, acct, tt.kind, tt.id, []store.Tag{tag("c", "1")}, 3), store.ErrLimitExceeded, "4 tags")
			check(tag("b", "2"), tag("a", "x"), tag("A", "4"))
			must(t, s.UntagResource(ctx, acct, tt.kind, tt.id, []string{"a", "missing"}))
			check(tag("b", "2"), tag("A", "4"))
			must(t, s.UntagResource(ctx, acct, tt.kind, tt.id, []string{"b", "A"}))
			check()
			// Another account cannot reach it.
			checkErr(t, s.TagResource(ctx, otherAcct, tt.kind, tt.id, []store.Tag{tag("k", "v")}, 50), store.ErrNotFound)
		})
	}
	for _, tt := range []struct {
		kind store.TagTarget
		id   string
	}{{store.TagUser, "nobody"}, {store.TagRole, "nobody"}, {store.TagPolicy, policyARN(acct, "nope")},
		{store.TagPolicy, awsPol.ARN}, {store.TagOIDCProvider, oidc.ARN + "x"}} {
		checkErr(t, s.TagResource(ctx, acct, tt.kind, tt.id, []store.Tag{tag("k", "v")}, 50), store.ErrNotFound)
		checkErr(t, s.UntagResource(ctx, acct, tt.kind, tt.id, []string{"k"}), store.ErrNotFound)
	}
	checkErr(t, s.TagResource(ctx, acct, "bogus", "u", []store.Tag{tag("k", "v")}, 50), errAny)
}

func testIAMPolicies(t *testing.T, s IAMStore) {
	ctx := t.Context()
	p := iamPolicy(acct, "MyPolicy")
	p.Path = "/app/"
	p.ARN = "arn:aws:iam::" + acct + ":policy/app/MyPolicy"
	p.Description = "what it is for"
	p.DefaultVersionID = "v9" // ignored: the first version is v1
	p.Tags = []store.Tag{tag("k", "v")}
	must(t, s.CreatePolicy(ctx, p, doc1))
	got, err := s.GetPolicy(ctx, p.ARN)
	must(t, err)
	checkTime(t, "CreatedAt", got.CreatedAt, wantTime)
	checkTime(t, "UpdatedAt", got.UpdatedAt, wantTime)
	want := p
	want.DefaultVersionID = "v1"
	want.CreatedAt, want.UpdatedAt = got.CreatedAt, got.UpdatedAt
	if !reflect.DeepEqual(got, want) {
		t.Errorf("GetPolicy = %+v\nwant %+v", got, want)
	}
	v, err := s.GetPolicyVersion(ctx, p.ARN, "v1")
	must(t, err)
	checkTime(t, "version CreatedAt", v.CreatedAt, wantTime)
	if v.Document != doc1 || !v.IsDefault || v.VersionID != "v1" || v.PolicyARN != p.ARN {
		t.Errorf("v1 = %+v", v)
	}

	dup := iamPolicy(acct, "MYPOLICY")
	checkErr(t, s.CreatePolicy(ctx, dup, doc1), store.ErrConflict)
	checkErr(t, s.CreatePolicy(ctx, iamPolicy("999999999999", "x"), doc1), store.ErrNotFound)
	_, err = s.GetPolicy(ctx, policyARN(acct, "nope"))
	checkErr(t, err, store.ErrNotFound)
	_, err = s.GetPolicyVersion(ctx, p.ARN, "v2")
	checkErr(t, err, store.ErrNotFound)
	_, err = s.ListPolicyVersions(ctx, policyARN(acct, "nope"))
	checkErr(t, err, store.ErrNotFound)

	// AWS managed: account "aws", the same name as a customer policy allowed.
	awsP := iamPolicy("aws", "MyPolicy")
	must(t, s.CreatePolicy(ctx, awsP, doc1))
	checkErr(t, s.CreatePolicy(ctx, awsP, doc1), store.ErrConflict)
	got, err = s.GetPolicy(ctx, awsP.ARN)
	must(t, err)
	if got.AccountID != "aws" || got.ARN != "arn:aws:iam::aws:policy/MyPolicy" {
		t.Errorf("AWS managed policy = %+v", got)
	}

	// Counts are computed on read.
	mustUser(t, s, "u1")
	mustUser(t, s, "u2")
	must(t, s.CreateGroup(ctx, iamGroup(acct, "/", "g")))
	must(t, s.AttachPolicy(ctx, acct, store.EntityUser, "u1", p.ARN, 10))
	must(t, s.AttachPolicy(ctx, acct, store.EntityGroup, "g", p.ARN, 10))
	must(t, s.SetUserBoundary(ctx, acct, "u2", p.ARN))
	r := iamRole(acct, "r")
	r.PermissionsBoundary = p.ARN
	must(t, s.CreateRole(ctx, r))
	got, err = s.GetPolicy(ctx, p.ARN)
	must(t, err)
	if got.AttachmentCount != 2 || got.PermissionsBoundaryUsageCount != 2 {
		t.Errorf("counts = %d attachments, %d boundaries; want 2, 2", got.AttachmentCount, got.PermissionsBoundaryUsageCount)
	}
}

func testIAMPolicyListing(t *testing.T, s IAMStore) {
	ctx := t.Context()
	mustCreateAccount(t, s, otherAcct)
	for _, n := range []string{"beta", "Alpha", "ReadOnlyAccess"} {
		mustPolicy(t, s, acct, n)
	}
	dev := iamPolicy(acct, "dev")
	dev.Path, dev.ARN = "/dev/", "arn:aws:iam::"+acct+":policy/dev/dev"
	must(t, s.CreatePolicy(ctx, dev, doc1))
	for _, n := range []string{"AdministratorAccess", "ReadOnlyAccess", "IAMFullAccess"} {
		mustPolicy(t, s, "aws", n)
	}
	mustPolicy(t, s, otherAcct, "theirs")
	mustUser(t, s, "u")
	must(t, s.AttachPolicy(ctx, acct, store.EntityUser, "u", policyARN(acct, "beta"), 10))
	must(t, s.AttachPolicy(ctx, acct, store.EntityUser, "u", policyARN("aws", "IAMFullAccess"), 10))
	// Another account's attachment of an AWS policy does not count here.
	must(t, s.CreateUser(ctx, iamUser(otherAcct, "/", "x")))
	must(t, s.AttachPolicy(ctx, otherAcct, store.EntityUser, "x", policyARN("aws", "AdministratorAccess"), 10))

	list := func(scope string, attached bool, p store.Page) ([]store.ManagedPolicy, bool) {
		t.Helper()
		ps, more, err := s.ListPolicies(ctx, acct, scope, attached, p)
		must(t, err)
		return ps, more
	}
	tests := []struct {
		scope    string
		attached bool
		page     store.Page
		want     []string
	}{
		{"Local", false, store.Page{}, []string{"Alpha", "beta", "dev", "ReadOnlyAccess"}},
		{"AWS", false, store.Page{}, []string{"AdministratorAccess", "IAMFullAccess", "ReadOnlyAccess"}},
		{"All", false, store.Page{}, []string{"AdministratorAccess", "Alpha", "beta", "dev", "IAMFullAccess", "ReadOnlyAccess", "ReadOnlyAccess"}},
		{"", false, store.Page{}, []string{"AdministratorAccess", "Alpha", "beta", "dev", "IAMFullAccess", "ReadOnlyAccess", "ReadOnlyAccess"}},
		{"All", true, store.Page{}, []string{"beta", "IAMFullAccess"}},
		{"AWS", true, store.Page{}, []string{"IAMFullAccess"}},
		{"Local", false, store.Page{PathPrefix: "/dev/"}, []string{"dev"}},
		{"All", false, store.Page{Marker: "dev"}, []string{"IAMFullAccess", "ReadOnlyAccess", "ReadOnlyAccess"}},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s/%v/%+v", tt.scope, tt.attached, tt.page), func(t *testing.T) {
			ps, _ := list(tt.scope, tt.attached, tt.page)
			checkNames(t, "policies", names(ps, policyName), tt.want...)
		})
	}
	ps, _ := list("All", false, store.Page{})
	for _, p := range ps {
		wantCount := 0
		if p.PolicyName == "beta" || p.PolicyName == "IAMFullAccess" {
			wantCount = 1
		}
		if p.AttachmentCount != wantCount {
			t.Errorf("%s AttachmentCount = %d, want %d (this account's only)", p.ARN, p.AttachmentCount, wantCount)
		}
	}
	// Pages of 1 walk all seven, never splitting the two ReadOnlyAccess.
	var all []string
	p := store.Page{MaxItems: 1}
	for range 20 {
		page, more := list("All", false, p)
		all = append(all, names(page, policyName)...)
		if !more {
			break
		}
		p.Marker = page[len(page)-1].PolicyName
	}
	checkNames(t, "policies by pages of 1", all, "AdministratorAccess", "Alpha", "beta", "dev", "IAMFullAccess", "ReadOnlyAccess", "ReadOnlyAccess")
	_, _, err := s.ListPolicies(ctx, acct, "Bogus", false, store.Page{})
	checkErr(t, err, errAny)
}

func testIAMDeletePolicyConflicts(t *testing.T, s IAMStore) {
	ctx := t.Context()
	mustUser(t, s, "u")
	must(t, s.CreateRole(ctx, iamRole(acct, "r")))
	tests := []struct {
		name   string
		add    func(arn string) error
		remove func(arn string) error
		words  string
	}{
		{"attached",
			func(arn string) error { return s.AttachPolicy(ctx, acct, store.EntityUser, "u", arn, 10) },
			func(arn string) error { return s.DetachPolicy(ctx, acct, store.EntityUser, "u", arn) }, "1 attachments"},
		{"user boundary",
			func(arn string) error { return s.SetUserBoundary(ctx, acct, "u", arn) },
			func(arn string) error { return s.SetUserBoundary(ctx, acct, "u", "") }, "1 users with it as permissions boundary"},
		{"role boundary",
			func(arn string) error { return s.SetRoleBoundary(ctx, acct, "r", arn) },
			func(arn string) error { return s.SetRoleBoundary(ctx, acct, "r", "") }, "1 roles with it as permissions boundary"},
		{"non-default version",
			func(arn string) error {
				_, err := s.CreatePolicyVersion(ctx, arn, doc1, false, 5, at)
				return err
			},
			func(arn string) error { return s.DeletePolicyVersion(ctx, arn, "v2") }, "1 non-default versions"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := mustPolicy(t, s, acct, fmt.Sprintf("p%d", i))
			must(t, tt.add(p.ARN))
			errMentions(t, s.DeletePolicy(ctx, p.ARN), store.ErrDeleteConflict, tt.words)
			must(t, tt.remove(p.ARN))
			must(t, s.DeletePolicy(ctx, p.ARN))
			_, err := s.GetPolicy(ctx, p.ARN)
			checkErr(t, err, store.ErrNotFound)
			_, err = s.GetPolicyVersion(ctx, p.ARN, "v1")
			checkErr(t, err, store.ErrNotFound)
			// The name is free again.
			mustPolicy(t, s, acct, fmt.Sprintf("P%d", i))
		})
	}
	checkErr(t, s.DeletePolicy(ctx, policyARN(acct, "nope")), store.ErrNotFound)
}

func testIAMPolicyVersions(t *testing.T, s IAMStore) {
	ctx := t.Context()
	p := mustPolicy(t, s, acct, "p")
	later := at.Add(time.Hour)
	v2, err := s.CreatePolicyVersion(ctx, p.ARN, `{"v":2}`, false, 5, later)
	must(t, err)
	checkTime(t, "v2 CreatedAt", v2.CreatedAt, wantTime.Add(time.Hour))
	if v2.VersionID != "v2" || v2.IsDefault || v2.Document != `{"v":2}` || v2.PolicyARN != p.ARN {
		t.Errorf("v2 = %+v", v2)
	}
	got, _ := s.GetPolicy(ctx, p.ARN)
	checkTime(t, "UpdatedAt", got.UpdatedAt, wantTime.Add(time.Hour))
	if got.DefaultVersionID != "v1" {
		t.Errorf("default = %s, want v1", got.DefaultVersionID)
	}
	v3, err := s.CreatePolicyVersion(ctx, p.ARN, `{"v":3}`, true, 5, later)
	must(t, err)
	if v3.VersionID != "v3" || !v3.IsDefault {
		t.Errorf("v3 = %+v", v3)
	}
	got, _ = s.GetPolicy(ctx, p.ARN)
	if got.DefaultVersionID != "v3" {
		t.Errorf("default = %s, want v3", got.DefaultVersionID)
	}
	vs, err := s.ListPolicyVersions(ctx, p.ARN)
	must(t, err)
	checkNames(t, "versions", names(vs, func(v store.PolicyVersion) string { return fmt.Sprint(v.VersionID, v.IsDefault) }), "v1false", "v2false", "v3true")

	errMentions(t, s.DeletePolicyVersion(ctx, p.ARN, "v3"), store.ErrDeleteConflict, "default")
	checkErr(t, s.DeletePolicyVersion(ctx, p.ARN, "v9"), store.ErrNotFound)
	checkErr(t, s.DeletePolicyVersion(ctx, policyARN(acct, "nope"), "v1"), store.ErrNotFound)
	checkErr(t, s.SetDefaultPolicyVersion(ctx, p.ARN, "v9"), store.ErrNotFound)
	checkErr(t, s.SetDefaultPolicyVersion(ctx, policyARN(acct, "nope"), "v1"), store.ErrNotFound)
	_, err = s.CreatePolicyVersion(ctx, policyARN(acct, "nope"), doc1, false, 5, at)
	checkErr(t, err, store.ErrNotFound)

	// Up to five; ids are never reused after a delete.
	for range 2 {
		_, err := s.CreatePolicyVersion(ctx, p.ARN, doc1, false, 5, at)
		must(t, err)
	}
	_, err = s.CreatePolicyVersion(ctx, p.ARN, doc1, false, 5, at)
	errMentions(t, err, store.ErrLimitExceeded, "5 versions")
	must(t, s.DeletePolicyVersion(ctx, p.ARN, "v5"))
	v6, err := s.CreatePolicyVersion(ctx, p.ARN, doc1, false, 5, at)
	must(t, err)
	if v6.VersionID != "v6" {
		t.Errorf("version after deleting v5 = %s, want v6", v6.VersionID)
	}
	must(t, s.SetDefaultPolicyVersion(ctx, p.ARN, "v2"))
	v, err := s.GetPolicyVersion(ctx, p.ARN, "v2")
	must(t, err)
	if !v.IsDefault {
		t.Error("v2 is not default after SetDefaultPolicyVersion")
	}
	must(t, s.DeletePolicyVersion(ctx, p.ARN, "v3"))
	vs, _ = s.ListPolicyVersions(ctx, p.ARN)
	checkNames(t, "versions", names(vs, func(v store.PolicyVersion) string { return v.VersionID }), "v1", "v2", "v4", "v6")
}

func testIAMAttachments(t *testing.T, s IAMStore) {
	ctx := t.Context()
	mustCreateAccount(t, s, otherAcct)
	mustUser(t, s, "u")
	must(t, s.CreateGroup(ctx, iamGroup(acct, "/", "g")))
	must(t, s.CreateRole(ctx, iamRole(acct, "r")))
	p1 := mustPolicy(t, s, acct, "p1")
	p2 := mustPolicy(t, s, acct, "P2")
	awsP := mustPolicy(t, s, "aws", "ReadOnlyAccess")
	theirs := mustPolicy(t, s, otherAcct, "theirs")

	for _, kind := range []store.EntityKind{store.EntityUser, store.EntityGroup, store.EntityRole} {
		name := map[store.EntityKind]string{store.EntityUser: "U", store.EntityGroup: "G", store.EntityRole: "R"}[kind]
		t.Run(string(kind), func(t *testing.T) {
			must(t, s.AttachPolicy(ctx, acct, kind, name, p2.ARN, 2))
			must(t, s.AttachPolicy(ctx, acct, kind, name, awsP.ARN, 2))
			must(t, s.AttachPolicy(ctx, acct, kind, name, awsP.ARN, 2)) // idempotent at the limit
			errMentions(t, s.AttachPolicy(ctx, acct, kind, name, p1.ARN, 2), store.ErrLimitExceeded, "2 attached")
			checkErr(t, s.AttachPolicy(ctx, acct, kind, "nobody", p1.ARN, 10), store.ErrNotFound)
			checkErr(t, s.AttachPolicy(ctx, acct, kind, name, policyARN(acct, "nope"), 10), store.ErrNotFound)
			checkErr(t, s.AttachPolicy(ctx, acct, kind, name, theirs.ARN, 10), store.ErrNotFound)
			ps, more, err := s.ListAttachedPolicies(ctx, acct, kind, strings.ToLower(name), store.Page{})
			must(t, err)
			checkNames(t, "attached", names(ps, policyName), "P2", "ReadOnlyAccess")
			if more {
				t.Error("more = true")
			}
			ps, more, err = s.ListAttachedPolicies(ctx, acct, kind, name, store.Page{MaxItems: 1})
			must(t, err)
			checkNames(t, "first attached", names(ps, policyName), "P2")
			if !more {
				t.Error("more = false")
			}
			_, _, err = s.ListAttachedPolicies(ctx, acct, kind, "nobody", store.Page{})
			checkErr(t, err, store.ErrNotFound)
			checkErr(t, s.DetachPolicy(ctx, acct, kind, name, p1.ARN), store.ErrNotFound)
			checkErr(t, s.DetachPolicy(ctx, acct, kind, "nobody", p1.ARN), store.ErrNotFound)
		})
	}
	ents, err := s.ListEntitiesForPolicy(ctx, p2.ARN)
	must(t, err)
	want := []store.InlinePolicy{
		{AccountID: acct, EntityKind: store.EntityGroup, EntityName: "g"},
		{AccountID: acct, EntityKind: store.EntityRole, EntityName: "r"},
		{AccountID: acct, EntityKind: store.EntityUser, EntityName: "u"},
	}
	if !reflect.DeepEqual(ents, want) {
		t.Errorf("ListEntitiesForPolicy = %+v\nwant %+v", ents, want)
	}
	ents, err = s.ListEntitiesForPolicy(ctx, p1.ARN)
	must(t, err)
	if len(ents) != 0 {
		t.Errorf("entities of an unattached policy = %+v", ents)
	}
	_, err = s.ListEntitiesForPolicy(ctx, policyARN(acct, "nope"))
	checkErr(t, err, store.ErrNotFound)
	must(t, s.DetachPolicy(ctx, acct, store.EntityRole, "R", p2.ARN))
	got, _ := s.GetPolicy(ctx, p2.ARN)
	if got.AttachmentCount != 2 {
		t.Errorf("AttachmentCount after detach = %d, want 2", got.AttachmentCount)
	}
	checkErr(t, s.AttachPolicy(ctx, acct, "bogus", "u", p1.ARN, 10), errAny)
}

func testIAMInlinePolicies(t *testing.T, s IAMStore) {
	ctx := t.Context()
	mustUser(t, s, "Ulla")
	must(t, s.CreateGroup(ctx, iamGroup(acct, "/", "g")))
	must(t, s.CreateRole(ctx, iamRole(acct, "r")))
	for _, kind := range []store.EntityKind{store.EntityUser, store.EntityGroup, store.EntityRole} {
		name := map[store.EntityKind]string{store.EntityUser: "ulla", store.EntityGroup: "g", store.EntityRole: "r"}[kind]
		display := map[store.EntityKind]string{store.EntityUser: "Ulla", store.EntityGroup: "g", store.EntityRole: "r"}[kind]
		t.Run(string(kind), func(t *testing.T) {
			put := func(pn, doc string) error {
				return s.PutInlinePolicy(ctx, store.InlinePolicy{AccountID: acct, EntityKind: kind, EntityName: name, PolicyName: pn, Document: doc})
			}
			must(t, put("beta", doc1))
			must(t, put("Alpha", doc1))
			must(t, put("BETA", `{"replaced":true}`))
			got, err := s.GetInlinePolicy(ctx, acct, kind, strings.ToUpper(name), "beta")
			must(t, err)
			want := store.InlinePolicy{AccountID: acct, EntityKind: kind, EntityName: display, PolicyName: "BETA", Document: `{"replaced":true}`}
			if got != want {
				t.Errorf("GetInlinePolicy = %+v, want %+v", got, want)
			}
			ns, more, err := s.ListInlinePolicies(ctx, acct, kind, name, store.Page{})
			must(t, err)
			checkNames(t, "inline", ns, "Alpha", "BETA")
			if more {
				t.Error("more = true")
			}
			ns, more, err = s.ListInlinePolicies(ctx, acct, kind, name, store.Page{MaxItems: 1})
			must(t, err)
			checkNames(t, "inline page", ns, "Alpha")
			if !more {
				t.Error("more = false")
			}
			ns, _, err = s.ListInlinePolicies(ctx, acct, kind, name, store.Page{Marker: "alpha"})
			must(t, err)
			checkNames(t, "inline after alpha", ns, "BETA")
			_, _, err = s.ListInlinePolicies(ctx, acct, kind, "nobody", store.Page{})
			checkErr(t, err, store.ErrNotFound)
			checkErr(t, s.PutInlinePolicy(ctx, store.InlinePolicy{AccountID: acct, EntityKind: kind, EntityName: "nobody", PolicyName: "x", Document: doc1}), store.ErrNotFound)
			_, err = s.GetInlinePolicy(ctx, acct, kind, name, "gamma")
			checkErr(t, err, store.ErrNotFound)
			must(t, s.DeleteInlinePolicy(ctx, acct, kind, name, "alpha"))
			checkErr(t, s.DeleteInlinePolicy(ctx, acct, kind, name, "alpha"), store.ErrNotFound)
			ns, _, _ = s.ListInlinePolicies(ctx, acct, kind, name, store.Page{})
			checkNames(t, "inline after delete", ns, "BETA")
		})
	}
	checkErr(t, s.PutInlinePolicy(ctx, store.InlinePolicy{AccountID: acct, EntityKind: "bogus", EntityName: "u", PolicyName: "x", Document: doc1}), errAny)
}

func testIAMOIDCProviders(t *testing.T, s IAMStore) {
	ctx := t.Context()
	mustCreateAccount(t, s, otherAcct)
	arn := "arn:aws:iam::" + acct + ":oidc-provider/token.example.com/path"
	p := store.OIDCProvider{AccountID: acct, ARN: arn, URL: "https://token.example.com/path",
		ClientIDs: []string{"sts.amazonaws.com", "app"}, Thumbprints: []string{strings.Repeat("a", 40)},
		CreatedAt: at, Tags: []store.Tag{tag("k", "v")}}
	must(t, s.CreateOIDCProvider(ctx, p))
	got, err := s.GetOIDCProvider(ctx, arn)
	must(t, err)
	checkTime(t, "CreatedAt", got.CreatedAt, wantTime)
	p.CreatedAt = got.CreatedAt
	if !reflect.DeepEqual(got, p) {
		t.Errorf("GetOIDCProvider = %+v\nwant %+v", got, p)
	}
	checkErr(t, s.CreateOIDCProvider(ctx, p), store.ErrConflict)
	bare := store.OIDCProvider{AccountID: acct, ARN: "arn:aws:iam::" + acct + ":oidc-provider/a.example", URL: "https://a.example", CreatedAt: at}
	must(t, s.CreateOIDCProvider(ctx, bare))
	got, err = s.GetOIDCProvider(ctx, bare.ARN)
	must(t, err)
	if got.ClientIDs != nil || got.Thumbprints != nil || got.Tags != nil {
		t.Errorf("empty lists came back as %#v %#v %#v, want nil", got.ClientIDs, got.Thumbprints, got.Tags)
	}
	mine := store.OIDCProvider{AccountID: otherAcct, ARN: "arn:aws:iam::" + otherAcct + ":oidc-provider/a.example", URL: "https://a.example", CreatedAt: at}
	must(t, s.CreateOIDCProvider(ctx, mine))
	checkErr(t, s.CreateOIDCProvider(ctx, store.OIDCProvider{AccountID: "999999999999", ARN: "arn:x", CreatedAt: at}), store.ErrNotFound)
	list, err := s.ListOIDCProviders(ctx, acct)
	must(t, err)
	checkNames(t, "providers", names(list, func(p store.OIDCProvider) string { return p.ARN }), bare.ARN, arn)

	must(t, s.UpdateOIDCProvider(ctx, arn, nil, []string{strings.Repeat("b", 40)}))
	got, _ = s.GetOIDCProvider(ctx, arn)
	if !reflect.DeepEqual(got.ClientIDs, p.ClientIDs) || !reflect.DeepEqual(got.Thumbprints, []string{strings.Repeat("b", 40)}) {
		t.Errorf("after thumbprint update: %v %v", got.ClientIDs, got.Thumbprints)
	}
	must(t, s.UpdateOIDCProvider(ctx, arn, []string{}, nil))
	got, _ = s.GetOIDCProvider(ctx, arn)
	if got.ClientIDs != nil || len(got.Thumbprints) != 1 {
		t.Errorf("after clearing client ids: %#v %v", got.ClientIDs, got.Thumbprints)
	}
	checkErr(t, s.UpdateOIDCProvider(ctx, arn+"x", []string{"a"}, nil), store.ErrNotFound)
	checkErr(t, s.UpdateOIDCProvider(ctx, arn+"x", nil, nil), store.ErrNotFound)
	must(t, s.DeleteOIDCProvider(ctx, arn))
	checkErr(t, s.DeleteOIDCProvider(ctx, arn), store.ErrNotFound)
	_, err = s.GetOIDCProvider(ctx, arn)
	checkErr(t, err, store.ErrNotFound)
}

func testIAMGeneration(t *testing.T, s IAMStore) {
	ctx := t.Context()
	if g := generation(t, s); g != 0 {
		t.Errorf("generation of an empty store = %d, want 0", g)
	}
	mustPolicy(t, s, acct, "p")
	steps := []struct {
		name string
		fn   func() error
		bump bool
	}{
		{"create user", func() error { return s.CreateUser(ctx, iamUser(acct, "/", "u")) }, true},
		{"failed create", func() error { return s.CreateUser(ctx, iamUser(acct, "/", "U")) }, false},
		{"read", func() error { _, err := s.GetUser(ctx, acct, "u"); return err }, false},
		{"list", func() error { _, _, err := s.ListUsers(ctx, acct, store.Page{}); return err }, false},
		{"attach", func() error { return s.AttachPolicy(ctx, acct, store.EntityUser, "u", policyARN(acct, "p"), 10) }, true},
		{"failed attach", func() error { return s.AttachPolicy(ctx, acct, store.EntityUser, "x", policyARN(acct, "p"), 10) }, false},
		{"new version", func() error {
			_, err := s.CreatePolicyVersion(ctx, policyARN(acct, "p"), doc1, true, 5, at)
			return err
		}, true},
		{"tag", func() error { return s.TagResource(ctx, acct, store.TagUser, "u", []store.Tag{tag("a", "b")}, 50) }, true},
		{"inline", func() error {
			return s.PutInlinePolicy(ctx, store.InlinePolicy{AccountID: acct, EntityKind: store.EntityUser, EntityName: "u", PolicyName: "i", Document: doc1})
		}, true},
		{"detach", func() error { return s.DetachPolicy(ctx, acct, store.EntityUser, "u", policyARN(acct, "p")) }, true},
		{"failed detach", func() error { return s.DetachPolicy(ctx, acct, store.EntityUser, "u", policyARN(acct, "p")) }, false},
	}
	prev := generation(t, s)
	if prev == 0 {
		t.Fatal("generation still 0 after a write")
	}
	for _, st := range steps {
		err := st.fn()
		if st.bump || st.name == "read" || st.name == "list" {
			must(t, err)
		} else if err == nil {
			t.Fatalf("%s: expected an error", st.name)
		}
		g := generation(t, s)
		switch {
		case st.bump && g <= prev:
			t.Errorf("%s: generation %d -> %d, want an increase", st.name, prev, g)
		case !st.bump && g != prev:
			t.Errorf("%s: generation %d -> %d, want unchanged", st.name, prev, g)
		}
		prev = g
	}
}

func testIAMReset(t *testing.T, s IAMStore) {
	ctx := t.Context()
	u := mustUser(t, s, "u")
	p := mustPolicy(t, s, acct, "p")
	must(t, s.CreateGroup(ctx, iamGroup(acct, "/", "g")))
	must(t, s.AddUserToGroup(ctx, acct, "g", "u", 10))
	must(t, s.AttachPolicy(ctx, acct, store.EntityUser, "u", p.ARN, 10))
	must(t, s.PutInlinePolicy(ctx, store.InlinePolicy{AccountID: acct, EntityKind: store.EntityUser, EntityName: "u", PolicyName: "i", Document: doc1}))
	must(t, s.CreateRole(ctx, iamRole(acct, "r")))
	must(t, s.CreateUserAccessKey(ctx, userKey(u, "AKIARESETRESETRESET1"), 2))
	must(t, s.CreateOIDCProvider(ctx, store.OIDCProvider{AccountID: acct, ARN: "arn:aws:iam::" + acct + ":oidc-provider/x", URL: "https://x", CreatedAt: at}))
	before := generation(t, s)

	must(t, s.Reset(ctx))
	if g := generation(t, s); g == before {
		t.Errorf("generation after Reset = %d, unchanged", g)
	}
	_, err := s.GetUser(ctx, acct, "u")
	checkErr(t, err, store.ErrNotFound)
	_, err = s.GetPolicy(ctx, p.ARN)
	checkErr(t, err, store.ErrNotFound)
	_, err = s.GetRole(ctx, acct, "r")
	checkErr(t, err, store.ErrNotFound)
	// Everything can be created again, and the generation never returns to
	// a value a server may have cached before the reset.
	mustCreateAccount(t, s, acct)
	mustUser(t, s, "u")
	mustPolicy(t, s, acct, "p")
	must(t, s.CreateGroup(ctx, iamGroup(acct, "/", "g")))
	must(t, s.AddUserToGroup(ctx, acct, "g", "u", 10))
	if g := generation(t, s); g <= before {
		t.Errorf("generation after Reset and writes = %d, want > %d", g, before)
	}
}

// race runs fn in n goroutines started together and returns their errors.
func race(n int, fn func(i int) error) []error {
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			errs[i] = fn(i)
		})
	}
	close(start)
	wg.Wait()
	return errs
}

// tally counts nil errors and errors matching want; any other is fatal.
func tally(t *testing.T, errs []error, want error) (ok, refused int) {
	t.Helper()
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case errors.Is(err, want):
			refused++
		default:
			t.Fatalf("unexpected error: %v", err)
		}
	}
	return ok, refused
}

func testIAMRaceAccessKeys(t *testing.T, s IAMStore) {
	u := mustUser(t, s, "u")
	errs := race(20, func(i int) error {
		return s.CreateUserAccessKey(t.Context(), userKey(u, fmt.Sprintf("AKIARACE%012d", i)), 2)
	})
	if ok, refused := tally(t, errs, store.ErrLimitExceeded); ok != 2 || refused != 18 {
		t.Errorf("%d created, %d refused; want 2 and 18", ok, refused)
	}
	keys, err := s.ListAccessKeys(t.Context(), u.ARN)
	must(t, err)
	if len(keys) != 2 {
		t.Errorf("user has %d keys, want 2", len(keys))
	}
}

func testIAMRacePolicyVersions(t *testing.T, s IAMStore) {
	p := mustPolicy(t, s, acct, "p")
	errs := race(20, func(i int) error {
		_, err := s.CreatePolicyVersion(t.Context(), p.ARN, doc1, i%2 == 0, 5, at)
		return err
	})
	if ok, refused := tally(t, errs, store.ErrLimitExceeded); ok != 4 || refused != 16 {
		t.Errorf("%d created, %d refused; want 4 and 16", ok, refused)
	}
	vs, err := s.ListPolicyVersions(t.Context(), p.ARN)
	must(t, err)
	checkNames(t, "versions", names(vs, func(v store.PolicyVersion) string { return v.VersionID }), "v1", "v2", "v3", "v4", "v5")
	defaults := 0
	for _, v := range vs {
		if v.IsDefault {
			defaults++
		}
	}
	if defaults != 1 {
		t.Errorf("%d default versions", defaults)
	}
}

func testIAMRaceGroupsPerUser(t *testing.T, s IAMStore) {
	mustUser(t, s, "u")
	for i := range 10 {
		must(t, s.CreateGroup(t.Context(), iamGroup(acct, "/", fmt.Sprintf("g%d", i))))
	}
	errs := race(10, func(i int) error {
		return s.AddUserToGroup(t.Context(), acct, fmt.Sprintf("g%d", i), "u", 3)
	})
	if ok, refused := tally(t, errs, store.ErrLimitExceeded); ok != 3 || refused != 7 {
		t.Errorf("%d added, %d refused; want 3 and 7", ok, refused)
	}
}

// testIAMRaceAttachDelete races attaching a policy with deleting it: either
// the delete is refused or the attach finds no policy, never both succeed.
func testIAMRaceAttachDelete(t *testing.T, s IAMStore) {
	for i := range 10 {
		mustUser(t, s, fmt.Sprintf("u%d", i))
	}
	for round := range 5 {
		p := mustPolicy(t, s, acct, fmt.Sprintf("p%d", round))
		errs := race(11, func(i int) error {
			if i == 10 {
				return s.DeletePolicy(t.Context(), p.ARN)
			}
			return s.AttachPolicy(t.Context(), acct, store.EntityUser, fmt.Sprintf("u%d", i), p.ARN, 10)
		})
		deleted := errs[10] == nil
		if !deleted && !errors.Is(errs[10], store.ErrDeleteConflict) {
			t.Fatalf("delete: %v", errs[10])
		}
		attached := 0
		for _, err := range errs[:10] {
			switch {
			case err == nil:
				attached++
			case !errors.Is(err, store.ErrNotFound):
				t.Fatalf("attach: %v", err)
			}
		}
		if deleted && attached > 0 {
			t.Fatalf("round %d: policy deleted and attached %d times", round, attached)
		}
		got, err := s.GetPolicy(t.Context(), p.ARN)
		if deleted {
			checkErr(t, err, store.ErrNotFound)
		} else if must(t, err); got.AttachmentCount != attached {
			t.Fatalf("round %d: AttachmentCount %d, %d attaches succeeded", round, got.AttachmentCount, attached)
		}
	}
}

// RunIAMServers checks two stores opened on the same database, as two
// servers sharing it: each sees the other's writes and generation, and the
// quotas hold when they race. a and b must be fresh and empty.
func RunIAMServers(t *testing.T, a, b IAMStore) {
	ctx := t.Context()
	mustCreateAccount(t, a, acct)
	stores := []IAMStore{a, b}

	g0 := generation(t, b)
	u := mustUser(t, a, "shared")
	if g := generation(t, b); g == g0 {
		t.Errorf("generation seen by the other server unchanged at %d after a write", g)
	}
	if _, err := b.GetUser(ctx, acct, "SHARED"); err != nil {
		t.Fatalf("other server does not see the user: %v", err)
	}

	errs := race(20, func(i int) error {
		return stores[i%2].CreateUserAccessKey(ctx, userKey(u, fmt.Sprintf("AKIASHRD%012d", i)), 2)
	})
	if ok, refused := tally(t, errs, store.ErrLimitExceeded); ok != 2 || refused != 18 {
		t.Errorf("access keys: %d created, %d refused; want 2 and 18", ok, refused)
	}

	p := mustPolicy(t, b, acct, "p")
	errs = race(20, func(i int) error {
		_, err := stores[i%2].CreatePolicyVersion(ctx, p.ARN, doc1, i%3 == 0, 5, at)
		return err
	})
	if ok, refused := tally(t, errs, store.ErrLimitExceeded); ok != 4 || refused != 16 {
		t.Errorf("policy versions: %d created, %d refused; want 4 and 16", ok, refused)
	}

	for i := range 6 {
		must(t, a.CreateGroup(ctx, iamGroup(acct, "/", fmt.Sprintf("g%d", i))))
	}
	errs = race(6, func(i int) error {
		return stores[i%2].AddUserToGroup(ctx, acct, fmt.Sprintf("g%d", i), "shared", 2)
	})
	if ok, refused := tally(t, errs, store.ErrLimitExceeded); ok != 2 || refused != 4 {
		t.Errorf("groups: %d added, %d refused; want 2 and 4", ok, refused)
	}

	// Distinct names racing for one case-insensitive name: exactly one wins.
	errs = race(10, func(i int) error {
		name := "Racer"
		if i%2 == 1 {
			name = "rACER"
		}
		return stores[i%2].CreateUser(ctx, iamUser(acct, "/", name))
	})
	if ok, refused := tally(t, errs, store.ErrConflict); ok != 1 || refused != 9 {
		t.Errorf("same name: %d created, %d refused; want 1 and 9", ok, refused)
	}
}
