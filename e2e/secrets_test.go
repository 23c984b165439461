package e2e

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	sm "github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
	"github.com/aws/smithy-go"
	"github.com/jackc/pgx/v5"
)

const dbCreds = `{"username":"myuser","password":"mypassword"}`

type secretValueOut struct {
	ARN           string
	Name          string
	VersionID     string `json:"VersionId"`
	SecretString  string
	VersionStages []string
}

// TestSecretsManagerCLI runs the scenario with the unmodified aws
// CLI: the exact create-secret command, then get-secret-value by a role
// allowed to read it and by a role that only has s3:GetObject.
func TestSecretsManagerCLI(t *testing.T) {
	t.Parallel()
	s := startServer(t, []string{"BULWARK_ROOT_KEY=" + randomRootKey()})
	root := rootCLI(t, s)
	const acct = "111122223333"

	var created struct{ ARN, Name, VersionID string }
	root.ok(&created, "secretsmanager", "create-secret", "--name", "my-database-credentials", "--secret-string", dbCreds)
	if !strings.HasPrefix(created.ARN, "arn:aws:secretsmanager:us-east-1:"+acct+":secret:my-database-credentials-") ||
		len(created.ARN) != len("arn:aws:secretsmanager:us-east-1:"+acct+":secret:my-database-credentials-")+6 {
		t.Fatalf("create-secret ARN %q", created.ARN)
	}

	trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + acct + `:root"},"Action":"sts:AssumeRole"}]}`
	for role, pol := range map[string]string{
		"db-reader": allow(`"secretsmanager:GetSecretValue"`, "arn:aws:secretsmanager:us-east-1:"+acct+":secret:my-database-credentials-*"),
		"s3-reader": allow(`"s3:GetObject"`, "*"),
	} {
		root.ok(nil, "iam", "create-role", "--role-name", role, "--assume-role-policy-document", trust)
		root.ok(nil, "iam", "put-role-policy", "--role-name", role, "--policy-name", "p", "--policy-document", pol)
	}
	deployer := newUser(root, "deployer", allow(`"sts:AssumeRole"`, "arn:aws:iam::"+acct+":role/*"))
	assume := func(role string) *cli {
		var a assumeOut
		deployer.ok(&a, "sts", "assume-role", "--role-arn", "arn:aws:iam::"+acct+":role/"+role, "--role-session-name", "s1")
		return keyCLI(t, s, a.Credentials.AccessKeyID, a.Credentials.SecretAccessKey, a.Credentials.SessionToken)
	}

	var got secretValueOut
	assume("db-reader").ok(&got, "secretsmanager", "get-secret-value", "--secret-id", "my-database-credentials")
	if got.SecretString != dbCreds || got.ARN != created.ARN || !slices.Equal(got.VersionStages, []string{"AWSCURRENT"}) {
		t.Fatalf("get-secret-value: %+v", got)
	}
	assume("s3-reader").fails("AccessDeniedException", []string{
		"assumed-role/s3-reader/s1 is not authorized to perform: secretsmanager:GetSecretValue on resource: " + created.ARN,
	}, "secretsmanager", "get-secret-value", "--secret-id", "my-database-credentials")

	t.Run("actions", func(t *testing.T) {
		t.Run("versions and labels", func(t *testing.T) {
			t.Parallel()
			r := &cli{t: t, s: s, env: root.env}
			var put struct {
				VersionID string `json:"VersionId"`
			}
			r.ok(&put, "secretsmanager", "put-secret-value", "--secret-id", "my-database-credentials", "--secret-string", `{"username":"myuser","password":"second"}`)
			var prev secretValueOut
			r.ok(&prev, "secretsmanager", "get-secret-value", "--secret-id", created.ARN, "--version-stage", "AWSPREVIOUS")
			if prev.SecretString != dbCreds {
				t.Fatalf("AWSPREVIOUS = %+v", prev)
			}
			r.ok(nil, "secretsmanager", "update-secret-version-stage", "--secret-id", "my-database-credentials",
				"--version-stage", "AWSCURRENT", "--move-to-version-id", created.VersionID, "--remove-from-version-id", put.VersionID)
			var cur secretValueOut
			r.ok(&cur, "secretsmanager", "get-secret-value", "--secret-id", "my-database-credentials")
			if cur.SecretString != dbCreds {
				t.Fatalf("after moving AWSCURRENT back: %+v", cur)
			}
			var ids struct {
				Versions []struct {
					VersionID string `json:"VersionId"`
				}
			}
			r.ok(&ids, "secretsmanager", "list-secret-version-ids", "--secret-id", "my-database-credentials")
			if len(ids.Versions) != 2 {
				t.Fatalf("list-secret-version-ids: %+v", ids)
			}
			var desc struct {
				VersionIdsToStages map[string][]string
				Tags               []struct{ Key, Value string }
			}
			r.ok(nil, "secretsmanager", "tag-resource", "--secret-id", "my-database-credentials", "--tags", "Key=team,Value=db")
			r.ok(&desc, "secretsmanager", "describe-secret", "--secret-id", "my-database-credentials")
			if len(desc.VersionIdsToStages) != 2 || len(desc.Tags) != 1 {
				t.Fatalf("describe-secret: %+v", desc)
			}
			var list struct{ SecretList []struct{ Name string } }
			r.ok(&list, "secretsmanager", "list-secrets", "--filters", "Key=tag-key,Values=team")
			if len(list.SecretList) != 1 {
				t.Fatalf("list-secrets: %+v", list)
			}
			var pw struct{ RandomPassword string }
			r.ok(&pw, "secretsmanager", "get-random-password", "--password-length", "40", "--exclude-punctuation")
			if len(pw.RandomPassword) != 40 {
				t.Fatalf("get-random-password: %q", pw.RandomPassword)
			}
			r.fails("ResourceNotFoundException", []string{"can't find the specified secret"},
				"secretsmanager", "get-secret-value", "--secret-id", "nope")
			r.fails("ResourceExistsException", nil, "secretsmanager", "create-secret", "--name", "my-database-credentials", "--secret-string", "x")
		})

		t.Run("deletion", func(t *testing.T) {
			t.Parallel()
			r := &cli{t: t, s: s, env: root.env}
			r.ok(nil, "secretsmanager", "create-secret", "--name", "temp", "--secret-string", "v")
			r.fails("InvalidParameterException", nil, "secretsmanager", "delete-secret", "--secret-id", "temp", "--recovery-window-in-days", "3")
			r.ok(nil, "secretsmanager", "delete-secret", "--secret-id", "temp", "--recovery-window-in-days", "7")
			r.fails("InvalidRequestException", []string{"marked for deletion"}, "secretsmanager", "get-secret-value", "--secret-id", "temp")
			r.ok(nil, "secretsmanager", "restore-secret", "--secret-id", "temp")
			r.ok(nil, "secretsmanager", "get-secret-value", "--secret-id", "temp")
			r.ok(nil, "secretsmanager", "delete-secret", "--secret-id", "temp", "--force-delete-without-recovery")
			r.fails("ResourceNotFoundException", nil, "secretsmanager", "describe-secret", "--secret-id", "temp")
		})
	})

	// Nothing at rest or in the logs holds the plaintext.
	scanFiles(t, s.DataDir, []byte("mypassword"), []byte("second"))
	if logs := s.logs.String(); strings.Contains(logs, "mypassword") {
		t.Fatal("the server log holds a secret value")
	}
}

