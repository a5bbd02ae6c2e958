"""Database, messaging and key kinds: RDS instances and clusters, SQS queues, SNS topics, KMS keys.

Never read: RDS master passwords (the describe calls do not return them; only whether a managed
secret exists is kept), queue and topic contents.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from botocore.exceptions import ClientError

from db.enums import RelationType, ResourceStatus, ResourceType
from providers.aws_common import AwsContext, allows_public, missing_is_none, relations
from providers.base import ResourceRecord
from providers.normalize import (
    Price,
    aws_tags,
    configuration,
    map_status,
    metadata,
    price,
    priced,
)

RDS_INSTANCE = "AWS::RDS::DBInstance"
RDS_CLUSTER = "AWS::RDS::DBCluster"
SQS_QUEUE = "AWS::SQS::Queue"
SNS_TOPIC = "AWS::SNS::Topic"
KMS_KEY = "AWS::KMS::Key"

S = ResourceStatus
R = RelationType
RDS_STATES = {
    "available": S.RUNNING,
    "backing-up": S.RUNNING,
    "maintenance": S.RUNNING,
    "modifying": S.PENDING,
    "creating": S.PENDING,
    "starting": S.PENDING,
    "stopping": S.PENDING,
    "rebooting": S.PENDING,
    "stopped": S.STOPPED,
    "deleting": S.TERMINATED,
}
KEY_STATES = {
    "enabled": S.ACTIVE,
    "disabled": S.STOPPED,
    "pendingdeletion": S.TERMINATED,
    "pendingimport": S.PENDING,
    "creating": S.PENDING,
    "unavailable": S.STOPPED,
}


def _database_security(item: dict[str, Any]) -> dict[str, Any]:
    return {
        "storageEncrypted": bool(item.get("StorageEncrypted")),
        "kmsKeyId": item.get("KmsKeyId"),
        "iamAuthentication": bool(item.get("IAMDatabaseAuthenticationEnabled")),
        "deletionProtection": bool(item.get("DeletionProtection")),
        "backupRetentionDays": item.get("BackupRetentionPeriod"),
        "managedMasterSecret": bool(item.get("MasterUserSecret")),
    }


def rds_instances(client: Any, ctx: AwsContext) -> Iterator[ResourceRecord]:
    for page in ctx.pages(client, "describe_db_instances", minimum=20, maximum=100):
        for item in page.get("DBInstances", []):
            status = map_status(item.get("DBInstanceStatus"), RDS_STATES)
            size = item.get("DBInstanceClass")
            listed = price("aws_rds", size, ctx.region)
            if listed is not None and item.get("MultiAZ"):
                # A standby replica is billed like the primary.
                listed = Price(listed.hourly * 2, listed.source + "; Multi-AZ ×2")
            groups = [g["VpcSecurityGroupId"] for g in item.get("VpcSecurityGroups", [])
                      if g.get("VpcSecurityGroupId")]  # fmt: skip
            cluster = item.get("DBClusterIdentifier")
            security = _database_security(item)
            yield ctx.record(
                region=ctx.region,
                type=ResourceType.DATABASE,
                native_type=RDS_INSTANCE,
                resource_id=item.get("DBInstanceArn")
                or ctx.arn("rds", f"db:{item['DBInstanceIdentifier']}"),
                name=item["DBInstanceIdentifier"],
                status=status,
                tags=aws_tags(item.get("TagList")),
                metadata=metadata(
                    instanceClass=size,
                    engine=item.get("Engine"),
                    engineVersion=item.get("EngineVersion"),
                    allocatedStorageGiB=item.get("AllocatedStorage"),
                    multiAz=item.get("MultiAZ"),
                    endpoint=(item.get("Endpoint") or {}).get("Address"),
                    port=(item.get("Endpoint") or {}).get("Port"),
                    availabilityZone=item.get("AvailabilityZone"),
                ),
                configuration=configuration(
                    **security,
                    publiclyAccessible=bool(item.get("PubliclyAccessible")),
                    multiAz=bool(item.get("MultiAZ")),
                    engine=item.get("Engine"),
                    autoMinorVersionUpgrade=bool(item.get("AutoMinorVersionUpgrade")),
                    securityGroupIds=groups,
                    clusterIdentifier=cluster,
                ),
                relations=(
                    *relations(
                        R.MEMBER_OF, [ctx.arn("rds", f"cluster:{cluster}") if cluster else None]
                    ),
                    *relations(R.PROTECTED_BY, [ctx.security_group(g) for g in groups]),
                    *relations(R.USES, [security["kmsKeyId"]]),
                ),
                **priced(listed, status),
            )


def rds_clusters(client: Any, ctx: AwsContext) -> Iterator[ResourceRecord]:
    for page in ctx.pages(client, "describe_db_clusters", minimum=20, maximum=100):
        for item in page.get("DBClusters", []):
            groups = [g["VpcSecurityGroupId"] for g in item.get("VpcSecurityGroups", [])
                      if g.get("VpcSecurityGroupId")]  # fmt: skip
            security = _database_security(item)
            yield ctx.record(
                region=ctx.region,
                type=ResourceType.DATABASE,
                native_type=RDS_CLUSTER,
                resource_id=item.get("DBClusterArn")
                or ctx.arn("rds", f"cluster:{item['DBClusterIdentifier']}"),
                name=item["DBClusterIdentifier"],
                status=map_status(item.get("Status"), RDS_STATES),
                tags=aws_tags(item.get("TagList")),
                metadata=metadata(
                    engine=item.get("Engine"),
                    engineVersion=item.get("EngineVersion"),
                    endpoint=item.get("Endpoint"),
                    members=[
                        m.get("DBInstanceIdentifier") for m in item.get("DBClusterMembers", [])
                    ],
                ),
                configuration=configuration(
                    **security,
                    engine=item.get("Engine"),
                    multiAz=bool(item.get("MultiAZ")),
                    securityGroupIds=groups,
                ),
                relations=(
                    *relations(R.PROTECTED_BY, [ctx.security_group(g) for g in groups]),
                    *relations(R.USES, [security["kmsKeyId"]]),
                ),
            )


def sqs_queues(client: Any, ctx: AwsContext) -> Iterator[ResourceRecord]:
    for page in ctx.pages(client, "list_queues", minimum=1):
        for url in page.get("QueueUrls", []):
            attributes = missing_is_none(
                client.get_queue_attributes,
                ("AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist"),
                "Attributes",
                QueueUrl=url,
                AttributeNames=["All"],
            )
            if attributes is None:
                continue
            key = attributes.get("KmsMasterKeyId")
            yield ctx.record(
                region=ctx.region,
                type=ResourceType.QUEUE,
                native_type=SQS_QUEUE,
                resource_id=attributes.get("QueueArn") or url,
                name=url.rstrip("/").rsplit("/", 1)[-1],
                status=ResourceStatus.ACTIVE,
                metadata=metadata(url=url, fifo=attributes.get("FifoQueue") == "true"),
                configuration=configuration(
                    encryption={
                        "sqsManaged": attributes.get("SqsManagedSseEnabled") == "true",
                        "kmsKeyId": key,
                    },
                    policyAllowsPublic=allows_public(attributes.get("Policy")),
                ),
                relations=tuple(relations(R.USES, [ctx.kms_key(key) if key else None])),
            )


def sns_topics(client: Any, ctx: AwsContext) -> Iterator[ResourceRecord]:
    for page in ctx.pages(client, "list_topics", sized=False):
        for item in page.get("Topics", []):
            arn = item["TopicArn"]
            attributes = missing_is_none(
                client.get_topic_attributes, ("NotFound",), "Attributes", TopicArn=arn
            )
            if attributes is None:
                continue
            key = attributes.get("KmsMasterKeyId")
            yield ctx.record(
                region=ctx.region,
                type=ResourceType.QUEUE,
                native_type=SNS_TOPIC,
                resource_id=arn,
                name=arn.rsplit(":", 1)[-1],
                status=ResourceStatus.ACTIVE,
                metadata=metadata(subscriptions=attributes.get("SubscriptionsConfirmed")),
                configuration=configuration(
                    encrypted=bool(key),
                    kmsKeyId=key,
                    policyAllowsPublic=allows_public(attributes.get("Policy")),
                ),
                relations=tuple(relations(R.USES, [ctx.kms_key(key) if key else None])),
            )


def kms_keys(client: Any, ctx: AwsContext) -> Iterator[ResourceRecord]:
    aliases: dict[str, str] = {}
    for page in ctx.pages(client, "list_aliases", minimum=1, maximum=100):
        for alias in page.get("Aliases", []):
            if alias.get("TargetKeyId"):
                aliases.setdefault(alias["TargetKeyId"], alias["AliasName"])
    for page in ctx.pages(client, "list_keys", minimum=1):
        for entry in page.get("Keys", []):
            key_id = entry["KeyId"]
            item = missing_is_none(
                client.describe_key, ("NotFoundException",), "KeyMetadata", KeyId=key_id
            )
            if item is None:
                continue
            yield ctx.record(
                region=ctx.region,
                type=ResourceType.SECURITY,
                native_type=KMS_KEY,
                resource_id=item.get("Arn") or entry.get("KeyArn") or ctx.kms_key(key_id),
                name=aliases.get(key_id) or key_id,
                status=map_status(item.get("KeyState"), KEY_STATES),
                metadata=metadata(
                    description=item.get("Description"), createdAt=item.get("CreationDate")
                ),
                configuration=configuration(
                    keyManager=item.get("KeyManager"),
                    keySpec=item.get("KeySpec") or item.get("CustomerMasterKeySpec"),
                    keyUsage=item.get("KeyUsage"),
                    origin=item.get("Origin"),
                    rotationEnabled=_rotation(client, item),
                ),
            )


def _rotation(client: Any, item: dict[str, Any]) -> bool | None:
    """Automatic rotation; None where AWS does not offer it (asymmetric, imported, disabled)."""
    if (
        item.get("KeySpec", "SYMMETRIC_DEFAULT") != "SYMMETRIC_DEFAULT"
        or item.get("Origin", "AWS_KMS") != "AWS_KMS"
    ):
        return None
    try:
        return bool(client.get_key_rotation_status(KeyId=item["KeyId"]).get("KeyRotationEnabled"))
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in (
            "UnsupportedOperationException",
            "KMSInvalidStateException",
            "NotFoundException",
            "DisabledException",
        ):
            return None
        raise
