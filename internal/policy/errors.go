package policy

import "strings"

// Error codes IAM returns for policy documents it refuses.
const (
	CodeMalformed     = "MalformedPolicyDocument"
	CodeLimitExceeded = "LimitExceeded"
)

// DocumentLevel is the Problem.Statement of a problem that concerns the whole
// document rather than one statement.
const DocumentLevel = -1

// Problem is one thing wrong with a policy document.
type Problem struct {
	// Statement is the zero-based index of the statement concerned, or
	// DocumentLevel.
	Statement int
	// Sid is the statement's Sid, when it has one.
	Sid string
	// Message is worded like AWS's MalformedPolicyDocument messages and is
	// safe to return to a client.
	Message string
}

// Error is returned by Parse for every refused document. Its messages are
// meant for clients (the IAM API returns Code and Message()).
type Error struct {
	Code     string // CodeMalformed or CodeLimitExceeded
	Problems []Problem
}

// Error lists every problem with its location.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Code)
	for i, p := range e.Problems {
		if i == 0 {
			b.WriteString(": ")
		} else {
			b.WriteString("; ")
		}
		b.WriteString(p.Message)
		if p.Statement != DocumentLevel {
			b.WriteString(" (statement ")
			b.WriteString(itoa(p.Statement))
			if p.Sid != "" {
				b.WriteString(" \"")
				b.WriteString(p.Sid)
				b.WriteString("\"")
			}
			b.WriteString(")")
		}
	}
	return b.String()
}

// Message is the text IAM puts in its error response: the first problem,
// as AWS reports one problem at a time.
func (e *Error) Message() string {
	if len(e.Problems) == 0 {
		return "Syntax errors in policy."
	}
	return e.Problems[0].Message
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var buf [20]byte
	i := len(buf)
	neg := n < 0
	if neg {
		n = -n
	}
	for n > 0 {
		i--
		buf[i] = byte('0' + n%10)
		n /= 10
	}
	if neg {
		i--
		buf[i] = '-'
	}
	return string(buf[i:])
}
