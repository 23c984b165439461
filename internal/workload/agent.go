package workload

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"
)

// maxTokenFileBytes bounds a token file the agent reads.
const maxTokenFileBytes = 64 << 10

// readTokenFile reads a token from a file (a join token, or an OIDC token
// that a kubelet rotates), trimming surrounding whitespace.
func readTokenFile(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	b := make([]byte, maxTokenFileBytes+1)
	n, err := f.Read(b)
	if err != nil && n == 0 {
		return "", fmt.Errorf("read %s: %w", path, err)
	}
	if n > maxTokenFileBytes {
		return "", fmt.Errorf("%s is larger than %d bytes", path, maxTokenFileBytes)
	}
	return strings.TrimSpace(string(b[:n])), nil
}

// Attester is one workload's side of attestation: it holds the agent token
// (in memory) and gets credentials with it, attesting first and again when
// the server no longer accepts the agent token.
type Attester struct {
	Client *AgentClient
	// WorkloadARN names the workload (required for JWT attestation).
	WorkloadARN string
	// JoinTokenFile holds a one-time join token. It is read when the agent
	// must attest; a used token cannot attest again, so after a restart
	// the operator writes a new one there.
	JoinTokenFile string
	// IdentityTokenFile holds an OIDC token (a projected Kubernetes
	// service-account token), read afresh at each attestation.
	IdentityTokenFile string
	// Duration is the credential lifetime asked for (0: the server's
	// default, one hour).
	Duration time.Duration
	Logger   *slog.Logger

	mu       sync.Mutex
	agent    Secret
	lastJoin string
}

// errNoJoinToken means the join token file holds only the token already used.
var errNoJoinToken = errors.New("no unused join token: write a new one (bulwark workload join-token) to the join token file")

func (a *Attester) attest(ctx context.Context) error {
	var join, id Secret
	switch {
	case a.IdentityTokenFile != "":
		t, err := readTokenFile(a.IdentityTokenFile)
		if err != nil {
			return err
		}
		id = Secret{t}
	case a.JoinTokenFile != "":
		t, err := readTokenFile(a.JoinTokenFile)
		if err != nil {
			return err
		}
		if t == a.lastJoin {
			return &APIError{Status: 403, Code: "AccessDenied", Message: errNoJoinToken.Error()}
		}
		var ok bool
		if join, ok = ParseSecret(joinTokenPrefix, t); !ok {
			return &APIError{Status: 400, Code: "ValidationError", Message: "the join token file does not hold a join token"}
		}
		a.lastJoin = t
	default:
		return errors.New("no join token file or identity token file")
	}
	at, err := a.Client.Attest(ctx, a.WorkloadARN, join, id)
	if err != nil {
		return err
	}
	if a.WorkloadARN == "" {
		a.WorkloadARN = at.WorkloadARN
	}
	a.agent = at.AgentToken
	if a.Logger != nil {
		a.Logger.Info("workload attested", "workload", at.WorkloadARN, "role", at.RoleARN)
	}
	return nil
}

// Fetch implements Fetcher.
func (a *Attester) Fetch(ctx context.Context) (Credentials, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.agent.IsZero() {
		if err := a.attest(ctx); err != nil {
			return Credentials{}, fmt.Errorf("attest: %w", err)
		}
	}
	c, err := a.Client.Credentials(ctx, a.agent, a.Duration)
	var ae *APIError
	if errors.As(err, &ae) && ae.Code == "ExpiredTokenException" {
		// The agent token is gone (expired, or the workload revoked):
		// attest again if there is something to attest with.
		a.agent = Secret{}
		if aerr := a.attest(ctx); aerr != nil {
			return Credentials{}, fmt.Errorf("attest again: %w", aerr)
		}
		c, err = a.Client.Credentials(ctx, a.agent, a.Duration)
	}
	return c, err
}
