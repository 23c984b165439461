package iam

import (
	"fmt"
	"net/url"
	"strings"
	"testing"
)

func TestManagedPolicies(t *testing.T) {
	bothStores(t, func(t *testing.T, h *harness) {
		arn := policyARN("MyMicroservicePolicy")
		v2 := strings.Replace(s3Doc, "s3:GetObject", "s3:PutObject", 1)
		h.run([]step{
			{name: "create", action: "CreatePolicy", params: p("PolicyName", "MyMicroservicePolicy", "PolicyDocument", s3Doc, "Description", "least privilege",
				"Tags.member.1.Key", "app", "Tags.member.1.Value", "shop"),
				want: []string{"<Policy><PolicyName>MyMicroservicePolicy</PolicyName><PolicyId>ANPA", "<Arn>" + arn + "</Arn><Path>/</Path><DefaultVersionId>v1</DefaultVersionId>",
					"<AttachmentCount>0</AttachmentCount><PermissionsBoundaryUsageCount>0</PermissionsBoundaryUsageCount><IsAttachable>true</IsAttachable>",
					"<Description>least privilege</Description>", "<CreateDate>2026-11-23T10:00:00Z</CreateDate><UpdateDate>2026-11-23T10:00:00Z</UpdateDate>"}},
			{name: "duplicate", action: "CreatePolicy", params: p("PolicyName", "MyMicroservicePolicy", "PolicyDocument", s3Doc), code: "EntityAlreadyExists",
				want: []string{"A policy called MyMicroservicePolicy already exists. Duplicate names are not allowed."}},
			{name: "malformed", action: "CreatePolicy", params: p("PolicyName", "bad", "PolicyDocument", `{"Statement":[]}`), code: "MalformedPolicyDocument"},
			{name: "principal in identity policy", action: "CreatePolicy", params: p("PolicyName", "bad", "PolicyDocument", trustDoc), code: "MalformedPolicyDocument"},
			{name: "too large", action: "CreatePolicy", params: p("PolicyName", "big", "PolicyDocument", bigDoc(7000)), code: "LimitExceeded",
				want: []string{"Cannot exceed quota for PolicySize: 6144"}},
			{name: "name too long", action: "CreatePolicy", params: p("PolicyName", strings.Repeat("p", 129), "PolicyDocument", s3Doc), code: "ValidationError",
				want: []string{"at 'policyName'", "less than or equal to 128"}},
			{name: "bad policy path", action: "CreatePolicy", params: p("PolicyName", "P", "Path", "/a~b/", "PolicyDocument", s3Doc), code: "ValidationError",
				want: []string{`at 'path' failed to satisfy constraint: Member must satisfy regular expression pattern: ((/[A-Za-z0-9\.,\+@=_-]+)*)/`}},
			{name: "policy with path", action: "CreatePolicy", params: p("PolicyName", "Pathed", "Path", "/team/app/", "PolicyDocument", s3Doc),
				want: []string{"<Arn>arn:aws:iam::111122223333:policy/team/app/Pathed</Arn><Path>/team/app/</Path>"}},
			{name: "list by path", action: "ListPolicies", params: p("PathPrefix", "/team/"), want: []string{"Pathed"}, not: []string{"MyMicroservicePolicy"}},
			{name: "get", action: "GetPolicy", params: p("PolicyArn", arn), want: []string{"<PolicyName>MyMicroservicePolicy</PolicyName>", "<Key>app</Key>"}},
			{name: "get missing", action: "GetPolicy", params: p("PolicyArn", policyARN("nope")), code: "NoSuchEntity",
				want: []string{"Policy arn:aws:iam::111122223333:policy/nope was not found."}},
			{name: "get other account", action: "GetPolicy", params: p("PolicyArn", "arn:aws:iam::999999999999:policy/MyMicroservicePolicy"), code: "NoSuchEntity"},
			{name: "get aws managed", action: "GetPolicy", params: p("PolicyArn", "arn:aws:iam::aws:policy/AdministratorAccess"),
				want: []string{"<PolicyName>AdministratorAccess</PolicyName>", "<Arn>arn:aws:iam::aws:policy/AdministratorAccess</Arn>"}},
			{name: "get version", action: "GetPolicyVersion", params: p("PolicyArn", arn, "VersionId", "v1"),
				want: []string{"<PolicyVersion><Document>" + urlEncode(s3Doc) + "</Document><VersionId>v1</VersionId><IsDefaultVersion>true</IsDefaultVersion>"}},
			{name: "bad version id", action: "GetPolicyVersion", params: p("PolicyArn", arn, "VersionId", "1"), code: "ValidationError",
				want: []string{"at 'versionId'"}},
			{name: "missing version", action: "GetPolicyVersion", params: p("PolicyArn", arn, "VersionId", "v9"), code: "NoSuchEntity"},
			{name: "v2", action: "CreatePolicyVersion", params: p("PolicyArn", arn, "PolicyDocument", v2, "SetAsDefault", "true"),
				want: []string{"<PolicyVersion><VersionId>v2</VersionId><IsDefaultVersion>true</IsDefaultVersion>"}, not: []string{"<Document>"}},
			{name: "v3", action: "CreatePolicyVersion", params: p("PolicyArn", arn, "PolicyDocument", s3Doc),
				want: []string{"<VersionId>v3</VersionId><IsDefaultVersion>false</IsDefaultVersion>"}},
			{name: "v4", action: "CreatePolicyVersion", params: p("PolicyArn", arn, "PolicyDocument", s3Doc)},
			{name: "v5", action: "CreatePolicyVersion", params: p("PolicyArn", arn, "PolicyDocument", s3Doc)},
			{name: "v6 over the limit", action: "CreatePolicyVersion", params: p("PolicyArn", arn, "PolicyDocument", s3Doc), code: "LimitExceeded",
				want: []string{"A managed policy can have up to 5 versions. Before you create a new version, you must delete an existing version."}},
			{name: "version malformed", action: "CreatePolicyVersion", params: p("PolicyArn", arn, "PolicyDocument", "[]"), code: "MalformedPolicyDocument"},
			{name: "list versions", action: "ListPolicyVersions", params: p("PolicyArn", arn),
				want: []string{"<Versions><member><VersionId>v5</VersionId>", "<VersionId>v1</VersionId>", "<IsTruncated>false</IsTruncated>"}},
			{name: "list versions paged", action: "ListPolicyVersions", params: p("PolicyArn", arn, "MaxItems", "2"),
				want: []string{"<VersionId>v5</VersionId>", "<VersionId>v4</VersionId>", "<IsTruncated>true</IsTruncated><Marker>"}, not: []string{"v3"}},
			{name: "list versions after v4", action: "ListPolicyVersions", params: p("PolicyArn", arn, "Marker", encodeMarker("v4")),
				want: []string{"<VersionId>v3</VersionId>", "<VersionId>v1</VersionId>"}, not: []string{"<VersionId>v4"}},
			{name: "default is v2", action: "GetPolicy", params: p("PolicyArn", arn), want: []string{"<DefaultVersionId>v2</DefaultVersionId>"}},
			{name: "delete default version", action: "DeletePolicyVersion", params: p("PolicyArn", arn, "VersionId", "v2"), code: "DeleteConflict",
				want: []string{"Cannot delete the default version of a policy."}},
			{name: "set default", action: "SetDefaultPolicyVersion", params: p("PolicyArn", arn, "VersionId", "v1")},
			{name: "set default missing", action: "SetDefaultPolicyVersion", params: p("PolicyArn", arn, "VersionId", "v8"), code: "NoSuchEntity"},
			{name: "delete v2", action: "DeletePolicyVersion", params: p("PolicyArn", arn, "VersionId", "v2")},
			{name: "delete v2 again", action: "DeletePolicyVersion", params: p("PolicyArn", arn, "VersionId", "v2"), code: "NoSuchEntity"},
			{name: "v6 after delete", action: "CreatePolicyVersion", params: p("PolicyArn", arn, "PolicyDocument", s3Doc),
				want: []string{"<VersionId>v6</VersionId>"}},
			{name: "delete with versions", action: "DeletePolicy", params: p("PolicyArn", arn), code: "DeleteConflict",
				want: []string{"This policy has more than one version."}},
			{name: "tag", action: "TagPolicy", params: p("PolicyArn", arn, "Tags.member.1.Key", "x", "Tags.member.1.Value", "y")},
			{name: "list tags", action: "ListPolicyTags", params: p("PolicyArn", arn), want: []string{"<Key>app</Key>", "<Key>x</Key>"}},
			{name: "untag", action: "UntagPolicy", params: p("PolicyArn", arn, "TagKeys.member.1", "x")},
			{name: "list tags after", action: "ListPolicyTags", params: p("PolicyArn", arn), not: []string{"<Key>x</Key>"}},
			{name: "aws managed version", action: "CreatePolicyVersion", params: p("PolicyArn", "arn:aws:iam::aws:policy/ReadOnlyAccess", "PolicyDocument", s3Doc),
				code: "UnmodifiableEntity"},
			{name: "aws managed delete", action: "DeletePolicy", params: p("PolicyArn", "arn:aws:iam::aws:policy/ReadOnlyAccess"), code: "UnmodifiableEntity"},
			{name: "aws managed tag", action: "TagPolicy", params: p("PolicyArn", "arn:aws:iam::aws:policy/ReadOnlyAccess", "Tags.member.1.Key", "x"),
				code: "UnmodifiableEntity"},
			{name: "list local", action: "ListPolicies", params: p("Scope", "Local"), want: []string{"MyMicroservicePolicy"}, not: []string{"AdministratorAccess", "<Description>"}},
			{name: "list aws", action: "ListPolicies", params: p("Scope", "AWS"),
				want: []string{"AdministratorAccess", "ReadOnlyAccess", "IAMFullAccess", "IAMReadOnlyAccess", "SecretsManagerReadWrite"}, not: []string{"MyMicroservicePolicy"}},
			{name: "list all", action: "ListPolicies", want: []string{"AdministratorAccess", "MyMicroservicePolicy"}},
			{name: "list bad scope", action: "ListPolicies", params: p("Scope", "Mine"), code: "ValidationError",
				want: []string{"Member must satisfy enum value set: [All, AWS, Local]"}},
			{name: "list only attached", action: "ListPolicies", params: p("OnlyAttached", "true"), not: []string{"<member>"}},
		})
		// Delete the extra versions, then the policy.
		for _, v := range []string{"v2", "v3", "v4", "v5", "v6"} {
			_ = h.call("DeletePolicyVersion", "PolicyArn", arn, "VersionId", v)
		}
		h.ok("DeletePolicy", "PolicyArn", arn)
		if r := h.call("GetPolicy", "PolicyArn", arn); r.code() != "NoSuchEntity" {
			t.Fatalf("after delete: %v", r.err)
		}
	})
}

