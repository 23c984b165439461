package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/bulwark-security/bulwark/internal/sigv4"
)

// runReset is `bulwark reset`: it asks a dev-mode server to wipe its state,
// signing the request with the root credential (dev mode's test/test by
// default) or sending the dev token.
func runReset(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("bulwark reset", flag.ContinueOnError)
	fs.SetOutput(stderr)
	endpoint := fs.String("endpoint", "http://127.0.0.1:4747", "the dev server's endpoint")
	region := fs.String("region", "us-east-1", "the server's region")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	akid, secret := getenv("AWS_ACCESS_KEY_ID"), getenv("AWS_SECRET_ACCESS_KEY")
	if akid == "" {
		akid, secret = "test", "test"
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(*endpoint, "/")+"/_bulwark/reset", nil)
	if err != nil {
		fmt.Fprintf(stderr, "bulwark reset: %v\n", err)
		return 2
	}
	if tok := getenv("BULWARK_DEV_TOKEN"); tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	} else if err := sigv4.Sign(req, nil, akid, []byte(secret), getenv("AWS_SESSION_TOKEN"), *region, "bulwark", time.Now()); err != nil {
		fmt.Fprintf(stderr, "bulwark reset: sign: %v\n", err)
		return 1
	}
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		fmt.Fprintf(stderr, "bulwark reset: %v\n", err)
		return 1
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode != http.StatusOK {
		fmt.Fprintf(stderr, "bulwark reset: %s: %s\n", resp.Status, strings.TrimSpace(string(body)))
		return 1
	}
	fmt.Fprintln(stdout, strings.TrimSpace(string(body)))
	return 0
}
