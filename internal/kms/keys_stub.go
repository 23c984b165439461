package kms

import (
	"context"
	"errors"

	"github.com/bulwark-security/bulwark/internal/api"
)

// Keys is the KMS service's key manager; its methods implement Envelope.
// (First version: the interface only; the implementation follows.)
type Keys struct{}

var errNotYet = errors.New("kms: not implemented yet")

// GenerateDataKey implements Envelope.
func (k *Keys) GenerateDataKey(ctx context.Context, c *api.Call, keyID string, encCtx map[string]string) ([]byte, []byte, string, error) {
	return nil, nil, "", errNotYet
}

// Decrypt implements Envelope.
func (k *Keys) Decrypt(ctx context.Context, c *api.Call, blob []byte, encCtx map[string]string) ([]byte, string, error) {
	return nil, "", errNotYet
}

// ResolveKey implements Envelope.
func (k *Keys) ResolveKey(ctx context.Context, c *api.Call, keyID string) (string, error) {
	return "", errNotYet
}
