package secrets

import (
	"context"
	"encoding/base64"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bulwark-security/bulwark/internal/api"
	"github.com/bulwark-security/bulwark/internal/store"
)

var arnRE = regexp.MustCompile(`^arn:aws:secretsmanager:us-east-1:111122223333:secret:([A-Za-z0-9/_+=.@-]+)-[A-Za-z0-9]{6}$`)

func TestCreateAndGet(t *testing.T) {
	h := newHarness(t)
	out := h.create("my-database-credentials", `{"username":"myuser","password":"mypassword"}`)
	if m := arnRE.FindStringSubmatch(out["ARN"].(string)); m == nil || m[1] != "my-database-credentials" {
		t.Fatalf("ARN = %v", out["ARN"])
	}
	if out["VersionId"] != token(1) || out["Name"] != "my-database-credentials" {
		t.Fatalf("create = %v", out)
	}
	arn := out["ARN"].(string)
	for _, id := range []string{"my-database-credentials", arn, strings.TrimSuffix(arn, arn[len(arn)-7:])} {
		got := h.ok("GetSecretValue", obj{"SecretId": id})
		if got["SecretString"] != `{"username":"myuser","password":"mypassword"}` || got["ARN"] != arn ||
			got["VersionId"] != token(1) || !slices.Equal(toStrings(got["VersionStages"]), []string{"AWSCURRENT"}) {
			t.Fatalf("GetSecretValue(%s) = %v", id, got)
		}
		if _, ok := got["CreatedDate"].(float64); !ok {
			t.Fatalf("CreatedDate = %v", got["CreatedDate"])
		}
	}
	// Binary values round-trip base64.
	h.ok("CreateSecret", obj{"Name": "bin", "SecretBinary": base64.StdEncoding.EncodeToString([]byte{0, 1, 2, 255})})
	got := h.ok("GetSecretValue", obj{"SecretId": "bin"})
	if got["SecretBinary"] != base64.StdEncoding.EncodeToString([]byte{0, 1, 2, 255}) || got["SecretString"] != nil {
		t.Fatalf("binary = %v", got)
	}
	// A secret without a value has no AWSCURRENT.
	h.ok("CreateSecret", obj{"Name": "empty"})
	h.fails(codeNotFound, "GetSecretValue", obj{"SecretId": "empty"})
}

func toStrings(v any) []string {
	var out []string
	for _, x := range v.([]any) {
		out = append(out, x.(string))
	}
	return out
}

func TestCreateValidation(t *testing.T) {
	long := strings.Repeat("a", 513)
	tests := []struct {
		name string
		in   obj
		code string
	}{
		{"bad char", obj{"Name": "a b"}, codeInvalidParam},
		{"empty name", obj{"Name": ""}, codeInvalidParam},
		{"long name", obj{"Name": long}, codeInvalidParam},
		{"short token", obj{"Name": "x", "ClientRequestToken": "abc"}, codeInvalidParam},
		{"both values", obj{"Name": "x", "SecretString": "a", "SecretBinary": "YQ=="}, codeInvalidParam},
		{"too big", obj{"Name": "x", "SecretString": strings.Repeat("a", maxValueBytes+1)}, codeInvalidParam},
		{"empty string", obj{"Name": "x", "SecretString": ""}, codeInvalidParam},
		{"reserved tag", obj{"Name": "x", "Tags": []obj{{"Key": "aws:x", "Value": "1"}}}, codeInvalidParam},
		{"duplicate tag", obj{"Name": "x", "Tags": []obj{{"Key": "a", "Value": "1"}, {"Key": "a", "Value": "2"}}}, codeInvalidParam},
		{"long description", obj{"Name": "x", "Description": strings.Repeat("d", 2049)}, codeInvalidParam},
		{"replica", obj{"Name": "x", "AddReplicaRegions": []obj{{"Region": "eu-west-1"}}}, codeInvalidReq},
		{"unknown key", obj{"Name": "x", "SecretString": "v", "KmsKeyId": "alias/none"}, codeEncryption},
		{"wrong type", obj{"Name": 5}, "SerializationException"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			h.fails(tt.code, "CreateSecret", tt.in)
		})
	}
	t.Run("max size ok", func(t *testing.T) {
		h := newHarness(t)
		h.ok("CreateSecret", obj{"Name": "x", "SecretString": strings.Repeat("a", maxValueBytes)})
	})
	t.Run("name ending like a suffix is accepted", func(t *testing.T) {
		h := newHarness(t)
		h.ok("CreateSecret", obj{"Name": "db-AbCdEf", "SecretString": "v"})
		if got := h.ok("GetSecretValue", obj{"SecretId": "db-AbCdEf"}); got["SecretString"] != "v" {
			t.Fatal(got)
		}
	})
}

func TestCreateIdempotency(t *testing.T) {
	h := newHarness(t)
	first := h.ok("CreateSecret", obj{"Name": "s", "SecretString": "v1", "ClientRequestToken": token(7)})
	// Same token and value: success, same ARN, no new version.
	again := h.ok("CreateSecret", obj{"Name": "s", "SecretString": "v1", "ClientRequestToken": token(7)})
	if again["ARN"] != first["ARN"] || again["VersionId"] != token(7) {
		t.Fatalf("retry = %v, first %v", again, first)
	}
	// Same token, other value.
	h.fails(codeExists, "CreateSecret", obj{"Name": "s", "SecretString": "v2", "ClientRequestToken": token(7)})
	// Other token.
	e := h.fails(codeExists, "CreateSecret", obj{"Name": "s", "SecretString": "v1", "ClientRequestToken": token(8)})
	if !strings.Contains(e.Message, "already exists") {
		t.Fatal(e.Message)
	}
	h.fails(codeExists, "CreateSecret", obj{"Name": "s"})
	vs := h.ok("ListSecretVersionIds", obj{"SecretId": "s", "IncludeDeprecated": true})
	if n := len(vs["Versions"].([]any)); n != 1 {
		t.Fatalf("%d versions", n)
	}
}

