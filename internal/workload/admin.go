package workload

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/bulwark-security/bulwark/internal/api"
	"github.com/bulwark-security/bulwark/internal/awsproto"
	"github.com/bulwark-security/bulwark/internal/store"
)

func (s *Service) adminService() *api.Service {
	// Resources run before RequestContext: they resolve names to ARNs.
	byName := func(c *api.Call, in *nameInput) []string { in.resolve(c); return []string{in.arn} }
	return &api.Service{
		SigningName:        SigningName,
		EventSource:        EventSource,
		Protocol:           api.JSON,
		TargetPrefix:       TargetPrefix,
		AccessDeniedCode:   "AccessDeniedException",
		AccessDeniedStatus: http.StatusBadRequest,
		Actions: []api.Action{
			api.Define(api.Action{Name: "RegisterWorkload", IAMAction: SigningName + ":RegisterWorkload", Access: api.AccessWrite,
				ConditionKeys: []string{SigningName + ":RoleArn"}},
				func(c *api.Call, in *registerInput) []string {
					in.arn = workloadARN(c.Region, c.Principal.AccountID, in.Name)
					return []string{in.arn}
				}, s.register),
			api.Define(api.Action{Name: "DescribeWorkload", IAMAction: SigningName + ":DescribeWorkload", Access: api.AccessRead},
				byName, s.describe),
			api.Define(api.Action{Name: "ListWorkloads", IAMAction: SigningName + ":ListWorkloads", Access: api.AccessList},
				func(*api.Call, *listInput) []string { return []string{"*"} }, s.list),
			api.Define(api.Action{Name: "UpdateWorkload", IAMAction: SigningName + ":UpdateWorkload", Access: api.AccessWrite,
				ConditionKeys: []string{SigningName + ":RoleArn"}},
				func(c *api.Call, in *updateInput) []string { in.resolve(c); return []string{in.arn} }, s.update),
			api.Define(api.Action{Name: "RevokeWorkload", IAMAction: SigningName + ":RevokeWorkload", Access: api.AccessWrite},
				byName, s.revoke),
			api.Define(api.Action{Name: "DeleteWorkload", IAMAction: SigningName + ":DeleteWorkload", Access: api.AccessWrite},
				byName, s.delete),
			api.Define(api.Action{Name: "CreateJoinToken", IAMAction: SigningName + ":CreateJoinToken", Access: api.AccessWrite},
				func(c *api.Call, in *joinTokenInput) []string { in.resolve(c); return []string{in.arn} }, s.createJoinToken),
		},
	}
}

// Selector is a key/value attribute of a workload.
type Selector struct {
	Key   string `json:"Key"`
	Value string `json:"Value"`
}

// Workload is a workload as the API returns it. Times are epoch seconds,
// as AWS JSON services encode timestamps.
type Workload struct {
	WorkloadArn string     `json:"WorkloadArn"`
	WorkloadID  string     `json:"WorkloadId"`
	Name        string     `json:"Name"`
	RoleArn     string     `json:"RoleArn"`
	Selectors   []Selector `json:"Selectors"`
	// Status is ACTIVE or REVOKED.
	Status    string   `json:"Status"`
	CreatedAt float64  `json:"CreatedAt"`
	UpdatedAt float64  `json:"UpdatedAt"`
	RevokedAt *float64 `json:"RevokedAt,omitempty"`
}

func epoch(t time.Time) float64 { return float64(t.UnixMicro()) / 1e6 }

func toAPI(w *store.Workload) Workload {
	out := Workload{WorkloadArn: w.ARN, WorkloadID: w.WorkloadID, Name: w.Name, RoleArn: w.RoleARN,
		Selectors: make([]Selector, len(w.Selectors)), Status: "ACTIVE", CreatedAt: epoch(w.CreatedAt), UpdatedAt: epoch(w.UpdatedAt)}
	for i, t := range w.Selectors {
		out.Selectors[i] = Selector{t.Key, t.Value}
	}
	if w.Revoked() {
		out.Status = "REVOKED"
		r := epoch(w.RevokedAt)
		out.RevokedAt = &r
	}
	return out
}

// WorkloadOutput wraps one workload.
type WorkloadOutput struct {
	Workload Workload `json:"Workload"`
}

type nameInput struct {
	Name string `json:"Name"`
	arn  string
	ok   bool
}

