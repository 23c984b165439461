package iam

import (
	"strings"
	"testing"
)

func TestUsers(t *testing.T) {
	bothStores(t, func(t *testing.T, h *harness) {
		h.run([]step{
			{name: "create", action: "CreateUser", params: p("UserName", "bob", "Path", "/division/", "Tags.member.1.Key", "team", "Tags.member.1.Value", "blue"),
				want: []string{"<CreateUserResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\"><CreateUserResult><User><Path>/division/</Path><UserName>bob</UserName><UserId>AIDA",
					"<Arn>arn:aws:iam::111122223333:user/division/bob</Arn><CreateDate>2026-11-23T10:00:00Z</CreateDate>",
					"<Tags><member><Key>team</Key><Value>blue</Value></member></Tags>"}},
			{name: "duplicate differs in case", action: "CreateUser", params: p("UserName", "BOB"), code: "EntityAlreadyExists",
				want: []string{"User with name BOB already exists."}},
			{name: "missing name", action: "CreateUser", code: "ValidationError",
				want: []string{"1 validation error detected: Value null at 'userName' failed to satisfy constraint: Member must not be null"}},
			{name: "bad name", action: "CreateUser", params: p("UserName", "bob smith"), code: "ValidationError",
				want: []string{`1 validation error detected: Value 'bob smith' at 'userName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\w+=,.@-]+`}},
			{name: "long name", action: "CreateUser", params: p("UserName", strings.Repeat("a", 65)), code: "ValidationError",
				want: []string{"Member must have length less than or equal to 64"}},
			{name: "bad path", action: "CreateUser", params: p("UserName", "x", "Path", "division"), code: "ValidationError",
				want: []string{"at 'path' failed to satisfy constraint"}},
			{name: "two errors", action: "CreateUser", params: p("UserName", "a b", "Path", "nope"), code: "ValidationError",
				want: []string{"2 validation errors detected: "}},
			{name: "unknown boundary", action: "CreateUser", params: p("UserName", "carol", "PermissionsBoundary", policyARN("Nope")),
				code: "NoSuchEntity", want: []string{"Scope ARN: arn:aws:iam::111122223333:policy/Nope does not exist or is not attachable."}},
			{name: "create with boundary", action: "CreateUser", params: p("UserName", "carol", "PermissionsBoundary", "arn:aws:iam::aws:policy/ReadOnlyAccess"),
				want: []string{"<PermissionsBoundary><PermissionsBoundaryType>Policy</PermissionsBoundaryType><PermissionsBoundaryArn>arn:aws:iam::aws:policy/ReadOnlyAccess</PermissionsBoundaryArn></PermissionsBoundary>"}},
			{name: "get", action: "GetUser", params: p("UserName", "bob"), want: []string{"<UserName>bob</UserName>", "<Key>team</Key>"}},
			{name: "get missing", action: "GetUser", params: p("UserName", "nobody"), code: "NoSuchEntity",
				want: []string{"The user with name nobody cannot be found."}},
			{name: "get root", action: "GetUser",
				want: []string{"<User><UserId>111122223333</UserId><Arn>arn:aws:iam::111122223333:root</Arn><CreateDate>2026-11-23T09:00:00Z</CreateDate></User>"},
				not:  []string{"<UserName>"}},
			{name: "list", action: "ListUsers", want: []string{"<Users><member>", "<UserName>bob</UserName>", "<UserName>carol</UserName>", "<IsTruncated>false</IsTruncated>"},
				not: []string{"<Tags>", "<Marker>"}},
			{name: "list path prefix", action: "ListUsers", params: p("PathPrefix", "/division/"), want: []string{"bob"}, not: []string{"carol"}},
			{name: "list bad max items", action: "ListUsers", params: p("MaxItems", "0"), code: "ValidationError",
				want: []string{"Value '0' at 'maxItems' failed to satisfy constraint: Member must have value greater than or equal to 1"}},
			{name: "list too many max items", action: "ListUsers", params: p("MaxItems", "1001"), code: "ValidationError"},
			{name: "tag", action: "TagUser", params: p("UserName", "bob", "Tags.member.1.Key", "env", "Tags.member.1.Value", "prod")},
			{name: "tag duplicate keys", action: "TagUser", params: p("UserName", "bob", "Tags.member.1.Key", "a", "Tags.member.2.Key", "A"),
				code: "ValidationError", want: []string{"Duplicate tag keys"}},
			{name: "tag missing user", action: "TagUser", params: p("UserName", "nobody", "Tags.member.1.Key", "a"), code: "NoSuchEntity"},
			{name: "list tags", action: "ListUserTags", params: p("UserName", "bob"),
				want: []string{"<Tags><member><Key>env</Key><Value>prod</Value></member><member><Key>team</Key><Value>blue</Value></member></Tags><IsTruncated>false</IsTruncated>"}},
			{name: "list tags paged", action: "ListUserTags", params: p("UserName", "bob", "MaxItems", "1"),
				want: []string{"<Key>env</Key>", "<IsTruncated>true</IsTruncated><Marker>"}, not: []string{"team"}},
			{name: "untag", action: "UntagUser", params: p("UserName", "bob", "TagKeys.member.1", "env")},
			{name: "untag without keys", action: "UntagUser", params: p("UserName", "bob"), code: "ValidationError"},
			{name: "boundary put", action: "PutUserPermissionsBoundary", params: p("UserName", "bob", "PermissionsBoundary", "arn:aws:iam::aws:policy/IAMReadOnlyAccess")},
			{name: "boundary shows", action: "GetUser", params: p("UserName", "bob"), want: []string{"arn:aws:iam::aws:policy/IAMReadOnlyAccess"}},
			{name: "boundary other account", action: "PutUserPermissionsBoundary", params: p("UserName", "bob", "PermissionsBoundary", "arn:aws:iam::999999999999:policy/x"),
				code: "InvalidInput"},
			{name: "boundary delete", action: "DeleteUserPermissionsBoundary", params: p("UserName", "bob")},
			{name: "boundary gone", action: "GetUser", params: p("UserName", "bob"), not: []string{"PermissionsBoundary"}},
			{name: "rename", action: "UpdateUser", params: p("UserName", "carol", "NewUserName", "dave", "NewPath", "/ops/")},
			{name: "renamed", action: "GetUser", params: p("UserName", "dave"), want: []string{"arn:aws:iam::111122223333:user/ops/dave"}},
			{name: "rename onto existing", action: "UpdateUser", params: p("UserName", "dave", "NewUserName", "bob"), code: "EntityAlreadyExists",
				want: []string{"User with name bob already exists."}},
			{name: "rename missing", action: "UpdateUser", params: p("UserName", "carol", "NewUserName", "x"), code: "NoSuchEntity"},
			{name: "delete", action: "DeleteUser", params: p("UserName", "dave")},
			{name: "delete again", action: "DeleteUser", params: p("UserName", "dave"), code: "NoSuchEntity",
				want: []string{"The user with name dave cannot be found."}},
		})
	})
}

