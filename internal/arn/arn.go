package arn

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// MaxLen bounds the ARNs this package parses; IAM's own limit for ARNs in
// API parameters is 2,048 characters.
const MaxLen = 2048

// ARN is a parsed Amazon Resource Name. The zero value is not a valid ARN.
type ARN struct {
	Partition string // "aws"
	Service   string // "iam", "sts", "s3", ...
	Region    string // empty for global services such as IAM
	Account   string // 12-digit account id; empty for S3 buckets
	Resource  string // everything after the fifth colon, colons included
}

// ErrMalformed is wrapped by every Parse error.
var ErrMalformed = errors.New("malformed ARN")

// Parse splits s into its components. It requires the "arn" prefix, six
// components and a non-empty partition, service and resource.
func Parse(s string) (ARN, error) {
	if len(s) > MaxLen {
		return ARN{}, fmt.Errorf("%w: longer than %d characters", ErrMalformed, MaxLen)
	}
	if !utf8.ValidString(s) {
		return ARN{}, fmt.Errorf("%w: not valid UTF-8", ErrMalformed)
	}
	var parts [5]string
	rest := s
	for i := range parts {
		j := strings.IndexByte(rest, ':')
		if j < 0 {
			return ARN{}, fmt.Errorf("%w: %q has fewer than six components", ErrMalformed, s)
		}
		parts[i], rest = rest[:j], rest[j+1:]
	}
	if parts[0] != "arn" {
		return ARN{}, fmt.Errorf("%w: %q does not start with \"arn:\"", ErrMalformed, s)
	}
	a := ARN{Partition: parts[1], Service: parts[2], Region: parts[3], Account: parts[4], Resource: rest}
	switch {
	case a.Partition == "":
		return ARN{}, fmt.Errorf("%w: %q has an empty partition", ErrMalformed, s)
	case a.Service == "":
		return ARN{}, fmt.Errorf("%w: %q has an empty service", ErrMalformed, s)
	case a.Resource == "":
		return ARN{}, fmt.Errorf("%w: %q has an empty resource", ErrMalformed, s)
	}
	return a, nil
}

// String reassembles the ARN.
func (a ARN) String() string {
	return "arn:" + a.Partition + ":" + a.Service + ":" + a.Region + ":" + a.Account + ":" + a.Resource
}

// IsAccountID reports whether s is a 12-digit AWS account id.
func IsAccountID(s string) bool {
	if len(s) != 12 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// Match reports whether value matches pattern component-wise, as IAM matches
// a policy's Resource element or an ArnLike condition. A pattern of "*"
// matches everything. Wildcards inside the first five components stay within
// that component; in the resource component '*' also spans ':' and '/'.
// When the pattern has fewer than six components and its last one contains a
// '*', that component matches the remainder of value. Match allocates
// nothing.
func Match(pattern, value string) bool {
	if pattern == "*" {
		return true
	}
	p, v := pattern, value
	for i := 0; i < 5; i++ {
		pj := strings.IndexByte(p, ':')
		vj := strings.IndexByte(v, ':')
		if pj < 0 {
			// Short pattern: its last component absorbs the rest of value.
			if strings.IndexByte(p, '*') >= 0 {
				return Glob(p, v)
			}
			return vj < 0 && Glob(p, v)
		}
		if vj < 0 {
			return false
		}
		if !Glob(p[:pj], v[:vj]) {
			return false
		}
		p, v = p[pj+1:], v[vj+1:]
	}
	return Glob(p, v)
}

// Glob reports whether s matches pattern, where '*' matches any run of
// characters (including none) and '?' exactly one character. Matching is
// case-sensitive and allocates nothing.
func Glob(pattern, s string) bool {
	return glob(pattern, s, false)
}

// GlobFold is Glob with Unicode simple case folding, as IAM matches action
// names.
func GlobFold(pattern, s string) bool {
	return glob(pattern, s, true)
}

func glob(p, s string, fold bool) bool {
	pi, si := 0, 0
	starP, starS := -1, 0
	for si < len(s) || pi < len(p) {
		if pi < len(p) {
			switch c := p[pi]; c {
			case '*':
				starP, starS = pi+1, si
				pi++
				continue
			case '?':
				if si < len(s) {
					_, n := utf8.DecodeRuneInString(s[si:])
					pi++
					si += n
					continue
				}
			default:
				if si < len(s) {
					if c < utf8.RuneSelf && s[si] < utf8.RuneSelf {
						if c == s[si] || (fold && lower(c) == lower(s[si])) {
							pi++
							si++
							continue
						}
					} else {
						pr, pn := utf8.DecodeRuneInString(p[pi:])
						sr, sn := utf8.DecodeRuneInString(s[si:])
						// Compare bytes, so that distinct invalid bytes (both
						// decoding to RuneError) do not match each other.
						same := p[pi:pi+pn] == s[si:si+sn]
						if same || (fold && pr != utf8.RuneError && sr != utf8.RuneError && strings.EqualFold(p[pi:pi+pn], s[si:si+sn])) {
							pi += pn
							si += sn
							continue
						}
					}
				}
			}
		}
		if starP >= 0 && starS < len(s) {
			_, n := utf8.DecodeRuneInString(s[starS:])
			starS += n
			pi, si = starP, starS
			continue
		}
		return false
	}
	return true
}

func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}
