package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/bulwark-security/bulwark/internal/workload"
	"github.com/prometheus/client_golang/prometheus"
)

// multiFlag is a repeatable string flag.
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, " ") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

// agentWorkload is one --workload of `bulwark agent`.
type agentWorkload struct {
	name, arn, joinFile, idFile, tokenFile, imds string
}

// parseWorkloadSpec reads "name=web,arn=...,join-token-file=...,token-file=...,imds=127.0.0.1:9001".
func parseWorkloadSpec(spec string) (agentWorkload, error) {
	var w agentWorkload
	if len(spec) > 4096 {
		return w, errors.New("workload spec too long")
	}
	for _, kv := range strings.Split(spec, ",") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || v == "" {
			return w, fmt.Errorf("workload spec item %q is not key=value", kv)
		}
		switch k {
		case "name":
			w.name = v
		case "arn":
			w.arn = v
		case "join-token-file":
			w.joinFile = v
		case "identity-token-file":
			w.idFile = v
		case "token-file":
			w.tokenFile = v
		case "imds":
			w.imds = v
		default:
			return w, fmt.Errorf("unknown workload spec key %q", k)
		}
	}
	switch {
	case w.name == "":
		return w, errors.New("workload spec needs name=")
	case (w.joinFile == "") == (w.idFile == ""):
		return w, fmt.Errorf("workload %s: give exactly one of join-token-file= and identity-token-file=", w.name)
	case w.idFile != "" && w.arn == "":
		return w, fmt.Errorf("workload %s: identity-token-file= needs arn=", w.name)
	case w.tokenFile == "" && w.imds == "":
		return w, fmt.Errorf("workload %s: give token-file= (container credentials endpoint) or imds=", w.name)
	case w.imds != "" && !workload.IsLoopbackAddr(w.imds):
		return w, fmt.Errorf("workload %s: imds=%s is not a loopback address", w.name, w.imds)
	}
	return w, nil
}

// writeSecretFile writes a token for a workload to read, readable by the
// owner only, replacing any previous file atomically. It refuses to replace
// anything but a regular file (a device, a symlink, a directory).
func writeSecretFile(path, value string) error {
	if fi, err := os.Lstat(path); err == nil && !fi.Mode().IsRegular() {
		return fmt.Errorf("%s exists and is not a regular file", path)
	} else if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, ".bulwark-token-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return err
	}
	if _, err := f.WriteString(value); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}

func agentLogger(format, level string, w io.Writer) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("log level %q: %w", level, err)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch format {
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("log format %q: use json or text", format)
}

func serverHTTPClient(caFile string) (*http.Client, error) {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy = nil // the agent talks to its server directly
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, err
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("%s holds no PEM certificate", caFile)
		}
		tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}, nil
}

// serveLoopback listens on a loopback address and serves h until ctx ends.
func serveLoopback(ctx context.Context, wg *sync.WaitGroup, addr string, h http.Handler, logger *slog.Logger) (net.Addr, error) {
	ln, err := workload.ListenLoopback(ctx, addr)
	if err != nil {
		return nil, err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second,
		WriteTimeout: 10 * time.Second, IdleTimeout: 60 * time.Second, MaxHeaderBytes: 16 << 10,
		ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelWarn)}
	wg.Add(2)
	go func() {
		defer wg.Done()
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			logger.Error("listener failed", "addr", addr, "err", err)
		}
	}()
	go func() {
		defer wg.Done()
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	return ln.Addr(), nil
}

func refreshMetrics(reg *prometheus.Registry) func(string, *workload.Credentials, error) {
	refreshes := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "bulwark_agent_refreshes_total", Help: "Credential fetches from the server by workload and outcome.",
	}, []string{"workload", "outcome"})
	expiry := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "bulwark_agent_credentials_expiry_timestamp_seconds", Help: "Expiry of each workload's current credentials.",
	}, []string{"workload"})
	reg.MustRegister(refreshes, expiry)
	return func(name string, c *workload.Credentials, err error) {
		if err != nil {
			refreshes.WithLabelValues(name, "error").Inc()
			return
		}
		refreshes.WithLabelValues(name, "ok").Inc()
		expiry.WithLabelValues(name).Set(float64(c.Expiration.Unix()))
	}
}

