package sigv4_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/bulwark-security/bulwark/internal/sigv4"
)

type oneKey struct{ id, secret string }

func (k oneKey) SecretKey(_ context.Context, id, _ string) ([]byte, error) {
	if id != k.id {
		return nil, sigv4.ErrUnknownKey
	}
	return []byte(k.secret), nil
}

// A server parses the claimed identity, routes on the scope's service, then
// verifies the signature over the body it has read.
func Example() {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	v, err := sigv4.NewVerifier(sigv4.Config{
		Credentials: oneKey{"AKIDEXAMPLE", "example-secret"},
		Region:      "us-east-1",
		Now:         func() time.Time { return now },
	})
	if err != nil {
		panic(err)
	}

	body := []byte("Action=GetCallerIdentity&Version=2011-06-15")
	r, _ := http.NewRequest("POST", "http://127.0.0.1:4747/", strings.NewReader(string(body)))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	_ = sigv4.Sign(r, body, "AKIDEXAMPLE", []byte("example-secret"), "", "us-east-1", "sts", now)

	p, err := sigv4.Parse(r)
	if err != nil {
		panic(err)
	}
	fmt.Println(p.Service, p.AccessKeyID)
	fmt.Println(v.Verify(context.Background(), p, r, body))

	// The same request signed with a wrong secret.
	_ = sigv4.Sign(r, body, "AKIDEXAMPLE", []byte("wrong"), "", "us-east-1", "sts", now)
	p, _ = sigv4.Parse(r)
	fmt.Println(v.Verify(context.Background(), p, r, body).(*sigv4.Error).Code)
	// Output:
	// sts AKIDEXAMPLE
	// <nil>
	// SignatureDoesNotMatch
}
