// Package config loads the server's configuration from, in increasing
// precedence, built-in defaults, an optional YAML file (--config or
// BULWARK_CONFIG), BULWARK_* environment variables and command-line flags.
// Every setting is declared once, in the settings table, with its flag, its
// variable, its YAML key and its default.
package config

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// DefaultAccountID is the account a new deployment hosts unless told
// otherwise. It is one of the example account ids AWS documentation uses,
// so it can never collide with a real AWS account.
const DefaultAccountID = "111122223333"

// DevAccountID is the account of dev mode, the id the AWS docs and the
// LocalStack/moto peers use in examples.
const DevAccountID = "123456789012"

// Server is the configuration of `bulwark server`.
type Server struct {
	Listen          string
	DataDir         string
	Region          string
	AccountID       string
	Store           string // "sqlite:///path", "sqlite::memory:" or "postgres://..."
	TLSCert         string
	TLSKey          string
	InsecureHTTP    bool
	LogFormat       string // "text" or "json"
	LogLevel        string // "debug", "info", "warn", "error"
	MaxBodyBytes    int64
	ShutdownTimeout time.Duration
	Dev             bool
	// RootKey is the keyring root key (base64), from BULWARK_ROOT_KEY only:
	// a flag would show it in the process list.
	RootKey string `json:"-"`
	// DevToken, from BULWARK_DEV_TOKEN only, is accepted by dev mode's
	// reset endpoint instead of a root signature.
	DevToken string `json:"-"`
	// Audit trail: how often to sign a digest, how many days of records to
	// keep (0: forever), where to export JSON-lines files and the file size
	// that rotates them, and a webhook that receives every record.
	AuditDigestInterval time.Duration
	AuditRetentionDays  int
	AuditExportDir      string
	AuditExportRotate   int64
	AuditWebhookURL     string
	// AuditSyslogURL (tcp:// or tls://) receives every record as an RFC
	// 5424 message; AuditSyslogCA is a PEM bundle for a tls:// collector.
	AuditSyslogURL string
	AuditSyslogCA  string
	// AuditJournal is the trail's journal: "auto" (a directory in the data
	// directory when the store is a SQLite file), "off" (each group commit
	// is a store transaction) or a directory; AuditJournalFsync fsyncs
	// each commit to it.
	AuditJournal      string
	AuditJournalFsync bool
	// Detect overrides detector thresholds ("name=value,..."; parsed by
	// package detect when the server is built).
	Detect string
	// AuditDisableForBenchmark (BULWARK_AUDIT_DISABLE_FOR_BENCHMARK only,
	// loopback only) replaces the trail with a no-op sink: the baseline of
	// bench/api.sh, never for real use.
	AuditDisableForBenchmark bool `json:"-"`
}

type setting struct {
	name  string // flag name and, with - as _, the YAML key
	usage string
	def   string
	set   func(s *Server, v string) error
	// envOnly settings have no flag and no YAML key (secrets).
	envOnly bool
}

func (st setting) env() string {
	return "BULWARK_" + strings.ToUpper(strings.ReplaceAll(st.name, "-", "_"))
}
func (st setting) yamlKey() string { return strings.ReplaceAll(st.name, "-", "_") }

func str(f func(*Server) *string) func(*Server, string) error {
	return func(s *Server, v string) error { *f(s) = v; return nil }
}

func boolean(f func(*Server) *bool) func(*Server, string) error {
	return func(s *Server, v string) error {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return fmt.Errorf("not a boolean: %q", v)
		}
		*f(s) = b
		return nil
	}
}

