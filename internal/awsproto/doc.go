// Package awsproto speaks the AWS wire protocols Bulwark serves: the query
// protocol (form-encoded request, XML response, used by IAM, STS and SNS) and
// the JSON 1.1 protocol (X-Amz-Target, JSON request and response, used by
// Secrets Manager and KMS). It holds the public error type every layer
// returns, request ids and the body size bound. It has no business logic.
package awsproto
