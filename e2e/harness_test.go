package e2e

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// binary is the bulwark binary built once for the whole package.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "bulwark-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "bulwark")
	args := []string{"build", "-o", binary}
	if raceEnabled {
		args = append(args, "-race")
	}
	build := exec.Command("go", append(args, "../cmd/bulwark")...)
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: build bulwark:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// server is one running bulwark process.
type server struct {
	t        *testing.T
	cmd      *exec.Cmd
	Endpoint string
	DataDir  string
	logs     *syncBuffer
	done     chan error
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// startServer runs `bulwark server` on a free loopback port with a fresh
// data directory (unless args name one) and waits until it is ready.
func startServer(t *testing.T, env []string, args ...string) *server {
	t.Helper()
	s, err := tryStartServer(t, env, args...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func tryStartServer(t *testing.T, env []string, args ...string) (*server, error) {
	t.Helper()
	s := &server{t: t, logs: &syncBuffer{}, done: make(chan error, 1)}
	full := []string{"server", "--listen", "127.0.0.1:0", "--log-format", "json", "--log-level", "debug"}
	if !hasFlag(args, "--data-dir") && !hasFlag(args, "--dev") {
		s.DataDir = t.TempDir()
		full = append(full, "--data-dir", s.DataDir)
	}
	for i, a := range args {
		if a == "--data-dir" && i+1 < len(args) {
			s.DataDir = args[i+1]
		}
	}
	full = append(full, args...)
	s.cmd = exec.Command(binary, full...)
	s.cmd.Env = append(cleanEnv(), env...)
	stderr, err := s.cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := s.cmd.Start(); err != nil {
		return nil, err
	}
	ready := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			s.logs.Write([]byte(line + "\n"))
			var rec struct {
				Msg      string `json:"msg"`
				Endpoint string `json:"endpoint"`
			}
			if json.Unmarshal([]byte(line), &rec) == nil && rec.Msg == "bulwark server ready" {
				select {
				case ready <- rec.Endpoint:
				default:
				}
			}
		}
		s.done <- s.cmd.Wait()
	}()
	t.Cleanup(func() { s.stop() })
	select {
	case ep := <-ready:
		s.Endpoint = ep
		return s, nil
	case err := <-s.done:
		s.done <- err
		return nil, fmt.Errorf("bulwark server exited before ready (%v):\n%s", err, s.logs.String())
	case <-time.After(60 * time.Second):
		return nil, fmt.Errorf("bulwark server not ready after 60s:\n%s", s.logs.String())
	}
}

// stop sends SIGTERM and waits for a clean exit.
func (s *server) stop() error {
	if s.cmd.ProcessState != nil {
		return nil
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-s.done:
		s.done <- err
		return err
	case <-time.After(30 * time.Second):
		_ = s.cmd.Process.Kill()
		return fmt.Errorf("server did not stop within 30s")
	}
}

func hasFlag(args []string, f string) bool {
	for _, a := range args {
		if a == f || strings.HasPrefix(a, f+"=") {
			return true
		}
	}
	return false
}

// cleanEnv is the environment every process the tests start gets: no AWS_*
// variables from the machine (AWS_CA_BUNDLE breaks SDK clients, and stray
// credentials would hide bugs), no proxies.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch {
		case strings.HasPrefix(k, "AWS_"), strings.HasPrefix(k, "BULWARK_"),
			strings.EqualFold(k, "HTTP_PROXY"), strings.EqualFold(k, "HTTPS_PROXY"), strings.EqualFold(k, "NO_PROXY"):
			continue
		}
		env = append(env, kv)
	}
	return env
}

// awsResult is the outcome of one aws CLI run.
type awsResult struct {
	Stdout, Stderr string
	Code           int
}

// awsCLI runs the aws CLI against the server with the given extra
// environment (credentials) and arguments.
func awsCLI(t *testing.T, s *server, env []string, args ...string) awsResult {
	t.Helper()
	path, err := exec.LookPath("aws")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("the aws CLI is not installed; .ci/run installs it")
		}
		t.Skip("the aws CLI is not installed (apt-get install awscli, or pip install awscli)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	home := t.TempDir()
	cmd := exec.CommandContext(ctx, path, append([]string{"--endpoint-url", s.Endpoint, "--output", "json"}, args...)...)
	cmd.Env = append(cleanEnv(), "HOME="+home, "AWS_EC2_METADATA_DISABLED=true", "AWS_PAGER=",
		"AWS_CONFIG_FILE="+filepath.Join(home, "none"), "AWS_DEFAULT_REGION=us-east-1", "AWS_RETRY_MODE=standard", "AWS_MAX_ATTEMPTS=1")
	cmd.Env = append(cmd.Env, env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err = cmd.Run()
	res := awsResult{Stdout: out.String(), Stderr: errb.String()}
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			res.Code = ee.ExitCode()
		} else {
			t.Fatalf("run aws: %v", err)
		}
	}
	return res
}

// profileEnv points the CLI/SDK at the bootstrap files in a data directory.
func profileEnv(dataDir string) []string {
	return []string{
		"AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(dataDir, "credentials"),
		"AWS_CONFIG_FILE=" + filepath.Join(dataDir, "config"),
		"AWS_PROFILE=bulwark",
	}
}

// rootCredentials reads the bootstrap credentials file.
func rootCredentials(t *testing.T, dataDir string) (akid, secret string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dataDir, "credentials"))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			continue
		}
		switch strings.TrimSpace(k) {
		case "aws_access_key_id":
			akid = strings.TrimSpace(v)
		case "aws_secret_access_key":
			secret = strings.TrimSpace(v)
		}
	}
	if akid == "" || secret == "" {
		t.Fatalf("credentials file incomplete")
	}
	return akid, secret
}

func randomRootKey() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.StdEncoding.EncodeToString(b)
}

func httpGet(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}
