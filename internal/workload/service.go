package workload

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/bulwark-security/bulwark/internal/api"
	"github.com/bulwark-security/bulwark/internal/arn"
	"github.com/bulwark-security/bulwark/internal/authz"
	"github.com/bulwark-security/bulwark/internal/awsproto"
	"github.com/bulwark-security/bulwark/internal/oidc"
	"github.com/bulwark-security/bulwark/internal/store"
	"github.com/bulwark-security/bulwark/internal/sts"
)

// Names the services and policies use.
const (
	// SigningName is the admin API's SigV4 service name and IAM prefix.
	SigningName = "bulwark-workloads"
	// TargetPrefix is the admin API's X-Amz-Target prefix.
	TargetPrefix = "BulwarkWorkloads"
	// AgentSigningName names the agent-facing query service (its calls
	// are unsigned; the name only keys the registry).
	AgentSigningName = "bulwark-workload-agent"
	// AgentVersion is the agent-facing query protocol's API version.
	AgentVersion = "2026-11-01"
	// AgentNamespace is its XML namespace.
	AgentNamespace = "https://bulwark.internal/doc/workload-agent/2026-11-01/"
	// ServicePrincipal is the principal role trust policies allow, as
	// ecs-tasks.amazonaws.com for ECS task roles.
	ServicePrincipal = "workloads.bulwark.internal"
	// EventSource is the audit event source of both services.
	EventSource = "workloads.bulwark.internal"
)

// Defaults of Config's zero fields.
const (
	DefaultMinDuration   = 900 * time.Second
	DefaultAgentTokenTTL = 24 * time.Hour
	DefaultJoinTokenTTL  = 10 * time.Minute
	MaxJoinTokenTTL      = 24 * time.Hour
	// maxSelectors bounds a workload's selectors.
	maxSelectors = 32
)

// Attestation types, as bulwark-workloads:AttestationType gives them.
const (
	AttestJoinToken = "join_token"
	AttestJWT       = "jwt"
)

// Keyring seals session tokens.
type Keyring = sts.Keyring

// Config is what the services need.
type Config struct {
	Store      store.Workloads
	IAM        store.IAM
	Keyring    Keyring
	Authorizer authz.Authorizer
	// OIDC verifies OIDC attestation tokens against the IAM OIDC provider
	// of their issuer; without it JWT attestation fails.
	OIDC *oidc.Verifier
	// MinDuration is the shortest credential lifetime an agent may ask
	// for: 900 s as STS's minimum. Only dev mode lowers it (so tests see
	// credentials rotate within seconds).
	MinDuration time.Duration
	// AgentTokenTTL is how long an agent token stays valid without use;
	// every credential refresh extends it.
	AgentTokenTTL time.Duration
	Now           func() time.Time
}

// Service implements both workload services.
type Service struct{ cfg Config }

// New returns the admin service and the agent-facing service.
func New(cfg Config) (admin, agent *api.Service, err error) {
	if cfg.Store == nil || cfg.IAM == nil || cfg.Keyring == nil || cfg.Authorizer == nil {
		return nil, nil, errors.New("workload: Store, IAM, Keyring and Authorizer are required")
	}
	if cfg.MinDuration <= 0 {
		cfg.MinDuration = DefaultMinDuration
	}
	if cfg.AgentTokenTTL <= 0 {
		cfg.AgentTokenTTL = DefaultAgentTokenTTL
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	s := &Service{cfg: cfg}
	return s.adminService(), s.agentService(), nil
}

var (
	nameRE     = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.@=,+-]{0,63}$`)
	selKeyRE   = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.:/=+@-]{0,127}$`)
	selValueRE = regexp.MustCompile(`^[\x20-\x7e]{0,256}$`)
)

// workloadARN is the ARN of a workload of the caller's account and region.
func workloadARN(region, account, name string) string {
	return "arn:aws:" + SigningName + ":" + region + ":" + account + ":workload/" + name
}

// resolveName turns a workload name or ARN into the ARN of the caller's
// account and region; ok is false for an ARN of another account, region
// or service, or a malformed name.
func resolveName(c *api.Call, nameOrARN string) (string, bool) {
	if strings.HasPrefix(nameOrARN, "arn:") {
		a, err := arn.Parse(nameOrARN)
		if err != nil || a.Service != SigningName || a.Account != c.Principal.AccountID || a.Region != c.Region ||
			!strings.HasPrefix(a.Resource, "workload/") || !nameRE.MatchString(a.Resource[len("workload/"):]) {
			return "", false
		}
		return nameOrARN, true
	}
	if !nameRE.MatchString(nameOrARN) {
		return "", false
	}
	return workloadARN(c.Region, c.Principal.AccountID, nameOrARN), true
}

// roleParts returns the account and name of a role ARN.
func roleParts(roleARN string) (account, name string, ok bool) {
	a, err := arn.Parse(roleARN)
	if err != nil || a.Service != "iam" || !strings.HasPrefix(a.Resource, "role/") || !arn.IsAccountID(a.Account) {
		return "", "", false
	}
	res := a.Resource[len("role/"):]
	name = res[strings.LastIndexByte(res, '/')+1:]
	return a.Account, name, name != ""
}

func validation(format string, args ...any) error {
	return awsproto.ValidationException(format, args...)
}

func notFound(nameOrARN string) error {
	return awsproto.Errorf(http.StatusBadRequest, "ResourceNotFoundException", "Workload %s not found.", truncate(nameOrARN, 128))
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// authorizeExtra asks the authorizer about a second action a call implies
// (iam:PassRole for the role a workload runs as), as STS does for
// sts:TagSession.
func (s *Service) authorizeExtra(ctx context.Context, c *api.Call, action, resource string, rctx map[string][]string) error {
	a := *c.Action
	a.IAMAction, a.AlwaysAllowed = action, false
	d, err := s.cfg.Authorizer.Authorize(ctx, &authz.Request{Call: c, Action: &a, Resources: []string{resource}, Context: rctx})
	if err != nil {
		return fmt.Errorf("authorize %s: %w", action, err)
	}
	if !d.Allowed {
		cc := *c
		cc.Action = &a
		return authz.Denied(&cc, d)
	}
	return nil
}
