// Command bulwark is the one Bulwark binary. `bulwark server` runs the
// AWS-compatible API server and `bulwark reset` wipes a dev-mode server;
// further subcommands (agent, proxy, gateway, admin tools) join them as they
// are built.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

const usage = `Bulwark: a self-hosted security plane with AWS-compatible IAM and STS.

Usage:
  bulwark server [flags]   run the API server (bulwark server -h lists the flags)
  bulwark reset [flags]    wipe a dev-mode server's state (bulwark server --dev)
  bulwark audit verify     check the audit trail's hash chains and signed digests
  bulwark audit public-key print the audit digest verification key
  bulwark agent [flags]    serve workloads their role credentials on loopback (container endpoint, IMDSv2)
  bulwark exec --role ARN -- command   run a command with a role's auto-refreshed credentials
  bulwark workload <cmd>   register, list, update and revoke workloads; create join tokens
  bulwark version          print the version
`

func main() {
	os.Exit(run(os.Args[1:], os.Getenv, os.Stdout, os.Stderr))
}

func run(args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	switch args[0] {
	case "server":
		return runServer(ctx, args[1:], getenv, stderr)
	case "reset":
		return runReset(ctx, args[1:], getenv, stdout, stderr)
	case "audit":
		return runAudit(ctx, args[1:], getenv, stdout, stderr)
	case "agent":
		return runAgent(ctx, args[1:], getenv, stderr)
	case "exec":
		return runExec(ctx, args[1:], getenv, stdout, stderr)
	case "workload":
		return runWorkload(ctx, args[1:], getenv, stdout, stderr)
	case "version", "--version", "-version":
		fmt.Fprintln(stdout, "bulwark", version)
		return 0
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "bulwark: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
}