// runAgent is `bulwark agent`: it attests each workload to the server,
// keeps its role credentials fresh in memory, and serves them on loopback
// to unmodified AWS SDKs (container credentials endpoint, IMDSv2).
func runAgent(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer) int {
	fs := flag.NewFlagSet("bulwark agent", flag.ContinueOnError)
	fs.SetOutput(stderr)
	serverURL := fs.String("server", getenv("BULWARK_SERVER"), "the Bulwark server's URL (env BULWARK_SERVER)")
	serverCA := fs.String("server-ca", "", "PEM file of the CA that signs the server's TLS certificate (default: system roots)")
	listen := fs.String("listen", "127.0.0.1:8170", "loopback `address` of the container credentials endpoint, /healthz and /metrics")
	var specs multiFlag
	fs.Var(&specs, "workload", "a workload to serve (repeatable): name=NAME,{join-token-file=FILE|arn=ARN,identity-token-file=FILE}[,token-file=FILE][,imds=127.0.0.1:PORT]")
	duration := fs.Duration("duration", time.Hour, "credential lifetime to ask the server for (at least 15m; a dev-mode server allows 5s)")
	margin := fs.Duration("refresh-margin", 5*time.Minute, "refresh credentials this long before they expire, or at 2/3 of their lifetime if sooner")
	allowV1 := fs.Bool("imds-allow-v1", false, "answer IMDSv1 requests (without a session token); insecure")
	rate := fs.Float64("rate", 50, "requests per second allowed on each listener")
	logFormat := fs.String("log-format", "text", "log format: text or json")
	logLevel := fs.String("log-level", "info", "log level: debug, info, warn, error")
	if err := fs.Parse(args); err != nil {
		return helpOr2(err)
	}
	logger, err := agentLogger(*logFormat, *logLevel, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "bulwark agent:", err)
		return 2
	}
	fail := func(format string, a ...any) int {
		logger.Error(fmt.Sprintf(format, a...))
		return 1
	}
	if *serverURL == "" || len(specs) == 0 {
		fmt.Fprintln(stderr, "bulwark agent: --server and at least one --workload are required")
		return 2
	}
	if *duration < time.Second {
		return fail("--duration %v is too short", *duration)
	}
	hc, err := serverHTTPClient(*serverCA)
	if err != nil {
		return fail("server CA: %v", err)
	}
	client := &workload.AgentClient{Endpoint: *serverURL, HTTP: hc}
	reg := prometheus.NewRegistry()
	onRefresh := refreshMetrics(reg)

	var served []*workload.Served
	var ws []agentWorkload
	names := map[string]bool{}
	for _, spec := range specs {
		w, err := parseWorkloadSpec(spec)
		if err != nil {
			fmt.Fprintln(stderr, "bulwark agent:", err)
			return 2
		}
		if names[w.name] {
			return fail("workload %s given twice", w.name)
		}
		names[w.name] = true
		att := &workload.Attester{Client: client, WorkloadARN: w.arn, JoinTokenFile: w.joinFile,
			IdentityTokenFile: w.idFile, Duration: *duration, Logger: logger}
		ref := &workload.Refresher{Name: w.name, Fetch: att.Fetch, Margin: *margin, Logger: logger, OnRefresh: onRefresh}
		s := &workload.Served{Name: w.name, Token: workload.NewSecret("bwl_"), Creds: ref}
		if w.tokenFile != "" {
			if err := writeSecretFile(w.tokenFile, s.Token.Reveal()); err != nil {
				return fail("write token file of %s: %v", w.name, err)
			}
		}
		served = append(served, s)
		ws = append(ws, w)
	}
	ep := workload.NewEndpoint(workload.EndpointConfig{Logger: logger, AllowIMDSv1: *allowV1, Rate: *rate, Burst: int(*rate * 2), Registry: reg}, served...)

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	defer wg.Wait()
	addr, err := serveLoopback(ctx, &wg, *listen, ep.Handler(), logger)
	if err != nil {
		cancel()
		return fail("listen: %v", err)
	}
	imds := map[string]string{}
	for i, w := range ws {
		if w.imds == "" {
			continue
		}
		a, err := serveLoopback(ctx, &wg, w.imds, ep.IMDSHandler(served[i]), logger)
		if err != nil {
			cancel()
			return fail("IMDS listener of %s: %v", w.name, err)
		}
		imds[w.name] = "http://" + a.String()
	}
	for _, s := range served {
		wg.Add(1)
		go func() { defer wg.Done(); s.Creds.Run(ctx) }()
	}
	// Ready once every workload has had its first answer from the server.
	for _, s := range served {
		select {
		case <-s.Creds.Tried():
		case <-time.After(30 * time.Second):
		case <-ctx.Done():
			return 0
		}
	}
	logger.Info("bulwark agent ready", "endpoint", "http://"+addr.String()+workload.ContainerPath, "imds", imds)
	<-ctx.Done()
	logger.Info("bulwark agent stopping")
	return 0
}