func TestPutSecretValueAndStages(t *testing.T) {
	h := newHarness(t)
	h.create("s", "v1")
	h.ok("PutSecretValue", obj{"SecretId": "s", "SecretString": "v2", "ClientRequestToken": token(2)})
	if got := h.ok("GetSecretValue", obj{"SecretId": "s"}); got["SecretString"] != "v2" {
		t.Fatal(got)
	}
	if got := h.ok("GetSecretValue", obj{"SecretId": "s", "VersionStage": "AWSPREVIOUS"}); got["SecretString"] != "v1" {
		t.Fatal(got)
	}
	if got := h.ok("GetSecretValue", obj{"SecretId": "s", "VersionId": token(1)}); got["SecretString"] != "v1" {
		t.Fatal(got)
	}
	// Idempotent retry; a different value under the same token fails.
	h.ok("PutSecretValue", obj{"SecretId": "s", "SecretString": "v2", "ClientRequestToken": token(2)})
	h.fails(codeExists, "PutSecretValue", obj{"SecretId": "s", "SecretString": "other", "ClientRequestToken": token(2)})
	h.fails(codeExists, "PutSecretValue", obj{"SecretId": "s", "SecretBinary": "djI=", "ClientRequestToken": token(2)})
	// Custom labels only.
	out := h.ok("PutSecretValue", obj{"SecretId": "s", "SecretString": "v3", "ClientRequestToken": token(3), "VersionStages": []string{"AWSPENDING", "blue"}})
	if !slices.Equal(toStrings(out["VersionStages"]), []string{"AWSPENDING", "blue"}) {
		t.Fatal(out)
	}
	if got := h.ok("GetSecretValue", obj{"SecretId": "s"}); got["SecretString"] != "v2" {
		t.Fatalf("pending changed current: %v", got)
	}
	if got := h.ok("GetSecretValue", obj{"SecretId": "s", "VersionStage": "blue"}); got["SecretString"] != "v3" {
		t.Fatal(got)
	}
	h.fails(codeNotFound, "GetSecretValue", obj{"SecretId": "s", "VersionId": token(1), "VersionStage": "AWSCURRENT"})
	h.fails(codeNotFound, "GetSecretValue", obj{"SecretId": "s", "VersionId": token(99)})
	h.fails(codeNotFound, "GetSecretValue", obj{"SecretId": "s", "VersionStage": "nope"})
	h.fails(codeInvalidParam, "PutSecretValue", obj{"SecretId": "s"})
	h.fails(codeInvalidParam, "PutSecretValue", obj{"SecretId": "s", "SecretString": "x", "VersionStages": []string{}})
	h.fails(codeNotFound, "PutSecretValue", obj{"SecretId": "missing", "SecretString": "x"})

	desc := h.ok("DescribeSecret", obj{"SecretId": "s"})
	want := map[string][]string{token(1): {"AWSPREVIOUS"}, token(2): {"AWSCURRENT"}, token(3): {"AWSPENDING", "blue"}}
	got := desc["VersionIdsToStages"].(map[string]any)
	if len(got) != len(want) {
		t.Fatalf("VersionIdsToStages = %v", got)
	}
	for id, st := range want {
		if !slices.Equal(toStrings(got[id]), st) {
			t.Fatalf("VersionIdsToStages[%s] = %v, want %v", id, got[id], st)
		}
	}
}

func TestUpdateSecretVersionStage(t *testing.T) {
	tests := []struct {
		name string
		in   obj
		code string
		want map[string][]string
	}{
		{"move current", obj{"VersionStage": "AWSCURRENT", "RemoveFromVersionId": token(2), "MoveToVersionId": token(3)}, "",
			map[string][]string{token(3): {"AWSCURRENT", "AWSPENDING"}, token(2): {"AWSPREVIOUS"}}},
		{"move current without remove", obj{"VersionStage": "AWSCURRENT", "MoveToVersionId": token(3)}, codeInvalidParam, nil},
		{"remove current", obj{"VersionStage": "AWSCURRENT", "RemoveFromVersionId": token(2)}, codeInvalidParam, nil},
		{"remove from wrong version", obj{"VersionStage": "AWSPENDING", "RemoveFromVersionId": token(2)}, codeInvalidParam, nil},
		{"remove pending", obj{"VersionStage": "AWSPENDING", "RemoveFromVersionId": token(3)}, "",
			map[string][]string{token(2): {"AWSCURRENT"}, token(1): {"AWSPREVIOUS"}}},
		{"custom label to old version", obj{"VersionStage": "green", "MoveToVersionId": token(1)}, "",
			map[string][]string{token(1): {"AWSPREVIOUS", "green"}, token(2): {"AWSCURRENT"}, token(3): {"AWSPENDING"}}},
		{"already there", obj{"VersionStage": "AWSCURRENT", "MoveToVersionId": token(2)}, "",
			map[string][]string{token(1): {"AWSPREVIOUS"}, token(2): {"AWSCURRENT"}, token(3): {"AWSPENDING"}}},
		{"unknown target", obj{"VersionStage": "x", "MoveToVersionId": token(9)}, codeNotFound, nil},
		{"neither", obj{"VersionStage": "x"}, codeInvalidParam, nil},
		{"long label", obj{"VersionStage": strings.Repeat("x", 257), "MoveToVersionId": token(1)}, codeInvalidParam, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			h.create("s", "v1")
			h.ok("PutSecretValue", obj{"SecretId": "s", "SecretString": "v2", "ClientRequestToken": token(2)})
			h.ok("PutSecretValue", obj{"SecretId": "s", "SecretString": "v3", "ClientRequestToken": token(3), "VersionStages": []string{"AWSPENDING"}})
			in := obj{"SecretId": "s"}
			for k, v := range tt.in {
				in[k] = v
			}
			if tt.code != "" {
				h.fails(tt.code, "UpdateSecretVersionStage", in)
				return
			}
			h.ok("UpdateSecretVersionStage", in)
			got := h.ok("DescribeSecret", obj{"SecretId": "s"})["VersionIdsToStages"].(map[string]any)
			if len(got) != len(tt.want) {
				t.Fatalf("stages = %v, want %v", got, tt.want)
			}
			for id, st := range tt.want {
				if !slices.Equal(toStrings(got[id]), st) {
					t.Fatalf("stages[%s] = %v, want %v", id, got[id], st)
				}
			}
		})
	}
}