// scanFiles fails if any file under dir holds one of the needles.
func scanFiles(t *testing.T, dir string, needles ...[]byte) {
	t.Helper()
	n := 0
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		n++
		for _, needle := range needles {
			if bytes.Contains(b, needle) {
				t.Errorf("%s holds the plaintext %q", filepath.Base(path), needle)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n == 0 {
		t.Fatal("no files scanned")
	}
}

// TestSecretsManagerPostgresAtRest stores a secret through a server on
// PostgreSQL and scans every row of every table of its schema for the
// plaintext, as text and as hex (bytea's text form).
func TestSecretsManagerPostgresAtRest(t *testing.T) {
	t.Parallel()
	dsn := postgresDSN(t)
	s := startServer(t, []string{"BULWARK_ROOT_KEY=" + randomRootKey()}, "--store", dsn)
	root := rootCLI(t, s)
	root.ok(nil, "secretsmanager", "create-secret", "--name", "pg-creds", "--secret-string", dbCreds)
	var got secretValueOut
	root.ok(&got, "secretsmanager", "get-secret-value", "--secret-id", "pg-creds")
	if got.SecretString != dbCreds {
		t.Fatalf("get-secret-value: %+v", got)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `SELECT quote_ident(table_name) FROM information_schema.tables WHERE table_schema = current_schema()`)
	if err != nil {
		t.Fatal(err)
	}
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil || len(tables) == 0 {
		t.Fatalf("tables: %v %v", tables, err)
	}
	needles := []string{"mypassword", hex.EncodeToString([]byte("mypassword"))}
	for _, tbl := range tables {
		rows, err := conn.Query(ctx, `SELECT t::text FROM `+tbl+` t`)
		if err != nil {
			t.Fatal(err)
		}
		texts, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatal(err)
		}
		for _, row := range texts {
			for _, n := range needles {
				if strings.Contains(row, n) {
					t.Errorf("table %s holds the plaintext (%q)", tbl, n)
				}
			}
		}
	}
}

// TestSecretsManagerSDK drives every action with aws-sdk-go-v2.
func TestSecretsManagerSDK(t *testing.T) {
	t.Parallel()
	s := startServer(t, []string{"BULWARK_ROOT_KEY=" + randomRootKey()})
	akid, secret := rootCredentials(t, s.DataDir)
	c := sm.New(sm.Options{Region: "us-east-1", BaseEndpoint: aws.String(s.Endpoint),
		Credentials: credentials.NewStaticCredentialsProvider(akid, secret, ""), RetryMaxAttempts: 1})
	ctx := context.Background()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	code := func(err error) string {
		var ae smithy.APIError
		if errors.As(err, &ae) {
			return ae.ErrorCode()
		}
		return ""
	}

	cr, err := c.CreateSecret(ctx, &sm.CreateSecretInput{Name: aws.String("sdk/app"), SecretString: aws.String("s1"),
		Description: aws.String("app secret"), Tags: []smtypes.Tag{{Key: aws.String("env"), Value: aws.String("prod")}}})
	must(err)
	// The SDK's generated token makes a retry idempotent.
	again, err := c.CreateSecret(ctx, &sm.CreateSecretInput{Name: aws.String("sdk/app"), SecretString: aws.String("s1"), ClientRequestToken: cr.VersionId})
	must(err)
	if *again.ARN != *cr.ARN {
		t.Fatalf("retry ARN %s, want %s", *again.ARN, *cr.ARN)
	}
	_, err = c.CreateSecret(ctx, &sm.CreateSecretInput{Name: aws.String("sdk/app"), SecretString: aws.String("changed"), ClientRequestToken: cr.VersionId})
	if code(err) != "ResourceExistsException" {
		t.Fatalf("retry with another value: %v", err)
	}
	_, err = c.CreateSecret(ctx, &sm.CreateSecretInput{Name: aws.String("sdk/bin"), SecretBinary: []byte{0, 1, 2}})
	must(err)

	gv, err := c.GetSecretValue(ctx, &sm.GetSecretValueInput{SecretId: cr.ARN})
	must(err)
	if *gv.SecretString != "s1" || gv.CreatedDate == nil || time.Since(*gv.CreatedDate) > time.Minute {
		t.Fatalf("GetSecretValue: %+v", gv)
	}
	bv, err := c.GetSecretValue(ctx, &sm.GetSecretValueInput{SecretId: aws.String("sdk/bin")})
	must(err)
	if !bytes.Equal(bv.SecretBinary, []byte{0, 1, 2}) {
		t.Fatalf("binary %v", bv.SecretBinary)
	}
	pv, err := c.PutSecretValue(ctx, &sm.PutSecretValueInput{SecretId: aws.String("sdk/app"), SecretString: aws.String("s2")})
	must(err)
	_, err = c.UpdateSecret(ctx, &sm.UpdateSecretInput{SecretId: aws.String("sdk/app"), Description: aws.String("new")})
	must(err)
	pend, err := c.PutSecretValue(ctx, &sm.PutSecretValueInput{SecretId: aws.String("sdk/app"), SecretString: aws.String("s3"), VersionStages: []string{"AWSPENDING"}})
	must(err)
	_, err = c.UpdateSecretVersionStage(ctx, &sm.UpdateSecretVersionStageInput{SecretId: aws.String("sdk/app"), VersionStage: aws.String("AWSCURRENT"),
		MoveToVersionId: pend.VersionId, RemoveFromVersionId: pv.VersionId})
	must(err)
	ds, err := c.DescribeSecret(ctx, &sm.DescribeSecretInput{SecretId: aws.String("sdk/app")})
	must(err)
	if *ds.Description != "new" || len(ds.VersionIdsToStages) != 2 || !slices.Contains(ds.VersionIdsToStages[*pv.VersionId], "AWSPREVIOUS") ||
		ds.CreatedDate == nil || ds.LastChangedDate == nil || ds.LastAccessedDate == nil {
		t.Fatalf("DescribeSecret: %+v", ds)
	}
	bg, err := c.BatchGetSecretValue(ctx, &sm.BatchGetSecretValueInput{SecretIdList: []string{"sdk/app", "sdk/none"}})
	must(err)
	if len(bg.SecretValues) != 1 || *bg.SecretValues[0].SecretString != "s3" || len(bg.Errors) != 1 || *bg.Errors[0].ErrorCode != "ResourceNotFoundException" {
		t.Fatalf("BatchGetSecretValue: %+v", bg)
	}
	ls, err := c.ListSecrets(ctx, &sm.ListSecretsInput{Filters: []smtypes.Filter{{Key: smtypes.FilterNameStringTypeName, Values: []string{"sdk/"}}}, MaxResults: aws.Int32(1)})
	must(err)
	if len(ls.SecretList) != 1 || ls.NextToken == nil {
		t.Fatalf("ListSecrets: %+v", ls)
	}
	lv, err := c.ListSecretVersionIds(ctx, &sm.ListSecretVersionIdsInput{SecretId: aws.String("sdk/app"), IncludeDeprecated: aws.Bool(true)})
	must(err)
	if len(lv.Versions) != 3 {
		t.Fatalf("ListSecretVersionIds: %+v", lv)
	}
	_, err = c.TagResource(ctx, &sm.TagResourceInput{SecretId: aws.String("sdk/app"), Tags: []smtypes.Tag{{Key: aws.String("team"), Value: aws.String("a")}}})
	must(err)
	_, err = c.UntagResource(ctx, &sm.UntagResourceInput{SecretId: aws.String("sdk/app"), TagKeys: []string{"env"}})
	must(err)
	pol := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"secretsmanager:GetSecretValue","Resource":"*"}]}`
	vr, err := c.ValidateResourcePolicy(ctx, &sm.ValidateResourcePolicyInput{ResourcePolicy: aws.String(pol)})
	must(err)
	if !vr.PolicyValidationPassed {
		t.Fatalf("ValidateResourcePolicy: %+v", vr)
	}
	_, err = c.PutResourcePolicy(ctx, &sm.PutResourcePolicyInput{SecretId: aws.String("sdk/app"), ResourcePolicy: aws.String(pol), BlockPublicPolicy: aws.Bool(true)})
	must(err)
	_, err = c.PutResourcePolicy(ctx, &sm.PutResourcePolicyInput{SecretId: aws.String("sdk/app"), BlockPublicPolicy: aws.Bool(true),
		ResourcePolicy: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"secretsmanager:GetSecretValue","Resource":"*"}]}`)})
	if code(err) != "PublicPolicyException" {
		t.Fatalf("public policy: %v", err)
	}
	gp, err := c.GetResourcePolicy(ctx, &sm.GetResourcePolicyInput{SecretId: aws.String("sdk/app")})
	must(err)
	if *gp.ResourcePolicy != pol {
		t.Fatalf("GetResourcePolicy: %v", *gp.ResourcePolicy)
	}
	_, err = c.DeleteResourcePolicy(ctx, &sm.DeleteResourcePolicyInput{SecretId: aws.String("sdk/app")})
	must(err)
	rp, err := c.GetRandomPassword(ctx, &sm.GetRandomPasswordInput{PasswordLength: aws.Int64(64), ExcludeCharacters: aws.String("abc")})
	must(err)
	if len(*rp.RandomPassword) != 64 || strings.ContainsAny(*rp.RandomPassword, "abc") {
		t.Fatalf("GetRandomPassword: %q", *rp.RandomPassword)
	}
	del, err := c.DeleteSecret(ctx, &sm.DeleteSecretInput{SecretId: aws.String("sdk/app"), RecoveryWindowInDays: aws.Int64(7)})
	must(err)
	if del.DeletionDate == nil || del.DeletionDate.Sub(time.Now()) < 6*24*time.Hour {
		t.Fatalf("DeleteSecret: %+v", del)
	}
	_, err = c.GetSecretValue(ctx, &sm.GetSecretValueInput{SecretId: aws.String("sdk/app")})
	if code(err) != "InvalidRequestException" {
		t.Fatalf("read while pending deletion: %v", err)
	}
	_, err = c.RestoreSecret(ctx, &sm.RestoreSecretInput{SecretId: aws.String("sdk/app")})
	must(err)
	_, err = c.DeleteSecret(ctx, &sm.DeleteSecretInput{SecretId: aws.String("sdk/app"), RecoveryWindowInDays: aws.Int64(7), ForceDeleteWithoutRecovery: aws.Bool(true)})
	if code(err) != "InvalidParameterException" {
		t.Fatalf("both deletion options: %v", err)
	}
	_, err = c.GetSecretValue(ctx, &sm.GetSecretValueInput{SecretId: aws.String("sdk/none")})
	if code(err) != "ResourceNotFoundException" {
		t.Fatalf("missing secret: %v", err)
	}
}
