#!/usr/bin/env bash
# Least privilege for one microservice, end to end, with the unmodified aws CLI.
# Run it against a dev server (bulwark server --dev); CI runs it in e2e.
#   ENDPOINT=http://127.0.0.1:4747 bash examples/least-privilege.sh
set -euo pipefail
export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_DEFAULT_REGION=us-east-1
aws() { command aws --endpoint-url "${ENDPOINT:-http://127.0.0.1:4747}" "$@"; }
ACCOUNT=$(aws sts get-caller-identity --query Account --output text)
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT

# 1. A role for the microservice, assumable by principals of this account
#    whose own policies allow it.
cat >"$work/trust.json" <<JSON
{"Version":"2012-10-17","Statement":[{"Effect":"Allow",
  "Principal":{"AWS":"arn:aws:iam::$ACCOUNT:root"},"Action":"sts:AssumeRole"}]}
JSON
aws iam create-role --role-name MyMicroserviceRole --assume-role-policy-document "file://$work/trust.json"

# 2. A least-privilege policy: read objects of one bucket, read its own role.
cat >"$work/microservice-policy.json" <<JSON
{"Version":"2012-10-17","Statement":[
  {"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::my-bucket/*"},
  {"Effect":"Allow","Action":"iam:GetRole","Resource":"arn:aws:iam::$ACCOUNT:role/MyMicroserviceRole"}]}
JSON
aws iam create-policy --policy-name MyMicroservicePolicy --policy-document "file://$work/microservice-policy.json"
aws iam attach-role-policy --role-name MyMicroserviceRole --policy-arn "arn:aws:iam::$ACCOUNT:policy/MyMicroservicePolicy"

# 3. A deployer user that may assume the role (root may not: AWS forbids it).
aws iam create-user --user-name deployer
aws iam put-user-policy --user-name deployer --policy-name assume-microservice-role --policy-document \
  "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"sts:AssumeRole\",\"Resource\":\"arn:aws:iam::$ACCOUNT:role/MyMicroserviceRole\"}]}"
read -r DEPLOYER_KEY DEPLOYER_SECRET < <(aws iam create-access-key --user-name deployer \
  --query 'AccessKey.[AccessKeyId,SecretAccessKey]' --output text)

# 4. Assume the role: short-lived credentials for the microservice.
read -r AKID SECRET TOKEN < <(AWS_ACCESS_KEY_ID=$DEPLOYER_KEY AWS_SECRET_ACCESS_KEY=$DEPLOYER_SECRET \
  aws sts assume-role --role-arn "arn:aws:iam::$ACCOUNT:role/MyMicroserviceRole" --role-session-name orders-1 \
  --query 'Credentials.[AccessKeyId,SecretAccessKey,SessionToken]' --output text)
as_service() { AWS_ACCESS_KEY_ID=$AKID AWS_SECRET_ACCESS_KEY=$SECRET AWS_SESSION_TOKEN=$TOKEN aws "$@"; }
as_service sts get-caller-identity                       # arn:aws:sts::...:assumed-role/MyMicroserviceRole/orders-1

# 5. What the policy allows works; anything else is denied.
as_service iam get-role --role-name MyMicroserviceRole --query Role.Arn --output text
if as_service iam list-users 2>"$work/denied.txt"; then
  echo "list-users should have been denied" >&2; exit 1
fi
cat "$work/denied.txt"                                    # AccessDenied ... because no identity-based policy allows the iam:ListUsers action
grep -q "AccessDenied" "$work/denied.txt"

# 6. Ask the policy simulator about the S3 permission.
aws iam simulate-principal-policy --policy-source-arn "arn:aws:iam::$ACCOUNT:role/MyMicroserviceRole" \
  --action-names s3:GetObject s3:PutObject --resource-arns arn:aws:s3:::my-bucket/orders.csv \
  --query 'EvaluationResults[].[EvalActionName,EvalDecision]' --output text   # allowed / implicitDeny
echo "walkthrough complete"
