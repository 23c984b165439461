package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestRunCommands(t *testing.T) {
	env := func(string) string { return "" }
	cases := []struct {
		args     []string
		code     int
		inStdout string
		inStderr string
	}{
		{nil, 2, "", "Usage:"},
		{[]string{"version"}, 0, "bulwark ", ""},
		{[]string{"help"}, 0, "bulwark server", ""},
		{[]string{"frobnicate"}, 2, "", `unknown command "frobnicate"`},
		{[]string{"server", "--listen", "0.0.0.0:4747"}, 2, "", "without TLS"},
		{[]string{"server", "-h"}, 0, "", "-listen address"},
		{[]string{"server", "--dev", "--listen", "10.0.0.1:4747"}, 2, "", "loopback"},
		{[]string{"reset", "--endpoint", "http://127.0.0.1:1"}, 1, "", "bulwark reset:"},
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
}

func TestRedactDSN(t *testing.T) {
	for in, want := range map[string]string{
		"postgres://bulwark:hunter2@db:5432/b?search_path=x": "postgres://bulwark:xxxxx@db:5432/b?search_path=x",
		"postgres://postgres@127.0.0.1:5432/test":            "postgres://postgres@127.0.0.1:5432/test",
		"sqlite:///var/lib/bulwark/bulwark.db":               "sqlite:///var/lib/bulwark/bulwark.db",
	} {
		if got := redactDSN(in); got != want {
			t.Errorf("redactDSN(%q) = %q, want %q", in, got, want)
		}
	}
}
