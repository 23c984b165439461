package rotation

import (
	"context"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/bulwark-security/bulwark/internal/api"
	"github.com/bulwark-security/bulwark/internal/awsproto"
	"github.com/bulwark-security/bulwark/internal/store"
)

// The rotation webhook registry is a small Bulwark service of its own
// (JSON 1.1, SigV4 signing name "bulwark-rotation", X-Amz-Target prefix
// "BulwarkRotation"), so registering an endpoint is authenticated,
// authorised by IAM policies (bulwark-rotation:PutRotationWebhook on the
// function ARN) and audited like every other call.
const (
	AdminSigningName  = "bulwark-rotation"
	AdminTargetPrefix = "BulwarkRotation"
)

// signingKeyLen is the HMAC key's length.
const signingKeyLen = 32

// maxCAPEM bounds the CA certificates a webhook may pin.
const maxCAPEM = 64 << 10

// AdminAPI returns the webhook registry service.
func (s *Service) AdminAPI() *api.Service {
	return &api.Service{
		SigningName:        AdminSigningName,
		EventSource:        "rotation.bulwark.internal",
		Protocol:           api.JSON,
		TargetPrefix:       AdminTargetPrefix,
		AccessDeniedCode:   "AccessDeniedException",
		AccessDeniedStatus: http.StatusBadRequest,
		Actions: []api.Action{
			api.Define(api.Action{Name: "PutRotationWebhook", IAMAction: "bulwark-rotation:PutRotationWebhook", Access: api.AccessWrite},
				fnRes[putWebhookInput], s.putWebhook),
			api.Define(api.Action{Name: "GetRotationWebhook", IAMAction: "bulwark-rotation:GetRotationWebhook", Access: api.AccessRead},
				fnRes[webhookIDInput], s.getWebhook),
			api.Define(api.Action{Name: "ListRotationWebhooks", IAMAction: "bulwark-rotation:ListRotationWebhooks", Access: api.AccessList},
				func(*api.Call, *listWebhooksInput) []string { return []string{"*"} }, s.listWebhooks),
			api.Define(api.Action{Name: "DeleteRotationWebhook", IAMAction: "bulwark-rotation:DeleteRotationWebhook", Access: api.AccessWrite},
				fnRes[webhookIDInput], s.deleteWebhook),
			api.Define(api.Action{Name: "DescribeSecretRotation", IAMAction: "bulwark-rotation:DescribeSecretRotation", Access: api.AccessRead},
				resolveRes[describeRotationInput](s), s.describeRotation),
		},
	}
}

type fnInput interface{ functionARN() string }

func fnRes[In any, P interface {
	*In
	fnInput
}](_ *api.Call, in *In) []string {
	return []string{P(in).functionARN()}
}

func checkFunction(c *api.Call, fn string) error {
	f, err := ParseFunctionARN(fn)
	if err != nil {
		return invalidParam("FunctionArn is not valid: %v.", err)
	}
	if f.BuiltIn() {
		return invalidParam("%s is a built-in rotator; it takes no webhook.", f.Name)
	}
	if c != nil && f.Account != c.Principal.AccountID {
		return invalidParam("FunctionArn must be in your account (%s).", c.Principal.AccountID)
	}
	return nil
}

type webhookIDInput struct {
	FunctionArn string `json:"FunctionArn"`
}

func (in *webhookIDInput) functionARN() string { return in.FunctionArn }
func (in *webhookIDInput) Validate() error {
	if _, err := ParseFunctionARN(in.FunctionArn); err != nil {
		return invalidParam("FunctionArn is not valid: %v.", err)
	}
	return nil
}

type putWebhookInput struct {
	FunctionArn string `json:"FunctionArn"`
	URL         string `json:"Url"`
	// CACertificates (PEM) pin the endpoint's trust anchors instead of the
	// system roots.
	CACertificates string `json:"CACertificates"`
	// RegenerateSigningKey replaces the signing key of an existing webhook.
	RegenerateSigningKey bool `json:"RegenerateSigningKey"`
}