// resolve sets the ARN the name (or ARN) stands for.
func (in *nameInput) resolve(c *api.Call) {
	in.arn, in.ok = resolveName(c, in.Name)
	if !in.ok {
		// An ARN of elsewhere names no workload this caller can have; the
		// authorizer still sees a resource, the handler answers not found.
		in.arn = workloadARN(c.Region, c.Principal.AccountID, "-")
	}
}

func (in *nameInput) Validate() error {
	switch {
	case in.Name == "":
		return validation("1 validation error detected: Value null at 'name' failed to satisfy constraint: Member must not be null")
	case len(in.Name) > 2048:
		return validation("1 validation error detected: Value at 'name' failed to satisfy constraint: Member must have length less than or equal to 2048")
	}
	return nil
}

func validateSelectors(sel []Selector) ([]store.Tag, error) {
	if len(sel) > maxSelectors {
		return nil, validation("1 validation error detected: Value at 'selectors' failed to satisfy constraint: Member must have length less than or equal to %d", maxSelectors)
	}
	seen := map[string]bool{}
	out := make([]store.Tag, 0, len(sel))
	for _, t := range sel {
		if !selKeyRE.MatchString(t.Key) {
			return nil, validation("Selector key %q must match [A-Za-z0-9][A-Za-z0-9_.:/=+@-]{0,127}.", truncate(t.Key, 128))
		}
		if !selValueRE.MatchString(t.Value) {
			return nil, validation("Selector value for %q must be at most 256 printable ASCII characters.", t.Key)
		}
		if seen[strings.ToLower(t.Key)] {
			return nil, validation("Selector key %q is given twice.", t.Key)
		}
		seen[strings.ToLower(t.Key)] = true
		if strings.HasPrefix(t.Key, "jwt:") && t.Key != selIssuer && t.Key != selSubject && t.Key != selAudience {
			return nil, validation("Unknown attestation selector %q: use jwt:iss, jwt:sub or jwt:aud.", t.Key)
		}
		out = append(out, store.Tag{Key: t.Key, Value: t.Value})
	}
	iss, sub := selector(out, selIssuer), selector(out, selSubject)
	if (iss == "") != (sub == "") {
		return nil, validation("JWT attestation needs both jwt:iss and jwt:sub selectors.")
	}
	if iss != "" && !strings.HasPrefix(iss, "https://") {
		return nil, validation("The jwt:iss selector must be an https:// issuer URL.")
	}
	return out, nil
}

// Attestation selectors.
const (
	selIssuer   = "jwt:iss"
	selSubject  = "jwt:sub"
	selAudience = "jwt:aud"
)

func selector(tags []store.Tag, key string) string {
	for _, t := range tags {
		if t.Key == key {
			return t.Value
		}
	}
	return ""
}

type registerInput struct {
	Name      string     `json:"Name"`
	RoleArn   string     `json:"RoleArn"`
	Selectors []Selector `json:"Selectors"`
	arn       string
	sel       []store.Tag
}

func (in *registerInput) Validate() error {
	switch {
	case !nameRE.MatchString(in.Name):
		return validation("1 validation error detected: Value at 'name' failed to satisfy constraint: Member must satisfy regular expression pattern: [A-Za-z0-9][A-Za-z0-9_.@=,+-]{0,63}")
	case in.RoleArn == "":
		return validation("1 validation error detected: Value null at 'roleArn' failed to satisfy constraint: Member must not be null")
	case len(in.RoleArn) > 2048:
		return validation("1 validation error detected: Value at 'roleArn' failed to satisfy constraint: Member must have length less than or equal to 2048")
	}
	if _, _, ok := roleParts(in.RoleArn); !ok {
		return validation("Value at 'roleArn' is not a valid IAM role ARN.")
	}
	var err error
	in.sel, err = validateSelectors(in.Selectors)
	return err
}

func (in *registerInput) RequestContext(*api.Call) map[string][]string {
	return map[string][]string{SigningName + ":RoleArn": {in.RoleArn}}
}

// checkRole checks the role exists in the caller's account and that the
// caller may pass it to workloads (iam:PassRole, as ECS requires for a
// task role).
func (s *Service) checkRole(ctx context.Context, c *api.Call, roleARN string) error {
	account, name, _ := roleParts(roleARN)
	if account != c.Principal.AccountID {
		return validation("The role %s must belong to the workload's account %s.", roleARN, c.Principal.AccountID)
	}
	r, err := s.cfg.IAM.GetRole(ctx, account, name)
	if errors.Is(err, store.ErrNotFound) || (err == nil && r.ARN != roleARN) {
		return awsproto.Errorf(http.StatusBadRequest, "InvalidParameterException", "Role %s does not exist.", roleARN)
	}
	if err != nil {
		return fmt.Errorf("load role %s: %w", name, err)
	}
	return s.authorizeExtra(ctx, c, "iam:PassRole", roleARN, map[string][]string{"iam:PassedToService": {ServicePrincipal}})
}

