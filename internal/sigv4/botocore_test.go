package sigv4

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// TestAWSCLICrossCheck has the real aws CLI (botocore's signer) call a server
// that verifies every request. It is skipped when the CLI is not installed.
func TestAWSCLICrossCheck(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the aws CLI")
	}
	cli, err := exec.LookPath("aws")
	if err != nil {
		t.Skip("aws CLI not installed")
	}
	v := newTestVerifier(t, time.Now())
	var mu sync.Mutex
	var failures []string
	seen := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		err := verifyRequest(v, r, body)
		mu.Lock()
		seen++
		if err != nil {
			failures = append(failures, r.Method+" "+r.RequestURI+": "+err.Error())
		}
		mu.Unlock()
		if r.Header.Get("X-Amz-Target") != "" {
			w.Header().Set("Content-Type", "application/x-amz-json-1.1")
			io.WriteString(w, "{}")
			return
		}
		w.Header().Set("Content-Type", "text/xml")
		io.WriteString(w, `<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult>`+
			`<Arn>arn:aws:iam::000000000000:root</Arn><UserId>000000000000</UserId><Account>000000000000</Account>`+
			`</GetCallerIdentityResult><ResponseMetadata><RequestId>1</RequestId></ResponseMetadata></GetCallerIdentityResponse>`)
	}))
	defer srv.Close()

	dir := t.TempDir()
	calls := []struct {
		name string
		temp bool
		args []string
	}{
		{"sts", false, []string{"sts", "get-caller-identity"}},
		{"sts-session-token", true, []string{"sts", "get-caller-identity"}},
		{"iam", false, []string{"iam", "list-users", "--path-prefix", "/a b/ü+c/"}},
		{"secretsmanager", false, []string{"secretsmanager", "get-secret-value", "--secret-id", "prod/db pass+ü"}},
		{"kms", true, []string{"kms", "list-keys"}},
	}
	for _, c := range calls {
		akid, secret, token := testAKID, testSecret, ""
		if c.temp {
			akid, secret, token = tempAKID, tempSecret, testToken
		}
		cmd := exec.CommandContext(context.Background(), cli, append(c.args, "--endpoint-url", srv.URL, "--region", "us-east-1")...)
		// A clean environment: no profile, CA bundle or proxy from the host.
		cmd.Env = []string{
			"PATH=" + os.Getenv("PATH"), "HOME=" + dir,
			"AWS_CONFIG_FILE=" + filepath.Join(dir, "config"), "AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(dir, "credentials"),
			"AWS_ACCESS_KEY_ID=" + akid, "AWS_SECRET_ACCESS_KEY=" + secret, "AWS_SESSION_TOKEN=" + token,
			"AWS_MAX_ATTEMPTS=1", "AWS_EC2_METADATA_DISABLED=true",
		}
		if pe := os.Getenv("PYENV_ROOT"); pe != "" {
			cmd.Env = append(cmd.Env, "PYENV_ROOT="+pe)
		}
		out, err := cmd.CombinedOutput()
		t.Logf("%s: err=%v output=%.200s", c.name, err, out)
	}
	mu.Lock()
	defer mu.Unlock()
	if seen < len(calls) {
		t.Fatalf("server saw %d requests for %d calls", seen, len(calls))
	}
	for _, f := range failures {
		t.Error(f)
	}
}