func TestUpdateSecret(t *testing.T) {
	h := newHarness(t)
	h.create("s", "v1")
	out := h.ok("UpdateSecret", obj{"SecretId": "s", "Description": "new", "KmsKeyId": "alias/other", "SecretString": "v2", "ClientRequestToken": token(2)})
	if out["VersionId"] != token(2) {
		t.Fatal(out)
	}
	desc := h.ok("DescribeSecret", obj{"SecretId": "s"})
	if desc["Description"] != "new" || desc["KmsKeyId"] != "alias/other" {
		t.Fatal(desc)
	}
	v, err := h.st.GetSecretVersion(context.Background(), desc["ARN"].(string), token(2))
	if err != nil || v.KMSKeyARN != otherKey {
		t.Fatalf("new version key %q %v", v.KMSKeyARN, err)
	}
	if got := h.ok("GetSecretValue", obj{"SecretId": "s"}); got["SecretString"] != "v2" {
		t.Fatal(got)
	}
	// The labelled old version was re-encrypted under the new key, and opens.
	if got := h.ok("GetSecretValue", obj{"SecretId": "s", "VersionId": token(1)}); got["SecretString"] != "v1" {
		t.Fatal(got)
	}
	if v, _ := h.st.GetSecretVersion(context.Background(), desc["ARN"].(string), token(1)); v.KMSKeyARN != otherKey {
		t.Fatalf("AWSPREVIOUS still under %s", v.KMSKeyARN)
	}
	// A key change alone re-encrypts too; a version the caller cannot
	// decrypt stays as it was.
	h.ok("UpdateSecret", obj{"SecretId": "s", "KmsKeyId": ""})
	for _, id := range []string{token(1), token(2)} {
		if v, _ := h.st.GetSecretVersion(context.Background(), desc["ARN"].(string), id); v.KMSKeyARN != defaultKey {
			t.Fatalf("version %s under %s after the key change", id, v.KMSKeyARN)
		}
	}
	if got := h.ok("GetSecretValue", obj{"SecretId": "s"}); got["SecretString"] != "v2" {
		t.Fatal(got)
	}
	if out := h.ok("UpdateSecret", obj{"SecretId": "s", "Description": ""}); out["VersionId"] != nil {
		t.Fatal(out)
	}
	h.fails(codeEncryption, "UpdateSecret", obj{"SecretId": "s", "KmsKeyId": "alias/missing"})
	h.fails(codeNotFound, "UpdateSecret", obj{"SecretId": "nope", "Description": "x"})
}

func TestDeleteRestorePurge(t *testing.T) {
	h := newHarness(t)
	arn := h.create("s", "v1")["ARN"].(string)
	h.fails(codeInvalidParam, "DeleteSecret", obj{"SecretId": "s", "RecoveryWindowInDays": 7, "ForceDeleteWithoutRecovery": true})
	h.fails(codeInvalidParam, "DeleteSecret", obj{"SecretId": "s", "RecoveryWindowInDays": 6})
	h.fails(codeInvalidParam, "DeleteSecret", obj{"SecretId": "s", "RecoveryWindowInDays": 31})
	out := h.ok("DeleteSecret", obj{"SecretId": "s", "RecoveryWindowInDays": 7})
	if want := float64(h.now.Add(7 * 24 * time.Hour).Unix()); out["DeletionDate"] != want {
		t.Fatalf("DeletionDate = %v, want %v", out["DeletionDate"], want)
	}
	e := h.fails(codeInvalidReq, "GetSecretValue", obj{"SecretId": "s"})
	if !strings.Contains(e.Message, "marked for deletion") {
		t.Fatal(e.Message)
	}
	for _, a := range []string{"PutSecretValue", "UpdateSecret", "TagResource"} {
		h.fails(codeInvalidReq, a, obj{"SecretId": "s", "SecretString": "x", "Tags": []obj{{"Key": "k", "Value": "v"}}})
	}
	h.fails(codeInvalidReq, "DeleteSecret", obj{"SecretId": "s"})
	h.fails(codeInvalidReq, "CreateSecret", obj{"Name": "s", "SecretString": "x"})
	if d := h.ok("DescribeSecret", obj{"SecretId": "s"}); d["DeletedDate"] == nil {
		t.Fatal(d)
	}
	if l := h.ok("ListSecrets", obj{}); len(l["SecretList"].([]any)) != 0 {
		t.Fatal(l)
	}
	if l := h.ok("ListSecrets", obj{"IncludePlannedDeletion": true}); len(l["SecretList"].([]any)) != 1 {
		t.Fatal(l)
	}
	h.ok("RestoreSecret", obj{"SecretId": "s"})
	if got := h.ok("GetSecretValue", obj{"SecretId": "s"}); got["SecretString"] != "v1" {
		t.Fatal(got)
	}
	// The purge removes it once the window ends, and not before.
	h.ok("DeleteSecret", obj{"SecretId": arn, "RecoveryWindowInDays": 7})
	h.now = h.now.Add(6 * 24 * time.Hour)
	if n := h.s.Purge(context.Background()); n != 0 {
		t.Fatalf("purged %d early", n)
	}
	h.now = h.now.Add(25 * time.Hour)
	if n := h.s.Purge(context.Background()); n != 1 {
		t.Fatalf("purged %d", n)
	}
	h.fails(codeNotFound, "DescribeSecret", obj{"SecretId": "s"})
	// Force delete is immediate and frees the name.
	h.create("s", "v1")
	h.ok("DeleteSecret", obj{"SecretId": "s", "ForceDeleteWithoutRecovery": true})
	h.fails(codeNotFound, "GetSecretValue", obj{"SecretId": "s"})
	h.create("s", "again")
}

