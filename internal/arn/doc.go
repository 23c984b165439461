// Package arn parses Amazon Resource Names and matches them against the
// wildcard patterns IAM policies use.
//
// An ARN has six colon-separated components:
//
//	arn:partition:service:region:account-id:resource
//
// The resource component may itself contain colons and slashes. Matching is
// component-wise and case-sensitive (IAM User Guide, "IAM JSON policy
// elements: Resource" and the ArnLike condition operator): '*' matches any
// run of characters and '?' one character within a component, except in the
// resource component where '*' may also span '/' and ':'.
package arn