var settings = []setting{
	{name: "listen", def: "127.0.0.1:4747", usage: "`address` to listen on (host:port)", set: str(func(s *Server) *string { return &s.Listen })},
	{name: "data-dir", def: "./bulwark-data", usage: "`directory` for the store, the root key and the bootstrap credentials", set: str(func(s *Server) *string { return &s.DataDir })},
	{name: "region", def: "us-east-1", usage: "the `region` this server answers for", set: str(func(s *Server) *string { return &s.Region })},
	{name: "account-id", def: "", usage: "12-digit account `id` created at bootstrap (default " + DefaultAccountID + ", " + DevAccountID + " in dev mode)", set: str(func(s *Server) *string { return &s.AccountID })},
	{name: "store", def: "", usage: "store `DSN`: sqlite:///path/to/file.db, sqlite::memory: or postgres://user@host:port/db?search_path=schema (default sqlite in the data directory)", set: str(func(s *Server) *string { return &s.Store })},
	{name: "tls-cert", def: "", usage: "TLS certificate `file` (PEM); serve HTTPS", set: str(func(s *Server) *string { return &s.TLSCert })},
	{name: "tls-key", def: "", usage: "TLS private key `file` (PEM)", set: str(func(s *Server) *string { return &s.TLSKey })},
	{name: "insecure-http", def: "false", usage: "allow plain HTTP on a non-loopback address (credentials and secrets then cross the network unencrypted)", set: boolean(func(s *Server) *bool { return &s.InsecureHTTP })},
	{name: "log-format", def: "text", usage: "log `format`: text or json", set: str(func(s *Server) *string { return &s.LogFormat })},
	{name: "log-level", def: "info", usage: "log `level`: debug, info, warn or error", set: str(func(s *Server) *string { return &s.LogLevel })},
	{name: "max-body-bytes", def: "1048576", usage: "largest API request body accepted, in `bytes`", set: func(s *Server, v string) error {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 1024 || n > 64<<20 {
			return fmt.Errorf("must be an integer between 1024 and %d", 64<<20)
		}
		s.MaxBodyBytes = n
		return nil
	}},
	{name: "shutdown-timeout", def: "30s", usage: "how long (a `duration`) to drain in-flight requests on SIGTERM", set: func(s *Server, v string) error {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			return fmt.Errorf("not a duration: %q", v)
		}
		s.ShutdownTimeout = d
		return nil
	}},
	{name: "dev", def: "false", usage: "developer/CI mode: ephemeral in-memory store, loopback only, well-known root credential test/test", set: boolean(func(s *Server) *bool { return &s.Dev })},
	{name: "root-key", envOnly: true, set: str(func(s *Server) *string { return &s.RootKey })},
	{name: "dev-token", envOnly: true, set: str(func(s *Server) *string { return &s.DevToken })},
	{name: "audit-digest-interval", def: "1m", usage: "how often (a `duration`, 1s..24h) the audit trail signs a digest of its new records", set: func(s *Server, v string) error {
		d, err := time.ParseDuration(v)
		if err != nil || d < time.Second || d > 24*time.Hour {
			return fmt.Errorf("must be a duration between 1s and 24h, not %q", v)
		}
		s.AuditDigestInterval = d
		return nil
	}},
	{name: "audit-retention-days", def: "0", usage: "delete audit records older than this many `days` (0 keeps them forever)", set: func(s *Server, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > 36500 {
			return fmt.Errorf("must be an integer between 0 and 36500, not %q", v)
		}
		s.AuditRetentionDays = n
		return nil
	}},
	{name: "audit-export-dir", def: "", usage: "`directory` to export audit records to as rotated JSON-lines files (off if empty)", set: str(func(s *Server) *string { return &s.AuditExportDir })},
	{name: "audit-export-rotate-bytes", def: "67108864", usage: "rotate an audit export file when it reaches this many `bytes`", set: func(s *Server, v string) error {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 4096 || n > 1<<40 {
			return fmt.Errorf("must be an integer between 4096 and %d", int64(1)<<40)
		}
		s.AuditExportRotate = n
		return nil
	}},
	{name: "audit-webhook-url", def: "", usage: "http(s) `URL` that receives every audit record (POSTed in JSON-lines batches, retried; off if empty)", set: str(func(s *Server) *string { return &s.AuditWebhookURL })},
	{name: "audit-syslog-url", def: "", usage: "syslog collector `URL` (tcp://host:port or tls://host:port) that receives every record as an RFC 5424 message (off if empty)", set: str(func(s *Server) *string { return &s.AuditSyslogURL })},
	{name: "audit-syslog-ca", def: "", usage: "PEM `file` of the CA that a tls:// syslog collector's certificate must chain to (default: the system's roots)", set: str(func(s *Server) *string { return &s.AuditSyslogCA })},
	{name: "audit-journal", def: "auto", usage: "where audit records become durable before the store has them: `auto` (a journal in the data directory when the store is a SQLite file), off, or a directory", set: str(func(s *Server) *string { return &s.AuditJournal })},
	{name: "audit-journal-fsync", def: "false", usage: "fsync each audit journal commit (survives a power loss, not only a crash; slower)", set: boolean(func(s *Server) *bool { return &s.AuditJournalFsync })},
	{name: "detect", def: "", usage: "detector `thresholds` as name=value pairs separated by commas (signature_failures=10,signature_window=5m,...; see the README)", set: str(func(s *Server) *string { return &s.Detect })},
	{name: "audit-disable-for-benchmark", envOnly: true, def: "false", set: boolean(func(s *Server) *bool { return &s.AuditDisableForBenchmark })},
}

