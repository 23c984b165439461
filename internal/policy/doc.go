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
// positive operators false, negated operators true. Keys that conditions
// or policy variables needed but the request lacked are reported in
// Decision.MissingKeys.
//
// Policy variables (Version 2012-10-17 only) are substituted in Resource,
// NotResource and String* and Arn* condition values. A variable is
// unresolvable when it has no default and its key is absent, holds several
// values, or is a multivalued key by type (aws:TagKeys, aws:CalledVia,
// aws:PrincipalServiceNamesList, the *OrgPaths keys, sts:TransitiveTagKeys,
// ...; "you can't use a multivalued context key as a policy variable"),
// even with one value; IAM accepts such policies, so this is decided at
// evaluation, not at parse time. AWS says only that an unresolvable
// variable "might cause the entire statement to be invalid"; Bulwark reads
// it as: whatever could depend on the variable does not match, so the
// statement does not apply, neither as an Allow nor as a Deny, and can
// never grant more than the variable's true value would. Precisely: a
// Resource entry or positive-operator value holding one matches nothing
// (other entries and values still can); a negated operator (StringNotEquals,
// ArnNotLike, ...) with such a value is false when its key is present; a
// NotResource entry holding one, that names the request's partition,
// service, region, account and resource type, makes NotResource fail.
// Where the variable cannot matter the usual rules decide: a condition on
// an absent key never compares values, and a NotResource entry for another
// resource type excludes nothing. This is the reading of
// @cloud-copilot/iam-simulate, against which bench/policy checks Bulwark.
// A Deny that does not apply only removes a Deny, so adding a Deny
// statement still never turns a Deny into an Allow.
//
// Service control policies and resource control policies are not modelled.
package policy