func TestTags(t *testing.T) {
	h := newHarness(t)
	h.ok("CreateSecret", obj{"Name": "s", "Tags": []obj{{"Key": "a", "Value": "1"}}})
	h.ok("TagResource", obj{"SecretId": "s", "Tags": []obj{{"Key": "a", "Value": "2"}, {"Key": "b", "Value": ""}}})
	h.ok("UntagResource", obj{"SecretId": "s", "TagKeys": []string{"b", "zzz"}})
	tags := h.ok("DescribeSecret", obj{"SecretId": "s"})["Tags"].([]any)
	if len(tags) != 1 || tags[0].(map[string]any)["Value"] != "2" {
		t.Fatal(tags)
	}
	many := make([]obj, 50)
	for i := range many {
		many[i] = obj{"Key": "k" + strings.Repeat("x", i), "Value": "v"}
	}
	h.fails(codeInvalidParam, "TagResource", obj{"SecretId": "s", "Tags": many})
	h.fails(codeInvalidParam, "TagResource", obj{"SecretId": "s"})
}

func TestListSecretsFilters(t *testing.T) {
	h := newHarness(t)
	mk := func(name, desc string, tags ...string) {
		in := obj{"Name": name, "Description": desc}
		var ts []obj
		for i := 0; i+1 < len(tags); i += 2 {
			ts = append(ts, obj{"Key": tags[i], "Value": tags[i+1]})
		}
		if ts != nil {
			in["Tags"] = ts
		}
		h.ok("CreateSecret", in)
		h.now = h.now.Add(time.Second)
	}
	mk("prod/db/main", "Main database credentials", "env", "prod", "team", "data")
	mk("prod/api/key", "Payments API key", "env", "prod")
	mk("dev/db/main", "dev database", "env", "dev")
	mk("DatabaseSecret", "other")
	tests := []struct {
		name    string
		filters []obj
		want    []string
	}{
		{"name prefix", []obj{{"Key": "name", "Values": []string{"prod/"}}}, []string{"prod/db/main", "prod/api/key"}},
		{"name case-sensitive", []obj{{"Key": "name", "Values": []string{"data"}}}, nil},
		{"name negated", []obj{{"Key": "name", "Values": []string{"!prod"}}}, []string{"dev/db/main", "DatabaseSecret"}},
		{"two values or", []obj{{"Key": "name", "Values": []string{"dev", "Data"}}}, []string{"dev/db/main", "DatabaseSecret"}},
		{"description words", []obj{{"Key": "description", "Values": []string{"DATABASE"}}}, []string{"prod/db/main", "dev/db/main"}},
		{"tag key", []obj{{"Key": "tag-key", "Values": []string{"te"}}}, []string{"prod/db/main"}},
		{"tag value", []obj{{"Key": "tag-value", "Values": []string{"prod"}}}, []string{"prod/db/main", "prod/api/key"}},
		{"and across filters", []obj{{"Key": "tag-value", "Values": []string{"prod"}}, {"Key": "name", "Values": []string{"prod/api"}}}, []string{"prod/api/key"}},
		{"all", []obj{{"Key": "all", "Values": []string{"payments"}}}, []string{"prod/api/key"}},
		{"all splits words", []obj{{"Key": "all", "Values": []string{"databaseSecret"}}}, []string{"DatabaseSecret"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := h.with(t).ok("ListSecrets", obj{"Filters": tt.filters})
			var got []string
			for _, e := range out["SecretList"].([]any) {
				got = append(got, e.(map[string]any)["Name"].(string))
			}
			if !slices.Equal(got, tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
		})
	}
	// Paging and sort order.
	var names []string
	next := ""
	for {
		in := obj{"MaxResults": 3, "SortOrder": "desc"}
		if next != "" {
			in["NextToken"] = next
		}
		out := h.ok("ListSecrets", in)
		for _, e := range out["SecretList"].([]any) {
			names = append(names, e.(map[string]any)["Name"].(string))
		}
		n, _ := out["NextToken"].(string)
		if n == "" {
			break
		}
		next = n
	}
	if !slices.Equal(names, []string{"DatabaseSecret", "dev/db/main", "prod/api/key", "prod/db/main"}) {
		t.Fatal(names)
	}
	for _, bad := range []obj{
		{"MaxResults": 0}, {"MaxResults": 101}, {"SortOrder": "up"}, {"NextToken": "!!"},
		{"Filters": []obj{{"Key": "bogus", "Values": []string{"a"}}}},
		{"Filters": []obj{{"Key": "name", "Values": []string{"a;b"}}}},
		{"Filters": []obj{{"Key": "name", "Values": []string{}}}},
	} {
		h.fails(codeInvalidParam, "ListSecrets", bad)
	}
}

func TestListSecretVersionIds(t *testing.T) {
	h := newHarness(t)
	h.create("s", "v0")
	for i := 2; i <= 5; i++ {
		h.ok("PutSecretValue", obj{"SecretId": "s", "SecretString": "v", "ClientRequestToken": token(i)})
	}
	h.ok("GetSecretValue", obj{"SecretId": "s"})
	out := h.ok("ListSecretVersionIds", obj{"SecretId": "s"})
	if len(out["Versions"].([]any)) != 2 {
		t.Fatalf("without deprecated: %v", out)
	}
	// The version read has today's date as LastAccessedDate, the other none.
	day := float64(time.Date(h.now.Year(), h.now.Month(), h.now.Day(), 0, 0, 0, 0, time.UTC).Unix())
	for _, e := range out["Versions"].([]any) {
		m := e.(map[string]any)
		if want := m["VersionId"] == token(5); (m["LastAccessedDate"] == day) != want {
			t.Fatalf("version %v LastAccessedDate %v", m["VersionId"], m["LastAccessedDate"])
		}
	}
	out = h.ok("ListSecretVersionIds", obj{"SecretId": "s", "IncludeDeprecated": true, "MaxResults": 3})
	if len(out["Versions"].([]any)) != 3 || out["NextToken"] == nil {
		t.Fatal(out)
	}
	out = h.ok("ListSecretVersionIds", obj{"SecretId": "s", "IncludeDeprecated": true, "MaxResults": 3, "NextToken": out["NextToken"]})
	if len(out["Versions"].([]any)) != 2 || out["NextToken"] != nil {
		t.Fatal(out)
	}
}

func TestKMSFailures(t *testing.T) {
	h := newHarness(t)
	h.create("s", "v1")
	alice := user("alice")
	h.allow(alice, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"secretsmanager:*","Resource":"*"}]}`)
	h.kms.denied[alice.ARN] = true
	if _, err := h.do(alice, "GetSecretValue", obj{"SecretId": "s"}); err == nil || err.Code != codeAccessDenied || err.Message != "Access to KMS is not allowed" {
		t.Fatalf("KMS denied: %v", err)
	}
	if _, err := h.do(alice, "PutSecretValue", obj{"SecretId": "s", "SecretString": "x"}); err == nil || err.Code != codeAccessDenied {
		t.Fatalf("KMS denied on put: %v", err)
	}
	h.kms.disabled[defaultKey] = true
	h.fails(codeDecryption, "GetSecretValue", obj{"SecretId": "s"})
	h.fails(codeEncryption, "PutSecretValue", obj{"SecretId": "s", "SecretString": "x"})
	h.kms.disabled[defaultKey] = false
	// A sealed value moved to another version does not open.
	arn := h.ok("DescribeSecret", obj{"SecretId": "s"})["ARN"].(string)
	v, err := h.st.GetSecretVersion(context.Background(), arn, token(1))
	if err != nil {
		t.Fatal(err)
	}
	v.VersionID, v.Stages = token(5), []string{"moved"}
	if err := h.st.PutSecretVersion(context.Background(), v, h.now, 100, 0); err != nil {
		t.Fatal(err)
	}
	h.fails(codeDecryption, "GetSecretValue", obj{"SecretId": "s", "VersionStage": "moved"})
}

func TestAuthorization(t *testing.T) {
	h := newHarness(t)
	arn := h.create("app/db", "v1")["ARN"].(string)
	reader, s3only, tagged := user("reader"), user("s3only"), user("tagged")
	h.allow(reader, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"secretsmanager:GetSecretValue","Resource":"arn:aws:secretsmanager:us-east-1:111122223333:secret:app/*"}]}`)
	h.allow(s3only, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}`)
	h.allow(tagged, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"secretsmanager:GetSecretValue","Resource":"*","Condition":{"StringEquals":{"secretsmanager:ResourceTag/team":"db"}}}]}`)
	if out, err := h.do(reader, "GetSecretValue", obj{"SecretId": "app/db"}); err != nil || out["SecretString"] != "v1" {
		t.Fatalf("reader: %v %v", out, err)
	}
	if _, err := h.do(s3only, "GetSecretValue", obj{"SecretId": "app/db"}); err == nil || err.Code != codeAccessDenied || err.Status != 400 {
		t.Fatalf("s3only: %v", err)
	}
	// Not found: a caller who may not read it learns nothing.
	if _, err := h.do(s3only, "GetSecretValue", obj{"SecretId": "app/none"}); err == nil || err.Code != codeAccessDenied {
		t.Fatalf("s3only on missing: %v", err)
	}
	if _, err := h.do(reader, "GetSecretValue", obj{"SecretId": "app/none"}); err == nil || err.Code != codeNotFound {
		t.Fatalf("reader on missing: %v", err)
	}
	if _, err := h.do(tagged, "GetSecretValue", obj{"SecretId": "app/db"}); err == nil || err.Code != codeAccessDenied {
		t.Fatalf("tagged before tag: %v", err)
	}
	h.ok("TagResource", obj{"SecretId": "app/db", "Tags": []obj{{"Key": "team", "Value": "db"}}})
	if _, err := h.do(tagged, "GetSecretValue", obj{"SecretId": "app/db"}); err != nil {
		t.Fatalf("tagged after tag: %v", err)
	}
	// A resource policy can allow within the account and deny explicitly.
	h.ok("PutResourcePolicy", obj{"SecretId": "app/db", "ResourcePolicy": `{"Version":"2012-10-17","Statement":[
		{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:user/s3only"},"Action":"secretsmanager:GetSecretValue","Resource":"*"},
		{"Effect":"Deny","Principal":{"AWS":"arn:aws:iam::111122223333:user/reader"},"Action":"secretsmanager:GetSecretValue","Resource":"*"}]}`})
	if _, err := h.do(s3only, "GetSecretValue", obj{"SecretId": arn}); err != nil {
		t.Fatalf("resource policy allow: %v", err)
	}
	if _, err := h.do(reader, "GetSecretValue", obj{"SecretId": arn}); err == nil || err.Code != codeAccessDenied {
		t.Fatalf("resource policy deny: %v", err)
	}
	// Version condition keys.
	vk := user("vk")
	h.allow(vk, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"secretsmanager:GetSecretValue","Resource":"*","Condition":{"StringEquals":{"secretsmanager:VersionStage":"AWSPREVIOUS"}}}]}`)
	if _, err := h.do(vk, "GetSecretValue", obj{"SecretId": "app/db"}); err == nil || err.Code != codeAccessDenied {
		t.Fatalf("no stage: %v", err)
	}
	// CreateSecret is authorised on the new ARN with its random suffix.
	creator := user("creator")
	h.allow(creator, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"secretsmanager:CreateSecret","Resource":"arn:aws:secretsmanager:*:*:secret:team/*-??????","Condition":{"StringEquals":{"aws:RequestTag/owner":"me"}}}]}`)
	if _, err := h.do(creator, "CreateSecret", obj{"Name": "team/x", "Tags": []obj{{"Key": "owner", "Value": "me"}}}); err != nil {
		t.Fatalf("creator: %v", err)
	}
	if _, err := h.do(creator, "CreateSecret", obj{"Name": "team/y"}); err == nil || err.Code != codeAccessDenied {
		t.Fatalf("creator without tag: %v", err)
	}
	// Every row handed from Resources to ResourcePolicy was taken.
	h.s.resolved.Range(func(k, _ any) bool {
		t.Errorf("resolved secret left behind for %v", k)
		return true
	})
}

