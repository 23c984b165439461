package iam

import (
	"net/url"
	"strings"
	"testing"
)

func TestGroups(t *testing.T) {
	bothStores(t, func(t *testing.T, h *harness) {
		h.ok("CreateUser", "UserName", "bob")
		h.run([]step{
			{name: "create", action: "CreateGroup", params: p("GroupName", "devs", "Path", "/eng/"),
				want: []string{"<Group><Path>/eng/</Path><GroupName>devs</GroupName><GroupId>AGPA", "<Arn>arn:aws:iam::111122223333:group/eng/devs</Arn>"}},
			{name: "duplicate", action: "CreateGroup", params: p("GroupName", "Devs"), code: "EntityAlreadyExists", want: []string{"Group with name Devs already exists."}},
			{name: "bad name", action: "CreateGroup", params: p("GroupName", "d/e"), code: "ValidationError", want: []string{"at 'groupName'"}},
			{name: "add", action: "AddUserToGroup", params: p("GroupName", "devs", "UserName", "bob")},
			{name: "add again is idempotent", action: "AddUserToGroup", params: p("GroupName", "devs", "UserName", "bob")},
			{name: "add missing user", action: "AddUserToGroup", params: p("GroupName", "devs", "UserName", "nobody"), code: "NoSuchEntity",
				want: []string{"The user with name nobody cannot be found."}},
			{name: "add missing group", action: "AddUserToGroup", params: p("GroupName", "nope", "UserName", "bob"), code: "NoSuchEntity",
				want: []string{"The group with name nope cannot be found."}},
			{name: "get", action: "GetGroup", params: p("GroupName", "devs"),
				want: []string{"<GetGroupResult><Group><Path>/eng/</Path><GroupName>devs</GroupName>", "<Users><member><Path>/</Path><UserName>bob</UserName>", "<IsTruncated>false</IsTruncated>"}},
			{name: "list", action: "ListGroups", want: []string{"<Groups><member>", "<GroupName>devs</GroupName>"}},
			{name: "list prefix miss", action: "ListGroups", params: p("PathPrefix", "/ops/"), not: []string{"devs"}},
			{name: "for user", action: "ListGroupsForUser", params: p("UserName", "bob"), want: []string{"<GroupName>devs</GroupName>"}},
			{name: "delete with member", action: "DeleteGroup", params: p("GroupName", "devs"), code: "DeleteConflict",
				want: []string{"Cannot delete entity, must remove users from group first."}},
			{name: "remove", action: "RemoveUserFromGroup", params: p("GroupName", "devs", "UserName", "bob")},
			{name: "remove again", action: "RemoveUserFromGroup", params: p("GroupName", "devs", "UserName", "bob"), code: "NoSuchEntity"},
			{name: "attach", action: "AttachGroupPolicy", params: p("GroupName", "devs", "PolicyArn", "arn:aws:iam::aws:policy/ReadOnlyAccess")},
			{name: "delete with policy", action: "DeleteGroup", params: p("GroupName", "devs"), code: "DeleteConflict",
				want: []string{"Cannot delete entity, must detach all policies first."}},
			{name: "detach", action: "DetachGroupPolicy", params: p("GroupName", "devs", "PolicyArn", "arn:aws:iam::aws:policy/ReadOnlyAccess")},
			{name: "rename", action: "UpdateGroup", params: p("GroupName", "devs", "NewGroupName", "developers")},
			{name: "delete", action: "DeleteGroup", params: p("GroupName", "developers")},
			{name: "delete missing", action: "DeleteGroup", params: p("GroupName", "developers"), code: "NoSuchEntity"},
		})
	})
}

func TestGroupsPerUserLimit(t *testing.T) {
	bothStores(t, func(t *testing.T, h *harness) {
		h.ok("CreateUser", "UserName", "bob")
		for i := 0; i < 11; i++ {
			g := "g" + string(rune('a'+i))
			h.ok("CreateGroup", "GroupName", g)
			r := h.call("AddUserToGroup", "GroupName", g, "UserName", "bob")
			if i < 10 && r.err != nil {
				t.Fatal(r.err)
			}
			if i == 10 && (r.code() != "LimitExceeded" || r.err.Message != "Cannot exceed quota for GroupsPerUser: 10") {
				t.Fatalf("11th group: %v", r.err)
			}
		}
	})
}

