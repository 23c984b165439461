package sigv4

import (
	"bytes"
	"context"
	"net/http"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// benchRequest is a typical JSON 1.1 call as aws-sdk-go-v2 sends it, with
// seven signed headers (amz-sdk-invocation-id, amz-sdk-request,
// content-length, content-type, host, x-amz-date, x-amz-target).
func benchRequest(b *testing.B) (*http.Request, []byte) {
	body := []byte(`{"SecretId":"prod/payments/db-password","VersionStage":"AWSCURRENT"}`)
	r, err := http.NewRequest("POST", "https://secretsmanager.bulwark.test/", bytes.NewReader(body))
	if err != nil {
		b.Fatal(err)
	}
	r.Header.Set("Content-Type", "application/x-amz-json-1.1")
	r.Header.Set("X-Amz-Target", "secretsmanager.GetSecretValue")
	r.Header.Set("Amz-Sdk-Invocation-Id", "6f5c1d2e-8e7a-4a3b-9c1d-2e3f4a5b6c7d")
	r.Header.Set("Amz-Sdk-Request", "attempt=1; max=3")
	r.Header.Set("User-Agent", "aws-sdk-go-v2/1.41.0 os/linux lang/go#1.26 md/GOOS#linux api/secretsmanager#1.0.0")
	creds := aws.Credentials{AccessKeyID: testAKID, SecretAccessKey: testSecret}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, r, sha256Hex(body), "secretsmanager", "us-east-1", t0); err != nil {
		b.Fatal(err)
	}
	return r, body
}

// BenchmarkVerify is the per-request cost on the server: Parse and Verify
// of a header-signed request, with the signing key cached.
// fixedCreds returns one secret without allocating, as a caching
// Credentials implementation does.
type fixedCreds []byte

func (f fixedCreds) SecretKey(context.Context, string, string) ([]byte, error) { return f, nil }

func BenchmarkVerify(b *testing.B) {
	v := newTestVerifier(b, t0, func(c *Config) { c.Credentials = fixedCreds(testSecret) })
	r, body := benchRequest(b)
	ctx := context.Background()
	if err := verifyRequest(v, r, body); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		p, err := Parse(r)
		if err != nil {
			b.Fatal(err)
		}
		if err := v.Verify(ctx, p, r, body); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerifyParallel(b *testing.B) {
	v := newTestVerifier(b, t0, func(c *Config) { c.Credentials = fixedCreds(testSecret) })
	r, body := benchRequest(b)
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			p, err := Parse(r)
			if err != nil {
				b.Error(err)
				return
			}
			if err := v.Verify(ctx, p, r, body); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkDeriveKey is what a signing-key cache miss adds to Verify (the
// first request of a key on a given day).
func BenchmarkDeriveKey(b *testing.B) {
	r, _ := benchRequest(b)
	p, err := Parse(r)
	if err != nil {
		b.Fatal(err)
	}
	secret := []byte(testSecret)
	b.ReportAllocs()
	for b.Loop() {
		_ = deriveKey(secret, p.Date, p.Region, p.Service)
	}
}

func BenchmarkSign(b *testing.B) {
	r, body := benchRequest(b)
	secret := []byte(testSecret)
	b.ReportAllocs()
	for b.Loop() {
		if err := Sign(r, body, testAKID, secret, "", "us-east-1", "secretsmanager", t0); err != nil {
			b.Fatal(err)
		}
	}
}
