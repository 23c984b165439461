// Package e2e holds the end-to-end tests: they build the real bulwark
// binary, start it on a loopback port and drive it with real clients (the
// aws CLI, boto3 and aws-sdk-go-v2), exactly as a user would.
package e2e
