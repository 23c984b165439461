// Package creds reads the root credential bootstrap writes (an AWS shared
// credentials file) for the benchmark drivers.
package creds

import (
	"fmt"
	"os"
	"strings"
)

// Read returns the access key id and secret in the credentials file at path.
func Read(path string) (akid, secret string, err error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", "", fmt.Errorf("read credentials: %w", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			continue
		}
		switch strings.TrimSpace(k) {
		case "aws_access_key_id":
			akid = strings.TrimSpace(v)
		case "aws_secret_access_key":
			secret = strings.TrimSpace(v)
		}
	}
	if akid == "" || secret == "" {
		return "", "", fmt.Errorf("%s: no aws_access_key_id/aws_secret_access_key", path)
	}
	return akid, secret, nil
}