func (in *putWebhookInput) functionARN() string { return in.FunctionArn }

func (in *putWebhookInput) Validate() error {
	if err := checkFunction(nil, in.FunctionArn); err != nil {
		return err
	}
	if err := CheckWebhookURL(in.URL); err != nil {
		return invalidParam("Url is not valid: %v.", err)
	}
	if in.CACertificates != "" {
		if len(in.CACertificates) > maxCAPEM {
			return invalidParam("CACertificates must be at most %d bytes.", maxCAPEM)
		}
		if err := checkPEM(in.CACertificates); err != nil {
			return invalidParam("CACertificates: %v.", err)
		}
	}
	return nil
}

func checkPEM(s string) error {
	rest := []byte(s)
	n := 0
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		if b.Type != "CERTIFICATE" {
			return fmt.Errorf("a %s block is not a certificate", b.Type)
		}
		if _, err := x509.ParseCertificate(b.Bytes); err != nil {
			return errors.New("a certificate does not parse")
		}
		n++
	}
	if n == 0 {
		return errors.New("no PEM certificate found")
	}
	return nil
}

type webhookOutput struct {
	FunctionArn      string  `json:"FunctionArn"`
	URL              string  `json:"Url"`
	CACertificates   string  `json:"CACertificates,omitempty"`
	SigningKey       string  `json:"SigningKey,omitempty"`
	CreatedDate      float64 `json:"CreatedDate"`
	LastModifiedDate float64 `json:"LastModifiedDate"`
}

func epoch(t time.Time) float64 { return float64(t.UnixMilli()) / 1000 }

func webhookOut(w store.RotationWebhook) webhookOutput {
	return webhookOutput{FunctionArn: w.FunctionARN, URL: w.URL, CACertificates: w.CAPEM,
		CreatedDate: epoch(w.CreatedAt), LastModifiedDate: epoch(w.UpdatedAt)}
}

func (s *Service) putWebhook(ctx context.Context, c *api.Call, in *putWebhookInput) (any, error) {
	if err := checkFunction(c, in.FunctionArn); err != nil {
		return nil, err
	}
	now := s.now()
	w := store.RotationWebhook{FunctionARN: in.FunctionArn, AccountID: c.Principal.AccountID, URL: in.URL,
		CAPEM: in.CACertificates, CreatedAt: now, UpdatedAt: now}
	old, err := s.cfg.Store.GetRotationWebhook(ctx, in.FunctionArn)
	var key []byte
	switch {
	case err == nil && !in.RegenerateSigningKey:
		w.SealedKey, w.CreatedAt = old.SealedKey, old.CreatedAt
	case err == nil, errors.Is(err, store.ErrNotFound):
		key = make([]byte, signingKeyLen)
		_, _ = rand.Read(key) // crypto/rand.Read never fails
		defer clear(key)
		if w.SealedKey, err = s.cfg.Keys.Seal(key, webhookAAD(in.FunctionArn)); err != nil {
			return nil, awsproto.InternalFailure(fmt.Errorf("seal signing key: %w", err))
		}
	default:
		return nil, awsproto.InternalFailure(err)
	}
	if err := s.cfg.Store.PutRotationWebhook(ctx, w); err != nil {
		return nil, awsproto.InternalFailure(err)
	}
	out := webhookOut(w)
	if key != nil {
		// Returned once, like a secret access key: only the sealed copy is kept.
		out.SigningKey = base64.StdEncoding.EncodeToString(key)
	}
	return out, nil
}

func notFoundWebhook(fn string) error {
	return awsproto.Errorf(http.StatusBadRequest, codeNotFound, "No rotation webhook is registered for %s.", fn)
}

