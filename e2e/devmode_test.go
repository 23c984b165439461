package e2e

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/bulwark-security/bulwark/internal/sigv4"
)

// runReset runs `bulwark reset` against s with the given environment.
func runReset(t *testing.T, s *server, env ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(binary, "reset", "--endpoint", s.Endpoint)
	cmd.Env = append(cleanEnv(), env...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// TestDevMode: the well-known credential works with nothing else, state
// can be reset without a restart, and the reset is guarded.
func TestDevMode(t *testing.T) {
	s := startServer(t, nil, "--dev")
	dev := keyCLI(t, s, "test", "test", "")

	var id callerIdentity
	dev.ok(&id, "sts", "get-caller-identity")
	if id.Arn != "arn:aws:iam::123456789012:root" {
		t.Fatalf("dev identity %+v", id)
	}
	if !strings.Contains(s.logs.String(), "DEV MODE") {
		t.Fatal("the log does not say loudly that this is dev mode")
	}

	code, body := httpGet(t, s.Endpoint+"/_bulwark/info")
	var info struct {
		Mode, AccountID, Region string
		Services                []string
	}
	if err := json.Unmarshal([]byte(body), &info); code != 200 || err != nil || info.Mode != "dev" ||
		info.AccountID != "123456789012" || info.Region != "us-east-1" || len(info.Services) < 2 {
		t.Fatalf("/_bulwark/info: %d %s", code, body)
	}

	// Create resources, then reset them away.
	dev.ok(nil, "iam", "create-user", "--user-name", "ci-user")
	dev.ok(nil, "iam", "create-role", "--role-name", "ci-role", "--assume-role-policy-document",
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"123456789012"},"Action":"sts:AssumeRole"}]}`)
	user := newUser(dev, "not-root", allow(`"*"`, "*"))

	// The reset is refused unsigned, by a non-root principal (even one
	// allowed everything), and with a wrong token.
	resp, err := http.Post(s.Endpoint+"/_bulwark/reset", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("unsigned reset: %d", resp.StatusCode)
	}
	userKey := strings.TrimPrefix(user.env[0], "AWS_ACCESS_KEY_ID=")
	userSecret := strings.TrimPrefix(user.env[1], "AWS_SECRET_ACCESS_KEY=")
	if out, err := runReset(t, s, "AWS_ACCESS_KEY_ID="+userKey, "AWS_SECRET_ACCESS_KEY="+userSecret); err == nil || !strings.Contains(out, "AccessDenied") {
		t.Fatalf("non-root reset: %v %s", err, out)
	}
	if out, err := runReset(t, s, "BULWARK_DEV_TOKEN=guess"); err == nil || !strings.Contains(out, "403") {
		t.Fatalf("reset with a wrong token: %v %s", err, out)
	}
	var users struct{ Users []struct{ UserName string } }
	dev.ok(&users, "iam", "list-users")
	if len(users.Users) != 2 {
		t.Fatalf("users before reset: %+v", users)
	}

	start := time.Now()
	out, err := runReset(t, s)
	if err != nil || !strings.Contains(out, `"reset":true`) {
		t.Fatalf("reset: %v %s", err, out)
	}
	t.Logf("bulwark reset took %v end to end (%s)", time.Since(start), strings.TrimSpace(out))

	dev.ok(&users, "iam", "list-users")
	if len(users.Users) != 0 {
		t.Fatalf("users after reset: %+v", users)
	}
	dev.fails("NoSuchEntity", nil, "iam", "get-role", "--role-name", "ci-role")
	user.fails("InvalidClientTokenId", nil, "sts", "get-caller-identity")
	dev.ok(&id, "sts", "get-caller-identity") // the well-known credential is back
	var pols struct{ Policies []struct{ PolicyName string } }
	dev.ok(&pols, "iam", "list-policies", "--scope", "AWS")
	if len(pols.Policies) == 0 {
		t.Fatal("AWS managed policies not re-seeded after reset")
	}
}

// TestDevModeTokenReset: with BULWARK_DEV_TOKEN set, the token works too.
func TestDevModeTokenReset(t *testing.T) {
	s := startServer(t, []string{"BULWARK_DEV_TOKEN=let-me-reset"}, "--dev")
	if out, err := runReset(t, s, "BULWARK_DEV_TOKEN=let-me-reset"); err != nil {
		t.Fatalf("token reset: %v %s", err, out)
	}
}

// TestNoDevEndpointsWithoutDev: a normal server has no /_bulwark/ endpoints
// and refuses the well-known credential.
func TestNoDevEndpointsWithoutDev(t *testing.T) {
	s := startServer(t, nil)
	akid, secret := rootCredentials(t, s.DataDir)
	req, _ := http.NewRequest(http.MethodPost, s.Endpoint+"/_bulwark/reset", bytes.NewReader(nil))
	if err := sigv4.Sign(req, nil, akid, []byte(secret), "", "us-east-1", "bulwark", time.Now()); err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("reset without --dev: %d", resp.StatusCode)
	}
	if code, _ := httpGet(t, s.Endpoint+"/_bulwark/info"); code != http.StatusNotFound {
		t.Fatalf("info without --dev: %d", code)
	}
	keyCLI(t, s, "test", "test", "").fails("InvalidClientTokenId", nil, "sts", "get-caller-identity")
}

// TestDevModeRefusesNonLoopback: --dev never listens beyond loopback.
func TestDevModeRefusesNonLoopback(t *testing.T) {
	_, err := tryStartServer(t, nil, "--dev", "--listen", "0.0.0.0:0", "--insecure-http")
	if err == nil || !strings.Contains(err.Error(), "loopback only") {
		t.Fatalf("err = %v, want a refusal", err)
	}
}
