package policy_test

import (
	"fmt"

	"github.com/bulwark-security/bulwark/internal/policy"
)

func Example() {
	identity, err := policy.ParseOptions([]byte(`{
		"Version": "2012-10-17",
		"Statement": [
			{"Effect": "Allow", "Action": "secretsmanager:GetSecretValue",
			 "Resource": "arn:aws:secretsmanager:us-east-1:111122223333:secret:app/*",
			 "Condition": {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}},
			{"Sid": "NoDelete", "Effect": "Deny", "Action": "secretsmanager:Delete*", "Resource": "*"}
		]}`), policy.Options{Kind: policy.KindRoleInline, ID: "role/app/inline/secrets"})
	if err != nil {
		panic(err)
	}
	set := &policy.Set{Identity: []*policy.Policy{identity}}

	// Reuse one Context per goroutine: filling it does not allocate.
	var ctx policy.Context
	ctx.Set("aws:SourceIp", "10.1.2.3")
	ctx.Set("aws:CurrentTime", "2026-11-23T09:00:00Z")
	req := &policy.Request{
		Action:   "secretsmanager:GetSecretValue",
		Resource: "arn:aws:secretsmanager:us-east-1:111122223333:secret:app/db-AbCdEf",
		Principal: policy.Principal{
			ARN:       "arn:aws:sts::111122223333:assumed-role/app/i-0abc",
			IssuerARN: "arn:aws:iam::111122223333:role/app",
			Account:   "111122223333",
		},
		Context: &ctx,
	}
	d := policy.Evaluate(set, req)
	fmt.Println(d.Effect, d.Reason)

	req.Action = "secretsmanager:DeleteSecret"
	d = policy.Evaluate(set, req)
	fmt.Println(d.Effect, d.Statements()[0].Sid())
	// Output:
	// allowed an identity-based policy allows the action
	// explicitDeny NoDelete
}
