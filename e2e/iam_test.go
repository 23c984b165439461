package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// iamCLI runs `aws iam ...` (or another service) as the root profile and
// decodes the JSON output; it fails the test if the command fails.
func iamCLI(t *testing.T, s *server, env []string, args ...string) map[string]any {
	t.Helper()
	if env == nil {
		env = profileEnv(s.DataDir)
	}
	res := awsCLI(t, s, env, args...)
	if res.Code != 0 {
		t.Fatalf("aws %s failed (%d): %s\nserver log:\n%s", strings.Join(args, " "), res.Code, res.Stderr, s.logs.String())
	}
	out := map[string]any{}
	if strings.TrimSpace(res.Stdout) == "" {
		return out
	}
	if err := json.Unmarshal([]byte(res.Stdout), &out); err != nil {
		t.Fatalf("aws %s: decode %q: %v", strings.Join(args, " "), res.Stdout, err)
	}
	return out
}

// iamCLIError runs a command that must fail with an AWS error code.
func iamCLIError(t *testing.T, s *server, code, message string, args ...string) {
	t.Helper()
	res := awsCLI(t, s, profileEnv(s.DataDir), args...)
	if res.Code == 0 || !strings.Contains(res.Stderr, "("+code+")") || !strings.Contains(res.Stderr, message) {
		t.Fatalf("aws %s: exit %d, stderr %q; want error %s with %q", strings.Join(args, " "), res.Code, res.Stderr, code, message)
	}
}

// get walks a decoded JSON value by keys and indexes ("0").
func get(v any, path ...string) any {
	for _, p := range path {
		switch x := v.(type) {
		case map[string]any:
			v = x[p]
		case []any:
			i := 0
			for _, c := range p {
				i = i*10 + int(c-'0')
			}
			if i >= len(x) {
				return nil
			}
			v = x[i]
		default:
			return nil
		}
	}
	return v
}

func getString(v any, path ...string) string {
	s, _ := get(v, path...).(string)
	return s
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return "file://" + p
}

const (
	e2eTrustPolicy = `{
  "Version": "2012-10-17",
  "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]
}`
	// The least-privilege policy for a microservice.
	e2eMicroservicePolicy = `{
  "Version": "2012-10-17",
  "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::my-bucket/*"}]
}`
)