// childEnvDrop are the variables `bulwark exec` removes from the child's
// environment: anything that could give it credentials other than the
// endpoint's (or point it at a profile that does).
var childEnvDrop = []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN",
	"AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SHARED_CREDENTIALS_FILE", "AWS_CONFIG_FILE", "AWS_CREDENTIAL_FILE",
	"AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN", "AWS_ROLE_SESSION_NAME", "AWS_CONTAINER_CREDENTIALS_FULL_URI",
	"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_AUTHORIZATION_TOKEN", "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
	"AWS_EC2_METADATA_SERVICE_ENDPOINT", "AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE", "AWS_ACCESS_KEY", "AWS_SECRET_KEY",
	"AWS_CREDENTIAL_EXPIRATION", "BULWARK_DEV_TOKEN"}

// childEnv is the child's environment: the parent's minus childEnvDrop,
// plus the endpoint, its token, region and the server endpoint, and empty
// shared files so no profile can shadow the endpoint.
func childEnv(parent []string, fullURI, token, region, endpoint string) []string {
	drop := map[string]bool{}
	for _, k := range childEnvDrop {
		drop[k] = true
	}
	var out []string
	for _, kv := range parent {
		k, _, _ := strings.Cut(kv, "=")
		if drop[k] || k == "AWS_REGION" || k == "AWS_DEFAULT_REGION" || k == "AWS_ENDPOINT_URL" {
			continue
		}
		out = append(out, kv)
	}
	return append(out,
		"AWS_CONTAINER_CREDENTIALS_FULL_URI="+fullURI,
		"AWS_CONTAINER_AUTHORIZATION_TOKEN="+token,
		"AWS_SHARED_CREDENTIALS_FILE="+os.DevNull,
		"AWS_CONFIG_FILE="+os.DevNull,
		"AWS_EC2_METADATA_DISABLED=true",
		"AWS_REGION="+region, "AWS_DEFAULT_REGION="+region,
		"AWS_ENDPOINT_URL="+endpoint)
}