func TestListUsersPagination(t *testing.T) {
	bothStores(t, func(t *testing.T, h *harness) {
		for _, n := range []string{"u1", "u2", "u3", "u4", "u5"} {
			h.ok("CreateUser", "UserName", n)
		}
		var seen []string
		marker := ""
		for pages := 0; pages < 10; pages++ {
			params := []string{"MaxItems", "2"}
			if marker != "" {
				params = append(params, "Marker", marker)
			}
			body := h.ok("ListUsers", params...)
			for _, n := range []string{"u1", "u2", "u3", "u4", "u5"} {
				if strings.Contains(body, "<UserName>"+n+"</UserName>") {
					seen = append(seen, n)
				}
			}
			marker = between(body, "<Marker>", "</Marker>")
			if marker == "" {
				if !strings.Contains(body, "<IsTruncated>false</IsTruncated>") {
					t.Fatalf("last page not marked complete: %s", body)
				}
				break
			}
		}
		if strings.Join(seen, ",") != "u1,u2,u3,u4,u5" {
			t.Fatalf("pages gave %v", seen)
		}
		if r := h.call("ListUsers", "Marker", "%%%not-base64"); r.code() != "ValidationError" {
			t.Fatalf("bad marker: %v", r.err)
		}
	})
}

func between(s, a, b string) string {
	i := strings.Index(s, a)
	if i < 0 {
		return ""
	}
	s = s[i+len(a):]
	j := strings.Index(s, b)
	if j < 0 {
		return ""
	}
	return s[:j]
}

func TestDeleteUserConflicts(t *testing.T) {
	bothStores(t, func(t *testing.T, h *harness) {
		h.ok("CreateUser", "UserName", "bob")
		h.ok("CreateGroup", "GroupName", "devs")
		key := between(h.ok("CreateAccessKey", "UserName", "bob"), "<AccessKeyId>", "</AccessKeyId>")
		h.ok("AddUserToGroup", "GroupName", "devs", "UserName", "bob")
		h.ok("PutUserPolicy", "UserName", "bob", "PolicyName", "inline", "PolicyDocument", s3Doc)
		h.ok("AttachUserPolicy", "UserName", "bob", "PolicyArn", "arn:aws:iam::aws:policy/ReadOnlyAccess")
		cases := []struct {
			msg  string
			undo []string
		}{
			{"Cannot delete entity, must delete access keys first.", []string{"DeleteAccessKey", "UserName", "bob", "AccessKeyId", key}},
			{"Cannot delete entity, must remove users from group first.", []string{"RemoveUserFromGroup", "GroupName", "devs", "UserName", "bob"}},
			{"Cannot delete entity, must delete policies first.", []string{"DeleteUserPolicy", "UserName", "bob", "PolicyName", "inline"}},
			{"Cannot delete entity, must detach all policies first.", []string{"DetachUserPolicy", "UserName", "bob", "PolicyArn", "arn:aws:iam::aws:policy/ReadOnlyAccess"}},
		}
		for _, c := range cases {
			r := h.call("DeleteUser", "UserName", "bob")
			if r.code() != "DeleteConflict" || r.err.Message != c.msg || r.err.Status != 409 {
				t.Fatalf("DeleteUser = %v, want DeleteConflict %q", r.err, c.msg)
			}
			h.ok(c.undo[0], c.undo[1:]...)
		}
		h.ok("DeleteUser", "UserName", "bob")
	})
}

func TestGetUserCallers(t *testing.T) {
	bothStores(t, func(t *testing.T, h *harness) {
		h.ok("CreateUser", "UserName", "alice")
		h.principal.Type, h.principal.UserName = "IAMUser", "alice"
		h.principal.ARN = "arn:aws:iam::" + testAccount + ":user/alice"
		if body := h.ok("GetUser"); !strings.Contains(body, "<UserName>alice</UserName>") {
			t.Fatalf("GetUser as alice: %s", body)
		}
		h.principal = rootPrincipal()
		h.principal.Type, h.principal.RoleName, h.principal.Temporary = "AssumedRole", "app", true
		if r := h.call("GetUser"); r.code() != "ValidationError" || !strings.Contains(r.err.Message, "Must specify userName") {
			t.Fatalf("GetUser as a role: %v", r.err)
		}
	})
}
