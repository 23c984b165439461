"""IAM and STS through boto3 against a Bulwark dev server (argv[1] = endpoint).

Prints one line per check; exits non-zero on the first surprise.
"""
import json
import sys

import boto3
from botocore.exceptions import ClientError

endpoint = sys.argv[1]


def client(service, key="test", secret="test", token=None):
    return boto3.client(service, endpoint_url=endpoint, region_name="us-east-1",
                        aws_access_key_id=key, aws_secret_access_key=secret, aws_session_token=token)


def expect_error(code, fn, **kw):
    try:
        fn(**kw)
    except ClientError as e:
        got = e.response["Error"]["Code"]
        assert got == code, f"{fn.__name__}: got {got}, want {code}"
        print(f"denied as expected: {code}: {e.response['Error']['Message'][:120]}")
        return
    raise AssertionError(f"{fn.__name__} succeeded, want {code}")


iam, sts = client("iam"), client("sts")
account = sts.get_caller_identity()["Account"]
print("account", account)

iam.create_user(UserName="py-reader", Tags=[{"Key": "team", "Value": "blue"}])
iam.put_user_policy(UserName="py-reader", PolicyName="read", PolicyDocument=json.dumps({
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": ["iam:Get*", "iam:List*", "sts:AssumeRole"], "Resource": "*",
                   "Condition": {"StringEquals": {"aws:PrincipalTag/team": "blue"}}}]}))
key = iam.create_access_key(UserName="py-reader")["AccessKey"]
reader_iam = client("iam", key["AccessKeyId"], key["SecretAccessKey"])
users = [u["UserName"] for u in reader_iam.list_users()["Users"]]
assert users == ["py-reader"], users
print("reader lists users", users)
expect_error("AccessDenied", reader_iam.create_user, UserName="nope")

paginator = iam.get_paginator("list_users")
for i in range(5):
    iam.create_user(UserName=f"page-{i}")
names = [u["UserName"] for page in paginator.paginate(PaginationConfig={"PageSize": 2}) for u in page["Users"]]
assert len(names) == 6, names
print("paginated", len(names), "users")

iam.create_role(RoleName="py-role", AssumeRolePolicyDocument=json.dumps({
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{account}:root"}, "Action": "sts:AssumeRole"}]}))
iam.attach_role_policy(RoleName="py-role", PolicyArn="arn:aws:iam::aws:policy/IAMReadOnlyAccess")
reader_sts = client("sts", key["AccessKeyId"], key["SecretAccessKey"])
creds = reader_sts.assume_role(RoleArn=f"arn:aws:iam::{account}:role/py-role", RoleSessionName="py",
                               DurationSeconds=900)["Credentials"]
session_iam = client("iam", creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"])
role = session_iam.get_role(RoleName="py-role")["Role"]
assert role["Arn"].endswith(":role/py-role"), role
print("session reads its role", role["Arn"])
expect_error("AccessDenied", session_iam.delete_role, RoleName="py-role")
print("boto3 scenario passed")
