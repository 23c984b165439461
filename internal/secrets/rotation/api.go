package rotation

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/bulwark-security/bulwark/internal/api"
	"github.com/bulwark-security/bulwark/internal/authz"
	"github.com/bulwark-security/bulwark/internal/awsproto"
	"github.com/bulwark-security/bulwark/internal/policy"
	"github.com/bulwark-security/bulwark/internal/store"
)

// SecretsService is the in-process API of Secrets Manager (package
// secrets' *Service) that rotation builds on.
type SecretsService interface {
	API() *api.Service
	Secret(ctx context.Context, c *api.Call, id string) (store.Secret, error)
	PutVersion(ctx context.Context, c *api.Call, arn, versionID string, val []byte, binary bool, stages []string) (store.SecretVersion, error)
	MoveStage(ctx context.Context, arn, stage, from, to string) error
	PreparePending(ctx context.Context, arn, versionID string) error
	ReadVersion(ctx context.Context, c *api.Call, arn, versionID, stage string) ([]byte, bool, store.SecretVersion, error)
	Versions(ctx context.Context, arn string) ([]store.SecretVersion, error)
	UpdateRotation(ctx context.Context, arn string, fn func(*store.Secret) error) (store.Secret, error)
}

// Sealer seals values at rest (the keyring).
type Sealer interface {
	Opener
	Seal(plaintext, aad []byte) ([]byte, error)
}

// Config is what the rotation feature needs. Every field but Logger and
// Now is required.
type Config struct {
	Secrets    SecretsService
	Store      store.Rotation
	Keys       Sealer
	Authorizer authz.Authorizer
	Engine     *Engine
	Rotators   Rotators
	Logger     *slog.Logger
	Now        func() time.Time
}

// Service is the rotation feature's API: RotateSecret and
// CancelRotateSecret rows for Secrets Manager's table, and the Bulwark
// rotation webhook service.
type Service struct{ cfg Config }

