"""What a customer deploys so that this server can assume their role: a CloudFormation template
and the equivalent IAM trust policy, both naming the server's account and the credential's
external ID.

The role gets AWS's managed `SecurityAudit` and `ViewOnlyAccess` policies, not `ReadOnlyAccess`:
together they read every setting the inventory lists (and `organizations:List*` for an
Organization), while `ReadOnlyAccess` also reads data (S3 objects, DynamoDB items, SQS messages,
Secrets Manager values) that an inventory must never be able to touch.
"""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import dataclass
from typing import Any

from db.models import CloudCredentialRow
from providers.base import ERROR_AUTH, ProviderError
from providers.endpoints import CloudEndpoints
from providers.secrets import AwsRoleSecret
from providers.threads import run_blocking
from providers.vault_access import open_secret
from security.vault import Vault, VaultError

logger = logging.getLogger("stratograph.providers")

MANAGED_POLICIES = ("SecurityAudit", "job-function/ViewOnlyAccess")
MAX_SESSION_SECONDS = 3600


@dataclass(frozen=True, slots=True)
class ServerIdentity:
    account: str
    partition: str


@dataclass(frozen=True, slots=True)
class Onboarding:
    cloud_formation_template: str
    iam_trust_policy: str
    member_role_template: str | None
    instructions: str


_identities: dict[tuple[str | None, str | None], ServerIdentity] = {}
_identities_lock = threading.Lock()


def server_identity(endpoints: CloudEndpoints) -> ServerIdentity:
    """The account this server runs as (boto3's default chain), asked once per endpoint: the
    identity of a process does not change while it runs. Blocking; raises ProviderError."""
    key = (endpoints.aws_endpoint_url, endpoints.ca_bundle)
    with _identities_lock:
        known = _identities.get(key)
    if known is not None:
        return known
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    from providers.aws import client_config, translate_client_error

    try:
        client = boto3.session.Session(region_name=endpoints.aws_region).client(
            "sts",
            endpoint_url=endpoints.aws_endpoint_url,
            verify=endpoints.ca_bundle or None,
            config=client_config(None),
        )
        answer = client.get_caller_identity()
    except ClientError as exc:
        raise translate_client_error(exc, "read this server's own AWS identity") from None
    except BotoCoreError as exc:
        raise ProviderError(
            ERROR_AUTH,
            f"This server's own AWS identity could not be read ({type(exc).__name__}).",
        ) from None
    arn = str(answer.get("Arn", "arn:aws:"))
    identity = ServerIdentity(str(answer["Account"]), arn.split(":")[1] or "aws")
    with _identities_lock:
        _identities[key] = identity
    return identity


def trust_policy(server: ServerIdentity, external_id: str) -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:{server.partition}:iam::{server.account}:root"},
                "Action": "sts:AssumeRole",
                "Condition": {"StringEquals": {"sts:ExternalId": external_id}},
            }
        ],
    }


def role_template(server: ServerIdentity, external_id: str, role_name: str) -> dict[str, Any]:
    return {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": "A read-only role that Stratograph assumes with its external ID.",
        "Parameters": {
            "RoleName": {
                "Type": "String",
                "Default": role_name,
                "Description": "The role's name; keep it equal to the credential's.",
            }
        },
        "Resources": {
            "StratographReadOnlyRole": {
                "Type": "AWS::IAM::Role",
                "Properties": {
                    "RoleName": {"Ref": "RoleName"},
                    "MaxSessionDuration": MAX_SESSION_SECONDS,
                    "AssumeRolePolicyDocument": trust_policy(server, external_id),
                    "ManagedPolicyArns": [
                        f"arn:{server.partition}:iam::aws:policy/{name}"
                        for name in MANAGED_POLICIES
                    ],
                },
            }
        },
        "Outputs": {"RoleArn": {"Value": {"Fn::GetAtt": ["StratographReadOnlyRole", "Arn"]}}},
    }


def documents(server: ServerIdentity, external_id: str, role: AwsRoleSecret) -> Onboarding:
    role_name = role.role_arn.rsplit("/", 1)[-1]
    template = json.dumps(role_template(server, external_id, role_name), indent=2)
    policy = json.dumps(trust_policy(server, external_id), indent=2)
    steps = (
        f"Deploy the template in account {role.role_arn.split(':')[4]} (CloudFormation, or "
        "create the role by hand with the trust policy and the managed policies SecurityAudit "
        "and ViewOnlyAccess), then run verifyCredential."
    )
    member = None
    if role.member_role_name:
        member = json.dumps(role_template(server, external_id, role.member_role_name), indent=2)
        steps += (
            " For the Organization: deploy memberRoleTemplate as a service-managed StackSet to "
            "the organization's root (or the OUs to cover) with automatic deployment on, so "
            f"every member account, including those that join later, gets the role "
            f"{role.member_role_name} trusting this server with the same external ID. StackSets "
            "do not deploy to the management account: its resources are read with the role "
            "above."
        )
    return Onboarding(template, policy, member, steps)


async def onboarding_for(
    row: CloudCredentialRow, vault: Vault, endpoints: CloudEndpoints
) -> Onboarding | None:
    """The onboarding documents of a role credential; None for other credentials, and when the
    server cannot tell its own account (logged; verifyCredential then says why)."""
    if row.external_id is None:
        return None
    try:
        secret = open_secret(row, vault)
    except VaultError:
        return None
    if not isinstance(secret, AwsRoleSecret):
        return None
    try:
        server = await run_blocking(lambda: server_identity(endpoints))
    except ProviderError as exc:
        logger.warning("onboarding of credential %s unavailable: %s", row.id, exc.message)
        return None
    return documents(server, row.external_id, secret)
