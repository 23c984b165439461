package secrets

import (
	"errors"
	"net/http"
	"slices"
	"testing"

	"github.com/bulwark-security/bulwark/internal/awsproto"
	"github.com/bulwark-security/bulwark/internal/store"
)

func TestKMSErrorMapping(t *testing.T) {
	tests := []struct {
		name       string
		err        error
		encrypting bool
		code       string
		msg        string
	}{
		{"denied", kmsError("AccessDeniedException", "x"), false, codeAccessDenied, "Access to KMS is not allowed"},
		{"denied on write", kmsError("AccessDeniedException", "x"), true, codeAccessDenied, "Access to KMS is not allowed"},
		{"disabled read", kmsError("DisabledException", "x"), false, codeDecryption, ""},
		{"disabled write", kmsError("DisabledException", "x"), true, codeEncryption, ""},
		{"pending deletion", kmsError("KMSInvalidStateException", "pending deletion"), false, "KMSInvalidStateException", "pending deletion"},
		{"not found", kmsError("NotFoundException", "x"), true, codeEncryption, ""},
		{"bad blob", kmsError("InvalidCiphertextException", "x"), false, codeDecryption, ""},
		{"kms fault", awsproto.InternalFailure(errors.New("disk")), false, "InternalFailure", ""},
		{"plain error", errors.New("boom"), false, "InternalFailure", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := awsproto.As(kmsErr(tt.err, tt.encrypting))
			if e.Code != tt.code || (tt.msg != "" && e.Message != tt.msg) {
				t.Fatalf("got %s %q, want %s %q", e.Code, e.Message, tt.code, tt.msg)
			}
			if e.Code != "InternalFailure" && e.Status != http.StatusBadRequest {
				t.Fatalf("status %d", e.Status)
			}
		})
	}
}

func TestStoreErrorMapping(t *testing.T) {
	for err, code := range map[error]string{
		store.ErrNotFound: codeNotFound, store.ErrLimit: codeLimit, store.ErrStale: codeInvalidReq,
		errors.New("io"): "InternalFailure",
	} {
		if got := awsproto.As(storeErr(err)).Code; got != code {
			t.Errorf("storeErr(%v) = %s, want %s", err, got, code)
		}
	}
}

func TestWords(t *testing.T) {
	tests := map[string][]string{
		"credsDatabase#892": {"creds", "database", "892"},
		"My_Secret":         {"my", "secret"},
		"prod/db2":          {"prod", "db", "2"},
		"ABC":               {"abc"},
		"":                  nil,
	}
	for in, want := range tests {
		if got := words(in); !slices.Equal(got, want) {
			t.Errorf("words(%q) = %v, want %v", in, got, want)
		}
	}
}

func TestValidators(t *testing.T) {
	for _, n := range []string{"a", "prod/db_1+x=y.z@w-v", string(make([]byte, 0)) + "x"} {
		if !validName(n) {
			t.Errorf("validName(%q) = false", n)
		}
	}
	for _, n := range []string{"", "a b", "ä", "a#b", string(make([]byte, 513))} {
		if validName(n) {
			t.Errorf("validName(%q) = true", n)
		}
	}
	if !validToken(newToken()) || validToken("short") || validToken("has space in the token 0123456789abc") {
		t.Error("validToken")
	}
	arn := newSecretARN("us-east-1", testAccount, "n")
	if !arnRE.MatchString(arn) {
		t.Errorf("newSecretARN = %s", arn)
	}
}