func TestBatchGetSecretValue(t *testing.T) {
	h := newHarness(t)
	h.create("a/1", "one")
	h.create("a/2", "two")
	h.create("b/1", "three")
	u := user("u")
	h.allow(u, `{"Version":"2012-10-17","Statement":[
		{"Effect":"Allow","Action":["secretsmanager:BatchGetSecretValue","secretsmanager:ListSecrets"],"Resource":"*"},
		{"Effect":"Allow","Action":"secretsmanager:GetSecretValue","Resource":"arn:aws:secretsmanager:*:*:secret:a/*"}]}`)
	out, err := h.do(u, "BatchGetSecretValue", obj{"SecretIdList": []string{"a/1", "b/1", "a/none", "a/2"}})
	if err != nil {
		t.Fatal(err)
	}
	vals := out["SecretValues"].([]any)
	if len(vals) != 2 || vals[0].(map[string]any)["SecretString"] != "one" || vals[1].(map[string]any)["SecretString"] != "two" {
		t.Fatalf("values %v", vals)
	}
	errs := out["Errors"].([]any)
	if len(errs) != 2 || errs[0].(map[string]any)["ErrorCode"] != codeAccessDenied || errs[1].(map[string]any)["ErrorCode"] != codeNotFound {
		t.Fatalf("errors %v", errs)
	}
	out, err = h.do(u, "BatchGetSecretValue", obj{"Filters": []obj{{"Key": "name", "Values": []string{"a/"}}}, "MaxResults": 1})
	if err != nil || len(out["SecretValues"].([]any)) != 1 || out["NextToken"] == nil {
		t.Fatalf("filters: %v %v", out, err)
	}
	h.fails(codeInvalidParam, "BatchGetSecretValue", obj{})
	h.fails(codeInvalidParam, "BatchGetSecretValue", obj{"SecretIdList": []string{"a"}, "Filters": []obj{{"Key": "name", "Values": []string{"a"}}}})
	h.fails(codeInvalidParam, "BatchGetSecretValue", obj{"SecretIdList": []string{"a"}, "MaxResults": 5})
	// Filters need ListSecrets.
	nolist := user("nolist")
	h.allow(nolist, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["secretsmanager:BatchGetSecretValue","secretsmanager:GetSecretValue"],"Resource":"*"}]}`)
	if _, err := h.do(nolist, "BatchGetSecretValue", obj{"Filters": []obj{{"Key": "name", "Values": []string{"a/"}}}}); err == nil || err.Code != codeAccessDenied {
		t.Fatalf("without ListSecrets: %v", err)
	}
}

func TestResourcePolicies(t *testing.T) {
	h := newHarness(t)
	h.create("s", "v")
	public := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"secretsmanager:GetSecretValue","Resource":"*"}]}`
	limited := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"secretsmanager:GetSecretValue","Resource":"*","Condition":{"StringEquals":{"aws:PrincipalAccount":"111122223333"}}}]}`
	tests := []struct {
		name  string
		doc   string
		block bool
		code  string
	}{
		{"public blocked", public, true, codePublicPolicy},
		{"public allowed when not blocked", public, false, ""},
		{"limited by account", limited, true, ""},
		{"wildcard account principal", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"secretsmanager:*","Resource":"*"}]}`, true, codePublicPolicy},
		{"malformed", `{"Version":"2012-10-17","Statement":[{"Effect":"Maybe"}]}`, false, codeMalformed},
		{"not json", `nope`, false, codeMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := h.with(t)
			in := obj{"SecretId": "s", "ResourcePolicy": tt.doc, "BlockPublicPolicy": tt.block}
			if tt.code != "" {
				h.fails(tt.code, "PutResourcePolicy", in)
				return
			}
			h.ok("PutResourcePolicy", in)
			if got := h.ok("GetResourcePolicy", obj{"SecretId": "s"}); got["ResourcePolicy"] != tt.doc {
				t.Fatal(got)
			}
		})
	}
	h.ok("DeleteResourcePolicy", obj{"SecretId": "s"})
	if got := h.ok("GetResourcePolicy", obj{"SecretId": "s"}); got["ResourcePolicy"] != nil {
		t.Fatal(got)
	}
	v := h.ok("ValidateResourcePolicy", obj{"ResourcePolicy": public})
	if v["PolicyValidationPassed"] != false || len(v["ValidationErrors"].([]any)) != 1 {
		t.Fatal(v)
	}
	v = h.ok("ValidateResourcePolicy", obj{"SecretId": "s", "ResourcePolicy": limited})
	if v["PolicyValidationPassed"] != true {
		t.Fatal(v)
	}
	v = h.ok("ValidateResourcePolicy", obj{"ResourcePolicy": `{"Statement":[{"Effect":"Allow"}]}`})
	if v["PolicyValidationPassed"] != false {
		t.Fatal(v)
	}
	h.fails(codeNotFound, "ValidateResourcePolicy", obj{"SecretId": "none", "ResourcePolicy": limited})
}

