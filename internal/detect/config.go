package detect

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// thresholdSettings names each threshold for ParseThresholds.
var thresholdSettings = map[string]func(t *Thresholds) any{
	"signature_failures":   func(t *Thresholds) any { return &t.SignatureFailures },
	"signature_window":     func(t *Thresholds) any { return &t.SignatureWindow },
	"access_denied":        func(t *Thresholds) any { return &t.AccessDenied },
	"access_denied_window": func(t *Thresholds) any { return &t.AccessDeniedWindow },
	"secret_reads":         func(t *Thresholds) any { return &t.SecretReads },
	"secret_reads_window":  func(t *Thresholds) any { return &t.SecretReadsWindow },
	"new_ip_keys":          func(t *Thresholds) any { return &t.NewIPKeys },
	"new_ip_per_key":       func(t *Thresholds) any { return &t.NewIPPerKey },
	"subjects":             func(t *Thresholds) any { return &t.Subjects },
}

// Limits keep a configured threshold within what the detectors can hold.
const (
	maxCount  = 100000
	maxWindow = 7 * 24 * time.Hour
)

// ParseThresholds reads "name=value,name=value" (counts as integers,
// windows as Go durations such as 5m) over the defaults, for example
// "signature_failures=5,signature_window=1m". Unknown names and values out
// of range are errors.
func ParseThresholds(s string) (Thresholds, error) {
	var t Thresholds
	s = strings.TrimSpace(s)
	if s == "" {
		return t.WithDefaults(), nil
	}
	for _, kv := range strings.Split(s, ",") {
		name, val, ok := strings.Cut(strings.TrimSpace(kv), "=")
		set, known := thresholdSettings[strings.TrimSpace(name)]
		if !ok || !known {
			return t, fmt.Errorf("detector threshold %q: want name=value with a name among signature_failures, signature_window, access_denied, access_denied_window, secret_reads, secret_reads_window, new_ip_keys, new_ip_per_key, subjects", truncate(kv, 64))
		}
		val = strings.TrimSpace(val)
		switch p := set(&t).(type) {
		case *int:
			n, err := strconv.Atoi(val)
			if err != nil || n < 1 || n > maxCount {
				return t, fmt.Errorf("detector threshold %s: %q is not a count from 1 to %d", name, truncate(val, 32), maxCount)
			}
			*p = n
		case *time.Duration:
			d, err := time.ParseDuration(val)
			if err != nil || d < time.Second || d > maxWindow {
				return t, fmt.Errorf("detector threshold %s: %q is not a duration from 1s to %s", name, truncate(val, 32), maxWindow)
			}
			*p = d
		}
	}
	return t.WithDefaults(), nil
}
