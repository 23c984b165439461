package iam

import (
	"bytes"
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bulwark-security/bulwark/internal/credentials"
)

func TestAccessKeys(t *testing.T) {
	bothStores(t, func(t *testing.T, h *harness) {
		h.ok("CreateUser", "UserName", "bob")
		body := h.ok("CreateAccessKey", "UserName", "bob")
		akid := between(body, "<AccessKeyId>", "</AccessKeyId>")
		secret := between(body, "<SecretAccessKey>", "</SecretAccessKey>")
		if len(akid) != 20 || !strings.HasPrefix(akid, "AKIA") || len(secret) != 40 {
			t.Fatalf("key %q secret length %d", akid, len(secret))
		}
		if !strings.Contains(body, "<AccessKey><UserName>bob</UserName><AccessKeyId>"+akid+"</AccessKeyId><Status>Active</Status><SecretAccessKey>") {
			t.Fatalf("CreateAccessKey body: %s", body)
		}
		// The store holds the sealed secret, bound to the key id.
		k, err := h.st.GetAccessKey(context.Background(), akid)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(k.SealedSecret, []byte(secret)) {
			t.Fatal("plaintext secret reached the store")
		}
		want, _ := testSealer{}.Seal([]byte(secret), credentials.SecretAAD(akid))
		if !bytes.Equal(k.SealedSecret, want) || k.PrincipalARN != "arn:aws:iam::111122223333:user/bob" || k.UserName != "bob" {
			t.Fatalf("stored key %+v", k)
		}
		h.ok("CreateAccessKey", "UserName", "bob")
		h.run([]step{
			{name: "third key", action: "CreateAccessKey", params: p("UserName", "bob"), code: "LimitExceeded",
				want: []string{"Cannot exceed quota for AccessKeysPerUser: 2"}},
			{name: "missing user", action: "CreateAccessKey", params: p("UserName", "ghost"), code: "NoSuchEntity"},
			{name: "list", action: "ListAccessKeys", params: p("UserName", "bob"),
				want: []string{"<AccessKeyMetadata><member><UserName>bob</UserName><AccessKeyId>", "<AccessKeyId>" + akid + "</AccessKeyId><Status>Active</Status>"},
				not:  []string{"SecretAccessKey"}},
			{name: "list paged", action: "ListAccessKeys", params: p("UserName", "bob", "MaxItems", "1"),
				want: []string{"</member></AccessKeyMetadata><IsTruncated>true</IsTruncated><Marker>"}},
			{name: "deactivate", action: "UpdateAccessKey", params: p("UserName", "bob", "AccessKeyId", akid, "Status", "Inactive")},
			{name: "bad status", action: "UpdateAccessKey", params: p("UserName", "bob", "AccessKeyId", akid, "Status", "Off"), code: "ValidationError",
				want: []string{"Member must satisfy enum value set: [Active, Inactive, Expired]"}},
			{name: "expired refused", action: "UpdateAccessKey", params: p("UserName", "bob", "AccessKeyId", akid, "Status", "Expired"), code: "InvalidInput"},
			{name: "inactive", action: "ListAccessKeys", params: p("UserName", "bob"), want: []string{"<Status>Inactive</Status>"}},
			{name: "other user's key", action: "UpdateAccessKey", params: p("AccessKeyId", akid, "Status", "Active"), code: "NoSuchEntity",
				want: []string{"The Access Key with id " + akid + " cannot be found."}},
			{name: "last used never", action: "GetAccessKeyLastUsed", params: p("AccessKeyId", akid),
				want: []string{"<UserName>bob</UserName><AccessKeyLastUsed><ServiceName>N/A</ServiceName><Region>N/A</Region></AccessKeyLastUsed>"}},
			{name: "last used missing", action: "GetAccessKeyLastUsed", params: p("AccessKeyId", "AKIAMISSINGMISSING00"), code: "NoSuchEntity"},
			{name: "key id too short", action: "DeleteAccessKey", params: p("AccessKeyId", "AKIA"), code: "ValidationError"},
		})
		if err := h.st.TouchAccessKey(context.Background(), akid, testNow.Add(time.Minute), "us-east-1", "iam"); err != nil {
			t.Fatal(err)
		}
		if body := h.ok("GetAccessKeyLastUsed", "AccessKeyId", akid); !strings.Contains(body,
			"<AccessKeyLastUsed><LastUsedDate>2026-11-23T10:01:00Z</LastUsedDate><ServiceName>iam</ServiceName><Region>us-east-1</Region>") {
			t.Fatalf("last used: %s", body)
		}
		h.ok("DeleteAccessKey", "UserName", "bob", "AccessKeyId", akid)
		if r := h.call("DeleteAccessKey", "UserName", "bob", "AccessKeyId", akid); r.code() != "NoSuchEntity" {
			t.Fatalf("delete twice: %v", r.err)
		}
		if !slices.Equal(h.forgotten, []string{akid, akid}) {
			t.Fatalf("OnAccessKeyChange calls %v, want the key twice (deactivate, delete)", h.forgotten)
		}
	})
}

