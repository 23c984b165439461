package rotation

import (
	"context"
	"errors"
	"fmt"
	"regexp"

	"github.com/bulwark-security/bulwark/internal/store"
)

// Opener opens sealed values (the keyring).
type Opener interface {
	Open(sealed, aad []byte) ([]byte, error)
}

// functionARNRE is a Lambda function ARN as RotationLambdaARN takes it
// (an optional version or alias qualifier is allowed and ignored by the
// built-in names).
var functionARNRE = regexp.MustCompile(`^arn:aws[a-z-]*:lambda:([a-z0-9-]+):([0-9]{12}):function:([A-Za-z0-9_-]{1,64})(?::[A-Za-z0-9$_-]{1,128})?$`)

// FunctionARN is a parsed rotation function ARN.
type FunctionARN struct {
	Region, Account, Name string
}

// ParseFunctionARN parses arn:aws:lambda:<region>:<account>:function:<name>.
func ParseFunctionARN(s string) (FunctionARN, error) {
	if len(s) > 2048 {
		return FunctionARN{}, errors.New("the function ARN is too long")
	}
	m := functionARNRE.FindStringSubmatch(s)
	if m == nil {
		return FunctionARN{}, errors.New("the function ARN must be arn:aws:lambda:<region>:<account>:function:<name>")
	}
	return FunctionARN{Region: m[1], Account: m[2], Name: m[3]}, nil
}

// BuiltIn reports whether the function name selects a built-in rotator.
func (f FunctionARN) BuiltIn() bool {
	return f.Name == FunctionPostgresSingleUser || f.Name == FunctionPostgresAlternatingUsers
}

// webhookAAD binds a sealed signing key to its function ARN.
func webhookAAD(functionARN string) []byte {
	return []byte("bulwark/rotation-webhook/v1\x00" + functionARN)
}

// Registry resolves RotationLambdaARNs: the built-in PostgreSQL rotators by
// name, every other function by its registered webhook.
type Registry struct {
	Store    store.Rotation
	Keys     Opener
	Client   *WebhookClient
	Values   Values
	Postgres Postgres // template for the built-in rotators (timeouts)
}

var _ Rotators = (*Registry)(nil)

// Rotator implements Rotators.
func (r *Registry) Rotator(ctx context.Context, functionARN string) (Rotator, error) {
	if functionARN == "" {
		return nil, fmt.Errorf("%w: the secret has no RotationLambdaARN", ErrNoRotator)
	}
	f, err := ParseFunctionARN(functionARN)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNoRotator, err)
	}
	switch f.Name {
	case FunctionPostgresSingleUser, FunctionPostgresAlternatingUsers:
		p := r.Postgres
		p.Values = r.Values
		p.Alternating = f.Name == FunctionPostgresAlternatingUsers
		return &p, nil
	}
	w, err := r.Store.GetRotationWebhook(ctx, functionARN)
	if errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("%w: no rotation webhook is registered for %s", ErrNoRotator, functionARN)
	}
	if err != nil {
		return nil, err
	}
	key, err := r.Keys.Open(w.SealedKey, webhookAAD(w.FunctionARN))
	if err != nil {
		return nil, fmt.Errorf("open the signing key of %s: %w", functionARN, err)
	}
	client := r.Client
	if client == nil {
		client = &WebhookClient{}
	}
	return client.rotator(w.URL, w.CAPEM, key)
}
