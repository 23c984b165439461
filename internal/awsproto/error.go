package awsproto

import (
	"errors"
	"fmt"
	"net/http"
)

// Error is an error as the client sees it: an AWS error code, the HTTP status
// AWS uses for it and a message that is safe to send. The internal cause (the
// %w chain) is kept for logs and never sent.
type Error struct {
	Code    string
	Message string
	Status  int
	// Sender is true for client faults (<Type>Sender</Type> in the query
	// protocol), false for server faults.
	Sender bool
	cause  error
}

func (e *Error) Error() string {
	if e.cause != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.cause)
	}
	return e.Code + ": " + e.Message
}

// Unwrap returns the internal cause.
func (e *Error) Unwrap() error { return e.cause }

// WithCause returns a copy of e that carries an internal cause for the logs.
func (e *Error) WithCause(err error) *Error {
	c := *e
	c.cause = err
	return &c
}

// Errorf builds a client-fault error with a formatted message.
func Errorf(status int, code, format string, args ...any) *Error {
	return &Error{Code: code, Status: status, Sender: status < 500, Message: fmt.Sprintf(format, args...)}
}

// As returns the public error in err's chain, or an InternalFailure that
// wraps err when there is none. Internal details never reach the client.
func As(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return InternalFailure(err)
}

// InternalFailure is the answer for any error that is not the client's
// fault. The cause is logged, never sent.
func InternalFailure(cause error) *Error {
	return &Error{Code: "InternalFailure", Status: http.StatusInternalServerError,
		Message: "The request processing has failed because of an unknown error, exception or failure.", cause: cause}
}

// Common errors shared by the services. Codes and statuses follow the AWS
// API references' "Common Errors" pages.
func ValidationError(format string, args ...any) *Error {
	return Errorf(http.StatusBadRequest, "ValidationError", format, args...)
}

// ValidationException is the JSON-protocol spelling of ValidationError.
func ValidationException(format string, args ...any) *Error {
	return Errorf(http.StatusBadRequest, "ValidationException", format, args...)
}

// MissingAction is returned when a query request names no Action.
func MissingAction() *Error {
	return Errorf(http.StatusBadRequest, "MissingAction", "The request is missing an action or a required parameter.")
}

// InvalidAction is returned for an action the service does not have.
func InvalidAction(action, version string) *Error {
	return Errorf(http.StatusBadRequest, "InvalidAction", "Could not find operation %s for version %s", action, version)
}

// UnknownOperation is the JSON-protocol answer for an unknown X-Amz-Target.
func UnknownOperation() *Error {
	return Errorf(http.StatusBadRequest, "UnknownOperationException", "")
}

// SerializationException is the JSON-protocol answer for a body that is not
// valid JSON or has fields of the wrong type.
func SerializationException(msg string) *Error {
	return Errorf(http.StatusBadRequest, "SerializationException", "%s", msg)
}

// RequestEntityTooLarge is returned before a body over the limit is read.
func RequestEntityTooLarge(limit int64) *Error {
	return Errorf(http.StatusRequestEntityTooLarge, "RequestEntityTooLarge",
		"Request body exceeds the maximum allowed size of %d bytes.", limit)
}
