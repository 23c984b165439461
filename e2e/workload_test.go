package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/smithy-go"
)

var (
	probeOnce sync.Once
	probeBin  string
	probeErr  error
)

// workloadProbe builds e2e/testdata/workloadprobe, an unmodified
// aws-sdk-go-v2 program, once for the package.
func workloadProbe(t *testing.T) string {
	t.Helper()
	probeOnce.Do(func() {
		probeBin = filepath.Join(filepath.Dir(binary), "workloadprobe")
		out, err := exec.Command("go", "build", "-o", probeBin, "./testdata/workloadprobe").CombinedOutput()
		if err != nil {
			probeErr = fmt.Errorf("build workloadprobe: %v\n%s", err, out)
		}
	})
	if probeErr != nil {
		t.Fatal(probeErr)
	}
	return probeBin
}

type cmdResult struct {
	Stdout, Stderr string
	Code           int
}

// run runs a program with the clean environment plus env.
func runCmd(t *testing.T, env []string, name string, args ...string) cmdResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(append(cleanEnv(), "HOME="+t.TempDir()), env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	res := cmdResult{Stdout: out.String(), Stderr: errb.String()}
	if ee, ok := err.(*exec.ExitError); ok {
		res.Code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("run %s: %v", name, err)
	}
	return res
}

// agentProc is one running `bulwark agent`.
type agentProc struct {
	Endpoint string
	IMDS     map[string]string
	logs     *syncBuffer
}

func startAgent(t *testing.T, args ...string) *agentProc {
	t.Helper()
	a := &agentProc{logs: &syncBuffer{}}
	cmd := exec.Command(binary, append([]string{"agent", "--log-format", "json", "--listen", "127.0.0.1:0"}, args...)...)
	cmd.Env = cleanEnv()
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	ready := make(chan struct{}, 1)
	go func() {
		defer close(done)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			line := sc.Text()
			a.logs.Write([]byte(line + "\n"))
			var rec struct {
				Msg      string            `json:"msg"`
				Endpoint string            `json:"endpoint"`
				IMDS     map[string]string `json:"imds"`
			}
			if json.Unmarshal([]byte(line), &rec) == nil && rec.Msg == "bulwark agent ready" {
				a.Endpoint, a.IMDS = rec.Endpoint, rec.IMDS
				ready <- struct{}{}
			}
		}
		_ = cmd.Wait()
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
		}
		if t.Failed() {
			t.Logf("agent logs:\n%s", a.logs.String())
		}
	})
	select {
	case <-ready:
		return a
	case <-done:
		t.Fatalf("bulwark agent exited before ready:\n%s", a.logs.String())
	case <-time.After(40 * time.Second):
		t.Fatalf("bulwark agent not ready after 40s:\n%s", a.logs.String())
	}
	return nil
}

