#!/usr/bin/env bash
# Workload identity end to end: one service gets its own least-privilege
# role; `bulwark agent` attests it and serves its auto-rotating credentials
# to the unmodified aws CLI, which works within the role and is denied
# outside it. Run it against a dev server (bulwark server --dev); CI runs it
# in e2e.
#   ENDPOINT=http://127.0.0.1:4747 bash examples/workload-identity.sh
set -euo pipefail
BULWARK=${BULWARK:-bulwark}
AGENT_ADDR=${AGENT_ADDR:-127.0.0.1:8170}
export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_DEFAULT_REGION=us-east-1
export AWS_ENDPOINT_URL=${ENDPOINT:-http://127.0.0.1:4747}
aws() { command aws --endpoint-url "$AWS_ENDPOINT_URL" "$@"; }
ACCOUNT=$(aws sts get-caller-identity --query Account --output text)
work=$(mktemp -d); agent_pid=
trap '[ -n "$agent_pid" ] && kill "$agent_pid"; rm -rf "$work"' EXIT

# 1. A role for the orders service that only the orders workload may use
#    (the trust policy names the workload, as ECS task roles name
#    ecs-tasks.amazonaws.com), allowed to do one thing.
cat >"$work/trust.json" <<JSON
{"Version":"2012-10-17","Statement":[{"Effect":"Allow",
  "Principal":{"Service":"workloads.bulwark.internal"},"Action":"sts:AssumeRole",
  "Condition":{"StringEquals":{"aws:SourceArn":"arn:aws:bulwark-workloads:us-east-1:$ACCOUNT:workload/orders"}}}]}
JSON
aws iam create-role --role-name OrdersRole --assume-role-policy-document "file://$work/trust.json" --query Role.Arn --output text
aws iam put-role-policy --role-name OrdersRole --policy-name read-own-role --policy-document \
  "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"iam:GetRole\",\"Resource\":\"arn:aws:iam::$ACCOUNT:role/OrdersRole\"}]}"

# 2. Register the workload (this needs iam:PassRole on the role) and make a
#    one-time join token for the agent, valid for ten minutes.
"$BULWARK" workload register --name orders --role-arn "arn:aws:iam::$ACCOUNT:role/OrdersRole" --output text
"$BULWARK" workload join-token --name orders --output text >"$work/orders.join"

# 3. Start the agent beside the workload. It attests with the join token,
#    keeps the role's credentials in memory (refreshed before expiry) and
#    writes the workload's own endpoint token to a file only it can read.
"$BULWARK" agent --server "$AWS_ENDPOINT_URL" --listen "$AGENT_ADDR" \
  --workload "name=orders,join-token-file=$work/orders.join,token-file=$work/orders.token" 2>"$work/agent.log" &
agent_pid=$!
for _ in $(seq 100); do grep -q "bulwark agent ready" "$work/agent.log" && break; sleep 0.1; done
grep -q "bulwark agent ready" "$work/agent.log"

# 4. Run the unmodified application (here the aws CLI) with only the
#    container credentials variables the AWS SDKs read. Recent SDKs can
#    read the token from the file (AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE);
#    the variable itself works with every version.
as_orders() {
  env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY \
    AWS_CONTAINER_CREDENTIALS_FULL_URI="http://$AGENT_ADDR/v1/credentials" \
    AWS_CONTAINER_AUTHORIZATION_TOKEN="$(cat "$work/orders.token")" aws "$@"
}
as_orders sts get-caller-identity --query Arn --output text    # arn:aws:sts::...:assumed-role/OrdersRole/orders
as_orders iam get-role --role-name OrdersRole --query Role.Arn --output text
if as_orders iam list-users 2>"$work/denied.txt"; then
  echo "list-users should have been denied" >&2; exit 1
fi
cat "$work/denied.txt"                                          # AccessDenied ... no identity-based policy allows iam:ListUsers
grep -q "AccessDenied" "$work/denied.txt"

# 5. Revoke the workload: the agent gets no new credentials, and
#    --revoke-sessions denies the ones already issued (AWSRevokeOlderSessions).
"$BULWARK" workload revoke --name orders --revoke-sessions --output text
if as_orders iam get-role --role-name OrdersRole 2>"$work/revoked.txt"; then
  echo "revoked sessions should be denied" >&2; exit 1
fi
cat "$work/revoked.txt"                                         # AccessDenied ... with an explicit deny
grep -q "explicit deny" "$work/revoked.txt"
echo "walkthrough complete"