func bigDoc(n int) string {
	return `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::` + strings.Repeat("b", n) + `"}]}`
}

func TestAttachAndEntities(t *testing.T) {
	bothStores(t, func(t *testing.T, h *harness) {
		arn := policyARN("MyMicroservicePolicy")
		h.ok("CreatePolicy", "PolicyName", "MyMicroservicePolicy", "PolicyDocument", s3Doc)
		h.ok("CreateRole", "RoleName", "MyMicroserviceRole", "AssumeRolePolicyDocument", trustDoc)
		h.ok("CreateUser", "UserName", "bob")
		h.ok("CreateGroup", "GroupName", "devs")
		h.run([]step{
			{name: "attach role", action: "AttachRolePolicy", params: p("RoleName", "MyMicroserviceRole", "PolicyArn", arn)},
			{name: "attach role idempotent", action: "AttachRolePolicy", params: p("RoleName", "MyMicroserviceRole", "PolicyArn", arn)},
			{name: "attach user", action: "AttachUserPolicy", params: p("UserName", "bob", "PolicyArn", arn)},
			{name: "attach group", action: "AttachGroupPolicy", params: p("GroupName", "devs", "PolicyArn", arn)},
			{name: "attach missing policy", action: "AttachRolePolicy", params: p("RoleName", "MyMicroserviceRole", "PolicyArn", policyARN("nope")),
				code: "NoSuchEntity", want: []string{"Policy arn:aws:iam::111122223333:policy/nope does not exist or is not attachable."}},
			{name: "attach missing role", action: "AttachRolePolicy", params: p("RoleName", "nope", "PolicyArn", arn), code: "NoSuchEntity",
				want: []string{"The role with name nope cannot be found."}},
			{name: "attach bad arn", action: "AttachRolePolicy", params: p("RoleName", "MyMicroserviceRole", "PolicyArn", "short"), code: "ValidationError",
				want: []string{"at 'policyArn'", "greater than or equal to 20"}},
			{name: "list attached", action: "ListAttachedRolePolicies", params: p("RoleName", "MyMicroserviceRole"),
				want: []string{"<AttachedPolicies><member><PolicyName>MyMicroservicePolicy</PolicyName><PolicyArn>" + arn + "</PolicyArn></member></AttachedPolicies><IsTruncated>false</IsTruncated>"}},
			{name: "count", action: "GetPolicy", params: p("PolicyArn", arn), want: []string{"<AttachmentCount>3</AttachmentCount>"}},
			{name: "entities", action: "ListEntitiesForPolicy", params: p("PolicyArn", arn),
				want: []string{"<PolicyGroups><member><GroupName>devs</GroupName><GroupId>AGPA", "<PolicyUsers><member><UserName>bob</UserName><UserId>AIDA",
					"<PolicyRoles><member><RoleName>MyMicroserviceRole</RoleName><RoleId>AROA"}},
			{name: "entities roles only", action: "ListEntitiesForPolicy", params: p("PolicyArn", arn, "EntityFilter", "Role"),
				want: []string{"<PolicyGroups></PolicyGroups><PolicyUsers></PolicyUsers><PolicyRoles><member>"}},
			{name: "boundary", action: "PutUserPermissionsBoundary", params: p("UserName", "bob", "PermissionsBoundary", arn)},
			{name: "entities by boundary", action: "ListEntitiesForPolicy", params: p("PolicyArn", arn, "PolicyUsageFilter", "PermissionsBoundary"),
				want: []string{"<PolicyGroups></PolicyGroups><PolicyUsers><member><UserName>bob</UserName>", "<PolicyRoles></PolicyRoles>"}},
			{name: "entities by attachment", action: "ListEntitiesForPolicy", params: p("PolicyArn", arn, "PolicyUsageFilter", "PermissionsPolicy"),
				want: []string{"<RoleName>MyMicroserviceRole</RoleName>", "<GroupName>devs</GroupName>"}},
			{name: "entities paged", action: "ListEntitiesForPolicy", params: p("PolicyArn", arn, "MaxItems", "2"),
				want: []string{"<IsTruncated>true</IsTruncated><Marker>"}},
			{name: "delete attached policy", action: "DeletePolicy", params: p("PolicyArn", arn), code: "DeleteConflict",
				want: []string{"Cannot delete a policy attached to entities."}},
			{name: "detach role", action: "DetachRolePolicy", params: p("RoleName", "MyMicroserviceRole", "PolicyArn", arn)},
			{name: "detach again", action: "DetachRolePolicy", params: p("RoleName", "MyMicroserviceRole", "PolicyArn", arn), code: "NoSuchEntity"},
			{name: "list attached user", action: "ListAttachedUserPolicies", params: p("UserName", "bob"), want: []string{"MyMicroservicePolicy"}},
			{name: "list attached group", action: "ListAttachedGroupPolicies", params: p("GroupName", "devs"), want: []string{"MyMicroservicePolicy"}},
		})
	})
}

