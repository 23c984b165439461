package main

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/bulwark-security/bulwark/internal/audit"
	"github.com/bulwark-security/bulwark/internal/config"
	"github.com/bulwark-security/bulwark/internal/keyring"
	"github.com/bulwark-security/bulwark/internal/store"
)

const auditUsage = `Usage:
  bulwark audit verify [--public-key FILE] [--json] [server flags]
      check the whole audit trail in the store: every record's hash and place
      in its chain, every digest's signature and link; names each altered,
      deleted, inserted or reordered record, and notes records still in the
      audit journal; exit status 1 on any failure
  bulwark audit public-key [server flags]
      print the digest verification key (PEM)

Both read the store directly, configured as the server is (--store,
--data-dir, --config, BULWARK_* variables). The verification key comes from
the keyring (the data directory's root key or BULWARK_ROOT_KEY), or from
--public-key, a key exported earlier with "bulwark audit public-key" or
fetched from GET /_bulwark/audit/public-key.
`

// runAudit is `bulwark audit ...`.
func runAudit(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stderr, auditUsage)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	sub, rest := args[0], args[1:]
	var pubFile string
	var asJSON bool
	var serverArgs []string
	for i := 0; i < len(rest); i++ {
		a := rest[i]
		switch {
		case a == "--json" || a == "-json":
			asJSON = true
		case a == "--public-key" || a == "-public-key":
			if i+1 == len(rest) {
				fmt.Fprintln(stderr, "bulwark audit: --public-key needs a file")
				return 2
			}
			i++
			pubFile = rest[i]
		case strings.HasPrefix(a, "--public-key=") || strings.HasPrefix(a, "-public-key="):
			_, pubFile, _ = strings.Cut(a, "=")
		default:
			serverArgs = append(serverArgs, a)
		}
	}
	cfg, err := config.LoadServer(serverArgs, getenv, stderr)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(stderr, auditUsage)
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "bulwark audit: %v\n", err)
		return 2
	}
	if cfg.Dev {
		fmt.Fprintln(stderr, "bulwark audit: a dev-mode server keeps its trail in memory; use aws cloudtrail lookup-events against it")
		return 2
	}
	switch sub {
	case "verify":
		return auditVerify(ctx, cfg, pubFile, asJSON, stdout, stderr)
	case "public-key":
		pub, code := auditPublicKey(ctx, cfg, "", stderr)
		if pub == nil {
			return code
		}
		_, _ = stdout.Write(audit.PublicKeyPEM(pub))
		return 0
	default:
		fmt.Fprintf(stderr, "bulwark audit: unknown command %q\n\n%s", sub, auditUsage)
		return 2
	}
}

// openAuditStore opens the configured store for reading the trail.
func openAuditStore(ctx context.Context, cfg *config.Server) (store.Store, store.Audit, error) {
	st, err := openStore(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		return nil, nil, err
	}
	ast, ok := st.(store.Audit)
	if !ok {
		st.Close()
		return nil, nil, fmt.Errorf("store %T has no audit trail", st)
	}
	return st, ast, nil
}

// auditPublicKey reads the verification key from pubFile or, through the
// keyring, from the store. It never creates a root key or a digest key.
func auditPublicKey(ctx context.Context, cfg *config.Server, pubFile string, stderr io.Writer) (ed25519.PublicKey, int) {
	if pubFile != "" {
		b, err := os.ReadFile(pubFile)
		if err != nil {
			fmt.Fprintf(stderr, "bulwark audit: %v\n", err)
			return nil, 2
		}
		pub, err := audit.ParsePublicKeyPEM(b)
		if err != nil {
			fmt.Fprintf(stderr, "bulwark audit: %s: %v\n", pubFile, err)
			return nil, 2
		}
		return pub, 0
	}
	if cfg.RootKey == "" {
		if _, err := os.Stat(filepath.Join(cfg.DataDir, keyring.RootKeyFile)); err != nil {
			fmt.Fprintf(stderr, "bulwark audit: no root key (BULWARK_ROOT_KEY or %s in the data directory): give --public-key\n", keyring.RootKeyFile)
			return nil, 2
		}
	}
	keys, err := keyring.Load(cfg.DataDir, cfg.RootKey)
	if err != nil {
		fmt.Fprintf(stderr, "bulwark audit: keyring: %v\n", err)
		return nil, 2
	}
	st, _, err := openAuditStore(ctx, cfg)
	if err != nil {
		fmt.Fprintf(stderr, "bulwark audit: %v\n", err)
		return nil, 1
	}
	defer st.Close()
	pub, err := audit.LoadPublicKey(ctx, st, keys)
	if err != nil {
		fmt.Fprintf(stderr, "bulwark audit: %v\n", err)
		return nil, 1
	}
	return pub, 0
}

func auditVerify(ctx context.Context, cfg *config.Server, pubFile string, asJSON bool, stdout, stderr io.Writer) int {
	pub, code := auditPublicKey(ctx, cfg, pubFile, stderr)
	if pub == nil {
		return code
	}
	st, ast, err := openAuditStore(ctx, cfg)
	if err != nil {
		fmt.Fprintf(stderr, "bulwark audit verify: %v\n", err)
		return 1
	}
	defer st.Close()
	rep, err := audit.Verify(ctx, ast, pub)
	if err != nil {
		fmt.Fprintf(stderr, "bulwark audit verify: %v\n", err)
		return 1
	}
	if dir := cfg.AuditJournalDir(); dir != "" {
		b, err := audit.InspectJournals(ctx, dir, ast)
		if err != nil {
			fmt.Fprintf(stderr, "bulwark audit verify: audit journal: %v\n", err)
			return 1
		}
		rep.Journaled = b.Records
	}
	if asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(rep)
	} else {
		fmt.Fprintf(stdout, "audit trail: %d chains, %d records, %d signed digests\n", rep.Chains, rep.Records, rep.Digests)
		for c, n := range rep.Unsigned {
			fmt.Fprintf(stdout, "note: chain %s: the last %d records are chained but not yet covered by a signed digest\n", c, n)
		}
		if rep.Journaled > 0 {
			fmt.Fprintf(stdout, "note: %d records are in the audit journal but not yet in the store (a running server stores them at once, a stopped one at its next start)\n", rep.Journaled)
		}
		for _, p := range rep.Problems {
			fmt.Fprintf(stdout, "FAIL %s\n", p)
		}
		if rep.OK() {
			fmt.Fprintln(stdout, "OK")
		}
	}
	if !rep.OK() {
		return 1
	}
	return 0
}
