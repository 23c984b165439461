package sigv4

import (
	"errors"
	"net/http"
	"strings"
)

// Error codes a verification failure carries. They are the query-protocol
// (IAM, STS) spellings; see doc.go for where each comes from.
const (
	CodeMissingAuthenticationToken = "MissingAuthenticationToken"
	CodeIncompleteSignature        = "IncompleteSignature"
	CodeInvalidClientTokenID       = "InvalidClientTokenId"
	CodeSignatureDoesNotMatch      = "SignatureDoesNotMatch"
	CodeRequestExpired             = "RequestExpired"
	CodeExpiredToken               = "ExpiredToken"
	CodeContentSHA256Mismatch      = "XAmzContentSHA256Mismatch"
)

// Error is a verification failure: the AWS error code, the HTTP status AWS
// answers it with and a message that is safe to send to the client. Messages
// never contain a secret, a signature or a session token.
type Error struct {
	Code    string
	Message string
	Status  int
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// JSON returns the code and status JSON-protocol services (Secrets Manager,
// KMS, ...) answer the same failure with; Code and Status are the query
// protocol's (IAM, STS). Observed: Secrets Manager sends
// UnrecognizedClientException with 400 for an unknown key
// (spring-attic/spring-cloud-aws#492), JSON services send
// InvalidSignatureException with 400 for a bad or expired signature
// (aws/aws-sdk-js#254); the other names follow the same "...Exception"
// pattern, with the status of the "Common Errors" pages.
func (e *Error) JSON() (code string, status int) {
	switch e.Code {
	case CodeInvalidClientTokenID:
		return "UnrecognizedClientException", http.StatusBadRequest
	case CodeSignatureDoesNotMatch:
		return "InvalidSignatureException", http.StatusBadRequest
	case CodeIncompleteSignature:
		return "IncompleteSignatureException", http.StatusBadRequest
	case CodeMissingAuthenticationToken:
		return "MissingAuthenticationTokenException", http.StatusForbidden
	case CodeExpiredToken:
		return "ExpiredTokenException", http.StatusForbidden
	}
	return e.Code, e.Status
}

// Errors a Credentials implementation returns so that Verify answers with the
// right AWS error. Any other error is treated as an internal failure.
var (
	// ErrUnknownKey: no active access key with that id → InvalidClientTokenId.
	ErrUnknownKey = errors.New("sigv4: unknown access key")
	// ErrExpiredToken: the session token has expired → ExpiredToken.
	ErrExpiredToken = errors.New("sigv4: expired security token")
	// ErrInvalidToken: the session token is not valid for the key (or missing
	// where one is required) → InvalidClientTokenId.
	ErrInvalidToken = errors.New("sigv4: invalid security token")
)

// Messages are AWS's own wording where it is known (see doc.go).
const (
	msgMissingAuth       = "Request is missing Authentication Token"
	msgInvalidToken      = "The security token included in the request is invalid."
	msgExpiredToken      = "The security token included in the request is expired"
	msgSignatureMismatch = "The request signature we calculated does not match the signature you provided. " +
		"Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
	msgHostNotSigned   = "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization."
	msgPresignExpired  = "Request has expired"
	msgContentMismatch = "The provided 'x-amz-content-sha256' header does not match what was computed."
)

func newError(code string, status int, msg string) *Error {
	return &Error{Code: code, Status: status, Message: msg}
}

func errMissingAuth() *Error {
	return newError(CodeMissingAuthenticationToken, http.StatusForbidden, msgMissingAuth)
}

func errIncomplete(msg string) *Error {
	return newError(CodeIncompleteSignature, http.StatusBadRequest, msg)
}

func errMismatch(msg string) *Error {
	return newError(CodeSignatureDoesNotMatch, http.StatusForbidden, msg)
}

func errInvalidClientToken() *Error {
	return newError(CodeInvalidClientTokenID, http.StatusForbidden, msgInvalidToken)
}

func errExpiredToken() *Error {
	return newError(CodeExpiredToken, http.StatusForbidden, msgExpiredToken)
}

func errRequestExpired(msg string) *Error {
	return newError(CodeRequestExpired, http.StatusBadRequest, msg)
}

// quote returns s for inclusion in an error message: at most 64 bytes of
// printable ASCII, or "…" when s has anything else. Only values that are
// never secret (algorithm names, scope parts, dates) go through it.
func quote(s string) string {
	const max = 64
	trunc := false
	if len(s) > max {
		s, trunc = s[:max], true
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '\'' {
			return "…"
		}
	}
	if trunc {
		return s + "…"
	}
	return s
}

// joinMsgs joins several AWS messages the way AWS does: each ends with a
// period and they are separated by one space.
func joinMsgs(msgs []string) string { return strings.Join(msgs, " ") }
