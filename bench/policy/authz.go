// Package policybench compares Bulwark's IAM policy engine with OPA (Rego)
// and cedar-go on one authorization set written three ways, and checks
// Bulwark against an independent IAM simulator (@cloud-copilot/iam-simulate).
// It is its own Go module so that the product never depends on the peers.
package policybench

import (
	"fmt"
	"strings"
)

// Account and Region of every resource in the authorization set.
const (
	Account = "111122223333"
	Region  = "us-east-1"
	Roles   = 10
)

// RoleName is the name of role r: ten microservices, the last of which is
// also an auditor with broad read access.
func RoleName(r int) string { return fmt.Sprintf("svc-%d", r) }

// iamTemplates are the identity policies attached to every role; {R} is the
// role name, {A} the account, {G} the region. P8 holds the explicit denies
// that every role carries (a guardrail attached to all of them).
var iamTemplates = []string{
	// P0: read own secrets.
	`{"Version":"2012-10-17","Statement":[{"Sid":"ReadOwnSecrets","Effect":"Allow","Action":["secretsmanager:GetSecretValue","secretsmanager:DescribeSecret"],"Resource":"arn:aws:secretsmanager:{G}:{A}:secret:{R}/*"}]}`,
	// P1: decrypt and generate data keys with own KMS key.
	`{"Version":"2012-10-17","Statement":[{"Sid":"OwnKey","Effect":"Allow","Action":["kms:Decrypt","kms:GenerateDataKey*"],"Resource":"arn:aws:kms:{G}:{A}:key/{R}-key"}]}`,
	// P2: own bucket, for the team that owns the service.
	`{"Version":"2012-10-17","Statement":[{"Sid":"OwnBucket","Effect":"Allow","Action":["s3:GetObject","s3:PutObject"],"Resource":"arn:aws:s3:::{R}-data/*","Condition":{"StringEquals":{"aws:PrincipalTag/team":"team-{R}"}}}]}`,
	// P3: own queues.
	`{"Version":"2012-10-17","Statement":[{"Sid":"OwnQueues","Effect":"Allow","Action":["sqs:SendMessage","sqs:ReceiveMessage","sqs:DeleteMessage"],"Resource":"arn:aws:sqs:{G}:{A}:{R}-*"}]}`,
	// P4: own tables, from the VPC only.
	`{"Version":"2012-10-17","Statement":[{"Sid":"OwnTables","Effect":"Allow","Action":["dynamodb:GetItem","dynamodb:PutItem","dynamodb:Query"],"Resource":"arn:aws:dynamodb:{G}:{A}:table/{R}-*","Condition":{"IpAddress":{"aws:SourceIp":["10.0.0.0/8","fd00::/8"]}}}]}`,
	// P5: write own logs.
	`{"Version":"2012-10-17","Statement":[{"Sid":"OwnLogs","Effect":"Allow","Action":["logs:CreateLogStream","logs:PutLogEvents"],"Resource":"arn:aws:logs:{G}:{A}:log-group:/svc/{R}:*"}]}`,
	// P6: shared secrets, tagged as shared, until a fixed date.
	`{"Version":"2012-10-17","Statement":[{"Sid":"SharedSecrets","Effect":"Allow","Action":"secretsmanager:GetSecretValue","Resource":"arn:aws:secretsmanager:{G}:{A}:secret:shared/*","Condition":{"StringEquals":{"aws:ResourceTag/access":"shared"},"DateLessThan":{"aws:CurrentTime":"2030-01-01T00:00:00Z"}}}]}`,
	// P7: own parameters.
	`{"Version":"2012-10-17","Statement":[{"Sid":"OwnParameters","Effect":"Allow","Action":"ssm:GetParameter*","Resource":"arn:aws:ssm:{G}:{A}:parameter/{R}/*"}]}`,
	// P8: guardrails: never delete a prod secret, no S3 without TLS.
	`{"Version":"2012-10-17","Statement":[{"Sid":"NoProdSecretDelete","Effect":"Deny","Action":"secretsmanager:DeleteSecret","Resource":"arn:aws:secretsmanager:*:*:secret:*/prod/*"},{"Sid":"TLSOnly","Effect":"Deny","Action":"s3:*","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":"false"}}}]}`,
	// P9: manage own secrets with MFA.
	`{"Version":"2012-10-17","Statement":[{"Sid":"ManageOwnSecrets","Effect":"Allow","Action":"secretsmanager:*","Resource":"arn:aws:secretsmanager:{G}:{A}:secret:{R}/*","Condition":{"Bool":{"aws:MultiFactorAuthPresent":"true"}}}]}`,
}

