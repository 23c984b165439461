package main

import (
	"context"
	"fmt"
	"time"

	"github.com/bulwark-security/bulwark/internal/api"
	"github.com/bulwark-security/bulwark/internal/kms"
	"github.com/bulwark-security/bulwark/internal/store"
)

// kmsMaintenance is how often each server looks for keys due for
// automatic rotation or deletion (the store decides races between servers).
const kmsMaintenance = time.Minute

// KMS: keys, aliases, cryptography, rotation, key policies and grants
// (JSON 1.1, TrentService).
func init() {
	register("kms", func(d *deps) (*parts, error) {
		keys, err := kmsKeys(d)
		if err != nil {
			return nil, err
		}
		return &parts{
			Services: []*api.Service{keys.Service()},
			Run:      func(ctx context.Context) error { return keys.Run(ctx, kmsMaintenance) },
			AfterReset: func(context.Context) error {
				keys.Forget()
				return nil
			},
		}, nil
	})
}

// kmsKeys returns the server's one KMS key manager: the KMS API and Secrets
// Manager's envelope encryption share it, so a key disabled through the API
// is refused to Secrets Manager at once, and key material is opened and
// cached once.
func kmsKeys(d *deps) (*kms.Keys, error) {
	return shared(d, "kms", func() (*kms.Keys, error) {
		st, ok := d.Store.(store.KMS)
		if !ok {
			return nil, fmt.Errorf("store %T does not implement the KMS store", d.Store)
		}
		return kms.New(kms.Config{Store: st, Keyring: d.Keys, Authorizer: d.Authorizer,
			Logger: d.Logger.With("service", "kms")})
	})
}
