package config

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestDefaults(t *testing.T) {
	s, err := LoadServer(nil, env(nil), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	want := Server{Listen: "127.0.0.1:4747", DataDir: "./bulwark-data", Region: "us-east-1", AccountID: DefaultAccountID,
		Store: "sqlite://./bulwark-data/bulwark.db", LogFormat: "text", LogLevel: "info",
		MaxBodyBytes: 1 << 20, ShutdownTimeout: 30 * time.Second,
		AuditDigestInterval: time.Minute, AuditExportRotate: 64 << 20, AuditJournal: "auto"}
	if *s != want {
		t.Fatalf("defaults = %+v\nwant %+v", *s, want)
	}
}

// TestPrecedence checks flags > environment > YAML file > defaults.
func TestPrecedence(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "bulwark.yaml")
	yaml := "region: eu-west-1\nlisten: 127.0.0.1:1111\nlog_level: warn\naccount_id: \"000000000001\"\ninsecure_http: true\n"
	if err := os.WriteFile(file, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := LoadServer([]string{"--config", file, "--listen", "127.0.0.1:3333"},
		env(map[string]string{"BULWARK_LISTEN": "127.0.0.1:2222", "BULWARK_LOG_LEVEL": "debug"}), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct{ name, got, want string }{
		{"listen (flag over env over file)", s.Listen, "127.0.0.1:3333"},
		{"log level (env over file)", s.LogLevel, "debug"},
		{"region (file over default)", s.Region, "eu-west-1"},
		{"account (file, quoted)", s.AccountID, "000000000001"},
		{"data dir (default)", s.DataDir, "./bulwark-data"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %q, want %q", c.name, c.got, c.want)
		}
	}
	if !s.InsecureHTTP {
		t.Error("insecure_http from file not applied")
	}
	// BULWARK_CONFIG names the file when --config does not.
	s, err = LoadServer(nil, env(map[string]string{"BULWARK_CONFIG": file}), io.Discard)
	if err != nil || s.Region != "eu-west-1" {
		t.Fatalf("BULWARK_CONFIG: %v %+v", err, s)
	}
}

func TestErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	_ = os.WriteFile(bad, []byte("regoin: us-east-1\n"), 0o600)
	cases := []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"non-loopback without TLS", []string{"--listen", "0.0.0.0:4747"}, nil, "without TLS"},
		{"all interfaces without TLS", []string{"--listen", ":4747"}, nil, "without TLS"},
		{"dev on non-loopback", []string{"--dev", "--listen", "10.0.0.1:4747", "--insecure-http"}, nil, "loopback only"},
		{"dev with a persistent store", []string{"--dev", "--store", "sqlite:///tmp/x.db"}, nil, "memory only"},
		{"bad account", []string{"--account-id", "12345"}, nil, "12 digits"},
		{"bad region", nil, map[string]string{"BULWARK_REGION": "mars"}, "region"},
		{"bad bool", []string{"--insecure-http=maybe"}, nil, "boolean"},
		{"cert without key", []string{"--tls-cert", "c.pem"}, nil, "go together"},
		{"unknown yaml key", []string{"--config", bad}, nil, `unknown setting "regoin"`},
		{"missing yaml", []string{"--config", filepath.Join(dir, "nope.yaml")}, nil, "read config file"},
		{"stray argument", []string{"extra"}, nil, "unexpected arguments"},
		{"body limit", []string{"--max-body-bytes", "10"}, nil, "between"},
		{"log format", []string{"--log-format", "xml"}, nil, "log format"},
		{"syslog over udp", []string{"--audit-syslog-url", "udp://127.0.0.1:514"}, nil, "tcp:// or tls://"},
		{"syslog CA without tls", []string{"--audit-syslog-url", "tcp://127.0.0.1:514", "--audit-syslog-ca", "ca.pem"}, nil, "tls://"},
		{"empty journal", []string{"--audit-journal", ""}, nil, "audit journal"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := LoadServer(tc.args, env(tc.env), io.Discard)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to mention %q", err, tc.want)
			}
		})
	}
}

func TestAllowed(t *testing.T) {
	cases := []struct {
		name string
		args []string
	}{
		{"non-loopback with --insecure-http", []string{"--listen", "0.0.0.0:4747", "--insecure-http"}},
		{"non-loopback with TLS", []string{"--listen", "0.0.0.0:4747", "--tls-cert", "c", "--tls-key", "k"}},
		{"localhost", []string{"--listen", "localhost:4747"}},
		{"ipv6 loopback", []string{"--listen", "[::1]:4747"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := LoadServer(tc.args, env(nil), io.Discard); err != nil {
				t.Fatal(err)
			}
		})
	}
	s, err := LoadServer([]string{"--dev"}, env(nil), io.Discard)
	if err != nil || s.AccountID != DevAccountID || s.Store != "sqlite::memory:" {
		t.Fatalf("dev defaults: %v %+v", err, s)
	}
}

func TestAuditJournalDir(t *testing.T) {
	for _, c := range []struct{ journal, store, want string }{
		{"auto", "sqlite://d/bulwark.db", filepath.Join("d", "audit-journal")},
		{"auto", "sqlite:d/bulwark.db", filepath.Join("d", "audit-journal")},
		{"auto", "sqlite::memory:", ""},
		{"auto", "postgres://u@h/db", ""},
		{"off", "sqlite://d/bulwark.db", ""},
		{"/var/lib/bulwark/journal", "postgres://u@h/db", "/var/lib/bulwark/journal"},
	} {
		s := Server{DataDir: "d", AuditJournal: c.journal, Store: c.store}
		if got := s.AuditJournalDir(); got != c.want {
			t.Errorf("journal %q, store %q: dir %q, want %q", c.journal, c.store, got, c.want)
		}
	}
}