// get returns a webhook of the caller's account.
func (s *Service) get(ctx context.Context, c *api.Call, fn string) (store.RotationWebhook, error) {
	w, err := s.cfg.Store.GetRotationWebhook(ctx, fn)
	if errors.Is(err, store.ErrNotFound) || (err == nil && w.AccountID != c.Principal.AccountID) {
		return w, notFoundWebhook(fn)
	}
	if err != nil {
		return w, awsproto.InternalFailure(err)
	}
	return w, nil
}

func (s *Service) getWebhook(ctx context.Context, c *api.Call, in *webhookIDInput) (any, error) {
	w, err := s.get(ctx, c, in.FunctionArn)
	if err != nil {
		return nil, err
	}
	return webhookOut(w), nil
}

type listWebhooksInput struct{}

type listWebhooksOutput struct {
	RotationWebhooks []webhookOutput `json:"RotationWebhooks"`
}

func (s *Service) listWebhooks(ctx context.Context, c *api.Call, _ *listWebhooksInput) (any, error) {
	ws, err := s.cfg.Store.ListRotationWebhooks(ctx, c.Principal.AccountID)
	if err != nil {
		return nil, awsproto.InternalFailure(err)
	}
	out := listWebhooksOutput{RotationWebhooks: []webhookOutput{}}
	for _, w := range ws {
		out.RotationWebhooks = append(out.RotationWebhooks, webhookOut(w))
	}
	return out, nil
}

func (s *Service) deleteWebhook(ctx context.Context, c *api.Call, in *webhookIDInput) (any, error) {
	if _, err := s.get(ctx, c, in.FunctionArn); err != nil {
		return nil, err
	}
	if err := s.cfg.Store.DeleteRotationWebhook(ctx, in.FunctionArn); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return nil, notFoundWebhook(in.FunctionArn)
		}
		return nil, awsproto.InternalFailure(err)
	}
	return struct{}{}, nil
}

type describeRotationInput struct {
	SecretID string `json:"SecretId"`
	t        target
}

func (in *describeRotationInput) secretID() string { return in.SecretID }
func (in *describeRotationInput) found() *target   { return &in.t }
func (in *describeRotationInput) Validate() error  { return checkSecretID(in.SecretID) }

type rotationFailure struct {
	Message string  `json:"Message"`
	Step    string  `json:"Step"`
	Date    float64 `json:"Date"`
}

type describeRotationOutput struct {
	ARN                string           `json:"ARN"`
	Name               string           `json:"Name"`
	RotationEnabled    bool             `json:"RotationEnabled"`
	RotationInProgress bool             `json:"RotationInProgress"`
	ClientRequestToken string           `json:"ClientRequestToken,omitempty"`
	Step               string           `json:"Step,omitempty"`
	Attempts           int              `json:"Attempts"`
	NextAttemptDate    *float64         `json:"NextAttemptDate,omitempty"`
	LastFailure        *rotationFailure `json:"LastFailure,omitempty"`
}

// describeRotation reports a secret's rotation state: the rotation in
// progress and the last failure (Bulwark's LastRotationFailure).
func (s *Service) describeRotation(ctx context.Context, _ *api.Call, in *describeRotationInput) (any, error) {
	if in.t.err != nil {
		return nil, in.t.err
	}
	sec := &in.t.sec
	out := describeRotationOutput{ARN: sec.ARN, Name: sec.Name, RotationEnabled: sec.RotationEnabled}
	r, err := s.cfg.Store.GetSecretRotation(ctx, sec.ARN)
	if errors.Is(err, store.ErrNotFound) {
		return out, nil
	}
	if err != nil {
		return nil, awsproto.InternalFailure(err)
	}
	out.RotationInProgress = r.Token != ""
	out.ClientRequestToken, out.Step, out.Attempts = r.Token, r.Step, r.Attempts
	if !r.RetryAt.IsZero() && r.Token != "" {
		e := epoch(r.RetryAt)
		out.NextAttemptDate = &e
	}
	if r.Failure != "" {
		out.LastFailure = &rotationFailure{Message: r.Failure, Step: r.FailureStep, Date: epoch(r.FailedAt)}
	}
	return out, nil
}
