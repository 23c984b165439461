// Package oidc verifies OpenID Connect ID tokens for STS
// AssumeRoleWithWebIdentity: the JWT's signature against the issuer's JSON
// Web Key Set (found through its discovery document), its issuer, audience
// and validity period. Keys are fetched over HTTPS only, with time and size
// limits, cached, and refetched on an unknown key id at most once a minute.
//
// TLS follows IAM's thumbprint model: the issuer's certificate chain is
// accepted if it verifies against the system roots, or if it verifies
// against a certificate of the presented chain whose SHA-1 thumbprint the
// IAM OIDC provider lists (so a provider may pin its own CA or a
// self-signed certificate).
package oidc

import (
	"errors"
	"fmt"
)

// Kind classifies a verification failure; STS maps each to its error code.
type Kind int

const (
	// KindInvalidToken: the token is malformed, unsigned, badly signed or
	// has wrong claims (STS InvalidIdentityToken).
	KindInvalidToken Kind = iota + 1
	// KindExpired: the token's exp has passed (STS ExpiredTokenException).
	KindExpired
	// KindIDPCommunication: the issuer's keys could not be fetched (STS
	// IDPCommunicationError).
	KindIDPCommunication
)

// Error is a verification failure. Message is safe to return to the
// caller: it never contains the token or key material.
type Error struct {
	Kind    Kind
	Message string
	cause   error
}

func (e *Error) Error() string {
	if e.cause != nil {
		return e.Message + ": " + e.cause.Error()
	}
	return e.Message
}

func (e *Error) Unwrap() error { return e.cause }

// KindOf returns the Kind of err, or 0 if err is not an *Error.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return 0
}

const (
	msgNotJWT     = "The ID Token provided is not a valid JWT. (You may see this error if you sent an Access Token)"
	msgNoKey      = "Couldn't retrieve verification key from your identity provider,  please reference AssumeRoleWithWebIdentity documentation for requirements"
	msgBadSig     = "Unable to verify the signature of the ID Token."
	msgIDPComm    = "Couldn't retrieve verification key from your identity provider"
	msgBadAud     = "Incorrect token audience"
	msgBadIssuer  = "Issuer of the ID Token does not match the identity provider."
	msgNotYet     = "The ID Token provided is not yet valid."
	msgIssuedLate = "The ID Token provided was issued in the future."
)

func invalid(msg string) *Error { return &Error{Kind: KindInvalidToken, Message: msg} }

func communication(format string, args ...any) *Error {
	return &Error{Kind: KindIDPCommunication, Message: msgIDPComm, cause: fmt.Errorf(format, args...)}
}
