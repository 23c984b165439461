package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseWorkloadSpec(t *testing.T) {
	tests := []struct {
		spec    string
		wantErr string
	}{
		{"name=web,join-token-file=/j,token-file=/t", ""},
		{"name=web,join-token-file=/j,imds=127.0.0.1:9001", ""},
		{"name=web,arn=arn:aws:bulwark-workloads:us-east-1:123456789012:workload/web,identity-token-file=/k,token-file=/t", ""},
		{"join-token-file=/j,token-file=/t", "needs name="},
		{"name=web,token-file=/t", "exactly one"},
		{"name=web,join-token-file=/j,identity-token-file=/k,arn=a,token-file=/t", "exactly one"},
		{"name=web,identity-token-file=/k,token-file=/t", "needs arn="},
		{"name=web,join-token-file=/j", "token-file= (container credentials endpoint) or imds="},
		{"name=web,join-token-file=/j,imds=0.0.0.0:9001", "not a loopback"},
		{"name=web,join-token-file=/j,imds=169.254.169.254:80", "not a loopback"},
		{"name=web,join-token-file=/j,token-file=/t,color=red", "unknown workload spec key"},
		{"name=web,join-token-file", "not key=value"},
		{strings.Repeat("x", 5000), "too long"},
	}
	for _, tt := range tests {
		_, err := parseWorkloadSpec(tt.spec)
		switch {
		case tt.wantErr == "" && err != nil:
			t.Errorf("%.60s: %v", tt.spec, err)
		case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
			t.Errorf("%.60s: %v, want %q", tt.spec, err, tt.wantErr)
		}
	}
}

func TestChildEnv(t *testing.T) {
	parent := []string{"PATH=/bin", "HOME=/h", "AWS_ACCESS_KEY_ID=AKIA", "AWS_SECRET_ACCESS_KEY=s", "AWS_SESSION_TOKEN=t",
		"AWS_PROFILE=prod", "AWS_SHARED_CREDENTIALS_FILE=/c", "AWS_CONFIG_FILE=/cfg", "AWS_ROLE_ARN=r", "AWS_WEB_IDENTITY_TOKEN_FILE=/w",
		"AWS_CONTAINER_AUTHORIZATION_TOKEN=old", "AWS_REGION=eu-west-1", "AWS_ENDPOINT_URL=http://old", "BULWARK_DEV_TOKEN=x", "LANG=C"}
	env := childEnv(parent, "http://127.0.0.1:1/v1/credentials", "bwl_x", "us-east-1", "http://127.0.0.1:4747")
	got := map[string][]string{}
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		got[k] = append(got[k], v)
	}
	want := map[string]string{
		"PATH": "/bin", "HOME": "/h", "LANG": "C",
		"AWS_CONTAINER_CREDENTIALS_FULL_URI": "http://127.0.0.1:1/v1/credentials", "AWS_CONTAINER_AUTHORIZATION_TOKEN": "bwl_x",
		"AWS_SHARED_CREDENTIALS_FILE": os.DevNull, "AWS_CONFIG_FILE": os.DevNull, "AWS_EC2_METADATA_DISABLED": "true",
		"AWS_REGION": "us-east-1", "AWS_DEFAULT_REGION": "us-east-1", "AWS_ENDPOINT_URL": "http://127.0.0.1:4747",
	}
	for k, v := range want {
		if len(got[k]) != 1 || got[k][0] != v {
			t.Errorf("%s = %v, want [%s]", k, got[k], v)
		}
	}
	if len(got) != len(want) {
		t.Errorf("child environment %v has more than %v", env, want)
	}
}

func TestWorkloadCommands(t *testing.T) {
	env := func(string) string { return "" }
	dir := t.TempDir()
	cases := []struct {
		args     []string
		code     int
		inStderr string
	}{
		{[]string{"agent"}, 2, "--server and at least one --workload"},
		{[]string{"agent", "-h"}, 0, "-refresh-margin"},
		{[]string{"agent", "--server", "http://127.0.0.1:1", "--workload", "name=w"}, 2, "exactly one of join-token-file"},
		{[]string{"agent", "--server", "http://127.0.0.1:1", "--listen", "0.0.0.0:0", "--workload", "name=w,join-token-file=/nonexistent,token-file=" + filepath.Join(dir, "w.token")}, 1, "not a loopback address"},
		{[]string{"agent", "--server", "http://127.0.0.1:1", "--workload", "name=w,join-token-file=/nonexistent,token-file=" + os.DevNull}, 1, "not a regular file"},
		{[]string{"exec", "-h"}, 0, "-role"},
		{[]string{"workload"}, 2, "register"},
		{[]string{"workload", "frob", "--name", "x"}, 1, "no AWS credentials"},
		{[]string{"workload", "register"}, 2, "--name is required"},
		{[]string{"workload", "list"}, 1, "no AWS credentials"},
		{[]string{"workload", "list", "--output", "yaml"}, 2, "--output must be json or text"},
	}
	for _, tc := range cases {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			var out, errb bytes.Buffer
			if code := run(tc.args, env, &out, &errb); code != tc.code || !strings.Contains(errb.String(), tc.inStderr) {
				t.Fatalf("exit %d, stderr %q", code, errb.String())
			}
		})
	}
}

func TestExecNeedsRoleAndCommand(t *testing.T) {
	for _, args := range [][]string{{}, {"--role", "arn:aws:iam::123456789012:role/r"}, {"--", "true"}} {
		var out, errb bytes.Buffer
		if code := runExec(context.Background(), args, func(string) string { return "" }, &out, &errb); code != 2 {
			t.Errorf("exec %v: exit %d, want 2", args, code)
		}
	}
}