// TestCLIIAM drives the IAM API with the unmodified aws CLI as the root
// principal: users, groups, roles with a trust policy, a managed policy from
// a file with versions, attachments, access keys, pagination and the main
// error codes.
func TestCLIIAM(t *testing.T) {
	s := startServer(t, nil)
	const acct = "111122223333"

	t.Run("users", func(t *testing.T) {
		out := iamCLI(t, s, nil, "iam", "create-user", "--user-name", "bob", "--path", "/division/", "--tags", "Key=team,Value=blue")
		if got := getString(out, "User", "Arn"); got != "arn:aws:iam::"+acct+":user/division/bob" {
			t.Fatalf("Arn %q", got)
		}
		if id := getString(out, "User", "UserId"); !strings.HasPrefix(id, "AIDA") || len(id) != 21 {
			t.Fatalf("UserId %q", id)
		}
		iamCLIError(t, s, "EntityAlreadyExists", "User with name bob already exists.", "iam", "create-user", "--user-name", "bob")
		iamCLIError(t, s, "ValidationError", "failed to satisfy constraint", "iam", "create-user", "--user-name", "bob smith")
		iamCLIError(t, s, "NoSuchEntity", "The user with name nobody cannot be found.", "iam", "get-user", "--user-name", "nobody")
		out = iamCLI(t, s, nil, "iam", "get-user", "--user-name", "bob")
		if getString(out, "User", "Tags", "0", "Value") != "blue" || getString(out, "User", "Path") != "/division/" {
			t.Fatalf("get-user: %v", out)
		}
		out = iamCLI(t, s, nil, "iam", "get-user")
		if getString(out, "User", "Arn") != "arn:aws:iam::"+acct+":root" || getString(out, "User", "UserId") != acct {
			t.Fatalf("get-user as root: %v", out)
		}
		iamCLI(t, s, nil, "iam", "tag-user", "--user-name", "bob", "--tags", "Key=env,Value=prod")
		out = iamCLI(t, s, nil, "iam", "list-user-tags", "--user-name", "bob")
		if len(get(out, "Tags").([]any)) != 2 {
			t.Fatalf("list-user-tags: %v", out)
		}
	})

	t.Run("groups", func(t *testing.T) {
		iamCLI(t, s, nil, "iam", "create-group", "--group-name", "devs")
		iamCLI(t, s, nil, "iam", "add-user-to-group", "--group-name", "devs", "--user-name", "bob")
		out := iamCLI(t, s, nil, "iam", "get-group", "--group-name", "devs")
		if getString(out, "Group", "GroupName") != "devs" || getString(out, "Users", "0", "UserName") != "bob" {
			t.Fatalf("get-group: %v", out)
		}
		out = iamCLI(t, s, nil, "iam", "list-groups-for-user", "--user-name", "bob")
		if getString(out, "Groups", "0", "GroupName") != "devs" {
			t.Fatalf("list-groups-for-user: %v", out)
		}
		iamCLIError(t, s, "DeleteConflict", "must remove users from group first", "iam", "delete-group", "--group-name", "devs")
	})

	policyARN := "arn:aws:iam::" + acct + ":policy/MyMicroservicePolicy"
	t.Run("roles and policies", func(t *testing.T) {
		out := iamCLI(t, s, nil, "iam", "create-role", "--role-name", "MyMicroserviceRole",
			"--assume-role-policy-document", writeFile(t, "trust.json", e2eTrustPolicy), "--description", "the shop", "--max-session-duration", "7200")
		if getString(out, "Role", "Arn") != "arn:aws:iam::"+acct+":role/MyMicroserviceRole" {
			t.Fatalf("create-role: %v", out)
		}
		out = iamCLI(t, s, nil, "iam", "get-role", "--role-name", "MyMicroserviceRole")
		// The CLI decodes the URL-encoded document into JSON.
		if getString(out, "Role", "AssumeRolePolicyDocument", "Statement", "0", "Principal", "Service") != "ec2.amazonaws.com" ||
			get(out, "Role", "MaxSessionDuration") != float64(7200) {
			t.Fatalf("get-role: %v", out)
		}
		iamCLIError(t, s, "MalformedPolicyDocument", "", "iam", "create-role", "--role-name", "bad",
			"--assume-role-policy-document", e2eMicroservicePolicy)
		iamCLIError(t, s, "ValidationError", "maxSessionDuration", "iam", "create-role", "--role-name", "long",
			"--assume-role-policy-document", e2eTrustPolicy, "--max-session-duration", "50000")

		// The seed's commands, unmodified.
		out = iamCLI(t, s, nil, "iam", "create-policy", "--policy-name", "MyMicroservicePolicy",
			"--policy-document", writeFile(t, "microservice-policy.json", e2eMicroservicePolicy))
		if getString(out, "Policy", "Arn") != policyARN || getString(out, "Policy", "DefaultVersionId") != "v1" {
			t.Fatalf("create-policy: %v", out)
		}
		iamCLIError(t, s, "EntityAlreadyExists", "A policy called MyMicroservicePolicy already exists.", "iam", "create-policy",
			"--policy-name", "MyMicroservicePolicy", "--policy-document", e2eMicroservicePolicy)
		iamCLIError(t, s, "MalformedPolicyDocument", "", "iam", "create-policy", "--policy-name", "Broken", "--policy-document", `{"Version":"2012-10-17"`)
		iamCLI(t, s, nil, "iam", "attach-role-policy", "--role-name", "MyMicroserviceRole", "--policy-arn", policyARN)
		out = iamCLI(t, s, nil, "iam", "list-attached-role-policies", "--role-name", "MyMicroserviceRole")
		if getString(out, "AttachedPolicies", "0", "PolicyArn") != policyARN {
			t.Fatalf("list-attached-role-policies: %v", out)
		}
		iamCLIError(t, s, "NoSuchEntity", "does not exist or is not attachable", "iam", "attach-role-policy",
			"--role-name", "MyMicroserviceRole", "--policy-arn", "arn:aws:iam::"+acct+":policy/Nope")
		iamCLIError(t, s, "DeleteConflict", "Cannot delete a policy attached to entities.", "iam", "delete-policy", "--policy-arn", policyARN)
		iamCLIError(t, s, "DeleteConflict", "must detach all policies first", "iam", "delete-role", "--role-name", "MyMicroserviceRole")
		iamCLI(t, s, nil, "iam", "attach-role-policy", "--role-name", "MyMicroserviceRole", "--policy-arn", "arn:aws:iam::aws:policy/ReadOnlyAccess")

		// Versions.
		v2 := strings.Replace(e2eMicroservicePolicy, "s3:GetObject", "s3:GetObjectVersion", 1)
		out = iamCLI(t, s, nil, "iam", "create-policy-version", "--policy-arn", policyARN, "--policy-document", v2, "--set-as-default")
		if getString(out, "PolicyVersion", "VersionId") != "v2" || get(out, "PolicyVersion", "IsDefaultVersion") != true {
			t.Fatalf("create-policy-version: %v", out)
		}
		for i := 3; i <= 5; i++ {
			iamCLI(t, s, nil, "iam", "create-policy-version", "--policy-arn", policyARN, "--policy-document", e2eMicroservicePolicy)
		}
		iamCLIError(t, s, "LimitExceeded", "A managed policy can have up to 5 versions.", "iam", "create-policy-version",
			"--policy-arn", policyARN, "--policy-document", e2eMicroservicePolicy)
		out = iamCLI(t, s, nil, "iam", "get-policy-version", "--policy-arn", policyARN, "--version-id", "v2")
		if getString(out, "PolicyVersion", "Document", "Statement", "0", "Action") != "s3:GetObjectVersion" {
			t.Fatalf("get-policy-version: %v", out)
		}
		out = iamCLI(t, s, nil, "iam", "list-policy-versions", "--policy-arn", policyARN)
		if n := len(get(out, "Versions").([]any)); n != 5 {
			t.Fatalf("list-policy-versions: %d versions", n)
		}
		iamCLIError(t, s, "DeleteConflict", "Cannot delete the default version of a policy.", "iam", "delete-policy-version",
			"--policy-arn", policyARN, "--version-id", "v2")
		iamCLI(t, s, nil, "iam", "set-default-policy-version", "--policy-arn", policyARN, "--version-id", "v1")
		iamCLI(t, s, nil, "iam", "delete-policy-version", "--policy-arn", policyARN, "--version-id", "v2")
		out = iamCLI(t, s, nil, "iam", "get-policy", "--policy-arn", policyARN)
		if getString(out, "Policy", "DefaultVersionId") != "v1" || get(out, "Policy", "AttachmentCount") != float64(1) {
			t.Fatalf("get-policy: %v", out)
		}
		// AWS managed policies cannot be deleted: the authorizer refuses the
		// cross-account resource (AccessDenied) before the handler would
		// answer UnmodifiableEntity.
		if res := awsCLI(t, s, profileEnv(s.DataDir), "iam", "delete-policy", "--policy-arn", "arn:aws:iam::aws:policy/AdministratorAccess"); res.Code == 0 ||
			!strings.Contains(res.Stderr, "(AccessDenied)") && !strings.Contains(res.Stderr, "(UnmodifiableEntity)") {
			t.Fatalf("delete-policy of an AWS managed policy: exit %d %s", res.Code, res.Stderr)
		}

		// Inline policies come back decoded too.
		iamCLI(t, s, nil, "iam", "put-role-policy", "--role-name", "MyMicroserviceRole", "--policy-name", "inline",
			"--policy-document", e2eMicroservicePolicy)
		out = iamCLI(t, s, nil, "iam", "get-role-policy", "--role-name", "MyMicroserviceRole", "--policy-name", "inline")
		if getString(out, "PolicyDocument", "Statement", "0", "Resource") != "arn:aws:s3:::my-bucket/*" {
			t.Fatalf("get-role-policy: %v", out)
		}
		out = iamCLI(t, s, nil, "iam", "list-policies", "--scope", "AWS")
		var names []string
		for _, p := range get(out, "Policies").([]any) {
			names = append(names, getString(p, "PolicyName"))
		}
		for _, want := range []string{"AdministratorAccess", "ReadOnlyAccess", "IAMFullAccess", "SecretsManagerReadWrite"} {
			if !strings.Contains(strings.Join(names, ","), want) {
				t.Fatalf("list-policies --scope AWS: %v lacks %s", names, want)
			}
		}
	})

	t.Run("access keys", func(t *testing.T) {
		out := iamCLI(t, s, nil, "iam", "create-access-key", "--user-name", "bob")
		akid, secret := getString(out, "AccessKey", "AccessKeyId"), getString(out, "AccessKey", "SecretAccessKey")
		if !strings.HasPrefix(akid, "AKIA") || len(secret) != 40 || getString(out, "AccessKey", "Status") != "Active" {
			t.Fatalf("create-access-key: %v", out)
		}
		if strings.Contains(s.logs.String(), secret) {
			t.Fatal("the secret access key appears in the server log")
		}
		iamCLI(t, s, nil, "iam", "create-access-key", "--user-name", "bob")
		iamCLIError(t, s, "LimitExceeded", "AccessKeysPerUser", "iam", "create-access-key", "--user-name", "bob")
		out = iamCLI(t, s, nil, "iam", "list-access-keys", "--user-name", "bob")
		if n := len(get(out, "AccessKeyMetadata").([]any)); n != 2 {
			t.Fatalf("list-access-keys: %v", out)
		}
		iamCLIError(t, s, "DeleteConflict", "Cannot delete entity, must delete access keys first.", "iam", "delete-user", "--user-name", "bob")

		// The new key signs requests as bob.
		bob := []string{"AWS_ACCESS_KEY_ID=" + akid, "AWS_SECRET_ACCESS_KEY=" + secret}
		out = iamCLI(t, s, bob, "sts", "get-caller-identity")
		if getString(out, "Arn") != "arn:aws:iam::"+acct+":user/division/bob" {
			t.Fatalf("get-caller-identity with bob's key: %v", out)
		}
		// The use is recorded in the background within seconds (AWS
		// documents this information as delayed too).
		for deadline := time.Now().Add(30 * time.Second); ; {
			out = iamCLI(t, s, nil, "iam", "get-access-key-last-used", "--access-key-id", akid)
			last, _ := out["AccessKeyLastUsed"].(map[string]any)
			if getString(out, "UserName") != "bob" {
				t.Fatalf("get-access-key-last-used: %v", out)
			}
			if last["ServiceName"] == "sts" && last["Region"] == "us-east-1" && last["LastUsedDate"] != nil {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("get-access-key-last-used never showed bob's sts call: %v", out)
			}
			time.Sleep(time.Second)
		}
		iamCLI(t, s, nil, "iam", "update-access-key", "--user-name", "bob", "--access-key-id", akid, "--status", "Inactive")
		if res := awsCLI(t, s, bob, "sts", "get-caller-identity"); res.Code == 0 || !strings.Contains(res.Stderr, "InvalidClientTokenId") {
			t.Fatalf("inactive key still works: exit %d %s", res.Code, res.Stderr)
		}
		iamCLI(t, s, nil, "iam", "delete-access-key", "--user-name", "bob", "--access-key-id", akid)
		iamCLIError(t, s, "NoSuchEntity", "cannot be found", "iam", "delete-access-key", "--user-name", "bob", "--access-key-id", akid)
	})

	t.Run("pagination", func(t *testing.T) {
		for _, n := range []string{"page-a", "page-b", "page-c", "page-d", "page-e"} {
			iamCLI(t, s, nil, "iam", "create-user", "--user-name", n, "--path", "/paged/")
		}
		out := iamCLI(t, s, nil, "iam", "list-users", "--path-prefix", "/paged/", "--max-items", "2")
		token := getString(out, "NextToken")
		if n := len(get(out, "Users").([]any)); n != 2 || token == "" {
			t.Fatalf("first page: %v", out)
		}
		out = iamCLI(t, s, nil, "iam", "list-users", "--path-prefix", "/paged/", "--max-items", "2", "--starting-token", token)
		if getString(out, "Users", "0", "UserName") != "page-c" {
			t.Fatalf("second page: %v", out)
		}
		// --page-size makes the CLI follow Marker across server pages.
		out = iamCLI(t, s, nil, "iam", "list-users", "--path-prefix", "/paged/", "--page-size", "2")
		if n := len(get(out, "Users").([]any)); n != 5 {
			t.Fatalf("all pages: %d users", n)
		}
	})

	t.Run("account details", func(t *testing.T) {
		out := iamCLI(t, s, nil, "iam", "get-account-authorization-details")
		if len(get(out, "UserDetailList").([]any)) < 6 || getString(out, "RoleDetailList", "0", "RoleName") != "MyMicroserviceRole" ||
			getString(out, "RoleDetailList", "0", "AssumeRolePolicyDocument", "Statement", "0", "Action") != "sts:AssumeRole" {
			t.Fatalf("get-account-authorization-details: %v", out)
		}
	})

	t.Run("oidc", func(t *testing.T) {
		out := iamCLI(t, s, nil, "iam", "create-open-id-connect-provider", "--url", "https://token.example.com",
			"--client-id-list", "sts.amazonaws.com", "--thumbprint-list", strings.Repeat("ab", 20))
		arn := getString(out, "OpenIDConnectProviderArn")
		if arn != "arn:aws:iam::"+acct+":oidc-provider/token.example.com" {
			t.Fatalf("create-open-id-connect-provider: %v", out)
		}
		out = iamCLI(t, s, nil, "iam", "get-open-id-connect-provider", "--open-id-connect-provider-arn", arn)
		if getString(out, "Url") != "token.example.com" || getString(out, "ClientIDList", "0") != "sts.amazonaws.com" {
			t.Fatalf("get-open-id-connect-provider: %v", out)
		}
		iamCLIError(t, s, "EntityAlreadyExists", "already exists", "iam", "create-open-id-connect-provider", "--url", "https://token.example.com")
		iamCLI(t, s, nil, "iam", "delete-open-id-connect-provider", "--open-id-connect-provider-arn", arn)
	})
}