// auditorTemplate is the eleventh policy of the last role: broad read.
const auditorTemplate = `{"Version":"2012-10-17","Statement":[{"Sid":"BroadRead","Effect":"Allow","Action":["s3:Get*","s3:List*","dynamodb:Get*","dynamodb:Query","secretsmanager:Describe*","logs:Get*","ssm:GetParameter*"],"Resource":"*"}]}`

func expand(t string, r int) string {
	return strings.NewReplacer("{R}", RoleName(r), "{A}", Account, "{G}", Region).Replace(t)
}

// IAMPolicies returns the identity policy documents of role r.
func IAMPolicies(r int) []string {
	out := make([]string, 0, len(iamTemplates)+1)
	for _, t := range iamTemplates {
		out = append(out, expand(t, r))
	}
	if r == Roles-1 {
		out = append(out, auditorTemplate)
	}
	return out
}

// regoHeader turns the allow and deny rules into a three-way decision.
const regoHeader = `package bulwark.authz

default decision := "implicitDeny"

decision := "explicitDeny" if deny

decision := "allow" if {
	not deny
	allow
}

ctx := input.context

`

// regoTemplates mirror iamTemplates rule for rule. IAM's "*" inside a
// resource spans "/" and ":", which glob.match does with no delimiters.
var regoTemplates = []string{
	`allow if {
	input.role == "{R}"
	input.action in {"secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"}
	startswith(input.resource, "arn:aws:secretsmanager:{G}:{A}:secret:{R}/")
}
`,
	`allow if {
	input.role == "{R}"
	kms_action(input.action)
	input.resource == "arn:aws:kms:{G}:{A}:key/{R}-key"
}
`,
	`allow if {
	input.role == "{R}"
	input.action in {"s3:GetObject", "s3:PutObject"}
	startswith(input.resource, "arn:aws:s3:::{R}-data/")
	ctx["aws:PrincipalTag/team"] == "team-{R}"
}
`,
	`allow if {
	input.role == "{R}"
	input.action in {"sqs:SendMessage", "sqs:ReceiveMessage", "sqs:DeleteMessage"}
	startswith(input.resource, "arn:aws:sqs:{G}:{A}:{R}-")
}
`,
	`allow if {
	input.role == "{R}"
	input.action in {"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query"}
	startswith(input.resource, "arn:aws:dynamodb:{G}:{A}:table/{R}-")
	some cidr in {"10.0.0.0/8", "fd00::/8"}
	net.cidr_contains(cidr, ctx["aws:SourceIp"])
}
`,
	`allow if {
	input.role == "{R}"
	input.action in {"logs:CreateLogStream", "logs:PutLogEvents"}
	startswith(input.resource, "arn:aws:logs:{G}:{A}:log-group:/svc/{R}:")
}
`,
	`allow if {
	input.role == "{R}"
	input.action == "secretsmanager:GetSecretValue"
	startswith(input.resource, "arn:aws:secretsmanager:{G}:{A}:secret:shared/")
	ctx["aws:ResourceTag/access"] == "shared"
	time.parse_rfc3339_ns(ctx["aws:CurrentTime"]) < time.parse_rfc3339_ns("2030-01-01T00:00:00Z")
}
`,
	`allow if {
	input.role == "{R}"
	startswith(input.action, "ssm:GetParameter")
	startswith(input.resource, "arn:aws:ssm:{G}:{A}:parameter/{R}/")
}
`,
	`deny if {
	input.role == "{R}"
	input.action == "secretsmanager:DeleteSecret"
	glob.match("arn:aws:secretsmanager:*:*:secret:*/prod/*", null, input.resource)
}

deny if {
	input.role == "{R}"
	startswith(input.action, "s3:")
	lower(ctx["aws:SecureTransport"]) == "false"
}
`,
	`allow if {
	input.role == "{R}"
	startswith(input.action, "secretsmanager:")
	startswith(input.resource, "arn:aws:secretsmanager:{G}:{A}:secret:{R}/")
	lower(ctx["aws:MultiFactorAuthPresent"]) == "true"
}
`,
}

const regoAuditor = `allow if {
	input.role == "{R}"
	broad_read(input.action)
}

broad_read(a) if startswith(a, "s3:Get")
broad_read(a) if startswith(a, "s3:List")
broad_read(a) if startswith(a, "dynamodb:Get")
broad_read(a) if a == "dynamodb:Query"
broad_read(a) if startswith(a, "secretsmanager:Describe")
broad_read(a) if startswith(a, "logs:Get")
broad_read(a) if startswith(a, "ssm:GetParameter")
`

const regoHelpers = `kms_action(a) if a == "kms:Decrypt"
kms_action(a) if startswith(a, "kms:GenerateDataKey")
`

