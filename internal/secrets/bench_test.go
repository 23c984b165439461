package secrets

import (
	"context"
	"crypto/rand"
	"testing"
	"time"

	"github.com/bulwark-security/bulwark/internal/api"
	"github.com/bulwark-security/bulwark/internal/authz"
	"github.com/bulwark-security/bulwark/internal/keyring"
	"github.com/bulwark-security/bulwark/internal/kms"
)

// benchGet measures GetSecretValue as the server runs it after SigV4:
// bind (resolve the secret), load its resource policy, authorise, run
// (read the version, KMS Decrypt of the data key, AES-GCM), encode.
func benchGet(b *testing.B, h *harness, p *api.Principal) {
	svc := h.s.API()
	a := svc.Action("GetSecretValue")
	ctx := context.Background()
	body := []byte(`{"SecretId":"bench/db"}`)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		c := &api.Call{RequestID: "r", Service: svc, Action: a, Principal: p, Region: testRegion, Time: time.Now(), Body: body}
		op, err := a.Bind(c)
		if err != nil {
			b.Fatal(err)
		}
		req := &authz.Request{Call: c, Action: a, Resources: op.Resources, Context: op.Context}
		if req.ResourcePolicy, err = a.ResourcePolicy(ctx, c, op.Resources[0]); err != nil {
			b.Fatal(err)
		}
		if dec, err := h.authz.Authorize(ctx, req); err != nil || !dec.Allowed {
			b.Fatal(dec, err)
		}
		if _, err := op.Run(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkGetSecretValue uses the fake KMS: the service and store alone.
func BenchmarkGetSecretValue(b *testing.B) {
	h := newHarness(b)
	h.ok("CreateSecret", obj{"Name": "bench/db", "SecretString": `{"username":"u","password":"p"}`})
	benchGet(b, h, root)
}

// BenchmarkGetSecretValueKMS uses the real KMS (the AWS managed key, its
// key policy, sealed key material) for an IAM user allowed by policy.
func BenchmarkGetSecretValueKMS(b *testing.B) {
	h := newHarness(b)
	rk := make([]byte, 32)
	rand.Read(rk)
	kr, err := keyring.New(rk)
	if err != nil {
		b.Fatal(err)
	}
	keys, err := kms.New(kms.Config{Store: h.st, Keyring: kr, Authorizer: h.authz})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := api.NewRegistry(keys.Service()); err != nil {
		b.Fatal(err)
	}
	h.s, err = New(Config{Store: h.st, Keys: keys, Authorizer: h.authz})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := api.NewRegistry(h.s.API()); err != nil {
		b.Fatal(err)
	}
	h.ok("CreateSecret", obj{"Name": "bench/db", "SecretString": `{"username":"u","password":"p"}`})
	u := user("bench")
	h.allow(u, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"secretsmanager:GetSecretValue","Resource":"*"}]}`)
	benchGet(b, h, u)
}
