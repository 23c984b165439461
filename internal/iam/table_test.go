package iam

import (
	"context"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bulwark-security/bulwark/internal/api"
	"github.com/bulwark-security/bulwark/internal/store"
)

func TestNewRequiresDependencies(t *testing.T) {
	st := newMemStore()
	for name, cfg := range map[string]Config{
		"no store":   {IAM: st, Keyring: testSealer{}},
		"no iam":     {Store: st, Keyring: testSealer{}},
		"no keyring": {Store: st, IAM: st},
	} {
		if _, err := New(cfg); err == nil {
			t.Errorf("%s: New succeeded", name)
		}
	}
}

// TestTable checks the action table against the brief: every operation is
// present once, with its IAM action, access level and condition keys.
func TestTable(t *testing.T) {
	bothStores(t, func(t *testing.T, h *harness) {
		want := map[string]api.Access{
			"CreateUser": api.AccessWrite, "GetUser": api.AccessRead, "ListUsers": api.AccessList, "UpdateUser": api.AccessWrite,
			"DeleteUser": api.AccessWrite, "TagUser": api.AccessTagging, "UntagUser": api.AccessTagging, "ListUserTags": api.AccessList,
			"PutUserPermissionsBoundary": api.AccessPermissions, "DeleteUserPermissionsBoundary": api.AccessPermissions,
			"CreateGroup": api.AccessWrite, "GetGroup": api.AccessRead, "ListGroups": api.AccessList, "UpdateGroup": api.AccessWrite,
			"DeleteGroup": api.AccessWrite, "AddUserToGroup": api.AccessWrite, "RemoveUserFromGroup": api.AccessWrite, "ListGroupsForUser": api.AccessList,
			"CreateRole": api.AccessWrite, "GetRole": api.AccessRead, "ListRoles": api.AccessList, "UpdateRole": api.AccessWrite,
			"UpdateRoleDescription": api.AccessWrite, "UpdateAssumeRolePolicy": api.AccessPermissions, "DeleteRole": api.AccessWrite,
			"TagRole": api.AccessTagging, "UntagRole": api.AccessTagging, "ListRoleTags": api.AccessList,
			"PutRolePermissionsBoundary": api.AccessPermissions, "DeleteRolePermissionsBoundary": api.AccessPermissions,
			"CreatePolicy": api.AccessPermissions, "GetPolicy": api.AccessRead, "ListPolicies": api.AccessList, "DeletePolicy": api.AccessPermissions,
			"CreatePolicyVersion": api.AccessPermissions, "GetPolicyVersion": api.AccessRead, "ListPolicyVersions": api.AccessList,
			"SetDefaultPolicyVersion": api.AccessPermissions, "DeletePolicyVersion": api.AccessPermissions, "TagPolicy": api.AccessTagging,
			"UntagPolicy": api.AccessTagging, "ListPolicyTags": api.AccessList, "ListEntitiesForPolicy": api.AccessList,
			"AttachUserPolicy": api.AccessPermissions, "DetachUserPolicy": api.AccessPermissions, "ListAttachedUserPolicies": api.AccessList,
			"AttachGroupPolicy": api.AccessPermissions, "DetachGroupPolicy": api.AccessPermissions, "ListAttachedGroupPolicies": api.AccessList,
			"AttachRolePolicy": api.AccessPermissions, "DetachRolePolicy": api.AccessPermissions, "ListAttachedRolePolicies": api.AccessList,
			"PutUserPolicy": api.AccessPermissions, "GetUserPolicy": api.AccessRead, "ListUserPolicies": api.AccessList, "DeleteUserPolicy": api.AccessPermissions,
			"PutGroupPolicy": api.AccessPermissions, "GetGroupPolicy": api.AccessRead, "ListGroupPolicies": api.AccessList, "DeleteGroupPolicy": api.AccessPermissions,
			"PutRolePolicy": api.AccessPermissions, "GetRolePolicy": api.AccessRead, "ListRolePolicies": api.AccessList, "DeleteRolePolicy": api.AccessPermissions,
			"CreateAccessKey": api.AccessWrite, "ListAccessKeys": api.AccessList, "UpdateAccessKey": api.AccessWrite, "DeleteAccessKey": api.AccessWrite,
			"GetAccessKeyLastUsed": api.AccessRead, "GetAccountAuthorizationDetails": api.AccessRead,
			"CreateOpenIDConnectProvider": api.AccessWrite, "GetOpenIDConnectProvider": api.AccessRead, "ListOpenIDConnectProviders": api.AccessList,
			"DeleteOpenIDConnectProvider": api.AccessWrite, "UpdateOpenIDConnectProviderThumbprint": api.AccessWrite,
			"AddClientIDToOpenIDConnectProvider": api.AccessWrite, "RemoveClientIDFromOpenIDConnectProvider": api.AccessWrite,
			"TagOpenIDConnectProvider": api.AccessTagging, "UntagOpenIDConnectProvider": api.AccessTagging, "ListOpenIDConnectProviderTags": api.AccessList,
		}
		if len(h.svc.Actions) != len(want) {
			t.Errorf("table has %d actions, want %d", len(h.svc.Actions), len(want))
		}
		for _, a := range h.svc.Actions {
			access, ok := want[a.Name]
			switch {
			case !ok:
				t.Errorf("unexpected action %s", a.Name)
			case a.Access != access:
				t.Errorf("%s: access %q, want %q", a.Name, a.Access, access)
			case a.IAMAction != "iam:"+a.Name:
				t.Errorf("%s: IAM action %q", a.Name, a.IAMAction)
			case a.AlwaysAllowed:
				t.Errorf("%s: no IAM action is allowed without a policy", a.Name)
			}
			if strings.HasPrefix(a.Name, "Tag") && !slices.Contains(a.ConditionKeys, "aws:TagKeys") {
				t.Errorf("%s: no aws:TagKeys", a.Name)
			}
		}
		if h.svc.SigningName != "iam" || !h.svc.Global || h.svc.XMLNamespace != Namespace || h.svc.Version != "2010-05-08" {
			t.Errorf("service description %+v", h.svc)
		}
	})
}

