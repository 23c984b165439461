package sigv4

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
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

// TestBotocoreCrossCheck signs awkward requests with botocore's SigV4Auth and
// SigV4QueryAuth (testdata/botocore_sign.py) and sends them to a verifying
// server. Skipped when python3 with botocore is not installed.
func TestBotocoreCrossCheck(t *testing.T) {
	if testing.Short() {
		t.Skip("runs python3")
	}
	py, err := exec.LookPath("python3")
	if err != nil || exec.Command(py, "-c", "import botocore").Run() != nil {
		t.Skip("python3 with botocore not installed")
	}
	v := newTestVerifier(t, time.Now())
	srv := verifyServer(v)
	defer srv.Close()

	type pyCase struct {
		Name    string            `json:"name"`
		Method  string            `json:"method"`
		Target  string            `json:"target"`
		Headers map[string]string `json:"headers,omitempty"`
		Body    string            `json:"body,omitempty"`
		Service string            `json:"service"`
		AKID    string            `json:"akid"`
		Secret  string            `json:"secret"`
		Token   string            `json:"token,omitempty"`
		Presign int               `json:"presign,omitempty"`
	}
	cases := []pyCase{
		{Name: "sts-post", Method: "POST", Target: "/", Body: stsBody,
			Headers: map[string]string{"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}},
		{Name: "session-token", Method: "POST", Target: "/", Body: stsBody, AKID: tempAKID, Secret: tempSecret, Token: testToken},
		{Name: "get-query", Method: "GET", Target: "/?Action=GetCallerIdentity&Version=2011-06-15"},
		{Name: "path-encoded", Method: "GET", Target: "/a%20b/%C3%BC/c%2Bd"},
		{Name: "path-dot-segments", Method: "GET", Target: "//double//slash/./x/../y"},
		{Name: "query-repeated", Method: "GET", Target: "/?b=2&a=1&a=0&c="},
		{Name: "query-no-equals", Method: "GET", Target: "/?flag&x=1"},
		{Name: "query-encoded", Method: "GET", Target: "/?u=%C3%BC&sp=a%20b&amp=v%26w"},
		{Name: "query-plus", Method: "GET", Target: "/?a=b+c"},
		{Name: "query-lowercase-hex", Method: "GET", Target: "/?a=%7e%2f"},
		{Name: "query-unencoded", Method: "GET", Target: "/?a=b/c!d"},
		{Name: "header-spaces", Method: "POST", Target: "/", Body: "{}",
			Headers: map[string]string{"X-Custom": "  a   b    c  ", "Content-Type": "application/x-amz-json-1.1"}},
		{Name: "presigned", Method: "GET", Target: "/?Action=GetCallerIdentity&Version=2011-06-15", Presign: 60},
		{Name: "presigned-token", Method: "GET", Target: "/?Action=GetCallerIdentity&Version=2011-06-15", Presign: 900,
			AKID: tempAKID, Secret: tempSecret, Token: testToken},
	}
	for i := range cases {
		if cases[i].AKID == "" {
			cases[i].AKID, cases[i].Secret = testAKID, testSecret
		}
		if cases[i].Service == "" {
			cases[i].Service = "sts"
		}
	}
	in, err := json.Marshal(map[string]any{"endpoint": srv.URL, "cases": cases})
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(py, "testdata/botocore_sign.py")
	cmd.Stdin = bytes.NewReader(in)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("botocore_sign.py: %v\n%s", err, out)
	}
	n := 0
	for line := range strings.SplitSeq(strings.TrimSpace(string(out)), "\n") {
		var res struct {
			Name   string `json:"name"`
			Status int    `json:"status"`
			Error  string `json:"error"`
		}
		if err := json.Unmarshal([]byte(line), &res); err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		n++
		if res.Status != 200 {
			t.Errorf("%s: %d %s", res.Name, res.Status, res.Error)
		}
	}
	if n != len(cases) {
		t.Fatalf("%d results for %d cases", n, len(cases))
	}
}
