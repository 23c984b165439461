package policy

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
)

// benchFixture is the reference authorization set: 10 roles with 10
// policies each, using wildcards, conditions, policy variables and denies,
// and a spread of requests (allowed, explicitly and implicitly denied).
type benchFixture struct {
	sets []*Set
	reqs []*Request
	role []int // reqs[i] is made by role role[i]
	want []Effect
}

const benchAccount = "111122223333"

func benchPolicies(tb testing.TB, r int) []*Policy {
	docs := []string{
		`{"Version":"2012-10-17","Statement":[{"Sid":"Read","Effect":"Allow","Action":["s3:GetObject","s3:ListBucket"],"Resource":["arn:aws:s3:::data-%[1]d","arn:aws:s3:::data-%[1]d/*"],"Condition":{"StringEquals":{"aws:PrincipalTag/team":"team-%[1]d"}}}]}`,
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"secretsmanager:GetSecretValue","Resource":"arn:aws:secretsmanager:us-east-1:%[2]s:secret:app-%[1]d-*","Condition":{"IpAddress":{"aws:SourceIp":["10.0.0.0/8","2001:db8::/32"]}}}]}`,
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["kms:Decrypt","kms:Encrypt","kms:GenerateDataKey*"],"Resource":"arn:aws:kms:us-east-1:%[2]s:key/*","Condition":{"StringLike":{"kms:ViaService":"secretsmanager.*.amazonaws.com"}}}]}`,
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"dynamodb:*","Resource":"arn:aws:dynamodb:us-east-1:%[2]s:table/role-%[1]d-*"},{"Effect":"Allow","Action":"dynamodb:List*","Resource":"*"}]}`,
		`{"Version":"2012-10-17","Statement":[{"Sid":"NoIAM","Effect":"Deny","Action":["iam:*","organizations:*"],"Resource":"*"},{"Sid":"MFA","Effect":"Deny","Action":"s3:DeleteBucket","Resource":"*","Condition":{"BoolIfExists":{"aws:MultiFactorAuthPresent":"false"}}}]}`,
		`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":["ec2:Describe*","cloudwatch:Get*","cloudwatch:List*"],"Resource":"*"}}`,
		`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":["sqs:SendMessage","sqs:ReceiveMessage","sqs:DeleteMessage"],"Resource":"arn:aws:sqs:*:%[2]s:queue-%[1]d-*"}}`,
		`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"logs:*","Resource":"arn:aws:logs:us-east-1:%[2]s:log-group:/app/%[1]d/*","Condition":{"DateLessThan":{"aws:CurrentTime":"2030-01-01T00:00:00Z"},"Bool":{"aws:SecureTransport":"true"}}}}`,
		`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::home/${aws:username}/*"}}`,
		`{"Version":"2012-10-17","Statement":{"Sid":"Region","Effect":"Deny","NotAction":["iam:*","sts:*","cloudfront:*"],"Resource":"*","Condition":{"StringNotEquals":{"aws:RequestedRegion":["us-east-1","eu-west-1"]}}}}`,
	}
	out := make([]*Policy, len(docs))
	for i, d := range docs {
		doc := strings.NewReplacer("%[1]d", strconv.Itoa(r), "%[2]s", benchAccount).Replace(d)
		out[i] = mustParse(tb, []byte(doc), Options{ID: fmt.Sprintf("arn:aws:iam::%s:policy/role%d-p%d", benchAccount, r, i)})
	}
	return out
}