func TestAttachLimit(t *testing.T) {
	bothStores(t, func(t *testing.T, h *harness) {
		h.ok("CreateRole", "RoleName", "r", "AssumeRolePolicyDocument", trustDoc)
		for i := 0; i <= maxManagedPerEntity; i++ {
			name := fmt.Sprintf("p%02d", i)
			h.ok("CreatePolicy", "PolicyName", name, "PolicyDocument", s3Doc)
			r := h.call("AttachRolePolicy", "RoleName", "r", "PolicyArn", policyARN(name))
			if i < maxManagedPerEntity && r.err != nil {
				t.Fatal(r.err)
			}
			if i == maxManagedPerEntity && (r.code() != "LimitExceeded" || r.err.Message != "Cannot exceed quota for PoliciesPerRole: 10") {
				t.Fatalf("11th attachment: %v", r.err)
			}
		}
		body := h.ok("ListAttachedRolePolicies", "RoleName", "r", "MaxItems", "4")
		if !strings.Contains(body, "<IsTruncated>true</IsTruncated>") || strings.Count(body, "<member>") != 4 {
			t.Fatalf("paged attached list: %s", body)
		}
	})
}

func TestInlinePolicies(t *testing.T) {
	bothStores(t, func(t *testing.T, h *harness) {
		h.ok("CreateUser", "UserName", "bob")
		h.ok("CreateGroup", "GroupName", "devs")
		h.ok("CreateRole", "RoleName", "app", "AssumeRolePolicyDocument", trustDoc)
		for _, e := range []struct{ kind, param, name string }{{"User", "UserName", "bob"}, {"Group", "GroupName", "devs"}, {"Role", "RoleName", "app"}} {
			t.Run(e.kind, func(t *testing.T) {
				h.run([]step{
					{name: "put", action: "Put" + e.kind + "Policy", params: p(e.param, e.name, "PolicyName", "read", "PolicyDocument", s3Doc)},
					{name: "replace", action: "Put" + e.kind + "Policy", params: p(e.param, e.name, "PolicyName", "read", "PolicyDocument", s3Doc)},
					{name: "get", action: "Get" + e.kind + "Policy", params: p(e.param, e.name, "PolicyName", "read"),
						want: []string{"<" + e.param + ">" + e.name + "</" + e.param + "><PolicyName>read</PolicyName><PolicyDocument>" + urlEncode(s3Doc) + "</PolicyDocument>"}},
					{name: "list", action: "List" + e.kind + "Policies", params: p(e.param, e.name),
						want: []string{"<PolicyNames><member>read</member></PolicyNames><IsTruncated>false</IsTruncated>"}},
					{name: "malformed", action: "Put" + e.kind + "Policy", params: p(e.param, e.name, "PolicyName", "x", "PolicyDocument", "nope"),
						code: "MalformedPolicyDocument"},
					{name: "missing entity", action: "Put" + e.kind + "Policy", params: p(e.param, "ghost", "PolicyName", "x", "PolicyDocument", s3Doc),
						code: "NoSuchEntity", want: []string{"with name ghost cannot be found."}},
					{name: "get missing", action: "Get" + e.kind + "Policy", params: p(e.param, e.name, "PolicyName", "none"), code: "NoSuchEntity",
						want: []string{"The " + strings.ToLower(e.kind) + " policy with name none cannot be found."}},
					{name: "delete", action: "Delete" + e.kind + "Policy", params: p(e.param, e.name, "PolicyName", "read")},
					{name: "delete again", action: "Delete" + e.kind + "Policy", params: p(e.param, e.name, "PolicyName", "read"), code: "NoSuchEntity"},
				})
			})
		}
		// Size limits differ by kind: user 2,048, group 5,120, role 10,240.
		sizes := []struct {
			kind, param, name string
			fits, over        int
		}{{"User", "UserName", "bob", 1900, 2100}, {"Group", "GroupName", "devs", 5000, 5200}, {"Role", "RoleName", "app", 10100, 10300}}
		for _, s := range sizes {
			if r := h.call("Put"+s.kind+"Policy", s.param, s.name, "PolicyName", "big", "PolicyDocument", bigDoc(s.fits)); r.err != nil {
				t.Errorf("%s policy of %d: %v", s.kind, s.fits, r.err)
			}
			if r := h.call("Put"+s.kind+"Policy", s.param, s.name, "PolicyName", "big", "PolicyDocument", bigDoc(s.over)); r.code() != "LimitExceeded" {
				t.Errorf("%s policy of %d: %v, want LimitExceeded", s.kind, s.over, r.err)
			}
		}
	})
}

func TestURLEncodeRoundTrip(t *testing.T) {
	for _, s := range []string{s3Doc, trustDoc, "a b+c/%é\n\t", ""} {
		if got, err := url.PathUnescape(urlEncode(s)); err != nil || got != s {
			t.Errorf("round trip of %q: %q, %v", s, got, err)
		}
		if got, err := url.QueryUnescape(urlEncode(s)); err != nil || got != s {
			t.Errorf("query round trip of %q: %q, %v", s, got, err)
		}
	}
}