// LoadServer parses args (without the subcommand), reading the environment
// through getenv. Output for -h goes to out.
func LoadServer(args []string, getenv func(string) string, out io.Writer) (*Server, error) {
	fs := flag.NewFlagSet("bulwark server", flag.ContinueOnError)
	fs.SetOutput(out)
	configFile := fs.String("config", "", "YAML configuration file (also BULWARK_CONFIG)")
	flagVals := make(map[string]*flagValue)
	for _, st := range settings {
		if st.envOnly {
			continue
		}
		v := &flagValue{s: st.def, isBool: st.def == "false" || st.def == "true"}
		flagVals[st.name] = v
		fs.Var(v, st.name, st.usage+" ["+st.env()+"]")
	}
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	set := make(map[string]bool)
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })

	s := &Server{}
	byName := make(map[string]setting, len(settings))
	for _, st := range settings {
		byName[st.name] = st
		if err := st.set(s, st.def); err != nil {
			return nil, fmt.Errorf("default of %s: %w", st.name, err)
		}
	}
	path := *configFile
	if path == "" {
		path = getenv("BULWARK_CONFIG")
	}
	if path != "" {
		if err := applyYAML(s, path, byName); err != nil {
			return nil, err
		}
	}
	for _, st := range settings {
		if v := getenv(st.env()); v != "" {
			if err := st.set(s, v); err != nil {
				return nil, fmt.Errorf("%s: %w", st.env(), err)
			}
		}
	}
	for name := range set {
		if name == "config" {
			continue
		}
		if err := byName[name].set(s, flagVals[name].s); err != nil {
			return nil, fmt.Errorf("--%s: %w", name, err)
		}
	}
	if err := s.finish(); err != nil {
		return nil, err
	}
	return s, nil
}

// flagValue holds a flag's text until precedence is resolved; every
// setting is parsed by one function whichever source it comes from. Boolean
// settings report IsBoolFlag so "--dev" needs no value.
type flagValue struct {
	s      string
	isBool bool
}

func (v *flagValue) String() string {
	if v == nil {
		return ""
	}
	return v.s
}
func (v *flagValue) Set(s string) error { v.s = s; return nil }
func (v *flagValue) IsBoolFlag() bool   { return v.isBool }

func applyYAML(s *Server, path string, byName map[string]setting) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("read config file: %w", err)
	}
	var m map[string]string
	if err := yaml.Unmarshal(b, &m); err != nil {
		return fmt.Errorf("config file %s: %w", path, err)
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		st, ok := byName[strings.ReplaceAll(k, "_", "-")]
		if !ok || st.envOnly || st.yamlKey() != k {
			return fmt.Errorf("config file %s: unknown setting %q", path, k)
		}
		if err := st.set(s, m[k]); err != nil {
			return fmt.Errorf("config file %s: %s: %w", path, k, err)
		}
	}
	return nil
}