func newWorkloadID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return "wl-" + hex.EncodeToString(b[:])
}

func (s *Service) register(ctx context.Context, c *api.Call, in *registerInput) (any, error) {
	if err := s.checkRole(ctx, c, in.RoleArn); err != nil {
		return nil, err
	}
	now := s.cfg.Now().UTC()
	w := store.Workload{ARN: in.arn, AccountID: c.Principal.AccountID, Region: c.Region, Name: in.Name,
		WorkloadID: newWorkloadID(), RoleARN: in.RoleArn, Selectors: in.sel, CreatedAt: now, UpdatedAt: now}
	if err := s.cfg.Store.CreateWorkload(ctx, w); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return nil, awsproto.Errorf(http.StatusBadRequest, "ResourceExistsException", "A workload named %s already exists.", in.Name)
		}
		return nil, fmt.Errorf("register workload %s: %w", in.Name, err)
	}
	return &WorkloadOutput{Workload: toAPI(&w)}, nil
}

func (s *Service) load(ctx context.Context, in *nameInput) (store.Workload, error) {
	if !in.ok {
		return store.Workload{}, notFound(in.Name)
	}
	w, err := s.cfg.Store.GetWorkload(ctx, in.arn)
	if errors.Is(err, store.ErrNotFound) {
		return w, notFound(in.Name)
	}
	if err != nil {
		return w, fmt.Errorf("load workload %s: %w", in.arn, err)
	}
	return w, nil
}

func (s *Service) describe(ctx context.Context, _ *api.Call, in *nameInput) (any, error) {
	w, err := s.load(ctx, in)
	if err != nil {
		return nil, err
	}
	return &WorkloadOutput{Workload: toAPI(&w)}, nil
}

type listInput struct {
	MaxResults int    `json:"MaxResults"`
	NextToken  string `json:"NextToken"`
}

func (in *listInput) Validate() error {
	switch {
	case in.MaxResults < 0 || in.MaxResults > 100:
		return validation("1 validation error detected: Value at 'maxResults' failed to satisfy constraint: Member must have value between 1 and 100")
	case len(in.NextToken) > 128 || (in.NextToken != "" && !nameRE.MatchString(in.NextToken)):
		return awsproto.Errorf(http.StatusBadRequest, "InvalidNextTokenException", "The NextToken is not valid.")
	}
	return nil
}

// ListOutput is a page of workloads.
type ListOutput struct {
	Workloads []Workload `json:"Workloads"`
	NextToken string     `json:"NextToken,omitempty"`
}

func (s *Service) list(ctx context.Context, c *api.Call, in *listInput) (any, error) {
	max := in.MaxResults
	if max == 0 {
		max = 100
	}
	ws, more, err := s.cfg.Store.ListWorkloads(ctx, c.Principal.AccountID, c.Region, in.NextToken, max)
	if err != nil {
		return nil, fmt.Errorf("list workloads: %w", err)
	}
	out := &ListOutput{Workloads: make([]Workload, len(ws))}
	for i := range ws {
		out.Workloads[i] = toAPI(&ws[i])
	}
	if more {
		out.NextToken = ws[len(ws)-1].Name
	}
	return out, nil
}

type updateInput struct {
	nameInput
	RoleArn   string      `json:"RoleArn"`
	Selectors *[]Selector `json:"Selectors"`
	sel       []store.Tag
}

func (in *updateInput) Validate() error {
	if err := in.nameInput.Validate(); err != nil {
		return err
	}
	if in.RoleArn != "" {
		if _, _, ok := roleParts(in.RoleArn); !ok || len(in.RoleArn) > 2048 {
			return validation("Value at 'roleArn' is not a valid IAM role ARN.")
		}
	}
	if in.Selectors != nil {
		var err error
		if in.sel, err = validateSelectors(*in.Selectors); err != nil {
			return err
		}
	}
	return nil
}

func (in *updateInput) RequestContext(*api.Call) map[string][]string {
	if in.RoleArn != "" {
		return map[string][]string{SigningName + ":RoleArn": {in.RoleArn}}
	}
	return nil
}

