package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
)

type callerIdentity struct {
	UserID  string `json:"UserId"`
	Account string `json:"Account"`
	Arn     string `json:"Arn"`
}

// TestCLIGetCallerIdentity is the foundation's acceptance test: the aws CLI
// with the bootstrap profile gets the root ARN; with a wrong secret it gets
// SignatureDoesNotMatch; with an unknown key InvalidClientTokenId.
func TestCLIGetCallerIdentity(t *testing.T) {
	s := startServer(t, nil)
	checkCLIIdentity(t, s, "111122223333")
}

func checkCLIIdentity(t *testing.T, s *server, account string) {
	t.Helper()
	res := awsCLI(t, s, profileEnv(s.DataDir), "sts", "get-caller-identity")
	if res.Code != 0 {
		t.Fatalf("get-caller-identity failed (%d): %s\nserver log:\n%s", res.Code, res.Stderr, s.logs.String())
	}
	var id callerIdentity
	if err := json.Unmarshal([]byte(res.Stdout), &id); err != nil {
		t.Fatalf("decode %q: %v", res.Stdout, err)
	}
	want := callerIdentity{UserID: account, Account: account, Arn: "arn:aws:iam::" + account + ":root"}
	if id != want {
		t.Fatalf("identity = %+v, want %+v", id, want)
	}

	akid, _ := rootCredentials(t, s.DataDir)
	cases := []struct {
		name, akid, secret, wantCode string
	}{
		{"wrong secret", akid, "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "SignatureDoesNotMatch"},
		{"unknown key", "AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "InvalidClientTokenId"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := awsCLI(t, s, []string{"AWS_ACCESS_KEY_ID=" + tc.akid, "AWS_SECRET_ACCESS_KEY=" + tc.secret},
				"sts", "get-caller-identity")
			if res.Code == 0 || !strings.Contains(res.Stderr, "("+tc.wantCode+")") {
				t.Fatalf("exit %d, stderr %q; want error %s", res.Code, res.Stderr, tc.wantCode)
			}
		})
	}
}

// TestSDKGetCallerIdentity drives the server with aws-sdk-go-v2, including
// a presigned GetCallerIdentity URL (the way EKS and Vault's AWS auth prove
// an identity to a third party).
func TestSDKGetCallerIdentity(t *testing.T) {
	s := startServer(t, nil)
	akid, secret := rootCredentials(t, s.DataDir)
	client := stsClient(s, akid, secret, "")
	ctx := context.Background()
	out, err := client.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatal(err)
	}
	if got := aws.ToString(out.Arn); got != "arn:aws:iam::111122223333:root" {
		t.Fatalf("Arn = %q", got)
	}

	presigned, err := sts.NewPresignClient(client).PresignGetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(presigned.Method, presigned.URL, nil)
	for k, vs := range presigned.SignedHeader {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body := new(strings.Builder)
	_, _ = io.Copy(body, resp.Body)
	if resp.StatusCode != 200 || !strings.Contains(body.String(), "<Arn>arn:aws:iam::111122223333:root</Arn>") {
		t.Fatalf("presigned call: %d %s", resp.StatusCode, body)
	}

	_, err = stsClient(s, akid, "not-the-secret", "").GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "SignatureDoesNotMatch" {
		t.Fatalf("wrong secret: err = %v, want SignatureDoesNotMatch", err)
	}
	_, err = stsClient(s, akid, secret, "made-up-session-token").GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if !errors.As(err, &ae) || ae.ErrorCode() != "InvalidClientTokenId" {
		t.Fatalf("long-term key with a session token: err = %v, want InvalidClientTokenId", err)
	}
}

func stsClient(s *server, akid, secret, token string) *sts.Client {
	return sts.New(sts.Options{
		Region:           "us-east-1",
		BaseEndpoint:     aws.String(s.Endpoint),
		Credentials:      credentials.NewStaticCredentialsProvider(akid, secret, token),
		RetryMaxAttempts: 1,
	})
}

// TestBootstrapFiles checks the credentials file is 0600, holds the profile,
// is reused on restart and rewritten if deleted, and that the log never
// shows the secret.
func TestBootstrapFiles(t *testing.T) {
	dir := t.TempDir()
	s := startServer(t, nil, "--data-dir", dir)
	akid, secret := rootCredentials(t, dir)
	for _, name := range []string{"credentials", "config", "root.key"} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s mode = %v, want 0600", name, fi.Mode().Perm())
		}
	}
	if err := s.stop(); err != nil {
		t.Fatalf("stop: %v", err)
	}
	if strings.Contains(s.logs.String(), secret) {
		t.Fatal("the server log contains the root secret")
	}
	if !strings.Contains(s.logs.String(), filepath.Join(dir, "credentials")) {
		t.Fatal("the server log does not name the credentials file")
	}

	if err := os.Remove(filepath.Join(dir, "credentials")); err != nil {
		t.Fatal(err)
	}
	s2 := startServer(t, nil, "--data-dir", dir)
	akid2, secret2 := rootCredentials(t, dir)
	if akid2 != akid || secret2 != secret {
		t.Fatal("restart changed the root credential")
	}
	checkCLIIdentity(t, s2, "111122223333")
}
