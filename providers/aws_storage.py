"""Storage kinds: S3 buckets (with their public-access and encryption settings), DynamoDB
tables, ECR repositories and CloudWatch log groups."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from botocore.exceptions import ClientError

from db.enums import RelationType, ResourceStatus, ResourceType
from providers.aws_common import AwsContext, allows_public, missing_is_none, relations
from providers.base import ResourceRecord
from providers.normalize import configuration, map_status, metadata

S3_BUCKET = "AWS::S3::Bucket"
DYNAMODB_TABLE = "AWS::DynamoDB::Table"
ECR_REPOSITORY = "AWS::ECR::Repository"
LOG_GROUP = "AWS::Logs::LogGroup"
UNKNOWN_REGION = "unknown"

S = ResourceStatus
TABLE_STATES = {
    "creating": S.PENDING,
    "updating": S.PENDING,
    "active": S.ACTIVE,
    "deleting": S.TERMINATED,
    "archived": S.STOPPED,
}
PUBLIC_GRANTEES = {
    "http://acs.amazonaws.com/groups/global/AllUsers": "AllUsers",
    "http://acs.amazonaws.com/groups/global/AuthenticatedUsers": "AuthenticatedUsers",
}


def s3_buckets(client: Any, ctx: AwsContext) -> Iterator[ResourceRecord]:
    """Every bucket of the account (a global listing), each with its own region."""
    for page in ctx.pages(client, "list_buckets", sized=False):
        for item in page.get("Buckets", []):
            name = item["Name"]
            region = item.get("BucketRegion") or _bucket_region(client, name)
            if region is None:
                continue  # deleted between the list and the location read
            settings = _bucket_configuration(client, name)
            key = (settings.get("encryption") or {}).get("kmsKeyId")
            yield ctx.record(
                region=region,
                type=ResourceType.STORAGE,
                native_type=S3_BUCKET,
                resource_id=f"arn:{ctx.partition}:s3:::{name}",
                name=name,
                status=ResourceStatus.ACTIVE,
                metadata=metadata(creationDate=item.get("CreationDate")),
                configuration=settings,
                # Bucket keys are ARNs or aliases; only an ARN names a key unambiguously.
                relations=tuple(
                    relations(RelationType.USES, [key if key and key.startswith("arn:") else None])
                ),
            )


def _bucket_region(client: Any, name: str) -> str | None:
    try:
        constraint = client.get_bucket_location(Bucket=name).get("LocationConstraint")
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code")
        if code == "NoSuchBucket":
            return None
        if code in ("AccessDenied", "AllAccessDisabled"):
            # A bucket policy may deny reading its location: the bucket still exists.
            return UNKNOWN_REGION
        raise
    # Historic quirks of GetBucketLocation: no constraint is us-east-1, "EU" is eu-west-1.
    if not constraint:
        return "us-east-1"
    return "eu-west-1" if constraint == "EU" else str(constraint)


def _bucket_configuration(client: Any, name: str) -> dict[str, Any]:
    block = missing_is_none(
        client.get_public_access_block,
        ("NoSuchPublicAccessBlockConfiguration",),
        "PublicAccessBlockConfiguration",
        Bucket=name,
    )
    acl = client.get_bucket_acl(Bucket=name)
    grants = [
        {"grantee": PUBLIC_GRANTEES[uri], "permission": grant.get("Permission")}
        for grant in acl.get("Grants", [])
        if (uri := (grant.get("Grantee") or {}).get("URI")) in PUBLIC_GRANTEES
    ]
    policy = missing_is_none(
        client.get_bucket_policy, ("NoSuchBucketPolicy",), "Policy", Bucket=name
    )
    encryption = missing_is_none(
        client.get_bucket_encryption,
        ("ServerSideEncryptionConfigurationNotFoundError",),
        "ServerSideEncryptionConfiguration",
        Bucket=name,
    )
    default = next(
        (
            rule.get("ApplyServerSideEncryptionByDefault") or {}
            for rule in (encryption or {}).get("Rules", [])
        ),
        None,
    )
    versioning = client.get_bucket_versioning(Bucket=name)
    logging_target = (client.get_bucket_logging(Bucket=name).get("LoggingEnabled") or {}).get(
        "TargetBucket"
    )
    return configuration(
        publicAccessBlock=None
        if block is None
        else {
            "blockPublicAcls": bool(block.get("BlockPublicAcls")),
            "ignorePublicAcls": bool(block.get("IgnorePublicAcls")),
            "blockPublicPolicy": bool(block.get("BlockPublicPolicy")),
            "restrictPublicBuckets": bool(block.get("RestrictPublicBuckets")),
        },
        publicAclGrants=grants,
        policyAllowsPublic=allows_public(policy),
        encryption=None
        if not default
        else {"algorithm": default.get("SSEAlgorithm"), "kmsKeyId": default.get("KMSMasterKeyID")},
        versioning=versioning.get("Status") or "Disabled",
        mfaDelete=versioning.get("MFADelete") == "Enabled",
        logging={"enabled": logging_target is not None, "targetBucket": logging_target},
    )


def dynamodb_tables(client: Any, ctx: AwsContext) -> Iterator[ResourceRecord]:
    for page in ctx.pages(client, "list_tables", minimum=1, maximum=100):
        for table_name in page.get("TableNames", []):
            table = missing_is_none(
                client.describe_table, ("ResourceNotFoundException",), "Table", TableName=table_name
            )
            if table is None:
                continue  # deleted between the list and the read
            sse = table.get("SSEDescription") or {}
            key = sse.get("KMSMasterKeyArn")
            yield ctx.record(
                region=ctx.region,
                type=ResourceType.DATABASE,
                native_type=DYNAMODB_TABLE,
                resource_id=table["TableArn"],
                name=table_name,
                status=map_status(table.get("TableStatus"), TABLE_STATES),
                metadata=metadata(
                    itemCount=table.get("ItemCount"),
                    sizeBytes=table.get("TableSizeBytes"),
                    creationDate=table.get("CreationDateTime"),
                ),
                configuration=configuration(
                    # Without SSEDescription a table is encrypted with an AWS-owned key.
                    encryption={
                        "type": sse.get("SSEType") or "AWS_OWNED",
                        "kmsKeyArn": key,
                    },
                    billingMode=(table.get("BillingModeSummary") or {}).get(
                        "BillingMode", "PROVISIONED"
                    ),
                    deletionProtection=bool(table.get("DeletionProtectionEnabled")),
                ),
                relations=tuple(relations(RelationType.USES, [key])),
            )


def ecr_repositories(client: Any, ctx: AwsContext) -> Iterator[ResourceRecord]:
    for page in ctx.pages(client, "describe_repositories", minimum=1):
        for item in page.get("repositories", []):
            name = item["repositoryName"]
            policy = missing_is_none(
                client.get_repository_policy,
                ("RepositoryPolicyNotFoundException",),
                "policyText",
                repositoryName=name,
            )
            encryption = item.get("encryptionConfiguration") or {}
            key = encryption.get("kmsKey")
            yield ctx.record(
                region=ctx.region,
                type=ResourceType.CONTAINER,
                native_type=ECR_REPOSITORY,
                resource_id=item["repositoryArn"],
                name=name,
                status=ResourceStatus.ACTIVE,
                metadata=metadata(uri=item.get("repositoryUri"), createdAt=item.get("createdAt")),
                configuration=configuration(
                    scanOnPush=bool(
                        (item.get("imageScanningConfiguration") or {}).get("scanOnPush")
                    ),
                    imageTagMutability=item.get("imageTagMutability"),
                    encryption={"type": encryption.get("encryptionType", "AES256"), "kmsKey": key},
                    policyAllowsPublic=allows_public(policy),
                ),
                relations=tuple(relations(RelationType.USES, [key])),
            )


def log_groups(client: Any, ctx: AwsContext) -> Iterator[ResourceRecord]:
    for page in ctx.pages(client, "describe_log_groups", minimum=1, maximum=50):
        for item in page.get("logGroups", []):
            name = item["logGroupName"]
            key = item.get("kmsKeyId")
            yield ctx.record(
                region=ctx.region,
                type=ResourceType.OTHER,
                native_type=LOG_GROUP,
                resource_id=ctx.arn("logs", f"log-group:{name}"),
                name=name,
                status=ResourceStatus.ACTIVE,
                metadata=metadata(storedBytes=item.get("storedBytes")),
                configuration=configuration(
                    retentionDays=item.get("retentionInDays"), kmsKeyId=key
                ),
                relations=tuple(relations(RelationType.USES, [key])),
            )
