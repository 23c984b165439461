// Package policy implements the IAM policy language and AWS's policy
// evaluation logic. It is a pure library: no I/O, no clock (the current time
// arrives as the aws:CurrentTime and aws:EpochTime context keys), no
// globals.
//
// The package works in three phases, like OPA's ast/topdown split. Parse
// reads a JSON document, validates it for one Kind (identity policies must
// not name a Principal, trust and resource policies must; size limits per
// kind) and reports every problem at once as an *Error whose Code and
// messages match IAM's MalformedPolicyDocument and LimitExceeded errors.
// It then compiles the document once: actions are filed by service prefix,
// patterns and policy variables are pre-split, condition values pre-parsed
// (numbers, dates, CIDRs). Evaluate decides a Request against a Set of
// compiled policies without allocating. Each policy files its statements by
// the service prefix of their actions behind a small Bloom filter, so a
// policy that cannot name the request's service costs one AND, and only
// statements that can match the action are examined.
//
// Evaluation follows the IAM User Guide, "Policy evaluation logic":
//
//  1. Every applicable policy is searched for a matching Deny statement:
//     identity-based policies, the permissions boundary, session policies
//     and the resource-based policy (whose statements must also match the
//     caller through Principal or NotPrincipal). One explicit deny decides.
//  2. The account root user is allowed in its own account. Callers without
//     identity policies (service principals, federated providers, anonymous
//     callers) are allowed only by a resource-based policy naming them.
//     Role trust policies (and, with Set.RequireResourceAllow, KMS key
//     policies) must allow even within the account, the root user
//     included.
//  3. In the same account, a resource-based policy naming the caller itself
//     (the IAM user, the assumed-role session ARN, "*") allows the request
//     even when identity policies, the boundary or session policies do not.
//  4. Otherwise the identity side must allow: an identity-based policy, or a
//     same-account resource-based policy naming the role behind a session,
//     and then the permissions boundary (if any) and a session policy (if
//     any) must allow too; their absence of an allow is an implicit deny.
//     Naming only the account in a same-account resource policy delegates
//     to identity policies and grants nothing by itself.
//  5. Across accounts both sides must allow: the identity side as in 4 and
//     the resource-based policy of the resource's account (naming the
//     account, the role, the session or "*").
//
// Within a statement, Action/NotAction are matched case-insensitively with
// * and ?; Resource/NotResource component by component and case-sensitively
// (package arn); several condition operators and several keys are ANDed,
// several values of one key ORed (NORed for negated operators). Absent keys
// follow AWS: ...IfExists and ForAllValues are true, ForAnyValue and the
// positive operators false, negated operators true. Policy variables
// (Version 2012-10-17 only) are substituted in Resource and in String* and
// Arn* condition values; a variable whose key is absent (and has no
// default) makes that element not match. Keys that conditions needed but
// the request lacked are reported in Decision.MissingKeys.
//
// Service control policies and resource control policies are not modelled.
package policy