func TestAccessKeysForCaller(t *testing.T) {
	bothStores(t, func(t *testing.T, h *harness) {
		// Root without UserName manages root keys.
		body := h.ok("CreateAccessKey")
		if strings.Contains(body, "<UserName>") {
			t.Fatalf("root key names a user: %s", body)
		}
		h.ok("CreateAccessKey")
		if r := h.call("CreateAccessKey"); r.code() != "LimitExceeded" {
			t.Fatalf("third root key: %v", r.err)
		}
		if n := strings.Count(h.ok("ListAccessKeys"), "<member>"); n != 2 {
			t.Fatalf("root keys listed: %d", n)
		}
		// A user without UserName manages its own keys.
		h.ok("CreateUser", "UserName", "alice")
		h.principal.Type, h.principal.UserName = "IAMUser", "alice"
		h.principal.ARN = "arn:aws:iam::" + testAccount + ":user/alice"
		if body := h.ok("CreateAccessKey"); !strings.Contains(body, "<UserName>alice</UserName>") {
			t.Fatalf("own key: %s", body)
		}
		op, err := h.bind("ListAccessKeys")
		if err != nil || len(op.Resources) != 1 || op.Resources[0] != "arn:aws:iam::111122223333:user/alice" {
			t.Fatalf("resource of own ListAccessKeys: %v %v", op, err)
		}
		// A role session must name the user.
		h.principal.Type, h.principal.UserName, h.principal.RoleName = "AssumedRole", "", "app"
		if r := h.call("CreateAccessKey"); r.code() != "ValidationError" {
			t.Fatalf("role session: %v", r.err)
		}
	})
}

func TestRenameForgetsKeys(t *testing.T) {
	bothStores(t, func(t *testing.T, h *harness) {
		h.ok("CreateUser", "UserName", "bob")
		akid := between(h.ok("CreateAccessKey", "UserName", "bob"), "<AccessKeyId>", "</AccessKeyId>")
		h.ok("UpdateUser", "UserName", "bob", "NewUserName", "robert")
		if !slices.Contains(h.forgotten, akid) {
			t.Fatalf("renaming did not forget %s: %v", akid, h.forgotten)
		}
		if body := h.ok("ListAccessKeys", "UserName", "robert"); !strings.Contains(body, akid) {
			t.Fatalf("key did not follow the rename: %s", body)
		}
	})
}

