package e2e

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/bulwark-security/bulwark/internal/api"
	"github.com/bulwark-security/bulwark/internal/keyring"
	"github.com/bulwark-security/bulwark/internal/session"
)

// cli is a caller of the aws CLI with fixed credentials.
type cli struct {
	t   *testing.T
	s   *server
	env []string
}

func rootCLI(t *testing.T, s *server) *cli { return &cli{t: t, s: s, env: profileEnv(s.DataDir)} }

func keyCLI(t *testing.T, s *server, akid, secret, token string) *cli {
	env := []string{"AWS_ACCESS_KEY_ID=" + akid, "AWS_SECRET_ACCESS_KEY=" + secret}
	if token != "" {
		env = append(env, "AWS_SESSION_TOKEN="+token)
	}
	return &cli{t: t, s: s, env: env}
}

// ok runs a command that must succeed and decodes its JSON output into out.
func (c *cli) ok(out any, args ...string) {
	c.t.Helper()
	res := awsCLI(c.t, c.s, c.env, args...)
	if res.Code != 0 {
		c.t.Fatalf("aws %s: exit %d: %s", strings.Join(args, " "), res.Code, res.Stderr)
	}
	if out != nil {
		if err := json.Unmarshal([]byte(res.Stdout), out); err != nil {
			c.t.Fatalf("aws %s: decode %q: %v", strings.Join(args, " "), res.Stdout, err)
		}
	}
}

// fails runs a command that must fail with the error code and a message
// containing each of wantInMsg.
func (c *cli) fails(code string, wantInMsg []string, args ...string) {
	c.t.Helper()
	res := awsCLI(c.t, c.s, c.env, args...)
	if res.Code == 0 {
		c.t.Fatalf("aws %s succeeded; want %s", strings.Join(args, " "), code)
	}
	if !strings.Contains(res.Stderr, "("+code+")") {
		c.t.Fatalf("aws %s: %s; want %s", strings.Join(args, " "), res.Stderr, code)
	}
	for _, w := range wantInMsg {
		if !strings.Contains(res.Stderr, w) {
			c.t.Fatalf("aws %s: message %q lacks %q", strings.Join(args, " "), res.Stderr, w)
		}
	}
}

type accessKeyOut struct {
	AccessKey struct {
		AccessKeyID     string `json:"AccessKeyId"`
		SecretAccessKey string `json:"SecretAccessKey"`
	} `json:"AccessKey"`
}

// newUser creates a user with an inline policy (if any) and returns a CLI
// signed with its new access key.
func newUser(root *cli, name, inline string) *cli {
	root.t.Helper()
	root.ok(nil, "iam", "create-user", "--user-name", name)
	if inline != "" {
		root.ok(nil, "iam", "put-user-policy", "--user-name", name, "--policy-name", name+"-inline", "--policy-document", inline)
	}
	var k accessKeyOut
	root.ok(&k, "iam", "create-access-key", "--user-name", name)
	return keyCLI(root.t, root.s, k.AccessKey.AccessKeyID, k.AccessKey.SecretAccessKey, "")
}

type assumeOut struct {
	Credentials struct {
		AccessKeyID     string `json:"AccessKeyId"`
		SecretAccessKey string `json:"SecretAccessKey"`
		SessionToken    string `json:"SessionToken"`
		Expiration      string `json:"Expiration"`
	} `json:"Credentials"`
	AssumedRoleUser struct {
		Arn string `json:"Arn"`
	} `json:"AssumedRoleUser"`
}

func allow(actions, resource string) string {
	return `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":` + actions + `,"Resource":"` + resource + `"}]}`
}

