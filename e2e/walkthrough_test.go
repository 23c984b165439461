package e2e

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestREADMEWalkthrough runs the README's least-privilege walkthrough
// (examples/least-privilege.sh) against a dev server, command for command.
func TestREADMEWalkthrough(t *testing.T) {
	if _, err := exec.LookPath("aws"); err != nil {
		awsCLI(t, nil, nil) // skips, or fails in CI
	}
	s := startServer(t, nil, "--dev")
	script, _ := filepath.Abs("../examples/least-privilege.sh")
	cmd := exec.Command("bash", script)
	cmd.Env = append(cleanEnv(), "ENDPOINT="+s.Endpoint, "HOME="+t.TempDir(), "AWS_PAGER=", "AWS_EC2_METADATA_DISABLED=true",
		"AWS_CONFIG_FILE=/nonexistent", "AWS_SHARED_CREDENTIALS_FILE=/nonexistent")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("walkthrough failed: %v\n%s", err, out)
	}
	for _, want := range []string{
		"assumed-role/MyMicroserviceRole/orders-1",
		"arn:aws:iam::123456789012:role/MyMicroserviceRole",
		"(AccessDenied)",
		"because no identity-based policy allows the iam:ListUsers action",
		"s3:GetObject\tallowed",
		"s3:PutObject\timplicitDeny",
		"walkthrough complete",
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("walkthrough output lacks %q:\n%s", want, out)
		}
	}
}