func TestOIDCProviders(t *testing.T) {
	bothStores(t, func(t *testing.T, h *harness) {
		arn := "arn:aws:iam::111122223333:oidc-provider/token.example.com/tenant"
		tp := strings.Repeat("a1", 20)
		h.run([]step{
			{name: "create", action: "CreateOpenIDConnectProvider", params: p("Url", "https://token.example.com/tenant/", "ClientIDList.member.1", "sts.amazonaws.com",
				"ThumbprintList.member.1", tp, "Tags.member.1.Key", "k", "Tags.member.1.Value", "v"),
				want: []string{"<OpenIDConnectProviderArn>" + arn + "</OpenIDConnectProviderArn><Tags><member><Key>k</Key>"}},
			{name: "duplicate", action: "CreateOpenIDConnectProvider", params: p("Url", "https://token.example.com/tenant"), code: "EntityAlreadyExists",
				want: []string{"Provider with url https://token.example.com/tenant already exists."}},
			{name: "http refused", action: "CreateOpenIDConnectProvider", params: p("Url", "http://token.example.com"), code: "InvalidInput"},
			{name: "no url", action: "CreateOpenIDConnectProvider", code: "ValidationError", want: []string{"Value null at 'url'"}},
			{name: "bad thumbprint", action: "CreateOpenIDConnectProvider", params: p("Url", "https://b.example.com", "ThumbprintList.member.1", "abc"),
				code: "ValidationError", want: []string{"at 'thumbprintList.1.member'"}},
			{name: "without thumbprints", action: "CreateOpenIDConnectProvider", params: p("Url", "https://c.example.com", "ClientIDList.member.1", "app")},
			{name: "get", action: "GetOpenIDConnectProvider", params: p("OpenIDConnectProviderArn", arn),
				want: []string{"<Url>token.example.com/tenant</Url><ClientIDList><member>sts.amazonaws.com</member></ClientIDList><ThumbprintList><member>" + tp + "</member></ThumbprintList><CreateDate>2026-11-23T10:00:00Z</CreateDate>"}},
			{name: "get missing", action: "GetOpenIDConnectProvider", params: p("OpenIDConnectProviderArn", "arn:aws:iam::111122223333:oidc-provider/nope.example.com"),
				code: "NoSuchEntity"},
			{name: "get other account", action: "GetOpenIDConnectProvider", params: p("OpenIDConnectProviderArn", "arn:aws:iam::999999999999:oidc-provider/token.example.com/tenant"),
				code: "NoSuchEntity"},
			{name: "list", action: "ListOpenIDConnectProviders",
				want: []string{"<OpenIDConnectProviderList><member><Arn>arn:aws:iam::111122223333:oidc-provider/c.example.com</Arn></member><member><Arn>" + arn + "</Arn></member></OpenIDConnectProviderList>"}},
			{name: "add client", action: "AddClientIDToOpenIDConnectProvider", params: p("OpenIDConnectProviderArn", arn, "ClientID", "web")},
			{name: "add client twice", action: "AddClientIDToOpenIDConnectProvider", params: p("OpenIDConnectProviderArn", arn, "ClientID", "web")},
			{name: "remove client", action: "RemoveClientIDFromOpenIDConnectProvider", params: p("OpenIDConnectProviderArn", arn, "ClientID", "sts.amazonaws.com")},
			{name: "thumbprint", action: "UpdateOpenIDConnectProviderThumbprint", params: p("OpenIDConnectProviderArn", arn, "ThumbprintList.member.1", strings.Repeat("b2", 20))},
			{name: "thumbprint missing list", action: "UpdateOpenIDConnectProviderThumbprint", params: p("OpenIDConnectProviderArn", arn), code: "ValidationError"},
			{name: "updated", action: "GetOpenIDConnectProvider", params: p("OpenIDConnectProviderArn", arn),
				want: []string{"<ClientIDList><member>web</member></ClientIDList><ThumbprintList><member>" + strings.Repeat("b2", 20)}},
			{name: "tag", action: "TagOpenIDConnectProvider", params: p("OpenIDConnectProviderArn", arn, "Tags.member.1.Key", "team", "Tags.member.1.Value", "id")},
			{name: "untag", action: "UntagOpenIDConnectProvider", params: p("OpenIDConnectProviderArn", arn, "TagKeys.member.1", "k")},
			{name: "list tags", action: "ListOpenIDConnectProviderTags", params: p("OpenIDConnectProviderArn", arn),
				want: []string{"<Tags><member><Key>team</Key><Value>id</Value></member></Tags>"}, not: []string{"<Key>k</Key>"}},
			{name: "delete", action: "DeleteOpenIDConnectProvider", params: p("OpenIDConnectProviderArn", arn)},
			{name: "delete again", action: "DeleteOpenIDConnectProvider", params: p("OpenIDConnectProviderArn", arn), code: "NoSuchEntity"},
		})
	})
}

