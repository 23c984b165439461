package iam

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

// responses collects every successful response the tests encode, for the
// check against botocore's IAM model that TestMain runs at the end.
var responses struct {
	mu  sync.Mutex
	dir string
	n   int
}

func recordResponse(action string, body []byte) {
	responses.mu.Lock()
	defer responses.mu.Unlock()
	if responses.dir == "" {
		return
	}
	responses.n++
	_ = os.WriteFile(filepath.Join(responses.dir, fmt.Sprintf("%s-%d.xml", action, responses.n)), body, 0o600)
}

// TestMain runs the tests, then checks the responses they produced against
// botocore's IAM model (testdata/check_model.py) when python3 is present:
// element names, nesting, list members and value formats must be what the
// SDKs parse.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "bulwark-iam-responses-")
	if err == nil {
		responses.dir = dir
	}
	code := m.Run()
	if dir == "" {
		os.Exit(code)
	}
	defer os.RemoveAll(dir)
	if python, err := exec.LookPath("python3"); err == nil && code == 0 && responses.n > 0 {
		cmd := exec.Command(python, filepath.Join("testdata", "check_model.py"), dir)
		cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
		if err := cmd.Run(); err != nil {
			fmt.Fprintln(os.Stderr, "iam: responses do not match botocore's IAM model:", err)
			code = 1
		}
	}
	os.RemoveAll(dir)
	os.Exit(code)
}