func TestRoles(t *testing.T) {
	bothStores(t, func(t *testing.T, h *harness) {
		enc := urlEncode(trustDoc)
		h.run([]step{
			{name: "create", action: "CreateRole", params: p("RoleName", "app", "Path", "/svc/", "AssumeRolePolicyDocument", trustDoc,
				"Description", "the app", "MaxSessionDuration", "7200", "Tags.member.1.Key", "k", "Tags.member.1.Value", "v"),
				want: []string{"<Role><Path>/svc/</Path><RoleName>app</RoleName><RoleId>AROA", "<Arn>arn:aws:iam::111122223333:role/svc/app</Arn>",
					"<AssumeRolePolicyDocument>" + enc + "</AssumeRolePolicyDocument>", "<Description>the app</Description>",
					"<MaxSessionDuration>7200</MaxSessionDuration>", "<Tags><member><Key>k</Key>"},
				not: []string{"RoleLastUsed"}},
			{name: "duplicate", action: "CreateRole", params: p("RoleName", "APP", "AssumeRolePolicyDocument", trustDoc), code: "EntityAlreadyExists",
				want: []string{"Role with name APP already exists."}},
			{name: "missing trust policy", action: "CreateRole", params: p("RoleName", "x"), code: "ValidationError",
				want: []string{"Value null at 'assumeRolePolicyDocument'"}},
			{name: "identity policy as trust", action: "CreateRole", params: p("RoleName", "x", "AssumeRolePolicyDocument", s3Doc),
				code: "MalformedPolicyDocument"},
			{name: "trust policy not JSON", action: "CreateRole", params: p("RoleName", "x", "AssumeRolePolicyDocument", "{"),
				code: "MalformedPolicyDocument", want: []string{"Syntax errors in policy."}},
			{name: "duration too short", action: "CreateRole", params: p("RoleName", "x", "AssumeRolePolicyDocument", trustDoc, "MaxSessionDuration", "3599"),
				code: "ValidationError", want: []string{"Value '3599' at 'maxSessionDuration' failed to satisfy constraint: Member must have value greater than or equal to 3600"}},
			{name: "duration too long", action: "CreateRole", params: p("RoleName", "x", "AssumeRolePolicyDocument", trustDoc, "MaxSessionDuration", "43201"),
				code: "ValidationError", want: []string{"less than or equal to 43200"}},
			{name: "default duration", action: "CreateRole", params: p("RoleName", "plain", "AssumeRolePolicyDocument", trustDoc),
				want: []string{"<MaxSessionDuration>3600</MaxSessionDuration>", "<Path>/</Path>"}},
			{name: "get", action: "GetRole", params: p("RoleName", "app"),
				want: []string{"<RoleName>app</RoleName>", "<AssumeRolePolicyDocument>" + enc, "<RoleLastUsed></RoleLastUsed>"}},
			{name: "get missing", action: "GetRole", params: p("RoleName", "nope"), code: "NoSuchEntity", want: []string{"The role with name nope cannot be found."}},
			{name: "list", action: "ListRoles", want: []string{"<Roles><member>", "<RoleName>app</RoleName>", "<RoleName>plain</RoleName>"}, not: []string{"<Tags>"}},
			{name: "list prefix", action: "ListRoles", params: p("PathPrefix", "/svc/"), not: []string{"plain"}},
			{name: "update", action: "UpdateRole", params: p("RoleName", "app", "MaxSessionDuration", "43200")},
			{name: "update bad duration", action: "UpdateRole", params: p("RoleName", "app", "MaxSessionDuration", "60"), code: "ValidationError"},
			{name: "update description", action: "UpdateRoleDescription", params: p("RoleName", "app", "Description", "new"),
				want: []string{"<Description>new</Description>", "<MaxSessionDuration>43200</MaxSessionDuration>"}},
			{name: "update trust", action: "UpdateAssumeRolePolicy", params: p("RoleName", "app", "PolicyDocument",
				strings.Replace(trustDoc, "ec2", "lambda", 1))},
			{name: "update trust malformed", action: "UpdateAssumeRolePolicy", params: p("RoleName", "app", "PolicyDocument", `{"Version":"2012-10-17"}`),
				code: "MalformedPolicyDocument"},
			{name: "trust updated", action: "GetRole", params: p("RoleName", "app"), want: []string{"lambda.amazonaws.com"}},
			{name: "tag", action: "TagRole", params: p("RoleName", "app", "Tags.member.1.Key", "a", "Tags.member.1.Value", "1")},
			{name: "list tags", action: "ListRoleTags", params: p("RoleName", "app"), want: []string{"<Key>a</Key><Value>1</Value>", "<Key>k</Key>"}},
			{name: "untag", action: "UntagRole", params: p("RoleName", "app", "TagKeys.member.1", "a", "TagKeys.member.2", "k")},
			{name: "tags gone", action: "ListRoleTags", params: p("RoleName", "app"), want: []string{"<Tags></Tags>"}},
			{name: "boundary", action: "PutRolePermissionsBoundary", params: p("RoleName", "app", "PermissionsBoundary", "arn:aws:iam::aws:policy/ReadOnlyAccess")},
			{name: "boundary missing policy", action: "PutRolePermissionsBoundary", params: p("RoleName", "app", "PermissionsBoundary", policyARN("none")),
				code: "NoSuchEntity"},
			{name: "boundary delete", action: "DeleteRolePermissionsBoundary", params: p("RoleName", "app")},
			{name: "inline", action: "PutRolePolicy", params: p("RoleName", "app", "PolicyName", "s3", "PolicyDocument", s3Doc)},
			{name: "delete with inline", action: "DeleteRole", params: p("RoleName", "app"), code: "DeleteConflict",
				want: []string{"Cannot delete entity, must delete policies first."}},
			{name: "inline delete", action: "DeleteRolePolicy", params: p("RoleName", "app", "PolicyName", "s3")},
			{name: "delete", action: "DeleteRole", params: p("RoleName", "app")},
			{name: "delete missing", action: "DeleteRole", params: p("RoleName", "app"), code: "NoSuchEntity"},
		})
	})
}

func TestRoleLastUsed(t *testing.T) {
	bothStores(t, func(t *testing.T, h *harness) {
		h.ok("CreateRole", "RoleName", "app", "AssumeRolePolicyDocument", trustDoc)
		if err := h.st.TouchRole(t.Context(), testAccount, "app", testNow, "eu-west-1"); err != nil {
			t.Fatal(err)
		}
		body := h.ok("GetRole", "RoleName", "app")
		if !strings.Contains(body, "<RoleLastUsed><LastUsedDate>2026-11-23T10:00:00Z</LastUsedDate><Region>eu-west-1</Region></RoleLastUsed>") {
			t.Fatalf("RoleLastUsed: %s", body)
		}
		// The document decodes back the way botocore does it (urllib unquote).
		doc := between(body, "<AssumeRolePolicyDocument>", "</AssumeRolePolicyDocument>")
		if got, err := url.PathUnescape(doc); err != nil || got != trustDoc {
			t.Fatalf("decoded %q, %v", got, err)
		}
	})
}
