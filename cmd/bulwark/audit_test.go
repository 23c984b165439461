package main

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"
)

func TestAuditCommands(t *testing.T) {
	env := func(string) string { return "" }
	empty := t.TempDir()
	cases := []struct {
		args     []string
		code     int
		inStdout string
		inStderr string
	}{
		{[]string{"audit"}, 2, "", "bulwark audit verify"},
		{[]string{"audit", "-h"}, 0, "", "bulwark audit public-key"},
		{[]string{"audit", "frobnicate", "--data-dir", empty}, 2, "", `unknown command "frobnicate"`},
		{[]string{"audit", "verify", "--dev"}, 2, "", "dev-mode"},
		{[]string{"audit", "verify", "--public-key"}, 2, "", "needs a file"},
		// Verify never creates a root key: without one it asks for --public-key.
		{[]string{"audit", "verify", "--data-dir", empty}, 2, "", "give --public-key"},
		{[]string{"audit", "verify", "--data-dir", empty, "--public-key", filepath.Join(empty, "nope.pem")}, 2, "", "nope.pem"},
	}
	for _, tc := range cases {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			var out, errb bytes.Buffer
			code := run(tc.args, env, &out, &errb)
			if code != tc.code || !strings.Contains(out.String(), tc.inStdout) || !strings.Contains(errb.String(), tc.inStderr) {
				t.Fatalf("exit %d, stdout %q, stderr %q", code, out.String(), errb.String())
			}
		})
	}
	if m, _ := filepath.Glob(filepath.Join(empty, "*")); len(m) != 0 {
		t.Fatalf("verify created %v", m)
	}
}