// RegoSource returns the authorization set as one Rego module; the query is
// data.bulwark.authz.decision.
func RegoSource() string {
	var b strings.Builder
	b.WriteString(regoHeader)
	b.WriteString(regoHelpers)
	for r := range Roles {
		b.WriteString("\n# role " + RoleName(r) + "\n")
		for _, t := range regoTemplates {
			b.WriteString(expand(t, r))
		}
		if r == Roles-1 {
			b.WriteString(expand(regoAuditor, r))
		}
	}
	return b.String()
}

// cedarTemplates mirror iamTemplates. Wildcard actions are action groups
// (see ActionGroups); resources carry their ARN as the "arn" attribute,
// matched with like, whose "*" spans any characters as IAM's does inside a
// resource. Condition keys arrive in the typed context record.
var cedarTemplates = []string{
	`permit (principal == Role::"{R}", action in [Action::"secretsmanager:GetSecretValue", Action::"secretsmanager:DescribeSecret"], resource)
when { resource.arn like "arn:aws:secretsmanager:{G}:{A}:secret:{R}/*" };
`,
	`permit (principal == Role::"{R}", action in [Action::"kms:Decrypt", Action::"kms:GenerateDataKey*"], resource)
when { resource.arn == "arn:aws:kms:{G}:{A}:key/{R}-key" };
`,
	`permit (principal == Role::"{R}", action in [Action::"s3:GetObject", Action::"s3:PutObject"], resource)
when { resource.arn like "arn:aws:s3:::{R}-data/*" && context has team && context.team == "team-{R}" };
`,
	`permit (principal == Role::"{R}", action in [Action::"sqs:SendMessage", Action::"sqs:ReceiveMessage", Action::"sqs:DeleteMessage"], resource)
when { resource.arn like "arn:aws:sqs:{G}:{A}:{R}-*" };
`,
	`permit (principal == Role::"{R}", action in [Action::"dynamodb:GetItem", Action::"dynamodb:PutItem", Action::"dynamodb:Query"], resource)
when { resource.arn like "arn:aws:dynamodb:{G}:{A}:table/{R}-*" && context has sourceIp && (context.sourceIp.isInRange(ip("10.0.0.0/8")) || context.sourceIp.isInRange(ip("fd00::/8"))) };
`,
	`permit (principal == Role::"{R}", action in [Action::"logs:CreateLogStream", Action::"logs:PutLogEvents"], resource)
when { resource.arn like "arn:aws:logs:{G}:{A}:log-group:/svc/{R}:*" };
`,
	`permit (principal == Role::"{R}", action == Action::"secretsmanager:GetSecretValue", resource)
when { resource.arn like "arn:aws:secretsmanager:{G}:{A}:secret:shared/*" && context has resourceAccess && context.resourceAccess == "shared" && context has now && context.now < datetime("2030-01-01T00:00:00Z") };
`,
	`permit (principal == Role::"{R}", action in Action::"ssm:GetParameter*", resource)
when { resource.arn like "arn:aws:ssm:{G}:{A}:parameter/{R}/*" };
`,
	`forbid (principal == Role::"{R}", action == Action::"secretsmanager:DeleteSecret", resource)
when { resource.arn like "arn:aws:secretsmanager:*:*:secret:*/prod/*" };
forbid (principal == Role::"{R}", action in Action::"s3:*", resource)
when { context has secureTransport && context.secureTransport == false };
`,
	`permit (principal == Role::"{R}", action in Action::"secretsmanager:*", resource)
when { resource.arn like "arn:aws:secretsmanager:{G}:{A}:secret:{R}/*" && context has mfa && context.mfa == true };
`,
}

const cedarAuditor = `permit (principal == Role::"{R}", action in [Action::"s3:Get*", Action::"s3:List*", Action::"dynamodb:Get*", Action::"dynamodb:Query", Action::"secretsmanager:Describe*", Action::"logs:Get*", Action::"ssm:GetParameter*"], resource);
`

// ActionGroups are the wildcard actions of the set, modelled in Cedar as
// action groups that every matching action is a member of.
var ActionGroups = []string{
	"kms:GenerateDataKey*", "ssm:GetParameter*", "s3:*", "secretsmanager:*",
	"s3:Get*", "s3:List*", "dynamodb:Get*", "secretsmanager:Describe*", "logs:Get*",
}

// CedarSource returns the authorization set as Cedar policies.
func CedarSource() string {
	var b strings.Builder
	for r := range Roles {
		b.WriteString("// role " + RoleName(r) + "\n")
		for _, t := range cedarTemplates {
			b.WriteString(expand(t, r))
		}
		if r == Roles-1 {
			b.WriteString(expand(cedarAuditor, r))
		}
	}
	return b.String()
}
