package iam

import (
	"context"
	"crypto/sha256"
	"encoding/base32"
	"errors"
	"fmt"
	"time"

	"github.com/bulwark-security/bulwark/internal/policy"
	"github.com/bulwark-security/bulwark/internal/store"
)

// awsManaged is one AWS managed policy Bulwark ships. The documents follow
// AWS's policies of the same name, restricted to the services Bulwark
// answers (iam, sts, secretsmanager, kms).
type awsManaged struct {
	name, description, document string
}

var awsManagedPolicies = []awsManaged{
	{"AdministratorAccess", "Provides full access to AWS services and resources.",
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`},
	{"ReadOnlyAccess", "Provides read-only access to AWS services and resources.",
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["iam:Generate*","iam:Get*","iam:List*","iam:Simulate*",` +
			`"kms:Describe*","kms:Get*","kms:List*","secretsmanager:DescribeSecret","secretsmanager:GetResourcePolicy",` +
			`"secretsmanager:ListSecrets","secretsmanager:ListSecretVersionIds","sts:GetAccessKeyInfo","sts:GetCallerIdentity"],"Resource":"*"}]}`},
	{"IAMFullAccess", "Provides full access to IAM via the AWS Management Console.",
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:*","Resource":"*"}]}`},
	{"IAMReadOnlyAccess", "Provides read only access to IAM via the AWS Management Console.",
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["iam:GenerateCredentialReport",` +
			`"iam:GenerateServiceLastAccessedDetails","iam:Get*","iam:List*","iam:SimulateCustomPolicy","iam:SimulatePrincipalPolicy"],"Resource":"*"}]}`},
	{"SecretsManagerReadWrite", "Provides read/write access to AWS Secrets Manager via the AWS Management Console.",
		`{"Version":"2012-10-17","Statement":[{"Sid":"BasePermissions","Effect":"Allow","Action":["secretsmanager:*",` +
			`"kms:DescribeKey","kms:ListAliases","kms:ListKeys"],"Resource":"*"}]}`},
}

// SeedManagedPolicies creates the AWS managed policies under
// arn:aws:iam::aws:policy/ that do not exist yet. It is idempotent and safe
// when several servers start at once (the loser of a race sees ErrConflict).
// Policy ids are derived from the names, so every deployment agrees.
func SeedManagedPolicies(ctx context.Context, st store.IAM, now time.Time) error {
	for _, m := range awsManagedPolicies {
		if _, err := policy.Parse([]byte(m.document), policy.KindIdentity); err != nil {
			return fmt.Errorf("AWS managed policy %s: %w", m.name, err)
		}
		arn := awsManagedPolicyPrefix + "/" + m.name
		if _, err := st.GetPolicy(ctx, arn); err == nil {
			continue
		} else if !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("get AWS managed policy %s: %w", m.name, err)
		}
		p := store.ManagedPolicy{AccountID: "aws", PolicyName: m.name, PolicyID: managedPolicyID(m.name), Path: "/",
			ARN: arn, DefaultVersionID: "v1", Description: m.description, CreatedAt: now.UTC(), UpdatedAt: now.UTC()}
		if err := st.CreatePolicy(ctx, p, m.document); err != nil && !errors.Is(err, store.ErrConflict) {
			return fmt.Errorf("create AWS managed policy %s: %w", m.name, err)
		}
	}
	return nil
}

// managedPolicyID is "ANPA" and 17 characters of [A-Z2-7] derived from
// the policy name.
func managedPolicyID(name string) string {
	sum := sha256.Sum256([]byte("bulwark/aws-managed-policy/" + name))
	return "ANPA" + base32.StdEncoding.EncodeToString(sum[:])[:17]
}