// runExec is `bulwark exec --role ARN -- command`: it assumes the role with
// the caller's own credentials and runs the command with those role
// credentials served through a private loopback endpoint, refreshed before
// they expire (like aws-vault exec --ecs-server).
func runExec(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("bulwark exec", flag.ContinueOnError)
	fs.SetOutput(stderr)
	role := fs.String("role", "", "ARN of the role to run the command as (required)")
	sessionName := fs.String("session-name", fmt.Sprintf("bulwark-exec-%d", os.Getpid()), "role session name")
	duration := fs.Duration("duration", time.Hour, "credential lifetime (15m to the role's maximum)")
	margin := fs.Duration("refresh-margin", 5*time.Minute, "refresh this long before expiry, or at 2/3 of the lifetime if sooner")
	endpoint := fs.String("endpoint-url", "", "the Bulwark server's URL (default: AWS_ENDPOINT_URL or the profile's endpoint_url)")
	profile := fs.String("profile", "", "profile of the caller's credentials")
	region := fs.String("region", "", "region (default: AWS_REGION, AWS_DEFAULT_REGION or the profile's)")
	logLevel := fs.String("log-level", "warn", "log level")
	if err := fs.Parse(args); err != nil {
		return helpOr2(err)
	}
	argv := fs.Args()
	if *role == "" || len(argv) == 0 {
		fmt.Fprintln(stderr, "usage: bulwark exec --role ROLE_ARN [flags] -- command [args...]")
		return 2
	}
	logger, err := agentLogger("text", *logLevel, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "bulwark exec:", err)
		return 2
	}
	cc, err := workload.LoadCallerConfig(getenv, *profile, *endpoint, *region)
	if err != nil {
		fmt.Fprintln(stderr, "bulwark exec:", err)
		return 1
	}
	hc, _ := serverHTTPClient("")
	sc := &workload.SignedClient{Endpoint: cc.Endpoint, Region: cc.Region, Creds: cc.Creds, HTTP: hc}
	ref := &workload.Refresher{Name: "exec", Margin: *margin, Logger: logger,
		Fetch: func(ctx context.Context) (workload.Credentials, error) {
			return sc.AssumeRole(ctx, *role, *sessionName, *duration)
		}}
	// Fail before starting the command if the role cannot be assumed.
	first, err := ref.Fetch(ctx)
	if err != nil {
		fmt.Fprintln(stderr, "bulwark exec:", err)
		return 1
	}
	ref.Fetch = chainFirst(first, ref.Fetch)
	token := workload.NewSecret("bwl_")
	ep := workload.NewEndpoint(workload.EndpointConfig{Logger: logger}, &workload.Served{Name: "exec", Token: token, Creds: ref})

	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	addr, err := serveLoopback(ctx, &wg, "127.0.0.1:0", ep.Handler(), logger)
	if err != nil {
		fmt.Fprintln(stderr, "bulwark exec:", err)
		return 1
	}
	wg.Add(1)
	go func() { defer wg.Done(); ref.Run(ctx) }()
	<-ref.Tried()

	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = childEnv(os.Environ(), "http://"+addr.String()+workload.ContainerPath, token.Reveal(), cc.Region, cc.Endpoint)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, stdout, stderr
	if err := cmd.Start(); err != nil {
		fmt.Fprintln(stderr, "bulwark exec:", err)
		return 127
	}
	// Signals to bulwark go on to the command, which decides when to stop.
	done := make(chan struct{})
	go func() {
		select {
		case <-ctx.Done():
			_ = cmd.Process.Signal(syscall.SIGTERM)
		case <-done:
		}
	}()
	err = cmd.Wait()
	close(done)
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee):
		if code := ee.ExitCode(); code >= 0 {
			return code
		}
		return 128 + int(syscall.SIGTERM)
	default:
		fmt.Fprintln(stderr, "bulwark exec:", err)
		return 1
	}
}

// helpOr2 is the exit code of a flag parse error: 0 for -h, else 2.
func helpOr2(err error) int {
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	return 2
}

// chainFirst returns a fetcher that yields first once, then fetches.
func chainFirst(first workload.Credentials, fetch workload.Fetcher) workload.Fetcher {
	var used bool
	var mu sync.Mutex
	return func(ctx context.Context) (workload.Credentials, error) {
		mu.Lock()
		u := used
		used = true
		mu.Unlock()
		if !u {
			return first, nil
		}
		return fetch(ctx)
	}
}
