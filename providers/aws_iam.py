"""IAM kinds (global, listed once with region `global`): roles, users, customer-managed policies.

Never read: access key secrets (ListAccessKeys returns only ids, states and dates), login
profile passwords; only whether a console password exists.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from db.enums import RelationType, ResourceStatus, ResourceType
from providers.aws_common import (
    AwsContext,
    allows_admin,
    missing_is_none,
    relations,
    trusted_principals,
)
from providers.base import GLOBAL_REGION, ResourceRecord
from providers.normalize import aws_tags, configuration, metadata

IAM_ROLE = "AWS::IAM::Role"
IAM_USER = "AWS::IAM::User"
IAM_POLICY = "AWS::IAM::ManagedPolicy"


def _attached(client: Any, ctx: AwsContext, operation: str, **params: Any) -> list[str]:
    return [
        policy["PolicyArn"]
        for page in ctx.pages(client, operation, minimum=1, **params)
        for policy in page.get("AttachedPolicies", [])
        if policy.get("PolicyArn")
    ]


def iam_roles(client: Any, ctx: AwsContext) -> Iterator[ResourceRecord]:
    for page in ctx.pages(client, "list_roles", minimum=1):
        for item in page.get("Roles", []):
            name = item["RoleName"]
            attached = _attached(client, ctx, "list_attached_role_policies", RoleName=name)
            yield ctx.record(
                region=GLOBAL_REGION,
                type=ResourceType.IDENTITY,
                native_type=IAM_ROLE,
                resource_id=item["Arn"],
                name=name,
                status=ResourceStatus.ACTIVE,
                tags=aws_tags(item.get("Tags")),
                metadata=metadata(path=item.get("Path"), createdAt=item.get("CreateDate")),
                configuration=configuration(
                    trust=trusted_principals(item.get("AssumeRolePolicyDocument")),
                    maxSessionSeconds=item.get("MaxSessionDuration"),
                    attachedPolicyArns=attached,
                ),
                relations=tuple(relations(RelationType.USES, attached)),
            )


def iam_users(client: Any, ctx: AwsContext) -> Iterator[ResourceRecord]:
    now = datetime.now(UTC)
    for page in ctx.pages(client, "list_users", minimum=1):
        for item in page.get("Users", []):
            name = item["UserName"]
            devices = [
                d for p in ctx.pages(client, "list_mfa_devices", minimum=1, UserName=name)
                for d in p.get("MFADevices", [])
            ]  # fmt: skip
            keys = [
                k for p in ctx.pages(client, "list_access_keys", minimum=1, UserName=name)
                for k in p.get("AccessKeyMetadata", [])
            ]  # fmt: skip
            console = missing_is_none(
                client.get_login_profile, ("NoSuchEntity",), "LoginProfile", UserName=name
            )
            attached = _attached(client, ctx, "list_attached_user_policies", UserName=name)
            yield ctx.record(
                region=GLOBAL_REGION,
                type=ResourceType.IDENTITY,
                native_type=IAM_USER,
                resource_id=item["Arn"],
                name=name,
                status=ResourceStatus.ACTIVE,
                tags=aws_tags(item.get("Tags")),
                metadata=metadata(path=item.get("Path"), createdAt=item.get("CreateDate")),
                configuration=configuration(
                    mfaEnabled=bool(devices),
                    consoleAccess=console is not None,
                    passwordLastUsed=item.get("PasswordLastUsed"),
                    accessKeys=[_access_key(key, now) for key in keys],
                    attachedPolicyArns=attached,
                ),
                relations=tuple(relations(RelationType.USES, attached)),
            )


def _access_key(key: dict[str, Any], now: datetime) -> dict[str, Any]:
    created = key.get("CreateDate")
    age = (now - created).days if isinstance(created, datetime) else None
    return {
        "accessKeyId": key.get("AccessKeyId"),
        "status": key.get("Status"),
        "createdAt": created.isoformat() if isinstance(created, datetime) else None,
        "ageDays": age,
    }


def iam_policies(client: Any, ctx: AwsContext) -> Iterator[ResourceRecord]:
    for page in ctx.pages(client, "list_policies", minimum=1, Scope="Local"):
        for item in page.get("Policies", []):
            version = missing_is_none(
                client.get_policy_version,
                ("NoSuchEntity",),
                "PolicyVersion",
                PolicyArn=item["Arn"],
                VersionId=item["DefaultVersionId"],
            )
            document = (version or {}).get("Document")
            yield ctx.record(
                region=GLOBAL_REGION,
                type=ResourceType.IDENTITY,
                native_type=IAM_POLICY,
                resource_id=item["Arn"],
                name=item["PolicyName"],
                status=ResourceStatus.ACTIVE,
                tags=aws_tags(item.get("Tags")),
                metadata=metadata(path=item.get("Path"), updatedAt=item.get("UpdateDate")),
                configuration=configuration(
                    attachmentCount=item.get("AttachmentCount", 0),
                    defaultVersionId=item.get("DefaultVersionId"),
                    allowsAdmin=allows_admin(document),
                ),
            )
