package e2e

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestBoto3 drives IAM and STS with boto3 (paginators, tags, managed policy
// attachment, assumed-role sessions, AccessDenied as ClientError).
func TestBoto3(t *testing.T) {
	if err := exec.Command("python3", "-c", "import boto3").Run(); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("boto3 is not installed: %v", err)
		}
		t.Skip("python3 with boto3 is not installed (pip install boto3)")
	}
	s := startServer(t, nil, "--dev")
	cmd := exec.Command("python3", "testdata/boto3_scenario.py", s.Endpoint)
	cmd.Env = append(cleanEnv(), "HOME="+t.TempDir(), "AWS_CONFIG_FILE=/nonexistent", "AWS_SHARED_CREDENTIALS_FILE=/nonexistent")
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "boto3 scenario passed") {
		t.Fatalf("boto3 scenario: %v\n%s\nserver log:\n%s", err, out, tail(s.logs.String(), 3000))
	}
	t.Log(string(out))
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}