func newBenchFixture(tb testing.TB) *benchFixture {
	f := &benchFixture{}
	for r := 0; r < 10; r++ {
		f.sets = append(f.sets, &Set{Identity: benchPolicies(tb, r)})
	}
	type rq struct {
		action, resource string
		ctx              map[string]string
		want             Effect
	}
	for r := 0; r < 10; r++ {
		base := map[string]string{
			"aws:PrincipalTag/team":      fmt.Sprintf("team-%d", r),
			"aws:SourceIp":               "10.1.2.3",
			"aws:RequestedRegion":        "us-east-1",
			"aws:CurrentTime":            "2026-11-23T09:00:00Z",
			"aws:SecureTransport":        "true",
			"aws:username":               fmt.Sprintf("user%d", r),
			"aws:PrincipalArn":           fmt.Sprintf("arn:aws:iam::%s:role/role%d", benchAccount, r),
			"aws:PrincipalAccount":       benchAccount,
			"kms:ViaService":             "secretsmanager.us-east-1.amazonaws.com",
			"aws:MultiFactorAuthPresent": "false",
		}
		cases := []rq{
			{"s3:GetObject", fmt.Sprintf("arn:aws:s3:::data-%d/report.csv", r), nil, Allow},
			{"secretsmanager:GetSecretValue", fmt.Sprintf("arn:aws:secretsmanager:us-east-1:%s:secret:app-%d-db-AbCdEf", benchAccount, r), nil, Allow},
			{"kms:Decrypt", fmt.Sprintf("arn:aws:kms:us-east-1:%s:key/1234", benchAccount), nil, Allow},
			{"dynamodb:PutItem", fmt.Sprintf("arn:aws:dynamodb:us-east-1:%s:table/role-%d-orders", benchAccount, r), nil, Allow},
			{"iam:CreateUser", fmt.Sprintf("arn:aws:iam::%s:user/x", benchAccount), nil, ExplicitDeny},
			{"s3:DeleteBucket", "arn:aws:s3:::data-0", nil, ExplicitDeny},
			{"ec2:DescribeInstances", "*", nil, Allow},
			{"s3:PutObject", fmt.Sprintf("arn:aws:s3:::home/user%d/notes.txt", r), nil, Allow},
			{"s3:GetObject", fmt.Sprintf("arn:aws:s3:::data-%d/x", (r+1)%10), nil, ImplicitDeny},
			{"secretsmanager:GetSecretValue", fmt.Sprintf("arn:aws:secretsmanager:us-east-1:%s:secret:app-%d-db-AbCdEf", benchAccount, r), map[string]string{"aws:SourceIp": "203.0.113.9"}, ImplicitDeny},
			{"sqs:SendMessage", fmt.Sprintf("arn:aws:sqs:us-east-1:%s:queue-%d-jobs", benchAccount, r), map[string]string{"aws:RequestedRegion": "ap-south-1"}, ExplicitDeny},
			{"logs:PutLogEvents", fmt.Sprintf("arn:aws:logs:us-east-1:%s:log-group:/app/%d/web:log-stream:1", benchAccount, r), nil, Allow},
			{"lambda:InvokeFunction", fmt.Sprintf("arn:aws:lambda:us-east-1:%s:function:f", benchAccount), nil, ImplicitDeny},
		}
		for _, c := range cases {
			ctx := &Context{}
			for k, v := range base {
				if o, ok := c.ctx[k]; ok {
					v = o
				}
				ctx.Set(k, v)
			}
			f.reqs = append(f.reqs, &Request{
				Action: c.action, Resource: c.resource, ResourceAccount: benchAccount,
				Principal: Principal{
					ARN:       fmt.Sprintf("arn:aws:sts::%s:assumed-role/role%d/session", benchAccount, r),
					IssuerARN: fmt.Sprintf("arn:aws:iam::%s:role/role%d", benchAccount, r),
					Account:   benchAccount,
				},
				Context: ctx,
			})
			f.role = append(f.role, r)
			f.want = append(f.want, c.want)
		}
	}
	return f
}

func TestBenchFixtureDecisions(t *testing.T) {
	f := newBenchFixture(t)
	for i, r := range f.reqs {
		set := f.sets[f.role[i]]
		d := Evaluate(set, r)
		if d.Effect != f.want[i] {
			t.Errorf("role%d %s %s: %v (%v), want %v", f.role[i], r.Action, r.Resource, d.Effect, d.Reason, f.want[i])
		}
		// Without the action index the decision is the same.
		flat := &Set{}
		for _, p := range set.Identity {
			flat.Identity = append(flat.Identity, unindexed(p))
		}
		if d2 := Evaluate(flat, r); d2.Effect != d.Effect || d2.Reason != d.Reason {
			t.Errorf("role%d %s: index changes the decision", f.role[i], r.Action)
		}
	}
}

// TestEvaluateAllocs holds the hot path to zero allocations.
func TestEvaluateAllocs(t *testing.T) {
	f := newBenchFixture(t)
	i := 0
	n := testing.AllocsPerRun(1000, func() {
		j := i % len(f.reqs)
		_ = Evaluate(f.sets[f.role[j]], f.reqs[j])
		i++
	})
	if n != 0 {
		t.Fatalf("Evaluate allocates %v times per decision", n)
	}
	// Filling a recycled Context does not allocate either.
	ctx := &Context{}
	ctx.Set("aws:SourceIp", "10.0.0.1")
	ctx.Set("aws:TagKeys", "a", "b")
	n = testing.AllocsPerRun(1000, func() {
		ctx.Reset()
		ctx.Set("aws:SourceIp", "10.0.0.1")
		ctx.Add("aws:TagKeys", "a")
		ctx.Add("aws:TagKeys", "b")
	})
	if n != 0 {
		t.Fatalf("Context reuse allocates %v times", n)
	}
}

// BenchmarkEvaluate decides the reference set: one decision per iteration,
// cycling through 130 requests over 10 roles x 10 policies.
func BenchmarkEvaluate(b *testing.B) {
	f := newBenchFixture(b)
	b.ReportAllocs()
	b.ResetTimer()
	allowed := 0
	for i := 0; b.Loop(); i++ {
		j := i % len(f.reqs)
		if d := Evaluate(f.sets[f.role[j]], f.reqs[j]); d.Effect == Allow {
			allowed++
		}
	}
	_ = allowed
}

func BenchmarkParse(b *testing.B) {
	doc := []byte(`{"Version":"2012-10-17","Statement":[{"Sid":"Read","Effect":"Allow","Action":["s3:GetObject","s3:ListBucket"],"Resource":["arn:aws:s3:::data","arn:aws:s3:::data/*"],"Condition":{"StringEquals":{"aws:PrincipalTag/team":"red"},"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}},{"Effect":"Deny","NotAction":"s3:*","Resource":"*"}]}`)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(doc, KindIdentity); err != nil {
			b.Fatal(err)
		}
	}
}
