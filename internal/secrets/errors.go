package secrets

import (
	"errors"
	"net/http"

	"github.com/bulwark-security/bulwark/internal/awsproto"
	"github.com/bulwark-security/bulwark/internal/store"
)

// Secrets Manager's error codes (API reference, "Errors"); all are client
// faults answered with HTTP 400.
const (
	codeNotFound     = "ResourceNotFoundException"
	codeExists       = "ResourceExistsException"
	codeInvalidParam = "InvalidParameterException"
	codeInvalidReq   = "InvalidRequestException"
	codeLimit        = "LimitExceededException"
	codeMalformed    = "MalformedPolicyDocumentException"
	codePublicPolicy = "PublicPolicyException"
	codeDecryption   = "DecryptionFailure"
	codeEncryption   = "EncryptionFailure"
	codePrecondition = "PreconditionNotMetException"
	codeAccessDenied = "AccessDeniedException"
)

func fail(code, format string, args ...any) *awsproto.Error {
	return awsproto.Errorf(http.StatusBadRequest, code, format, args...)
}

func invalidParam(format string, args ...any) *awsproto.Error {
	return fail(codeInvalidParam, format, args...)
}

func invalidRequest(format string, args ...any) *awsproto.Error {
	return fail(codeInvalidReq, format, args...)
}

func errSecretNotFound() *awsproto.Error {
	return fail(codeNotFound, "Secrets Manager can't find the specified secret.")
}

func errMarkedForDeletion() *awsproto.Error {
	return invalidRequest("You can't perform this operation on the secret because it was marked for deletion.")
}

func errVersionNotFound(what, id string) *awsproto.Error {
	return fail(codeNotFound, "Secrets Manager can't find the specified secret value for %s: %s", what, id)
}

// storeErr turns a store failure into the public error: a secret deleted
// or changed under the request is the client's (retryable) problem, the
// rest is internal.
func storeErr(err error) error {
	switch {
	case errors.Is(err, store.ErrNotFound):
		return errSecretNotFound().WithCause(err)
	case errors.Is(err, store.ErrLimit):
		return fail(codeLimit, "You have exceeded the maximum number of versions of this secret.").WithCause(err)
	case errors.Is(err, store.ErrStale):
		return invalidRequest("The secret was changed by another request at the same time. Retry the request.").WithCause(err)
	}
	return awsproto.InternalFailure(err)
}

// kmsErr maps an error from KMS to Secrets Manager's: AccessDenied is
// "Access to KMS is not allowed"; a key that is missing, disabled, pending
// deletion or that cannot open the blob is EncryptionFailure or
// DecryptionFailure (encrypting says which), KMS's own KMSInvalidStateException
// is passed through as Secrets Manager documents it; KMS server faults
// stay internal.
func kmsErr(err error, encrypting bool) error {
	var e *awsproto.Error
	if !errors.As(err, &e) || e.Status >= 500 {
		return awsproto.InternalFailure(err)
	}
	switch e.Code {
	case codeAccessDenied:
		return fail(codeAccessDenied, "Access to KMS is not allowed").WithCause(err)
	case "KMSInvalidStateException":
		return fail("KMSInvalidStateException", "%s", e.Message).WithCause(err)
	}
	if encrypting {
		return fail(codeEncryption, "Secrets Manager can't encrypt the protected secret text using the provided KMS key. Check that the KMS key is available, enabled, and not in an invalid state. For more information, see Key states of AWS KMS keys.").WithCause(err)
	}
	return errDecryption(err)
}

// errDecryption is DecryptionFailure, also for a sealed value that fails
// authentication (tampered or moved to another secret or version).
func errDecryption(cause error) error {
	return fail(codeDecryption, "Secrets Manager can't decrypt the protected secret text using the provided KMS key.").WithCause(cause)
}
