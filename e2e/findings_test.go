package e2e

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/bulwark-security/bulwark/internal/sigv4"
)

type finding struct {
	ID           string `json:"Id"`
	ProductArn   string `json:"ProductArn"`
	GeneratorID  string `json:"GeneratorId"`
	AwsAccountID string `json:"AwsAccountId"`
	Types        []string
	Title        string
	Severity     struct {
		Label      string
		Normalized int
	}
	Workflow    struct{ Status string }
	RecordState string
	Resources   []struct {
		Type string
		ID   string `json:"Id"`
	}
	ProductFields   map[string]string
	Note            *struct{ Text, UpdatedBy string }
	FirstObservedAt string
	LastObservedAt  string
	CreatedAt       string
	UpdatedAt       string
}

type findingsOut struct {
	Findings []finding
}

// filter builds a Security Hub filter of EQUALS comparisons.
func filter(kv ...string) string {
	m := map[string][]map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = append(m[kv[i]], map[string]string{"Value": kv[i+1], "Comparison": "EQUALS"})
	}
	b, _ := json.Marshal(m)
	return string(b)
}

// waitFindings polls get-findings until it returns want findings (the
// detectors run behind the request path).
func waitFindings(c *cli, want int, filters string) []finding {
	c.t.Helper()
	var out findingsOut
	for deadline := time.Now().Add(10 * time.Second); ; {
		c.ok(&out, "securityhub", "get-findings", "--filters", filters)
		if len(out.Findings) == want || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if len(out.Findings) != want {
		c.t.Fatalf("get-findings %s: %d findings, want %d: %+v", filters, len(out.Findings), want, out.Findings)
	}
	return out.Findings
}

// badSignature sends a GetCallerIdentity signed with akid and a wrong
// secret.
func badSignature(t *testing.T, s *server, akid string) {
	t.Helper()
	body := "Action=GetCallerIdentity&Version=2011-06-15"
	req, err := http.NewRequest("POST", s.Endpoint+"/", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if err := sigv4.Sign(req, []byte(body), akid, []byte("not-the-secret-not-the-secret-not-the-se"), "", "us-east-1", "sts", time.Now()); err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("bad signature answered %d", resp.StatusCode)
	}
}

// TestDetectTwoServersPostgres: bad signatures for one key split over two
// servers sharing a PostgreSQL store, fewer on each than the threshold,
// are found: the servers add up their windows.
func TestDetectTwoServersPostgres(t *testing.T) {
	dsn := postgresDSN(t)
	env := []string{"BULWARK_ROOT_KEY=" + randomRootKey(), "BULWARK_DETECT=signature_failures=10,signature_window=1m"}
	a := startServer(t, env, "--store", dsn)
	b := startServer(t, env, "--store", dsn)
	akid, _ := rootCredentials(t, a.DataDir)
	for range 6 {
		badSignature(t, a, akid)
		badSignature(t, b, akid)
	}
	// Let both exchange counts (every 2 s), then one more failure on a:
	// 7 there, 13 in all.
	time.Sleep(5 * time.Second)
	badSignature(t, a, akid)
	waitFindings(rootCLI(t, a), 1, filter("GeneratorId", "bulwark/signature-failures", "ResourceId", akid))
}

// TestFindings: a burst of bad signatures and the use of the root
// credential become findings, visible and triaged with the unmodified
// `aws securityhub` CLI; imports, filters and authorisation behave as
// Security Hub's.
func TestFindings(t *testing.T) {
	t.Parallel()
	s := startServer(t, []string{"BULWARK_DETECT=signature_failures=5,signature_window=1m"})
	root := rootCLI(t, s)
	akid, _ := rootCredentials(t, s.DataDir)

	// Six requests signed with the root key id and a wrong secret.
	for range 6 {
		badSignature(t, s, akid)
	}
	sigFilter := filter("GeneratorId", "bulwark/signature-failures", "ResourceId", akid, "WorkflowStatus", "NEW")
	f := waitFindings(root, 1, sigFilter)[0]
	if f.Severity.Label != "MEDIUM" || f.Severity.Normalized != 40 || f.RecordState != "ACTIVE" ||
		f.ProductArn != "arn:aws:securityhub:us-east-1::product/bulwark/detect" || len(f.AwsAccountID) != 12 ||
		len(f.Types) == 0 || f.Types[0] != "TTPs/Credential Access/Brute Force" || f.Resources[0].Type != "AwsIamAccessKey" ||
		f.ProductFields["bulwark/SourceEventIds"] == "" || f.FirstObservedAt == "" || f.CreatedAt == "" {
		t.Fatalf("signature finding: %+v", f)
	}
	if n := f.ProductFields["bulwark/EventCount"]; n != "5" && n != "6" {
		t.Fatalf("EventCount %s, want 5 or 6", n)
	}

	// Triage: resolve it with a note.
	var upd struct {
		ProcessedFindings []struct {
			ID string `json:"Id"`
		}
		UnprocessedFindings []struct{ ErrorCode string }
	}
	root.ok(&upd, "securityhub", "batch-update-findings",
		"--finding-identifiers", "Id="+f.ID+",ProductArn="+f.ProductArn, "Id=no-such-finding,ProductArn="+f.ProductArn,
		"--workflow", "Status=RESOLVED", "--note", "Text=rotated the key,UpdatedBy=e2e")
	if len(upd.ProcessedFindings) != 1 || upd.ProcessedFindings[0].ID != f.ID || len(upd.UnprocessedFindings) != 1 ||
		upd.UnprocessedFindings[0].ErrorCode != "FindingNotFound" {
		t.Fatalf("batch-update-findings: %+v", upd)
	}
	got := waitFindings(root, 1, filter("Id", f.ID, "WorkflowStatus", "RESOLVED"))[0]
	if got.Note == nil || got.Note.Text != "rotated the key" || got.Note.UpdatedBy != "e2e" {
		t.Fatalf("after update: %+v", got)
	}

	// Every call above was made with the root credential.
	r := waitFindings(root, 1, filter("GeneratorId", "bulwark/root-credential-use"))[0]
	if r.Severity.Label != "HIGH" || r.Title != "Root credential used" || r.Workflow.Status != "NEW" {
		t.Fatalf("root finding: %+v", r)
	}

	// BatchImportFindings: a valid finding of the account's own product,
	// one that forges the detector product, and one that is not ASFF.
	acct := f.AwsAccountID
	own := "arn:aws:securityhub:us-east-1:" + acct + ":product/" + acct + "/default"
	mk := func(id, product string) map[string]any {
		return map[string]any{"SchemaVersion": "2018-10-08", "Id": id, "ProductArn": product, "GeneratorId": "scanner",
			"AwsAccountId": acct, "Types": []string{"Software and Configuration Checks/Vulnerabilities/CVE"},
			"CreatedAt": "2026-01-02T03:04:05.678Z", "UpdatedAt": "2026-01-02T03:04:05.678Z",
			"Severity": map[string]any{"Label": "LOW"}, "Title": "Old library", "Description": "CVE-2026-0001",
			"Resources": []map[string]string{{"Type": "Other", "Id": "app"}}}
	}
	bad := mk("imp-3", own)
	bad["Types"] = []string{"Not A Namespace/x"}
	batch, _ := json.Marshal([]any{mk("imp-1", own), mk("imp-2", f.ProductArn), bad})
	var imp struct {
		FailedCount, SuccessCount int
		FailedFindings            []struct{ ID, ErrorCode string }
	}
	root.ok(&imp, "securityhub", "batch-import-findings", "--findings", string(batch))
	if imp.SuccessCount != 1 || imp.FailedCount != 2 || imp.FailedFindings[0].ErrorCode != "AccessDeniedException" ||
		imp.FailedFindings[1].ErrorCode != "InvalidInput" {
		t.Fatalf("batch-import-findings: %+v", imp)
	}
	var sorted findingsOut
	root.ok(&sorted, "securityhub", "get-findings", "--filters", `{"Title":[{"Value":"Old","Comparison":"PREFIX"}]}`,
		"--sort-criteria", "Field=SeverityLabel,SortOrder=desc", "--max-items", "5")
	if len(sorted.Findings) != 1 || sorted.Findings[0].ID != "imp-1" || sorted.Findings[0].Severity.Normalized != 1 {
		t.Fatalf("imported finding: %+v", sorted.Findings)
	}

	// The hub is on from the start.
	var hub struct{ HubArn, SubscribedAt string }
	root.ok(&hub, "securityhub", "describe-hub")
	if hub.HubArn != "arn:aws:securityhub:us-east-1:"+acct+":hub/default" || hub.SubscribedAt == "" {
		t.Fatalf("describe-hub: %+v", hub)
	}
	root.fails("ResourceConflictException", []string{"already subscribed"}, "securityhub", "enable-security-hub")

	// Errors come back as Security Hub's, parsed by the CLI.
	root.fails("InvalidInputException", []string{"MalwareName"}, "securityhub", "get-findings",
		"--filters", filter("MalwareName", "x"))

	// securityhub:* actions are authorised like any other.
	reader := newUser(root, "hub-reader", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"securityhub:GetFindings","Resource":"arn:aws:securityhub:us-east-1:`+acct+`:hub/default"}]}`)
	waitFindings(reader, 1, filter("Id", "imp-1"))
	reader.fails("AccessDeniedException", []string{"securityhub:BatchUpdateFindings"}, "securityhub", "batch-update-findings",
		"--finding-identifiers", "Id=imp-1,ProductArn="+own, "--workflow", "Status=SUPPRESSED")

	// The detectors read the trail's requestParameters: newUser had root
	// create the reader's access key; now root grants it everything.
	k := waitFindings(root, 1, filter("GeneratorId", "bulwark/access-key-for-other-user"))[0]
	if k.Resources[0].ID != "arn:aws:iam::"+acct+":user/hub-reader" {
		t.Fatalf("access key finding: %+v", k)
	}
	root.ok(nil, "iam", "put-user-policy", "--user-name", "hub-reader", "--policy-name", "all",
		"--policy-document", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`)
	p := waitFindings(root, 1, filter("GeneratorId", "bulwark/policy-grants-all", "ResourceId", "arn:aws:iam::"+acct+":user/hub-reader"))[0]
	if p.Severity.Label != "HIGH" || p.Title != "IAM change grants full access" {
		t.Fatalf("policy finding: %+v", p)
	}
}