func TestAccountAuthorizationDetails(t *testing.T) {
	bothStores(t, func(t *testing.T, h *harness) {
		h.ok("CreateUser", "UserName", "bob", "PermissionsBoundary", "arn:aws:iam::aws:policy/ReadOnlyAccess")
		h.ok("CreateGroup", "GroupName", "devs")
		h.ok("AddUserToGroup", "GroupName", "devs", "UserName", "bob")
		h.ok("PutUserPolicy", "UserName", "bob", "PolicyName", "inline", "PolicyDocument", s3Doc)
		h.ok("CreateRole", "RoleName", "app", "AssumeRolePolicyDocument", trustDoc)
		h.ok("CreatePolicy", "PolicyName", "Mine", "PolicyDocument", s3Doc)
		h.ok("AttachRolePolicy", "RoleName", "app", "PolicyArn", policyARN("Mine"))
		h.ok("AttachGroupPolicy", "GroupName", "devs", "PolicyArn", "arn:aws:iam::aws:policy/IAMReadOnlyAccess")
		h.run([]step{
			{name: "all", action: "GetAccountAuthorizationDetails",
				want: []string{
					"<UserDetailList><member><Path>/</Path><UserName>bob</UserName>",
					"<UserPolicyList><member><PolicyName>inline</PolicyName><PolicyDocument>" + urlEncode(s3Doc) + "</PolicyDocument></member></UserPolicyList><GroupList><member>devs</member></GroupList>",
					"<PermissionsBoundaryArn>arn:aws:iam::aws:policy/ReadOnlyAccess</PermissionsBoundaryArn>",
					"<GroupDetailList><member><Path>/</Path><GroupName>devs</GroupName>",
					"<AttachedManagedPolicies><member><PolicyName>IAMReadOnlyAccess</PolicyName>",
					"<RoleDetailList><member><Path>/</Path><RoleName>app</RoleName>", "<AssumeRolePolicyDocument>" + urlEncode(trustDoc),
					"<InstanceProfileList></InstanceProfileList>",
					"<Policies><member><PolicyName>Mine</PolicyName>", "<PolicyVersionList><member><Document>" + urlEncode(s3Doc),
					"<PolicyName>IAMReadOnlyAccess</PolicyName><PolicyId>ANPA",
					"<IsTruncated>false</IsTruncated>"},
				not: []string{"<PolicyName>AdministratorAccess</PolicyName>"}},
			{name: "roles only", action: "GetAccountAuthorizationDetails", params: p("Filter.member.1", "Role"),
				want: []string{"<RoleName>app</RoleName>"}, not: []string{"<UserName>bob</UserName>", "<PolicyVersionList>"}},
			{name: "bad filter", action: "GetAccountAuthorizationDetails", params: p("Filter.member.1", "Robot"), code: "ValidationError",
				want: []string{"at 'filter.1.member'"}},
		})
		// Page through everything one item at a time.
		var items int
		marker := ""
		for i := 0; i < 20; i++ {
			params := []string{"MaxItems", "1"}
			if marker != "" {
				params = append(params, "Marker", marker)
			}
			body := h.ok("GetAccountAuthorizationDetails", params...)
			items += strings.Count(body, "<UserId>") + strings.Count(body, "<GroupId>") + strings.Count(body, "<RoleId>") + strings.Count(body, "<PolicyId>")
			if marker = between(body, "<Marker>", "</Marker>"); marker == "" {
				break
			}
		}
		// bob, devs, app, Mine, IAMReadOnlyAccess (attached), ReadOnlyAccess (a boundary is not an attachment).
		if items != 5 {
			t.Fatalf("paged through %d items, want 5", items)
		}
	})
}