// TestEnforcement runs the scenarios against one server: each
// principal gets exactly what its policies grant.
func TestEnforcement(t *testing.T) {
	rootKey := randomRootKey()
	s := startServer(t, []string{"BULWARK_ROOT_KEY=" + rootKey})
	root := rootCLI(t, s)
	const acct = "111122223333"

	t.Run("iam:Get* only is denied iam:CreateUser", func(t *testing.T) {
		reader := newUser(root, "reader", allow(`"iam:Get*"`, "*"))
		reader.t = t
		var u struct{ User struct{ UserName string } }
		reader.ok(&u, "iam", "get-user", "--user-name", "reader")
		if u.User.UserName != "reader" {
			t.Fatalf("get-user: %+v", u)
		}
		reader.fails("AccessDenied", []string{
			"User: arn:aws:iam::" + acct + ":user/reader is not authorized to perform: iam:CreateUser on resource: arn:aws:iam::" + acct + ":user/mallory",
			"because no identity-based policy allows the iam:CreateUser action",
		}, "iam", "create-user", "--user-name", "mallory")
	})

	t.Run("a permissions boundary blocks an otherwise allowed call", func(t *testing.T) {
		root.ok(nil, "iam", "create-policy", "--policy-name", "ReadOnlyBoundary", "--policy-document", allow(`["iam:Get*","iam:List*"]`, "*"))
		bounded := newUser(root, "bounded", allow(`"iam:*"`, "*"))
		bounded.t = t
		root.ok(nil, "iam", "put-user-permissions-boundary", "--user-name", "bounded",
			"--permissions-boundary", "arn:aws:iam::"+acct+":policy/ReadOnlyBoundary")
		bounded.ok(nil, "iam", "list-users")
		bounded.fails("AccessDenied", []string{"because no permissions boundary allows the iam:CreateUser action"},
			"iam", "create-user", "--user-name", "mallory")
	})

	// A role for a microservice, assumable by the deployer user.
	trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + acct + `:root"},"Action":"sts:AssumeRole"}]}`
	root.ok(nil, "iam", "create-role", "--role-name", "app", "--assume-role-policy-document", trust)
	root.ok(nil, "iam", "put-role-policy", "--role-name", "app", "--policy-name", "read", "--policy-document", allow(`["iam:Get*","iam:List*"]`, "*"))
	deployer := newUser(root, "deployer", allow(`"sts:AssumeRole"`, "arn:aws:iam::"+acct+":role/*"))

	t.Run("an assumed role gets its role's permissions", func(t *testing.T) {
		var a assumeOut
		deployer.ok(&a, "sts", "assume-role", "--role-arn", "arn:aws:iam::"+acct+":role/app", "--role-session-name", "s1")
		if a.AssumedRoleUser.Arn != "arn:aws:sts::"+acct+":assumed-role/app/s1" || !strings.HasPrefix(a.Credentials.AccessKeyID, "ASIA") {
			t.Fatalf("assume-role: %+v", a)
		}
		sess := keyCLI(t, s, a.Credentials.AccessKeyID, a.Credentials.SecretAccessKey, a.Credentials.SessionToken)
		var id callerIdentity
		sess.ok(&id, "sts", "get-caller-identity")
		if id.Arn != a.AssumedRoleUser.Arn || !strings.HasSuffix(id.UserID, ":s1") {
			t.Fatalf("identity %+v", id)
		}
		sess.ok(nil, "iam", "get-role", "--role-name", "app")
		sess.fails("AccessDenied", []string{"assumed-role/app/s1 is not authorized to perform: iam:CreateUser"}, "iam", "create-user", "--user-name", "x")
		// A forged token does not work.
		bad := keyCLI(t, s, a.Credentials.AccessKeyID, a.Credentials.SecretAccessKey, a.Credentials.SessionToken[:len(a.Credentials.SessionToken)-8]+"AAAAAAAA")
		bad.fails("InvalidClientTokenId", nil, "sts", "get-caller-identity")
	})

	t.Run("a session policy limits the session to the intersection", func(t *testing.T) {
		var a assumeOut
		deployer.ok(&a, "sts", "assume-role", "--role-arn", "arn:aws:iam::"+acct+":role/app", "--role-session-name", "narrow",
			"--policy", allow(`["iam:ListRoles","iam:CreateUser"]`, "*"))
		sess := keyCLI(t, s, a.Credentials.AccessKeyID, a.Credentials.SecretAccessKey, a.Credentials.SessionToken)
		sess.ok(nil, "iam", "list-roles") // allowed by role and session policy
		sess.fails("AccessDenied", []string{"because no session policy allows the iam:GetRole action"}, "iam", "get-role", "--role-name", "app")
		sess.fails("AccessDenied", []string{"because no identity-based policy allows the iam:CreateUser action"}, "iam", "create-user", "--user-name", "x")
	})

	t.Run("a trust policy with an ExternalId condition refuses a call without it", func(t *testing.T) {
		trustExt := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + acct + `:user/deployer"},"Action":"sts:AssumeRole","Condition":{"StringEquals":{"sts:ExternalId":"partner-42"}}}]}`
		root.ok(nil, "iam", "create-role", "--role-name", "partner", "--assume-role-policy-document", trustExt)
		roleARN := "arn:aws:iam::" + acct + ":role/partner"
		deployer.fails("AccessDenied", []string{"is not authorized to perform: sts:AssumeRole on resource: " + roleARN},
			"sts", "assume-role", "--role-arn", roleARN, "--role-session-name", "partner-session")
		deployer.fails("AccessDenied", nil, "sts", "assume-role", "--role-arn", roleARN, "--role-session-name", "partner-session", "--external-id", "wrong-id")
		deployer.ok(nil, "sts", "assume-role", "--role-arn", roleARN, "--role-session-name", "partner-session", "--external-id", "partner-42")
	})

	t.Run("an expired session is refused", func(t *testing.T) {
		kr, err := keyring.New(mustDecode(t, rootKey))
		if err != nil {
			t.Fatal(err)
		}
		akid, secret := "ASIAIBCEDFGHIJKLMNOP", "expired-secret-expired-secret-expired-s"
		tok, err := session.Seal(kr, &session.Session{AccessKeyID: akid, Secret: []byte(secret), Principal: api.Principal{
			Type: "AssumedRole", ARN: "arn:aws:sts::" + acct + ":assumed-role/app/old", AccountID: acct, RoleName: "app",
			RoleARN: "arn:aws:iam::" + acct + ":role/app", IssuedAt: time.Now().Add(-2 * time.Hour), Expiration: time.Now().Add(-time.Hour)}})
		if err != nil {
			t.Fatal(err)
		}
		keyCLI(t, s, akid, secret, tok).fails("ExpiredToken", nil, "sts", "get-caller-identity")
	})

	t.Run("deleted access keys stop working", func(t *testing.T) {
		var k accessKeyOut
		root.ok(nil, "iam", "create-user", "--user-name", "temp")
		root.ok(&k, "iam", "create-access-key", "--user-name", "temp")
		u := keyCLI(t, s, k.AccessKey.AccessKeyID, k.AccessKey.SecretAccessKey, "")
		u.ok(nil, "sts", "get-caller-identity")
		root.ok(nil, "iam", "delete-access-key", "--user-name", "temp", "--access-key-id", k.AccessKey.AccessKeyID)
		u.fails("InvalidClientTokenId", nil, "sts", "get-caller-identity")
	})
}

func mustDecode(t *testing.T, b64 string) []byte {
	b, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