// New returns the service.
func New(cfg Config) (*Service, error) {
	if cfg.Secrets == nil || cfg.Store == nil || cfg.Keys == nil || cfg.Authorizer == nil || cfg.Engine == nil || cfg.Rotators == nil {
		return nil, errors.New("rotation: Secrets, Store, Keys, Authorizer, Engine and Rotators are required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Service{cfg: cfg}, nil
}

func (s *Service) now() time.Time { return s.cfg.Now().UTC() }

// Secrets Manager's codes (all HTTP 400).
const (
	codeNotFound     = "ResourceNotFoundException"
	codeInvalidParam = "InvalidParameterException"
	codeInvalidReq   = "InvalidRequestException"
)

func invalidParam(format string, args ...any) *awsproto.Error {
	return awsproto.Errorf(http.StatusBadRequest, codeInvalidParam, format, args...)
}

func invalidRequest(format string, args ...any) *awsproto.Error {
	return awsproto.Errorf(http.StatusBadRequest, codeInvalidReq, format, args...)
}

// Condition keys of RotateSecret (Service Authorization Reference).
const (
	keySecretID          = "secretsmanager:SecretId"
	keyRotationLambdaARN = "secretsmanager:RotationLambdaARN"
	keyModifyRules       = "secretsmanager:ModifyRotationRules"
	keyRotateImmediately = "secretsmanager:RotateImmediately"
	keyResourceTag       = "secretsmanager:ResourceTag/"
	keyAWSResourceTag    = "aws:ResourceTag/"
	keyPrimaryRegion     = "secretsmanager:SecretPrimaryRegion"
)

// Actions returns the rows to append to Secrets Manager's action table.
func (s *Service) Actions() []api.Action {
	var rp func(ctx context.Context, c *api.Call, resource string) (*policy.Policy, error)
	if a := findAction(s.cfg.Secrets.API(), "DescribeSecret"); a != nil {
		rp = a.ResourcePolicy
	}
	onSecret := []string{keySecretID, keyResourceTag + "${TagKey}", keyAWSResourceTag + "${TagKey}", keyPrimaryRegion}
	return []api.Action{
		api.Define(api.Action{Name: "RotateSecret", IAMAction: "secretsmanager:RotateSecret", Access: api.AccessWrite,
			ConditionKeys:  append([]string{keyRotationLambdaARN, keyModifyRules, keyRotateImmediately}, onSecret...),
			ResourcePolicy: rp},
			resolveRes[rotateSecretInput](s), s.rotateSecret),
		api.Define(api.Action{Name: "CancelRotateSecret", IAMAction: "secretsmanager:CancelRotateSecret", Access: api.AccessWrite,
			ConditionKeys: onSecret, ResourcePolicy: rp},
			resolveRes[cancelRotateInput](s), s.cancelRotateSecret),
	}
}

// findAction finds a row of a table by name (the table may not be indexed
// yet when the rows are built).
func findAction(svc *api.Service, name string) *api.Action {
	for i := range svc.Actions {
		if svc.Actions[i].Name == name {
			return &svc.Actions[i]
		}
	}
	return nil
}

// target is the secret a SecretId resolved to, kept in the input between
// authorisation and the handler.
type target struct {
	sec store.Secret
	err error
	arn string
}

// context supplies the secret's condition keys.
func (t *target) context() map[string][]string {
	m := map[string][]string{keySecretID: {t.arn}}
	if t.err == nil {
		for _, tag := range t.sec.Tags {
			m[keyResourceTag+tag.Key] = []string{tag.Value}
			m[keyAWSResourceTag+tag.Key] = []string{tag.Value}
		}
		if t.sec.PrimaryRegion != "" {
			m[keyPrimaryRegion] = []string{t.sec.PrimaryRegion}
		}
	}
	return m
}

type resolvable interface {
	secretID() string
	found() *target
}

const lookupTimeout = 5 * time.Second

// resolveRes looks the secret up before authorisation and names its ARN;
// for a secret that does not exist it names the ARN the id would have, so
// a caller who may not act on it learns nothing from the answer.
func resolveRes[In any, P interface {
	*In
	resolvable
}](s *Service) api.Resources[In] {
	return func(c *api.Call, in *In) []string {
		r := P(in)
		t := r.found()
		ctx, cancel := context.WithTimeout(context.Background(), lookupTimeout)
		defer cancel()
		id := r.secretID()
		t.sec, t.err = s.cfg.Secrets.Secret(ctx, c, id)
		switch {
		case t.err == nil:
			t.arn = t.sec.ARN
		case strings.HasPrefix(id, "arn:"):
			t.arn = id
		default:
			t.arn = fmt.Sprintf("arn:aws:secretsmanager:%s:%s:secret:%s", c.Region, c.Principal.AccountID, id)
		}
		return []string{t.arn}
	}
}

// live returns the secret for an action refused on a secret pending
// deletion.
func (t *target) live() (*store.Secret, error) {
	if t.err != nil {
		return nil, t.err
	}
	if !t.sec.DeletedAt.IsZero() {
		return nil, invalidRequest("You can't perform this operation on the secret because it was marked for deletion.")
	}
	return &t.sec, nil
}

func checkSecretID(id string) error {
	if id == "" || len(id) > 2048 {
		return invalidParam("SecretId must be between 1 and 2048 characters.")
	}
	return nil
}

// validToken: a ClientRequestToken, 32-64 printable ASCII characters.
func validToken(t string) bool {
	if len(t) < 32 || len(t) > 64 {
		return false
	}
	for i := 0; i < len(t); i++ {
		if t[i] < 0x21 || t[i] > 0x7e {
			return false
		}
	}
	return true
}

type rotateSecretInput struct {
	SecretID           string `json:"SecretId"`
	ClientRequestToken string `json:"ClientRequestToken"`
	RotationLambdaARN  string `json:"RotationLambdaARN"`
	RotationRules      *Rules `json:"RotationRules"`
	RotateImmediately  *bool  `json:"RotateImmediately"`

	t     target
	sched Schedule
}

func (in *rotateSecretInput) secretID() string { return in.SecretID }
func (in *rotateSecretInput) found() *target   { return &in.t }

func (in *rotateSecretInput) Validate() error {
	if err := checkSecretID(in.SecretID); err != nil {
		return err
	}
	if in.ClientRequestToken != "" && !validToken(in.ClientRequestToken) {
		return invalidParam("ClientRequestToken must be between 32 and 64 characters.")
	}
	if len(in.RotationLambdaARN) > 2048 {
		return invalidParam("RotationLambdaARN must be at most 2048 characters.")
	}
	if in.RotationLambdaARN != "" {
		if _, err := ParseFunctionARN(in.RotationLambdaARN); err != nil {
			return invalidParam("RotationLambdaARN is not valid: %v.", err)
		}
	}
	if in.RotationRules != nil {
		sched, err := ParseRules(*in.RotationRules)
		if err != nil {
			return invalidParam("%s", err.Error())
		}
		in.sched = sched
	}
	return nil
}

func (in *rotateSecretInput) immediately() bool {
	return in.RotateImmediately == nil || *in.RotateImmediately
}

// RequestContext implements api.ContextProvider.
func (in *rotateSecretInput) RequestContext(*api.Call) map[string][]string {
	m := in.t.context()
	if in.RotationLambdaARN != "" {
		m[keyRotationLambdaARN] = []string{in.RotationLambdaARN}
	}
	m[keyModifyRules] = []string{strconv.FormatBool(in.RotationRules != nil)}
	m[keyRotateImmediately] = []string{strconv.FormatBool(in.immediately())}
	return m
}

type rotateSecretOutput struct {
	ARN       string `json:"ARN"`
	Name      string `json:"Name"`
	VersionID string `json:"VersionId,omitempty"`
}

var errInProgress = "A previous rotation isn't complete. That rotation will be reattempted."

func (s *Service) rotateSecret(ctx context.Context, c *api.Call, in *rotateSecretInput) (any, error) {
	sec, err := in.t.live()
	if err != nil {
		return nil, err
	}
	if sec.OwningService != "" {
		return nil, invalidRequest("You can't rotate a secret managed by %s with RotateSecret.", sec.OwningService)
	}
	fn := in.RotationLambdaARN
	if fn == "" {
		fn = sec.RotationLambdaARN
	}
	if fn == "" {
		return nil, invalidRequest("No Lambda rotation function ARN is associated with this secret.")
	}
	if _, err := s.cfg.Rotators.Rotator(ctx, fn); err != nil {
		if errors.Is(err, ErrNoRotator) {
			return nil, invalidRequest("Secrets Manager can't find a rotator for %s: register a rotation webhook for it or use a built-in rotator.", fn)
		}
		return nil, awsproto.InternalFailure(fmt.Errorf("resolve rotator %s: %w", fn, err))
	}
	if f, _ := ParseFunctionARN(fn); f.Name == FunctionPostgresAlternatingUsers {
		if err := s.checkMaster(ctx, c, sec); err != nil {
			return nil, err
		}
	}
	rules := RulesOf(sec)
	sched := in.sched
	if in.RotationRules != nil {
		rules = *in.RotationRules
	} else if sched, err = ParseRules(rules); err != nil {
		return nil, awsproto.InternalFailure(fmt.Errorf("stored rotation rules of %s: %w", sec.ARN, err))
	}
	token := in.ClientRequestToken
	if token == "" {
		token = newToken()
	}
	cur, err := s.cfg.Store.GetSecretRotation(ctx, sec.ARN)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, awsproto.InternalFailure(err)
	}
	if cur.Token != "" && (cur.Token != token || !in.immediately()) {
		return nil, invalidRequest("%s", errInProgress)
	}
	now := s.now()
	_, err = s.cfg.Secrets.UpdateRotation(ctx, sec.ARN, func(x *store.Secret) error {
		x.RotationEnabled = true
		x.RotationLambdaARN = fn
		x.RotationAfterDays, x.RotationDuration, x.RotationSchedule = rules.AutomaticallyAfterDays, rules.Duration, rules.ScheduleExpression
		x.NextRotationAt = time.Time{}
		if !sched.IsZero() {
			last := x.LastRotatedAt
			if last.IsZero() || !in.immediately() || in.RotationRules != nil {
				last = now
			}
			x.NextRotationAt = sched.Next(last)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := rotateSecretOutput{ARN: sec.ARN, Name: sec.Name}
	if !in.immediately() {
		return out, nil
	}
	err = s.cfg.Engine.Begin(ctx, sec.ARN, token, time.Time{})
	switch {
	case err == nil, errors.Is(err, store.ErrLeaseHeld):
		// Started, or already running with this token: the same answer.
	case errors.Is(err, store.ErrRotationInProgress):
		return nil, invalidRequest("%s", errInProgress)
	case errors.Is(err, store.ErrNotFound):
		return nil, awsproto.Errorf(http.StatusBadRequest, codeNotFound, "Secrets Manager can't find the specified secret.")
	default:
		return nil, awsproto.InternalFailure(fmt.Errorf("begin rotation of %s: %w", sec.ARN, err))
	}
	out.VersionID = token
	return out, nil
}

// checkMaster makes the caller of RotateSecret prove it may read the
// superuser secret the alternating-users rotator will use: otherwise anyone
// allowed to rotate one secret could borrow another secret's database
// superuser.
func (s *Service) checkMaster(ctx context.Context, c *api.Call, sec *store.Secret) error {
	b, _, _, err := s.cfg.Secrets.ReadVersion(ctx, serviceCall(s.cfg.Secrets, sec, s.now()), sec.ARN, "", "AWSCURRENT")
	if err != nil {
		return invalidRequest("The alternating-users rotator needs the secret's AWSCURRENT value.")
	}
	ps, err := parsePGSecret(b)
	clear(b)
	if err != nil {
		return invalidRequest("The secret is not a PostgreSQL secret: %v.", err)
	}
	if ps.MasterARN == "" {
		return invalidRequest(`The alternating-users rotator needs "masterarn" in the secret.`)
	}
	if err := sameAccount(sec.ARN, ps.MasterARN); err != nil {
		return invalidRequest("%v.", err)
	}
	gsv := findAction(s.cfg.Secrets.API(), "GetSecretValue")
	if gsv == nil {
		return awsproto.InternalFailure(errors.New("secrets manager has no GetSecretValue action"))
	}
	req := &authz.Request{Call: c, Action: gsv, Resources: []string{ps.MasterARN},
		Context: map[string][]string{keySecretID: {ps.MasterARN}}}
	if gsv.ResourcePolicy != nil {
		if req.ResourcePolicy, err = gsv.ResourcePolicy(ctx, c, ps.MasterARN); err != nil {
			return awsproto.InternalFailure(err)
		}
	}
	dec, err := s.cfg.Authorizer.Authorize(ctx, req)
	if err != nil {
		return awsproto.InternalFailure(fmt.Errorf("authorize reading the master secret: %w", err))
	}
	if !dec.Allowed {
		return awsproto.Errorf(http.StatusBadRequest, "AccessDeniedException",
			"You must be allowed secretsmanager:GetSecretValue on the masterarn secret to rotate with %s.", FunctionPostgresAlternatingUsers)
	}
	return nil
}

type cancelRotateInput struct {
	SecretID string `json:"SecretId"`
	t        target
}

func (in *cancelRotateInput) secretID() string { return in.SecretID }
func (in *cancelRotateInput) found() *target   { return &in.t }
func (in *cancelRotateInput) Validate() error  { return checkSecretID(in.SecretID) }

// RequestContext implements api.ContextProvider.
func (in *cancelRotateInput) RequestContext(*api.Call) map[string][]string { return in.t.context() }

func (s *Service) cancelRotateSecret(ctx context.Context, _ *api.Call, in *cancelRotateInput) (any, error) {
	sec, err := in.t.live()
	if err != nil {
		return nil, err
	}
	token, err := s.cfg.Store.CancelRotation(ctx, sec.ARN)
	if err != nil {
		return nil, awsproto.InternalFailure(err)
	}
	if _, err := s.cfg.Secrets.UpdateRotation(ctx, sec.ARN, func(x *store.Secret) error {
		x.RotationEnabled = false
		x.NextRotationAt = time.Time{}
		return nil
	}); err != nil {
		return nil, err
	}
	return rotateSecretOutput{ARN: sec.ARN, Name: sec.Name, VersionID: token}, nil
}
