package e2e

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// TestAuditJournalRecovery: with the store unable to take writes (another
// process holds SQLite's write lock), calls still succeed because their
// records are durable in the audit journal; a server killed in that state
// loses none of them: `bulwark audit verify` notes them as journaled, the
// next start stores them, lookup-events finds them and the trail verifies.
func TestAuditJournalRecovery(t *testing.T) {
	t.Parallel()
	s := startServer(t, nil)
	root := rootCLI(t, s)
	_, rootSecret := rootCredentials(t, s.DataDir)
	root.ok(nil, "sts", "get-caller-identity") // stored at once

	lock := exec.Command("python3", "-c", `import sqlite3, sys
c = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=30)
c.execute("BEGIN EXCLUSIVE")
print("locked", flush=True)
sys.stdin.read()
c.execute("ROLLBACK")`, filepath.Join(s.DataDir, "bulwark.db"))
	lockIn, err := lock.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	lockOut, err := lock.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := lock.Start(); err != nil {
		t.Fatal(err)
	}
	defer lock.Process.Kill()
	if line, _ := bufio.NewReader(lockOut).ReadString('\n'); strings.TrimSpace(line) != "locked" {
		t.Fatalf("could not take the SQLite write lock: %q", line)
	}

	const calls = 6
	for range calls {
		root.ok(nil, "sts", "get-caller-identity")
	}
	// Kill the server (no drain, no shutdown digest), then free the store.
	if err := s.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	s.done <- <-s.done
	lockIn.Close()
	if err := lock.Wait(); err != nil {
		t.Fatalf("lock holder: %v", err)
	}

	// The journal is private and holds no secret.
	jdir := filepath.Join(s.DataDir, "audit-journal")
	ents, err := os.ReadDir(jdir)
	if err != nil || len(ents) == 0 {
		t.Fatalf("no journal left by the killed server: %v", err)
	}
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(jdir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(b), rootSecret) {
			t.Fatalf("journal %s holds the root secret", e.Name())
		}
	}

	out, code := bulwarkAudit(t, nil, "verify", "--data-dir", s.DataDir)
	m := regexp.MustCompile(`note: (\d+) records are in the audit journal`).FindStringSubmatch(out)
	if code != 0 || m == nil {
		t.Fatalf("verify before recovery: exit %d, want 0 with a journal note:\n%s", code, out)
	}
	if n, _ := strconv.Atoi(m[1]); n < calls {
		t.Fatalf("journal holds %d records the store lacks, want at least %d:\n%s", n, calls, out)
	}

	s2 := startServer(t, nil, "--data-dir", s.DataDir)
	if !strings.Contains(s2.logs.String(), "audit journal recovered") {
		t.Errorf("restart did not log the recovery:\n%s", s2.logs.String())
	}
	var lo lookupOut
	rootCLI(t, s2).ok(&lo, "cloudtrail", "lookup-events", "--max-results", "50",
		"--lookup-attributes", "AttributeKey=EventName,AttributeValue=GetCallerIdentity")
	if len(lo.Events) < calls+1 {
		t.Fatalf("lookup-events found %d GetCallerIdentity records after recovery, want %d", len(lo.Events), calls+1)
	}
	if err := s2.stop(); err != nil {
		t.Fatal(err)
	}
	out, code = bulwarkAudit(t, nil, "verify", "--data-dir", s.DataDir)
	if code != 0 || !strings.Contains(out, "\nOK") || strings.Contains(out, "audit journal") {
		t.Fatalf("verify after recovery: exit %d:\n%s", code, out)
	}
	if ents, _ := os.ReadDir(jdir); len(ents) != 0 {
		t.Fatalf("journal files left after a clean stop: %d", len(ents))
	}
}