func (s *Service) update(ctx context.Context, c *api.Call, in *updateInput) (any, error) {
	w, err := s.load(ctx, &in.nameInput)
	if err != nil {
		return nil, err
	}
	if w.Revoked() {
		return nil, awsproto.Errorf(http.StatusBadRequest, "InvalidRequestException", "Workload %s is revoked.", w.Name)
	}
	if in.RoleArn != "" && in.RoleArn != w.RoleARN {
		if err := s.checkRole(ctx, c, in.RoleArn); err != nil {
			return nil, err
		}
		w.RoleARN = in.RoleArn
	}
	if in.Selectors != nil {
		w.Selectors = in.sel
	}
	w.UpdatedAt = s.cfg.Now().UTC()
	if err := s.cfg.Store.UpdateWorkload(ctx, w.ARN, w.RoleARN, w.Selectors, w.UpdatedAt); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return nil, notFound(in.Name) // revoked a moment ago
		}
		return nil, fmt.Errorf("update workload %s: %w", w.ARN, err)
	}
	if w.Selectors == nil {
		w.Selectors = []store.Tag{}
	}
	return &WorkloadOutput{Workload: toAPI(&w)}, nil
}

func (s *Service) revoke(ctx context.Context, _ *api.Call, in *nameInput) (any, error) {
	w, err := s.load(ctx, in)
	if err != nil {
		return nil, err
	}
	if w.Revoked() {
		return nil, awsproto.Errorf(http.StatusBadRequest, "InvalidRequestException", "Workload %s is already revoked.", w.Name)
	}
	w.RevokedAt = s.cfg.Now().UTC()
	if err := s.cfg.Store.RevokeWorkload(ctx, w.ARN, w.RevokedAt); err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("revoke workload %s: %w", w.ARN, err)
	}
	w.UpdatedAt = w.RevokedAt
	return &WorkloadOutput{Workload: toAPI(&w)}, nil
}

// delete removes a workload and its tokens; its name can then be
// registered again (with a new WorkloadId).
func (s *Service) delete(ctx context.Context, _ *api.Call, in *nameInput) (any, error) {
	w, err := s.load(ctx, in)
	if err != nil {
		return nil, err
	}
	if err := s.cfg.Store.DeleteWorkload(ctx, w.ARN); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return nil, notFound(in.Name)
		}
		return nil, fmt.Errorf("delete workload %s: %w", w.ARN, err)
	}
	return struct{}{}, nil
}

type joinTokenInput struct {
	nameInput
	ExpiresInSeconds int `json:"ExpiresInSeconds"`
}

func (in *joinTokenInput) Validate() error {
	if err := in.nameInput.Validate(); err != nil {
		return err
	}
	if in.ExpiresInSeconds != 0 && (in.ExpiresInSeconds < 60 || in.ExpiresInSeconds > int(MaxJoinTokenTTL/time.Second)) {
		return validation("1 validation error detected: Value at 'expiresInSeconds' failed to satisfy constraint: Member must have value between 60 and %d", int(MaxJoinTokenTTL/time.Second))
	}
	return nil
}

// JoinTokenOutput carries the one copy of a join token there will ever be.
type JoinTokenOutput struct {
	WorkloadArn string  `json:"WorkloadArn"`
	JoinToken   string  `json:"JoinToken"`
	Expiration  float64 `json:"Expiration"`
}

func (s *Service) createJoinToken(ctx context.Context, _ *api.Call, in *joinTokenInput) (any, error) {
	w, err := s.load(ctx, &in.nameInput)
	if err != nil {
		return nil, err
	}
	if w.Revoked() {
		return nil, awsproto.Errorf(http.StatusBadRequest, "InvalidRequestException", "Workload %s is revoked.", w.Name)
	}
	ttl := DefaultJoinTokenTTL
	if in.ExpiresInSeconds > 0 {
		ttl = time.Duration(in.ExpiresInSeconds) * time.Second
	}
	now := s.cfg.Now().UTC()
	tok := NewSecret(joinTokenPrefix)
	jt := store.JoinToken{Hash: tok.Hash(), WorkloadARN: w.ARN, CreatedAt: now, ExpiresAt: now.Add(ttl)}
	if err := s.cfg.Store.CreateJoinToken(ctx, jt); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return nil, notFound(in.Name)
		}
		return nil, fmt.Errorf("create join token for %s: %w", w.ARN, err)
	}
	return &JoinTokenOutput{WorkloadArn: w.ARN, JoinToken: tok.Reveal(), Expiration: epoch(jt.ExpiresAt)}, nil
}