func TestGetRandomPassword(t *testing.T) {
	tests := []struct {
		name  string
		in    obj
		code  string
		check func(string) bool
	}{
		{"default", obj{}, "", func(p string) bool {
			return len(p) == 32 && strings.ContainsAny(p, lowerChars) && strings.ContainsAny(p, upperChars) &&
				strings.ContainsAny(p, digitChars) && strings.ContainsAny(p, punctChars)
		}},
		{"digits only", obj{"PasswordLength": 12, "ExcludeLowercase": true, "ExcludeUppercase": true, "ExcludePunctuation": true}, "",
			func(p string) bool { return len(p) == 12 && strings.Trim(p, digitChars) == "" }},
		{"exclude characters", obj{"PasswordLength": 200, "ExcludeCharacters": "abcABC012!\"#"}, "",
			func(p string) bool { return !strings.ContainsAny(p, "abcABC012!\"#") }},
		{"space", obj{"PasswordLength": 4096, "IncludeSpace": true, "RequireEachIncludedType": false}, "",
			func(p string) bool { return len(p) == 4096 && strings.Contains(p, " ") }},
		{"each type in 4", obj{"PasswordLength": 4}, "", func(p string) bool { return len(p) == 4 }},
		{"too short for each type", obj{"PasswordLength": 3}, codeInvalidParam, nil},
		{"zero", obj{"PasswordLength": 0}, codeInvalidParam, nil},
		{"too long", obj{"PasswordLength": 4097}, codeInvalidParam, nil},
		{"all excluded", obj{"ExcludeLowercase": true, "ExcludeUppercase": true, "ExcludePunctuation": true, "ExcludeNumbers": true}, codeInvalidParam, nil},
	}
	h := newHarness(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := h.with(t)
			if tt.code != "" {
				h.fails(tt.code, "GetRandomPassword", tt.in)
				return
			}
			p := h.ok("GetRandomPassword", tt.in)["RandomPassword"].(string)
			if !tt.check(p) {
				t.Fatalf("password %q", p)
			}
		})
	}
}

