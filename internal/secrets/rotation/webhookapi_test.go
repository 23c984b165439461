package rotation

import (
	"context"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/bulwark-security/bulwark/internal/api"
	"github.com/bulwark-security/bulwark/internal/awsproto"
	"github.com/bulwark-security/bulwark/internal/keyring"
	"github.com/bulwark-security/bulwark/internal/store"
)

func webhookService(t *testing.T) (*Service, testStore, *keyring.Keyring) {
	t.Helper()
	st := newStore(t)
	keys, err := keyring.New(make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	return &Service{cfg: Config{Store: st, Keys: keys, Now: time.Now}}, st, keys
}

func callFor(account string) *api.Call {
	return &api.Call{Principal: &api.Principal{Type: "Root", AccountID: account, ARN: "arn:aws:iam::" + account + ":root"}, Region: "us-east-1"}
}

func code(err error) string {
	var e *awsproto.Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

func TestPutWebhookValidate(t *testing.T) {
	fn := "arn:aws:lambda:us-east-1:" + acct + ":function:rotator"
	tests := []struct {
		name string
		in   putWebhookInput
		ok   bool
	}{
		{"ok", putWebhookInput{FunctionArn: fn, URL: "https://rotator.example/hook"}, true},
		{"http", putWebhookInput{FunctionArn: fn, URL: "http://rotator.example/hook"}, false},
		{"no url", putWebhookInput{FunctionArn: fn}, false},
		{"bad function", putWebhookInput{FunctionArn: "rotator", URL: "https://rotator.example/"}, false},
		{"built-in name", putWebhookInput{FunctionArn: "arn:aws:lambda:us-east-1:" + acct + ":function:" + FunctionPostgresSingleUser,
			URL: "https://rotator.example/"}, false},
		{"bad PEM", putWebhookInput{FunctionArn: fn, URL: "https://rotator.example/", CACertificates: "not pem"}, false},
		{"key PEM", putWebhookInput{FunctionArn: fn, URL: "https://rotator.example/",
			CACertificates: "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.in.Validate()
			if (err == nil) != tt.ok || (err != nil && code(err) != codeInvalidParam) {
				t.Errorf("Validate = %v, want ok=%v (InvalidParameterException otherwise)", err, tt.ok)
			}
		})
	}
}

func TestWebhookRegistry(t *testing.T) {
	s, st, keys := webhookService(t)
	ctx := context.Background()
	fn := "arn:aws:lambda:us-east-1:" + acct + ":function:rotator"
	c := callFor(acct)

	if _, err := s.putWebhook(ctx, callFor("999999999999"), &putWebhookInput{FunctionArn: fn, URL: "https://x.example/"}); code(err) != codeInvalidParam {
		t.Errorf("registering another account's function: %v", err)
	}
	out, err := s.putWebhook(ctx, c, &putWebhookInput{FunctionArn: fn, URL: "https://x.example/"})
	if err != nil {
		t.Fatal(err)
	}
	key, err := base64.StdEncoding.DecodeString(out.(webhookOutput).SigningKey)
	if err != nil || len(key) != signingKeyLen {
		t.Fatalf("signing key %q", out.(webhookOutput).SigningKey)
	}
	w, _ := st.GetRotationWebhook(ctx, fn)
	if strings.Contains(string(w.SealedKey), string(key)) {
		t.Fatal("the signing key is stored in plaintext")
	}
	if got, err := keys.Open(w.SealedKey, webhookAAD(fn)); err != nil || string(got) != string(key) {
		t.Fatalf("sealed key does not open to the returned key: %v", err)
	}
	if _, err := keys.Open(w.SealedKey, webhookAAD(fn+"x")); err == nil {
		t.Error("the sealed key opens for another function ARN")
	}
	// Updating the URL keeps the key and does not return it.
	out, err = s.putWebhook(ctx, c, &putWebhookInput{FunctionArn: fn, URL: "https://y.example/"})
	if err != nil || out.(webhookOutput).SigningKey != "" {
		t.Fatalf("update: %+v, %v", out, err)
	}
	w2, _ := st.GetRotationWebhook(ctx, fn)
	if k2, _ := keys.Open(w2.SealedKey, webhookAAD(fn)); string(k2) != string(key) || w2.URL != "https://y.example/" {
		t.Error("update changed the key or kept the URL")
	}
	out, err = s.putWebhook(ctx, c, &putWebhookInput{FunctionArn: fn, URL: "https://y.example/", RegenerateSigningKey: true})
	if err != nil || out.(webhookOutput).SigningKey == "" || out.(webhookOutput).SigningKey == base64.StdEncoding.EncodeToString(key) {
		t.Fatalf("regenerate: %+v, %v", out, err)
	}
	// Another account neither sees nor deletes it.
	if _, err := s.getWebhook(ctx, callFor("999999999999"), &webhookIDInput{FunctionArn: fn}); code(err) != codeNotFound {
		t.Errorf("another account's get: %v", err)
	}
	if _, err := s.deleteWebhook(ctx, callFor("999999999999"), &webhookIDInput{FunctionArn: fn}); code(err) != codeNotFound {
		t.Errorf("another account's delete: %v", err)
	}
	list, err := s.listWebhooks(ctx, c, &listWebhooksInput{})
	if err != nil || len(list.(listWebhooksOutput).RotationWebhooks) != 1 || list.(listWebhooksOutput).RotationWebhooks[0].SigningKey != "" {
		t.Fatalf("list: %+v, %v", list, err)
	}
	if _, err := s.deleteWebhook(ctx, c, &webhookIDInput{FunctionArn: fn}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.GetRotationWebhook(ctx, fn); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("after delete: %v", err)
	}
	// The registry resolves built-in names without a webhook and refuses
	// unknown functions.
	reg := &Registry{Store: st, Keys: keys}
	if _, err := reg.Rotator(ctx, fn); !errors.Is(err, ErrNoRotator) {
		t.Errorf("Rotator(deleted webhook) = %v, want ErrNoRotator", err)
	}
	if r, err := reg.Rotator(ctx, "arn:aws:lambda:us-east-1:"+acct+":function:"+FunctionPostgresAlternatingUsers); err != nil || !r.(*Postgres).Alternating {
		t.Errorf("Rotator(alternating users) = %v, %v", r, err)
	}
}