// TestAuthorizationInputs checks the resources and condition keys each kind
// of call hands to the authorizer.
func TestAuthorizationInputs(t *testing.T) {
	bothStores(t, func(t *testing.T, h *harness) {
		h.ok("CreateUser", "UserName", "bob", "Path", "/division/", "PermissionsBoundary", "arn:aws:iam::aws:policy/ReadOnlyAccess")
		h.ok("CreateRole", "RoleName", "app", "Path", "/svc/", "AssumeRolePolicyDocument", trustDoc)
		h.ok("CreateGroup", "GroupName", "devs")
		h.ok("CreatePolicy", "PolicyName", "Mine", "PolicyDocument", s3Doc)
		h.ok("CreateRole", "RoleName", "tagged", "AssumeRolePolicyDocument", trustDoc, "Tags.member.1.Key", "team", "Tags.member.1.Value", "blue",
			"PermissionsBoundary", policyARN("Mine"))
		h.ok("CreateUser", "UserName", "carol", "Tags.member.1.Key", "cost", "Tags.member.1.Value", "42")
		rt := func(kv ...string) map[string][]string {
			m := map[string][]string{}
			for i := 0; i+1 < len(kv); i += 2 {
				m[kv[i]] = []string{kv[i+1]}
			}
			return m
		}
		cases := []struct {
			action    string
			params    []string
			resources []string
			context   map[string][]string
		}{
			{"CreateUser", p("UserName", "eve", "Path", "/x/", "PermissionsBoundary", policyARN("Mine"), "Tags.member.1.Key", "team", "Tags.member.1.Value", "red"),
				[]string{"arn:aws:iam::111122223333:user/x/eve"},
				map[string][]string{"aws:RequestTag/team": {"red"}, "aws:TagKeys": {"team"}, "iam:PermissionsBoundary": {policyARN("Mine")}}},
			{"GetUser", p("UserName", "bob"), []string{"arn:aws:iam::111122223333:user/division/bob"}, nil},
			{"GetUser", nil, []string{"arn:aws:iam::111122223333:root"}, nil},
			{"GetUser", p("UserName", "ghost"), []string{"arn:aws:iam::111122223333:user/ghost"}, nil},
			{"ListUsers", nil, []string{"*"}, nil},
			{"DeleteUser", p("UserName", "bob"), []string{"arn:aws:iam::111122223333:user/division/bob"}, nil},
			{"DeleteUserPermissionsBoundary", p("UserName", "bob"), []string{"arn:aws:iam::111122223333:user/division/bob"},
				map[string][]string{"iam:PermissionsBoundary": {"arn:aws:iam::aws:policy/ReadOnlyAccess"}}},
			{"AttachUserPolicy", p("UserName", "bob", "PolicyArn", policyARN("Mine")), []string{"arn:aws:iam::111122223333:user/division/bob"},
				map[string][]string{"iam:PolicyARN": {policyARN("Mine")}, "iam:PermissionsBoundary": {"arn:aws:iam::aws:policy/ReadOnlyAccess"}}},
			{"AttachRolePolicy", p("RoleName", "app", "PolicyArn", policyARN("Mine")), []string{"arn:aws:iam::111122223333:role/svc/app"},
				map[string][]string{"iam:PolicyARN": {policyARN("Mine")}}},
			{"AttachGroupPolicy", p("GroupName", "devs", "PolicyArn", policyARN("Mine")), []string{"arn:aws:iam::111122223333:group/devs"},
				map[string][]string{"iam:PolicyARN": {policyARN("Mine")}}},
			{"PutUserPolicy", p("UserName", "bob", "PolicyName", "x", "PolicyDocument", s3Doc), []string{"arn:aws:iam::111122223333:user/division/bob"},
				map[string][]string{"iam:PermissionsBoundary": {"arn:aws:iam::aws:policy/ReadOnlyAccess"}}},
			{"PutRolePermissionsBoundary", p("RoleName", "app", "PermissionsBoundary", policyARN("Mine")), []string{"arn:aws:iam::111122223333:role/svc/app"},
				map[string][]string{"iam:PermissionsBoundary": {policyARN("Mine")}}},
			{"UntagRole", p("RoleName", "app", "TagKeys.member.1", "a", "TagKeys.member.2", "b"), []string{"arn:aws:iam::111122223333:role/svc/app"},
				map[string][]string{"aws:TagKeys": {"a", "b"}}},
			{"CreatePolicy", p("PolicyName", "P", "Path", "/t/", "PolicyDocument", s3Doc), []string{"arn:aws:iam::111122223333:policy/t/P"}, nil},
			{"GetPolicyVersion", p("PolicyArn", policyARN("Mine"), "VersionId", "v1"), []string{policyARN("Mine")}, nil},
			{"CreateAccessKey", p("UserName", "bob"), []string{"arn:aws:iam::111122223333:user/division/bob"}, nil},
			{"CreateOpenIDConnectProvider", p("Url", "https://Issuer.example.com/"), []string{"arn:aws:iam::111122223333:oidc-provider/issuer.example.com"}, nil},
			{"GetAccountAuthorizationDetails", nil, []string{"*"}, nil},
			// Tags of the target user or role are aws:ResourceTag and iam:ResourceTag keys.
			{"GetRole", p("RoleName", "tagged"), []string{"arn:aws:iam::111122223333:role/tagged"},
				rt("aws:ResourceTag/team", "blue", "iam:ResourceTag/team", "blue")},
			{"AttachRolePolicy", p("RoleName", "tagged", "PolicyArn", policyARN("Mine")), []string{"arn:aws:iam::111122223333:role/tagged"},
				rt("aws:ResourceTag/team", "blue", "iam:ResourceTag/team", "blue", "iam:PolicyARN", policyARN("Mine"), "iam:PermissionsBoundary", policyARN("Mine"))},
			{"TagRole", p("RoleName", "tagged", "Tags.member.1.Key", "env", "Tags.member.1.Value", "prod"), []string{"arn:aws:iam::111122223333:role/tagged"},
				map[string][]string{"aws:ResourceTag/team": {"blue"}, "iam:ResourceTag/team": {"blue"}, "aws:RequestTag/env": {"prod"}, "aws:TagKeys": {"env"}}},
			{"DeleteRolePermissionsBoundary", p("RoleName", "tagged"), []string{"arn:aws:iam::111122223333:role/tagged"},
				rt("aws:ResourceTag/team", "blue", "iam:ResourceTag/team", "blue", "iam:PermissionsBoundary", policyARN("Mine"))},
			{"ListAccessKeys", p("UserName", "carol"), []string{"arn:aws:iam::111122223333:user/carol"},
				rt("aws:ResourceTag/cost", "42", "iam:ResourceTag/cost", "42")},
			{"PutUserPolicy", p("UserName", "carol", "PolicyName", "x", "PolicyDocument", s3Doc), []string{"arn:aws:iam::111122223333:user/carol"},
				rt("aws:ResourceTag/cost", "42", "iam:ResourceTag/cost", "42")},
		}
		for _, c := range cases {
			t.Run(c.action, func(t *testing.T) {
				op, err := h.bind(c.action, c.params...)
				if err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(op.Resources, c.resources) {
					t.Errorf("resources %v, want %v", op.Resources, c.resources)
				}
				if len(op.Context) != len(c.context) {
					t.Errorf("context %v, want %v", op.Context, c.context)
				}
				for k, v := range c.context {
					if !slices.Equal(op.Context[k], v) {
						t.Errorf("context %s = %v, want %v", k, op.Context[k], v)
					}
				}
			})
		}
	})
}

