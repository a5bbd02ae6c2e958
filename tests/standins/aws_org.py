"""An AWS Organization in moto, behind the gate: a management account and member accounts with
resources of their own, reached only by assuming the member role (moto keys its backends by the
account id of the assumed role's credentials, so each member is an isolated account).

Fixtures: `aws_org` (3 members, each with instances in two regions and a bucket; `add_member()`
creates a 4th later) and `server_identity` (the server's own identity: environment variables,
as boto3's default chain reads them, with moto's default account).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest

from providers.secrets import AwsRoleSecret, AwsSecret
from tests.standins.aws import AMI, PRIMARY_ACCOUNT, PRIMARY_SECRET, MotoServer
from tests.standins.aws_gate import AwsGate

MANAGEMENT_ROLE = f"arn:aws:iam::{PRIMARY_ACCOUNT}:role/StratographOrgReader"
SINGLE_ROLE = f"arn:aws:iam::{PRIMARY_ACCOUNT}:role/StratographReader"
MEMBER_ROLE = "StratographMemberReader"
ORG_REGIONS = ("us-east-1", "eu-west-1")
# The server's own identity (what boto3's default chain finds in the environment).
SERVER_KEY_ID = "AKIASERVERIDENTITY01"
SERVER_SECRET_KEY = "server-identity-secret-key-0001"


@dataclass
class AwsOrganization:
    server: MotoServer
    gate: AwsGate
    members: list[str] = field(default_factory=list)
    instances: dict[str, list[str]] = field(default_factory=dict)  # account → instance names
    buckets: dict[str, str] = field(default_factory=dict)  # account → bucket name

    @property
    def url(self) -> str:
        return self.gate.url

    def role(self, *, regions: tuple[str, ...] = ORG_REGIONS) -> AwsRoleSecret:
        return AwsRoleSecret(MANAGEMENT_ROLE, member_role_name=MEMBER_ROLE, regions=regions)

    def member_role_arn(self, account: str) -> str:
        return f"arn:aws:iam::{account}:role/{MEMBER_ROLE}"

    def add_member(self, name: str) -> str:
        """A new account joins the organization, with an instance and a bucket of its own."""
        created = self.server.client("organizations", "us-east-1").create_account(
            Email=f"{name}@example.com", AccountName=name
        )
        account = str(created["CreateAccountStatus"]["AccountId"])
        self.members.append(account)
        member = assume(self.server, self.member_role_arn(account))
        names = []
        for region in ORG_REGIONS:
            instance = f"{name}-{region}"
            self.server.client("ec2", region, member).run_instances(
                ImageId=AMI,
                MinCount=1,
                MaxCount=1,
                InstanceType="t3.micro",
                TagSpecifications=[
                    {"ResourceType": "instance", "Tags": [{"Key": "Name", "Value": instance}]}
                ],
            )
            names.append(instance)
        self.instances[account] = names
        bucket = f"org-{name}-{account}"
        self.server.client("s3", "us-east-1", member).create_bucket(Bucket=bucket)
        self.buckets[account] = bucket
        return account


def assume(server: MotoServer, role_arn: str) -> AwsSecret:
    answer = server.client("sts", "us-east-1").assume_role(
        RoleArn=role_arn, RoleSessionName="populate"
    )["Credentials"]
    return AwsSecret(answer["AccessKeyId"], answer["SecretAccessKey"], answer["SessionToken"])


def build_organization(server: MotoServer, gate: AwsGate, members: int = 3) -> AwsOrganization:
    server.reset()
    server.client("organizations", "us-east-1").create_organization(FeatureSet="ALL")
    org = AwsOrganization(server, gate)
    for n in range(members):
        org.add_member(f"member{n + 1}")
    ec2 = server.client("ec2", "us-east-1", PRIMARY_SECRET)
    ec2.run_instances(
        ImageId=AMI,
        MinCount=1,
        MaxCount=1,
        InstanceType="t3.micro",
        TagSpecifications=[
            {"ResourceType": "instance", "Tags": [{"Key": "Name", "Value": "management-1"}]}
        ],
    )
    org.instances[PRIMARY_ACCOUNT] = ["management-1"]
    return org


@pytest.fixture
def aws_gate(moto_server: MotoServer) -> Iterator[AwsGate]:
    gate = AwsGate(moto_server.url)
    yield gate
    gate.stop()


@pytest.fixture
def aws_org(moto_server: MotoServer, aws_gate: AwsGate) -> AwsOrganization:
    return build_organization(moto_server, aws_gate)


@pytest.fixture
def server_identity(monkeypatch: pytest.MonkeyPatch) -> None:
    """The server runs as an identity from the environment (boto3's default chain)."""
    for name in (
        "AWS_PROFILE",
        "AWS_SESSION_TOKEN",
        "AWS_ROLE_ARN",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    ):
        monkeypatch.delenv(name, raising=False)
    # The instance metadata service is not on loopback: never ask it.
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", SERVER_KEY_ID)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SERVER_SECRET_KEY)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent/stratograph-test-config")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/stratograph-test-credentials")