// TestPasswordUniform checks the draw has no gross bias: each of the 10
// digits appears close to a tenth of the time.
func TestPasswordUniform(t *testing.T) {
	n := int64(4096)
	in := &randomPasswordInput{PasswordLength: &n, ExcludeLowercase: true, ExcludeUppercase: true, ExcludePunctuation: true}
	counts := map[rune]int{}
	for range 10 {
		p, err := randomPassword(in)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range p {
			counts[r]++
		}
	}
	for r, c := range counts {
		if c < 3500 || c > 4700 { // expected 4096, sd ~61
			t.Errorf("digit %c drawn %d times of 40960", r, c)
		}
	}
}

func TestRotationAPI(t *testing.T) {
	h := newHarness(t)
	arn := h.create("s", "v1")["ARN"].(string)
	ctx := context.Background()
	c := h.call()
	cur, bin, v, err := h.s.ReadVersion(ctx, c, arn, "", "")
	if err != nil || string(cur) != "v1" || bin || v.VersionID != token(1) {
		t.Fatalf("read current: %q %v %v", cur, v.VersionID, err)
	}
	if _, err := h.s.PutVersion(ctx, c, arn, token(2), []byte("v2"), false, []string{store.StagePending}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.s.PutVersion(ctx, c, arn, token(2), []byte("v2"), false, []string{store.StagePending}); err != nil {
		t.Fatalf("retried step: %v", err)
	}
	if _, err := h.s.PutVersion(ctx, c, arn, token(2), []byte("other"), false, []string{store.StagePending}); !isCode(err, codeExists) {
		t.Fatalf("changed value: %v", err)
	}
	if err := h.s.MoveStage(ctx, arn, store.StageCurrent, token(2), token(2)); !isCode(err, codeInvalidReq) {
		t.Fatalf("stale move: %v", err)
	}
	if err := h.s.MoveStage(ctx, arn, store.StageCurrent, token(1), token(2)); err != nil {
		t.Fatal(err)
	}
	if err := h.s.MoveStage(ctx, arn, store.StagePending, token(2), ""); err != nil {
		t.Fatal(err)
	}
	if got := h.ok("GetSecretValue", obj{"SecretId": "s"}); got["SecretString"] != "v2" {
		t.Fatal(got)
	}
	next := h.now.Add(30 * 24 * time.Hour)
	if _, err := h.s.UpdateRotation(ctx, arn, func(s *store.Secret) error {
		s.RotationEnabled, s.RotationAfterDays, s.RotationLambdaARN = true, 30, "arn:aws:lambda:us-east-1:111122223333:function:rot"
		s.LastRotatedAt, s.NextRotationAt = h.now, next
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	d := h.ok("DescribeSecret", obj{"SecretId": "s"})
	rules, _ := d["RotationRules"].(map[string]any)
	if d["RotationEnabled"] != true || rules["AutomaticallyAfterDays"] != float64(30) || d["NextRotationDate"] != float64(next.Unix()) {
		t.Fatal(d)
	}
	l := h.ok("ListSecrets", obj{})["SecretList"].([]any)[0].(map[string]any)
	if l["RotationEnabled"] != true || l["SecretVersionsToStages"] == nil {
		t.Fatal(l)
	}
	if _, err := h.s.Secret(ctx, c, "none"); !IsNotFound(err) {
		t.Fatal(err)
	}
}

func (h *harness) call() *api.Call {
	return &api.Call{RequestID: "r", Principal: root, Region: testRegion, Service: h.s.API()}
}

func TestNotLogged(t *testing.T) {
	in := &createSecretInput{Name: "x"}
	s := "hunter2"
	in.SecretString = &s
	if strings.Contains(in.String(), s) {
		t.Fatal("input String shows the value")
	}
	if strings.Contains(secretValueOutput{SecretString: &s}.String(), s) {
		t.Fatal("output String shows the value")
	}
	_ = base64.StdEncoding
}

// RotateSecret's AWSPENDING placeholder: listed among the versions before
// the rotation function's createSecret step, unreadable until
// PutSecretValue with its token gives it a value, then idempotent like any
// version.
func TestPendingPlaceholder(t *testing.T) {
	h := newHarness(t)
	arn := h.create("s", "v1")["ARN"].(string)
	ctx := context.Background()
	if err := h.s.PreparePending(ctx, arn, token(2)); err != nil {
		t.Fatal(err)
	}
	if err := h.s.PreparePending(ctx, arn, token(2)); err != nil {
		t.Fatalf("resumed rotation: %v", err)
	}
	d := h.ok("DescribeSecret", obj{"SecretId": "s"})
	if st, _ := d["VersionIdsToStages"].(map[string]any)[token(2)].([]any); len(st) != 1 || st[0] != store.StagePending {
		t.Fatalf("placeholder stages: %v", d["VersionIdsToStages"])
	}
	vs := h.ok("ListSecretVersionIds", obj{"SecretId": "s"})["Versions"].([]any)
	for _, v := range vs {
		if m := v.(map[string]any); m["VersionId"] == token(2) && m["KmsKeyIds"] != nil {
			t.Fatalf("placeholder lists a key: %v", m)
		}
	}
	if e := h.fails(codeNotFound, "GetSecretValue", obj{"SecretId": "s", "VersionStage": store.StagePending}); !strings.Contains(e.Message, "can't find the specified secret value") {
		t.Fatal(e.Message)
	}
	if e := h.fails(codeNotFound, "GetSecretValue", obj{"SecretId": "s", "VersionId": token(2)}); e == nil {
		t.Fatal("placeholder read")
	}
	put := obj{"SecretId": "s", "ClientRequestToken": token(2), "SecretString": "v2", "VersionStages": []string{store.StagePending}}
	if got := h.ok("PutSecretValue", put); got["VersionId"] != token(2) {
		t.Fatal(got)
	}
	if got := h.ok("GetSecretValue", obj{"SecretId": "s", "VersionStage": store.StagePending}); got["SecretString"] != "v2" || got["VersionId"] != token(2) {
		t.Fatal(got)
	}
	h.ok("PutSecretValue", put) // a retried step
	put["SecretString"] = "other"
	h.fails(codeExists, "PutSecretValue", put)
	if got := h.ok("GetSecretValue", obj{"SecretId": "s"}); got["SecretString"] != "v1" {
		t.Fatalf("AWSCURRENT moved: %v", got)
	}
	// A new rotation's placeholder takes the label from the old version.
	if err := h.s.PreparePending(ctx, arn, token(3)); err != nil {
		t.Fatal(err)
	}
	d = h.ok("DescribeSecret", obj{"SecretId": "s"})
	if m := d["VersionIdsToStages"].(map[string]any); m[token(2)] != nil || len(m[token(3)].([]any)) != 1 {
		t.Fatalf("stages after a second placeholder: %v", m)
	}
}