func TestSeedManagedPolicies(t *testing.T) {
	st := newMemStore()
	ctx := context.Background()
	for i := 0; i < 2; i++ { // idempotent
		if err := SeedManagedPolicies(ctx, st, testNow.Add(time.Duration(i)*time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	ps, _, err := st.ListPolicies(ctx, testAccount, "AWS", false, store.Page{MaxItems: 100})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range ps {
		names = append(names, p.PolicyName)
		if p.ARN != "arn:aws:iam::aws:policy/"+p.PolicyName || p.AccountID != "aws" || len(p.PolicyID) != 21 ||
			!strings.HasPrefix(p.PolicyID, "ANPA") || !p.CreatedAt.Equal(testNow) {
			t.Errorf("policy %+v", p)
		}
	}
	want := []string{"AdministratorAccess", "IAMFullAccess", "IAMReadOnlyAccess", "ReadOnlyAccess", "SecretsManagerReadWrite"}
	if !slices.Equal(names, want) {
		t.Fatalf("seeded %v, want %v", names, want)
	}
	if managedPolicyID("AdministratorAccess") != managedPolicyID("AdministratorAccess") {
		t.Fatal("policy ids are not stable")
	}
}

func TestUniqueIDs(t *testing.T) {
	seen := map[string]bool{}
	for i := 0; i < 1000; i++ {
		id := newUniqueID("AIDA")
		if len(id) != 21 || strings.Trim(id[4:], "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567") != "" || seen[id] {
			t.Fatalf("bad or repeated id %q", id)
		}
		seen[id] = true
	}
}

func TestProviderHost(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"https://token.actions.githubusercontent.com", "token.actions.githubusercontent.com"},
		{"https://Example.COM/a/b/", "example.com/a/b"},
		{"http://example.com", ""},
		{"https://", ""},
		{"https://u:p@example.com", ""},
		{"https://example.com?x=1", ""},
		{"example.com", ""},
	} {
		got, err := providerHost(c.in)
		if (err != nil) != (c.want == "") || got != c.want {
			t.Errorf("providerHost(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
}

// FuzzDecodeQuery feeds every action's decoder (and resource and context
// functions) arbitrary form input: they must never panic, and an accepted
// input must give resources.
func FuzzDecodeQuery(f *testing.F) {
	seeds := []string{
		"UserName=bob&Path=/a/",
		"UserName=&Tags.member.1.Key=a&Tags.member.1.Value=b&Tags.member.2.Key=A",
		"RoleName=r&AssumeRolePolicyDocument=%7B%7D&MaxSessionDuration=99999999999999999999",
		"PolicyArn=arn:aws:iam::111122223333:policy/x&VersionId=v1&Marker=%FF%FE&MaxItems=-1",
		"TagKeys.member.1=&TagKeys.member.3=x&Filter.member.1=User",
		"Url=https://%00&ClientIDList.member.1=&ThumbprintList.member.1=zz",
		"AccessKeyId=AKIAAAAAAAAAAAAAAAAA&Status=Active&UserName=%E2%80%AE",
		"GroupName=g&UserName=u&NewPath=//&NewUserName=a%20b",
	}
	for _, s := range seeds {
		f.Add(s)
	}
	st := newMemStore()
	svc, err := New(Config{Store: st, IAM: st, Keyring: testSealer{}})
	if err != nil {
		f.Fatal(err)
	}
	if _, err := api.NewRegistry(svc); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		v, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		for i := range svc.Actions {
			a := &svc.Actions[i]
			c := &api.Call{Service: svc, Action: a, Principal: rootPrincipal(), Params: v}
			op, err := a.Bind(c)
			if err == nil && len(op.Resources) == 0 {
				t.Fatalf("%s accepted %q without resources", a.Name, raw)
			}
		}
	})
}

// FuzzForm checks the form reader's list and tag decoders on hostile keys.
func FuzzForm(f *testing.F) {
	f.Add("Tags.member.1.Key", "k", 3)
	f.Add("TagKeys.member.51", "x", 60)
	f.Fuzz(func(t *testing.T, key, val string, n int) {
		if n < 0 || n > 200 {
			return
		}
		v := url.Values{}
		for i := 0; i < n; i++ {
			v.Set(key+"."+strings.Repeat("1", i%3), val)
			v.Set("Tags.member."+string(rune('0'+i%10))+".Key", val)
		}
		fm := newForm(v)
		_ = fm.tags("Tags")
		_ = fm.tagKeys("TagKeys")
		_ = fm.page()
		_ = fm.err()
	})
}