var accountIDRE = regexp.MustCompile(`^[0-9]{12}$`)
var regionRE = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]{1,2}$`)

// finish fills derived defaults and checks the whole configuration.
func (s *Server) finish() error {
	if s.AccountID == "" {
		s.AccountID = DefaultAccountID
		if s.Dev {
			s.AccountID = DevAccountID
		}
	}
	var errs []error
	if !accountIDRE.MatchString(s.AccountID) {
		errs = append(errs, fmt.Errorf("account id %q: must be 12 digits", s.AccountID))
	}
	if !regionRE.MatchString(s.Region) {
		errs = append(errs, fmt.Errorf("region %q: not a region name like us-east-1", s.Region))
	}
	switch s.LogFormat {
	case "text", "json":
	default:
		errs = append(errs, fmt.Errorf("log format %q: must be text or json", s.LogFormat))
	}
	switch s.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		errs = append(errs, fmt.Errorf("log level %q: must be debug, info, warn or error", s.LogLevel))
	}
	if (s.TLSCert == "") != (s.TLSKey == "") {
		errs = append(errs, errors.New("--tls-cert and --tls-key go together"))
	}
	host, _, err := net.SplitHostPort(s.Listen)
	if err != nil {
		errs = append(errs, fmt.Errorf("listen address %q: %w", s.Listen, err))
	} else if !IsLoopback(host) {
		if s.Dev {
			errs = append(errs, fmt.Errorf("dev mode listens on loopback only, not %q", s.Listen))
		} else if s.TLSCert == "" && !s.InsecureHTTP {
			errs = append(errs, fmt.Errorf("refusing to listen on non-loopback address %q without TLS: give --tls-cert and --tls-key, or --insecure-http to accept plaintext", s.Listen))
		}
	}
	if s.Dev && s.Store != "" && s.Store != "sqlite::memory:" {
		errs = append(errs, fmt.Errorf("dev mode keeps its state in memory only; drop --store %q", s.Store))
	}
	if s.AuditWebhookURL != "" && !strings.HasPrefix(s.AuditWebhookURL, "https://") && !strings.HasPrefix(s.AuditWebhookURL, "http://") {
		errs = append(errs, fmt.Errorf("audit webhook URL %q: must be http:// or https://", s.AuditWebhookURL))
	}
	if s.AuditDisableForBenchmark && (err != nil || !IsLoopback(host)) {
		errs = append(errs, errors.New("BULWARK_AUDIT_DISABLE_FOR_BENCHMARK is for benchmarks on a loopback address only"))
	}
	if s.AuditSyslogURL != "" && !strings.HasPrefix(s.AuditSyslogURL, "tcp://") && !strings.HasPrefix(s.AuditSyslogURL, "tls://") {
		errs = append(errs, fmt.Errorf("audit syslog URL %q: must be tcp:// or tls:// (UDP would lose records)", s.AuditSyslogURL))
	}
	if s.AuditSyslogCA != "" && !strings.HasPrefix(s.AuditSyslogURL, "tls://") {
		errs = append(errs, errors.New("audit syslog CA: give it with a tls:// syslog URL"))
	}
	if s.AuditJournal == "" {
		errs = append(errs, errors.New("audit journal: give auto, off or a directory"))
	}
	if s.DevToken != "" && !s.Dev {
		errs = append(errs, errors.New("BULWARK_DEV_TOKEN is only accepted with --dev"))
	}
	if s.Store == "" {
		if s.Dev {
			s.Store = "sqlite::memory:"
		} else {
			s.Store = "sqlite://" + strings.TrimSuffix(s.DataDir, "/") + "/bulwark.db"
		}
	}
	return errors.Join(errs...)
}

// AuditJournalDir is the audit journal's directory, or "" for none:
// "auto" keeps one in the data directory for a SQLite file store (not for
// an in-memory or PostgreSQL store, where servers share the store of
// record), "off" keeps none.
func (s *Server) AuditJournalDir() string {
	switch s.AuditJournal {
	case "off":
		return ""
	case "auto", "":
		if !strings.HasPrefix(s.Store, "sqlite:") || strings.HasSuffix(s.Store, ":memory:") {
			return ""
		}
		return filepath.Join(s.DataDir, "audit-journal")
	default:
		return s.AuditJournal
	}
}

// IsLoopback reports whether a listen host is a loopback address or
// "localhost". An empty host (all interfaces) is not.
func IsLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
