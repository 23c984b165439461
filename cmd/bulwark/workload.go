package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/bulwark-security/bulwark/internal/workload"
)

const workloadUsage = `Usage: bulwark workload <command> [flags]

Commands (signed with your AWS credentials: environment or profile):
  register   --name NAME --role-arn ARN [--selector KEY=VALUE ...]
  describe   --name NAME
  list
  update     --name NAME [--role-arn ARN] [--selector KEY=VALUE ... | --clear-selectors]
  revoke     --name NAME [--revoke-sessions]
  delete     --name NAME   (its tokens go too; the name can be registered again)
  join-token --name NAME [--ttl 10m]

Common flags: --endpoint-url URL, --profile NAME, --region REGION, --output json|text
`

// runWorkload is `bulwark workload ...`, the CLI of the bulwark-workloads API.
func runWorkload(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stderr, workloadUsage)
		return 2
	}
	cmd := args[0]
	fs := flag.NewFlagSet("bulwark workload "+cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	endpoint := fs.String("endpoint-url", "", "the Bulwark server's URL (default: AWS_ENDPOINT_URL or the profile's endpoint_url)")
	profile := fs.String("profile", "", "profile of your credentials")
	region := fs.String("region", "", "region")
	output := fs.String("output", "json", "json or text")
	name := fs.String("name", "", "the workload's name (or ARN)")
	role := fs.String("role-arn", "", "ARN of the workload's role")
	var selectors multiFlag
	fs.Var(&selectors, "selector", "KEY=VALUE attribute (repeatable); jwt:iss, jwt:sub and jwt:aud say which OIDC tokens attest the workload")
	clearSel := fs.Bool("clear-selectors", false, "update: remove every selector")
	revokeSessions := fs.Bool("revoke-sessions", false, "revoke: also deny every session of the workload's role issued until now (AWSRevokeOlderSessions)")
	ttl := fs.Duration("ttl", workload.DefaultJoinTokenTTL, "join-token: how long the token is valid (1m to 24h)")
	if err := fs.Parse(args[1:]); err != nil {
		return helpOr2(err)
	}
	if *output != "json" && *output != "text" {
		fmt.Fprintln(stderr, "bulwark workload: --output must be json or text")
		return 2
	}
	needName := cmd != "list"
	if needName && *name == "" {
		fmt.Fprintf(stderr, "bulwark workload %s: --name is required\n", cmd)
		return 2
	}
	var sel []workload.Selector
	for _, s := range selectors {
		k, v, ok := strings.Cut(s, "=")
		if !ok || k == "" {
			fmt.Fprintf(stderr, "bulwark workload: --selector %q is not KEY=VALUE\n", s)
			return 2
		}
		sel = append(sel, workload.Selector{Key: k, Value: v})
	}
	cc, err := workload.LoadCallerConfig(getenv, *profile, *endpoint, *region)
	if err != nil {
		fmt.Fprintln(stderr, "bulwark workload:", err)
		return 1
	}
	hc, _ := serverHTTPClient("")
	c := &workload.SignedClient{Endpoint: cc.Endpoint, Region: cc.Region, Creds: cc.Creds, HTTP: hc}

	var out any
	switch cmd {
	case "register":
		if *role == "" {
			fmt.Fprintln(stderr, "bulwark workload register: --role-arn is required")
			return 2
		}
		var o workload.WorkloadOutput
		err, out = c.Call(ctx, "RegisterWorkload", map[string]any{"Name": *name, "RoleArn": *role, "Selectors": nonNil(sel)}, &o), &o
	case "describe":
		var o workload.WorkloadOutput
		err, out = c.Call(ctx, "DescribeWorkload", map[string]any{"Name": *name}, &o), &o
	case "list":
		var all workload.ListOutput
		all.Workloads = []workload.Workload{}
		next := ""
		for {
			var o workload.ListOutput
			in := map[string]any{}
			if next != "" {
				in["NextToken"] = next
			}
			if err = c.Call(ctx, "ListWorkloads", in, &o); err != nil {
				break
			}
			all.Workloads = append(all.Workloads, o.Workloads...)
			if next = o.NextToken; next == "" {
				break
			}
		}
		out = &all
	case "update":
		in := map[string]any{"Name": *name}
		if *role != "" {
			in["RoleArn"] = *role
		}
		if len(sel) > 0 || *clearSel {
			in["Selectors"] = nonNil(sel)
		}
		var o workload.WorkloadOutput
		err, out = c.Call(ctx, "UpdateWorkload", in, &o), &o
	case "revoke":
		var o workload.WorkloadOutput
		if err = c.Call(ctx, "RevokeWorkload", map[string]any{"Name": *name}, &o); err == nil && *revokeSessions {
			err = revokeRoleSessions(ctx, c, o.Workload.RoleArn)
		}
		out = &o
	case "delete":
		err = c.Call(ctx, "DeleteWorkload", map[string]any{"Name": *name}, nil)
		if err == nil {
			return 0
		}
	case "join-token":
		var o workload.JoinTokenOutput
		err = c.Call(ctx, "CreateJoinToken", map[string]any{"Name": *name, "ExpiresInSeconds": int(ttl.Seconds())}, &o)
		out = &o
		if err == nil && *output == "text" {
			fmt.Fprintln(stdout, o.JoinToken)
			return 0
		}
	default:
		fmt.Fprintf(stderr, "bulwark workload: unknown command %q\n\n%s", cmd, workloadUsage)
		return 2
	}
	if err != nil {
		fmt.Fprintln(stderr, "bulwark workload:", err)
		var ae *workload.APIError
		if errors.As(err, &ae) && ae.Status < 500 {
			return 254 // as the aws CLI exits on a service error
		}
		return 1
	}
	if *output == "text" {
		printWorkloadText(stdout, out)
		return 0
	}
	b, _ := json.MarshalIndent(out, "", "    ")
	fmt.Fprintln(stdout, string(b))
	return 0
}

func nonNil(s []workload.Selector) []workload.Selector {
	if s == nil {
		return []workload.Selector{}
	}
	return s
}

// revokeRoleSessions adds AWSRevokeOlderSessions to the role: sessions
// issued before the next whole second are denied everything.
func revokeRoleSessions(ctx context.Context, c *workload.SignedClient, roleARN string) error {
	name := roleARN[strings.LastIndexByte(roleARN, '/')+1:]
	return c.RevokeRoleSessions(ctx, name, time.Now().UTC().Truncate(time.Second).Add(time.Second))
}

func printWorkloadText(w io.Writer, out any) {
	line := func(x *workload.Workload) {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", x.Name, x.Status, x.RoleArn, x.WorkloadArn)
	}
	switch o := out.(type) {
	case *workload.WorkloadOutput:
		line(&o.Workload)
	case *workload.ListOutput:
		for i := range o.Workloads {
			line(&o.Workloads[i])
		}
	}
}