// get sends a GET with headers and returns status and body.
func httpDo(t *testing.T, method, u string, headers map[string]string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, u, nil)
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// agentCall makes one of the agent's unsigned calls to the server by hand.
func agentCall(t *testing.T, s *server, action string, params url.Values) (int, string) {
	t.Helper()
	params.Set("Action", action)
	params.Set("Version", "2026-11-01")
	resp, err := http.Post(s.Endpoint+"/", "application/x-www-form-urlencoded", strings.NewReader(params.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func between(s, open, close string) string {
	_, rest, ok := strings.Cut(s, open)
	if !ok {
		return ""
	}
	v, _, _ := strings.Cut(rest, close)
	return v
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestWorkloadIdentity runs the workload identity scenarios against one
// dev server (dev mode lets credentials live 12 s, so they rotate during
// the test): unmodified SDK programs and the aws CLI under `bulwark agent`
// get their own role's credentials and nothing more, credentials rotate
// under a long-running client, revocation stops them, and `bulwark exec`
// runs a command as a role.
func TestWorkloadIdentity(t *testing.T) {
	t.Parallel()
	s := startServer(t, nil, "--dev")
	root := keyCLI(t, s, "test", "test", "")
	const acct = "123456789012"
	dir := t.TempDir()
	probe := workloadProbe(t)
	rootEnv := []string{"AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test", "AWS_ENDPOINT_URL=" + s.Endpoint, "AWS_REGION=us-east-1"}
	bw := func(t *testing.T, env []string, args ...string) cmdResult {
		t.Helper()
		return runCmd(t, env, binary, args...)
	}
	mustBW := func(t *testing.T, env []string, args ...string) string {
		t.Helper()
		res := bw(t, env, args...)
		if res.Code != 0 {
			t.Fatalf("bulwark %s: exit %d: %s", strings.Join(args, " "), res.Code, res.Stderr)
		}
		return res.Stdout
	}
	wlARN := func(name string) string { return "arn:aws:bulwark-workloads:us-east-1:" + acct + ":workload/" + name }
	roleARN := func(name string) string { return "arn:aws:iam::" + acct + ":role/" + name }
	trust := func(cond string) string {
		return `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"workloads.bulwark.internal"},` +
			`"Action":"sts:AssumeRole","Condition":{"StringEquals":{` + cond + `}}}]}`
	}
	// Each workload's role trusts that workload only and may read itself.
	for _, n := range []string{"orders", "billing"} {
		root.ok(nil, "iam", "create-role", "--role-name", n+"-role", "--assume-role-policy-document", trust(`"aws:SourceArn":"`+wlARN(n)+`"`))
		// The orders role reads itself through its session tag (the
		// workload's team selector): ABAC with ${aws:PrincipalTag/team}.
		self := roleARN(n + "-role")
		if n == "orders" {
			self = roleARN("${aws:PrincipalTag/team}-role")
		}
		root.ok(nil, "iam", "put-role-policy", "--role-name", n+"-role", "--policy-name", "read-self",
			"--policy-document", allow(`"iam:GetRole"`, self))
		mustBW(t, rootEnv, "workload", "register", "--name", n, "--role-arn", roleARN(n+"-role"), "--selector", "team="+n)
		join := mustBW(t, rootEnv, "workload", "join-token", "--name", n, "--output", "text")
		if err := os.WriteFile(filepath.Join(dir, n+".join"), []byte(join), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	ag := startAgent(t, "--server", s.Endpoint, "--duration", "12s", "--refresh-margin", "3s",
		"--workload", "name=orders,join-token-file="+filepath.Join(dir, "orders.join")+",token-file="+filepath.Join(dir, "orders.tok")+",imds=127.0.0.1:0",
		"--workload", "name=billing,join-token-file="+filepath.Join(dir, "billing.join")+",token-file="+filepath.Join(dir, "billing.tok"))
	ordersTok, billingTok := readFile(t, filepath.Join(dir, "orders.tok")), readFile(t, filepath.Join(dir, "billing.tok"))
	containerEnv := func(tokenFile string) []string {
		return []string{"AWS_CONTAINER_CREDENTIALS_FULL_URI=" + ag.Endpoint, "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE=" + tokenFile,
			"AWS_REGION=us-east-1", "AWS_ENDPOINT_URL=" + s.Endpoint}
	}

	// A long-running SDK client runs through several credential rotations
	// while the other scenarios run.
	type loopOut struct {
		Calls, Keys int
		Errors      []string
	}
	loopDone := make(chan cmdResult, 1)
	go func() {
		loopDone <- runCmd(t, containerEnv(filepath.Join(dir, "orders.tok")), probe, "loop", "40", "orders-role")
	}()

	t.Run("unmodified SDK program gets its role and is denied outside it", func(t *testing.T) {
		res := runCmd(t, containerEnv(filepath.Join(dir, "orders.tok")), probe, "once", "orders-role", "billing-role")
		if res.Code != 0 {
			t.Fatalf("probe: %s", res.Stderr)
		}
		var out map[string]string
		if err := json.Unmarshal([]byte(res.Stdout), &out); err != nil {
			t.Fatal(err)
		}
		want := map[string]string{"arn": "arn:aws:sts::" + acct + ":assumed-role/orders-role/orders",
			"getOwnRole": "ok", "getOtherRole": "AccessDenied", "listUsers": "AccessDenied"}
		for k, v := range want {
			if out[k] != v {
				t.Errorf("%s = %q, want %q", k, out[k], v)
			}
		}
	})

	t.Run("aws CLI with only the container variables gets its own role", func(t *testing.T) {
		c := &cli{t: t, s: s, env: []string{"AWS_CONTAINER_CREDENTIALS_FULL_URI=" + ag.Endpoint, "AWS_CONTAINER_AUTHORIZATION_TOKEN=" + billingTok}}
		var who struct{ Arn string }
		c.ok(&who, "sts", "get-caller-identity")
		if want := "arn:aws:sts::" + acct + ":assumed-role/billing-role/billing"; who.Arn != want {
			t.Fatalf("billing runs as %s, want %s", who.Arn, want)
		}
		c.ok(nil, "iam", "get-role", "--role-name", "billing-role")
		c.fails("AccessDenied", []string{"iam:GetRole"}, "iam", "get-role", "--role-name", "orders-role")
		c.fails("AccessDenied", []string{"iam:ListUsers"}, "iam", "list-users")
	})

	t.Run("each token gets only its own workload's credentials", func(t *testing.T) {
		tests := []struct {
			name    string
			method  string
			headers map[string]string
			status  int
			want    string
		}{
			{"orders token", "GET", map[string]string{"Authorization": ordersTok}, 200, `"RoleArn":"` + roleARN("orders-role") + `"`},
			{"billing token", "GET", map[string]string{"Authorization": billingTok}, 200, `"RoleArn":"` + roleARN("billing-role") + `"`},
			{"no token", "GET", nil, 401, "MissingAuthorization"},
			{"wrong token", "GET", map[string]string{"Authorization": ordersTok[:len(ordersTok)-1] + "x"}, 403, "InvalidAuthorization"},
			{"forwarded", "GET", map[string]string{"Authorization": ordersTok, "X-Forwarded-For": "203.0.113.9"}, 403, "forwarded"},
			{"forwarded rfc7239", "GET", map[string]string{"Authorization": ordersTok, "Forwarded": "for=203.0.113.9"}, 403, "forwarded"},
			{"not a GET", "POST", map[string]string{"Authorization": ordersTok}, 405, "MethodNotAllowed"},
		}
		for _, tt := range tests {
			status, body := httpDo(t, tt.method, ag.Endpoint, tt.headers)
			if status != tt.status || !strings.Contains(body, tt.want) {
				t.Errorf("%s: %d %.200s, want %d with %q", tt.name, status, body, tt.status, tt.want)
			}
		}
		if status, body := httpDo(t, "GET", strings.TrimSuffix(ag.Endpoint, "/v1/credentials")+"/healthz", nil); status != 200 || !strings.Contains(body, "2/2") {
			t.Errorf("healthz: %d %s", status, body)
		}
		if status, body := httpDo(t, "GET", strings.TrimSuffix(ag.Endpoint, "/v1/credentials")+"/metrics", nil); status != 200 || !strings.Contains(body, "bulwark_agent_refreshes_total") {
			t.Errorf("metrics: %d %.200s", status, body)
		}
	})

	t.Run("IMDSv2 serves the workload; IMDSv1 and forwarded requests are refused", func(t *testing.T) {
		imds := ag.IMDS["orders"]
		if imds == "" {
			t.Fatalf("no IMDS endpoint in %v", ag.IMDS)
		}
		creds := imds + "/latest/meta-data/iam/security-credentials/"
		if status, _ := httpDo(t, "GET", creds, nil); status != 401 {
			t.Errorf("IMDSv1 GET: %d, want 401", status)
		}
		if status, _ := httpDo(t, "PUT", imds+"/latest/api/token", nil); status != 400 {
			t.Errorf("token without TTL: %d, want 400", status)
		}
		if status, _ := httpDo(t, "PUT", imds+"/latest/api/token", map[string]string{"X-aws-ec2-metadata-token-ttl-seconds": "60", "X-Forwarded-For": "203.0.113.9"}); status != 403 {
			t.Errorf("forwarded token request: %d, want 403", status)
		}
		if status, _ := httpDo(t, "GET", creds, map[string]string{"X-aws-ec2-metadata-token": "bwl_" + strings.Repeat("A", 43)}); status != 401 {
			t.Errorf("made-up session token: %d, want 401", status)
		}
		c := &cli{t: t, s: s, env: []string{"AWS_EC2_METADATA_DISABLED=false", "AWS_EC2_METADATA_SERVICE_ENDPOINT=" + imds + "/"}}
		var who struct{ Arn string }
		c.ok(&who, "sts", "get-caller-identity")
		if !strings.HasSuffix(who.Arn, ":assumed-role/orders-role/orders") {
			t.Fatalf("IMDS caller %s", who.Arn)
		}
	})

	t.Run("a join token attests once", func(t *testing.T) {
		mustBW(t, rootEnv, "workload", "register", "--name", "batch", "--role-arn", roleARN("orders-role"))
		join := strings.TrimSpace(mustBW(t, rootEnv, "workload", "join-token", "--name", "batch", "--output", "text"))
		if status, body := agentCall(t, s, "AttestWorkload", url.Values{"JoinToken": {join}}); status != 200 || !strings.Contains(body, "<AgentToken>bwa_") {
			t.Fatalf("first attestation: %d %s", status, body)
		}
		if status, body := agentCall(t, s, "AttestWorkload", url.Values{"JoinToken": {join}}); status != 403 || !strings.Contains(body, "AccessDenied") {
			t.Fatalf("second attestation: %d %s", status, body)
		}
	})

	t.Run("trust policies keep a workload from another workload's role", func(t *testing.T) {
		// Registering with billing-role needs iam:PassRole on it.
		op := newUser(root, "operator", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"bulwark-workloads:*","Resource":"*"},`+
			`{"Effect":"Allow","Action":"iam:PassRole","Resource":"`+roleARN("orders-role")+`"}]}`)
		opEnv := append(op.env, "AWS_ENDPOINT_URL="+s.Endpoint, "AWS_REGION=us-east-1")
		res := bw(t, opEnv, "workload", "register", "--name", "sneaky", "--role-arn", roleARN("billing-role"))
		if res.Code == 0 || !strings.Contains(res.Stderr, "AccessDeniedException") || !strings.Contains(res.Stderr, "iam:PassRole") {
			t.Fatalf("register without PassRole: exit %d %s", res.Code, res.Stderr)
		}
		// Even with the role passed (root may), billing-role's trust
		// policy names the billing workload only.
		mustBW(t, rootEnv, "workload", "register", "--name", "intruder", "--role-arn", roleARN("billing-role"))
		join := strings.TrimSpace(mustBW(t, rootEnv, "workload", "join-token", "--name", "intruder", "--output", "text"))
		status, body := agentCall(t, s, "AttestWorkload", url.Values{"JoinToken": {join}})
		if status != 200 {
			t.Fatalf("attest intruder: %d %s", status, body)
		}
		status, body = agentCall(t, s, "GetWorkloadCredentials", url.Values{"AgentToken": {between(body, "<AgentToken>", "<")}, "DurationSeconds": {"900"}})
		if status != 403 || !strings.Contains(body, "AccessDenied") || strings.Contains(body, "SecretAccessKey") {
			t.Fatalf("intruder credentials: %d %s", status, body)
		}
	})

	t.Run("OIDC token attestation", func(t *testing.T) {
		iss := newOIDCIssuer(t)
		root.ok(nil, "iam", "create-open-id-connect-provider", "--url", iss.srv.URL, "--client-id-list", "my-app", "--thumbprint-list", iss.thumbprint())
		root.ok(nil, "iam", "create-role", "--role-name", "k8s-role", "--assume-role-policy-document",
			trust(`"aws:SourceArn":"`+wlARN("k8s")+`","bulwark-workloads:AttestationType":"jwt"`))
		mustBW(t, rootEnv, "workload", "register", "--name", "k8s", "--role-arn", roleARN("k8s-role"),
			"--selector", "jwt:iss="+iss.srv.URL, "--selector", "jwt:sub=system:serviceaccount:prod:app")
		tokFile := filepath.Join(dir, "k8s.jwt")
		if err := os.WriteFile(tokFile, []byte(iss.token(t, iss.key, "system:serviceaccount:prod:app")), 0o600); err != nil {
			t.Fatal(err)
		}
		k8s := startAgent(t, "--server", s.Endpoint, "--duration", "15m",
			"--workload", "name=k8s,arn="+wlARN("k8s")+",identity-token-file="+tokFile+",token-file="+filepath.Join(dir, "k8s.tok"))
		status, body := httpDo(t, "GET", k8s.Endpoint, map[string]string{"Authorization": readFile(t, filepath.Join(dir, "k8s.tok"))})
		if status != 200 || !strings.Contains(body, roleARN("k8s-role")) {
			t.Fatalf("k8s credentials: %d %.300s", status, body)
		}
		// Another service account of the same issuer is not this workload.
		other := iss.token(t, iss.key, "system:serviceaccount:prod:other")
		if status, body := agentCall(t, s, "AttestWorkload", url.Values{"WorkloadArn": {wlARN("k8s")}, "IdentityToken": {other}}); status != 403 {
			t.Fatalf("other subject: %d %s", status, body)
		}
	})

	t.Run("bulwark exec runs a command as a role with nothing else credential-like", func(t *testing.T) {
		root.ok(nil, "iam", "create-role", "--role-name", "dev-role", "--assume-role-policy-document",
			`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::`+acct+`:root"},"Action":"sts:AssumeRole"}]}`)
		root.ok(nil, "iam", "put-role-policy", "--role-name", "dev-role", "--policy-name", "read-self",
			"--policy-document", allow(`"iam:GetRole"`, roleARN("dev-role")))
		dev := newUser(root, "developer", allow(`"sts:AssumeRole"`, roleARN("dev-role")))
		devEnv := append(dev.env, "AWS_ENDPOINT_URL="+s.Endpoint, "AWS_REGION=us-east-1")
		res := bw(t, devEnv, "exec", "--role", roleARN("dev-role"), "--", probe, "once", "dev-role", "orders-role")
		if res.Code != 0 {
			t.Fatalf("exec probe: %d %s", res.Code, res.Stderr)
		}
		var out map[string]string
		if err := json.Unmarshal([]byte(res.Stdout), &out); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(out["arn"], ":assumed-role/dev-role/") || out["getOwnRole"] != "ok" || out["getOtherRole"] != "AccessDenied" || out["listUsers"] != "AccessDenied" {
			t.Fatalf("exec probe: %v", out)
		}
		res = bw(t, devEnv, "exec", "--role", roleARN("dev-role"), "--", "env")
		for _, bad := range []string{"AWS_ACCESS_KEY_ID=", "AWS_SECRET_ACCESS_KEY=", "AWS_SESSION_TOKEN="} {
			if strings.Contains(res.Stdout, "\n"+bad) || strings.HasPrefix(res.Stdout, bad) {
				t.Errorf("child environment has %s", bad)
			}
		}
		for _, good := range []string{"AWS_CONTAINER_CREDENTIALS_FULL_URI=http://127.0.0.1:", "AWS_CONTAINER_AUTHORIZATION_TOKEN=bwl_"} {
			if !strings.Contains(res.Stdout, good) {
				t.Errorf("child environment lacks %s", good)
			}
		}
		if res := bw(t, devEnv, "exec", "--role", roleARN("dev-role"), "--", "sh", "-c", "exit 7"); res.Code != 7 {
			t.Errorf("exit code %d, want 7", res.Code)
		}
		if res := bw(t, devEnv, "exec", "--role", roleARN("orders-role"), "--", "true"); res.Code == 0 || !strings.Contains(res.Stderr, "AccessDenied") {
			t.Errorf("exec with a role the caller may not assume: %d %s", res.Code, res.Stderr)
		}
	})

	t.Run("a long-running SDK client keeps working across rotations", func(t *testing.T) {
		res := <-loopDone
		if res.Code != 0 {
			t.Fatalf("loop: %s", res.Stderr)
		}
		var out loopOut
		if err := json.Unmarshal([]byte(res.Stdout), &out); err != nil {
			t.Fatal(err)
		}
		if len(out.Errors) > 0 || out.Keys < 3 || out.Calls < 50 {
			t.Fatalf("over 40 s with 12 s credentials: %d calls, %d distinct keys, errors %v", out.Calls, out.Keys, out.Errors)
		}
		t.Logf("long-running client: %d calls with %d successive credentials, no errors", out.Calls, out.Keys)
	})

	t.Run("a revoked workload gets nothing and its sessions are revoked", func(t *testing.T) {
		status, body := httpDo(t, "GET", ag.Endpoint, map[string]string{"Authorization": billingTok})
		if status != 200 {
			t.Fatalf("billing before revoke: %d %s", status, body)
		}
		var old struct{ AccessKeyId, SecretAccessKey, Token string }
		_ = json.Unmarshal([]byte(body), &old)
		mustBW(t, rootEnv, "workload", "revoke", "--name", "billing", "--revoke-sessions")
		// The credentials live 12 s: check them in-process with the SDK,
		// not with a CLI that may take longer than that to start.
		iamc := iam.New(iam.Options{Region: "us-east-1", BaseEndpoint: aws.String(s.Endpoint), RetryMaxAttempts: 1,
			Credentials: credentials.NewStaticCredentialsProvider(old.AccessKeyId, old.SecretAccessKey, old.Token)})
		_, err := iamc.GetRole(t.Context(), &iam.GetRoleInput{RoleName: aws.String("billing-role")})
		var ae smithy.APIError
		if !errors.As(err, &ae) || ae.ErrorCode() != "AccessDenied" || !strings.Contains(ae.ErrorMessage(), "explicit deny") {
			t.Fatalf("already-issued billing session after --revoke-sessions: %v", err)
		}
		deadline := time.Now().Add(20 * time.Second)
		for {
			status, _ = httpDo(t, "GET", ag.Endpoint, map[string]string{"Authorization": billingTok})
			if status == 503 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("billing still served (%d) 20 s after revocation", status)
			}
			time.Sleep(500 * time.Millisecond)
		}
		if status, _ := httpDo(t, "GET", ag.Endpoint, map[string]string{"Authorization": ordersTok}); status != 200 {
			t.Fatalf("orders after billing's revocation: %d", status)
		}
		c := &cli{t: t, s: s, env: []string{"AWS_CONTAINER_CREDENTIALS_FULL_URI=" + ag.Endpoint, "AWS_CONTAINER_AUTHORIZATION_TOKEN=" + billingTok}}
		if res := awsCLI(t, s, c.env, "sts", "get-caller-identity"); res.Code == 0 {
			t.Fatalf("revoked workload still works: %s", res.Stdout)
		}
		var list struct {
			Workloads []struct{ Name, Status string }
		}
		if err := json.Unmarshal([]byte(mustBW(t, rootEnv, "workload", "list")), &list); err != nil {
			t.Fatal(err)
		}
		for _, w := range list.Workloads {
			if w.Name == "billing" && w.Status != "REVOKED" {
				t.Fatalf("billing listed as %s", w.Status)
			}
		}
	})
}

// TestWorkloadWalkthrough runs the README's workload identity walkthrough
// (examples/workload-identity.sh) against a dev server, command for command.
func TestWorkloadWalkthrough(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("aws"); err != nil {
		awsCLI(t, nil, nil) // skips, or fails in CI
	}
	s := startServer(t, nil, "--dev")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	agentAddr := ln.Addr().String()
	ln.Close()
	script, _ := filepath.Abs("../examples/workload-identity.sh")
	cmd := exec.Command("bash", script)
	cmd.Env = append(cleanEnv(), "ENDPOINT="+s.Endpoint, "BULWARK="+binary, "AGENT_ADDR="+agentAddr, "HOME="+t.TempDir(),
		"AWS_PAGER=", "AWS_EC2_METADATA_DISABLED=true", "AWS_CONFIG_FILE=/nonexistent", "AWS_SHARED_CREDENTIALS_FILE=/nonexistent")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("walkthrough failed: %v\n%s", err, out)
	}
	for _, want := range []string{
		"arn:aws:iam::123456789012:role/OrdersRole",
		"orders\tACTIVE\tarn:aws:iam::123456789012:role/OrdersRole",
		"arn:aws:sts::123456789012:assumed-role/OrdersRole/orders",
		"because no identity-based policy allows the iam:ListUsers action",
		"orders\tREVOKED",
		"with an explicit deny",
		"walkthrough complete",
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("walkthrough output lacks %q:\n%s", want, out)
		}
	}
}
