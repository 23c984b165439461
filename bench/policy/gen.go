package policybench

import (
	"fmt"
	"math/rand/v2"
)

// Request is one authorization question in engine-neutral form; each engine
// test converts it to its own input. Empty strings are absent keys.
type Request struct {
	Role     int
	Action   string
	Resource string
	// Condition keys.
	Team            string // aws:PrincipalTag/team
	SourceIP        string // aws:SourceIp
	CurrentTime     string // aws:CurrentTime, RFC 3339
	MFA             string // aws:MultiFactorAuthPresent, "true"/"false"
	SecureTransport string // aws:SecureTransport, "true"/"false"
	ResourceAccess  string // aws:ResourceTag/access
}

// Actions is every action the generator uses, in canonical case.
var Actions = []string{
	"secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret", "secretsmanager:DeleteSecret",
	"secretsmanager:PutSecretValue", "secretsmanager:ListSecrets",
	"kms:Decrypt", "kms:GenerateDataKey", "kms:GenerateDataKeyWithoutPlaintext", "kms:Encrypt",
	"s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:ListBucket", "s3:GetBucketPolicy",
	"sqs:SendMessage", "sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:PurgeQueue",
	"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query", "dynamodb:DeleteTable", "dynamodb:Scan",
	"logs:CreateLogStream", "logs:PutLogEvents", "logs:GetLogEvents", "logs:DeleteLogGroup",
	"ssm:GetParameter", "ssm:GetParametersByPath", "ssm:PutParameter",
	"iam:CreateUser", "sts:AssumeRole",
}

// resourceFor builds a resource ARN of the action's service, owned by role
// owner; variant picks among a few shapes (prod or staging secrets, ...).
func resourceFor(action string, owner string, variant int) string {
	g, a := Region, Account
	switch service(action) {
	case "secretsmanager":
		switch variant % 4 {
		case 0:
			return fmt.Sprintf("arn:aws:secretsmanager:%s:%s:secret:%s/prod/db-AbCdEf", g, a, owner)
		case 1:
			return fmt.Sprintf("arn:aws:secretsmanager:%s:%s:secret:%s/staging/api-key-Gh1jKl", g, a, owner)
		case 2:
			return fmt.Sprintf("arn:aws:secretsmanager:%s:%s:secret:shared/prod/tls-MnOpQr", g, a)
		default:
			return fmt.Sprintf("arn:aws:secretsmanager:eu-west-1:%s:secret:%s/prod/db-StUvWx", a, owner)
		}
	case "kms":
		if variant%3 == 2 {
			return fmt.Sprintf("arn:aws:kms:%s:%s:key/1234abcd-12ab-34cd-56ef-1234567890ab", g, a)
		}
		return fmt.Sprintf("arn:aws:kms:%s:%s:key/%s-key", g, a, owner)
	case "s3":
		if variant%3 == 2 {
			return fmt.Sprintf("arn:aws:s3:::%s-data", owner)
		}
		return fmt.Sprintf("arn:aws:s3:::%s-data/reports/2026/11/r%d.csv", owner, variant)
	case "sqs":
		return fmt.Sprintf("arn:aws:sqs:%s:%s:%s-jobs", g, a, owner)
	case "dynamodb":
		return fmt.Sprintf("arn:aws:dynamodb:%s:%s:table/%s-orders", g, a, owner)
	case "logs":
		return fmt.Sprintf("arn:aws:logs:%s:%s:log-group:/svc/%s:log-stream:i-%d", g, a, owner, variant)
	case "ssm":
		return fmt.Sprintf("arn:aws:ssm:%s:%s:parameter/%s/config/timeout", g, a, owner)
	case "iam":
		return fmt.Sprintf("arn:aws:iam::%s:user/%s-admin", a, owner)
	default:
		return fmt.Sprintf("arn:aws:iam::%s:role/%s", a, owner)
	}
}

func service(action string) string {
	for i := 0; i < len(action); i++ {
		if action[i] == ':' {
			return action[:i]
		}
	}
	return action
}

func pick[T any](rng *rand.Rand, xs ...T) T { return xs[rng.IntN(len(xs))] }

// Generate returns n requests drawn deterministically from seed: mostly
// roles acting on their own resources (allowed unless a condition fails),
// some on other roles' resources (implicit deny), and the guarded actions
// (explicit deny).
func Generate(seed uint64, n int) []Request {
	rng := rand.New(rand.NewPCG(seed, 0x62756c7761726b)) // "bulwark"
	out := make([]Request, n)
	for i := range out {
		r := rng.IntN(Roles)
		owner := RoleName(r)
		if rng.IntN(4) == 0 {
			owner = RoleName(rng.IntN(Roles))
		}
		action := Actions[rng.IntN(len(Actions))]
		variant := rng.IntN(12)
		if rng.IntN(10) == 0 {
			// Reads of shared secrets, which only the tag-and-date grant allows.
			action, variant = "secretsmanager:GetSecretValue", 2
		}
		q := Request{
			Role:            r,
			Action:          action,
			Resource:        resourceFor(action, owner, variant),
			SourceIP:        pick(rng, "10.1.2.3", "10.200.0.7", "192.168.1.20", "203.0.113.9", "fd00::17", "2001:db8::1"),
			CurrentTime:     pick(rng, "2026-11-23T10:00:00Z", "2029-12-31T23:59:59Z", "2030-01-01T00:00:00Z", "2031-06-01T08:00:00Z"),
			MFA:             pick(rng, "true", "false", ""),
			SecureTransport: pick(rng, "true", "true", "true", "false"),
			Team:            pick(rng, "team-"+RoleName(r), "team-"+RoleName(r), "team-"+RoleName(rng.IntN(Roles)), ""),
			ResourceAccess:  pick(rng, "shared", "private", ""),
		}
		if rng.IntN(10) == 0 {
			q.SourceIP = ""
		}
		out[i] = q
	}
	return out
}
