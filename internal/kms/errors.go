package kms

import (
	"fmt"
	"net/http"

	"github.com/bulwark-security/bulwark/internal/awsproto"
)

// KMS error codes (AWS KMS API reference, each action's "Errors"). All are
// client faults with status 400 except KMSInternalException.
const (
	codeNotFound          = "NotFoundException"
	codeDisabled          = "DisabledException"
	codeInvalidState      = "KMSInvalidStateException"
	codeInvalidKeyUsage   = "InvalidKeyUsageException"
	codeIncorrectKey      = "IncorrectKeyException"
	codeInvalidCiphertext = "InvalidCiphertextException"
	codeInvalidSignature  = "KMSInvalidSignatureException"
	codeInvalidMac        = "KMSInvalidMacException"
	codeValidation        = "ValidationException"
	codeAlreadyExists     = "AlreadyExistsException"
	codeLimitExceeded     = "LimitExceededException"
	codeMalformedPolicy   = "MalformedPolicyDocumentException"
	codeInvalidGrantToken = "InvalidGrantTokenException"
	codeInvalidGrantID    = "InvalidGrantIdException"
	codeInvalidAliasName  = "InvalidAliasNameException"
	codeInvalidARN        = "InvalidArnException"
	codeTag               = "TagException"
	codeUnsupported       = "UnsupportedOperationException"
	codeInvalidMarker     = "InvalidMarkerException"
	codeDependency        = "DependencyTimeoutException"
)

func kmsErr(code, format string, args ...any) *awsproto.Error {
	return &awsproto.Error{Code: code, Status: http.StatusBadRequest, Sender: true, Message: fmt.Sprintf(format, args...)}
}

func validation(format string, args ...any) *awsproto.Error {
	return kmsErr(codeValidation, format, args...)
}

func notFound(format string, args ...any) *awsproto.Error {
	return kmsErr(codeNotFound, format, args...)
}

func invalidCiphertext() *awsproto.Error {
	return kmsErr(codeInvalidCiphertext, "")
}
