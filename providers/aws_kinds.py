"""One function per AWS resource kind: page through its listing, yield normalized records.

Each function runs in a worker thread with a ready boto3 client; errors propagate to
`providers.aws`, which turns them into safe `ProviderError`s.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from db.enums import Provider, ResourceStatus, ResourceType
from providers.base import ResourceRecord
from providers.normalize import (
    Price,
    aws_tags,
    ebs_price,
    map_status,
    metadata,
    price,
    priced,
)

EC2_INSTANCE = "AWS::EC2::Instance"
EBS_VOLUME = "AWS::EC2::Volume"
VPC = "AWS::EC2::VPC"
SUBNET = "AWS::EC2::Subnet"
SECURITY_GROUP = "AWS::EC2::SecurityGroup"
LAMBDA_FUNCTION = "AWS::Lambda::Function"
RDS_INSTANCE = "AWS::RDS::DBInstance"
S3_BUCKET = "AWS::S3::Bucket"
UNKNOWN_REGION = "unknown"

S = ResourceStatus
INSTANCE_STATES = {
    "pending": S.PENDING,
    "running": S.RUNNING,
    "stopping": S.PENDING,
    "stopped": S.STOPPED,
    "shutting-down": S.TERMINATED,
    "terminated": S.TERMINATED,
}
VOLUME_STATES = {
    "creating": S.PENDING,
    "available": S.ACTIVE,
    "in-use": S.ACTIVE,
    "deleting": S.TERMINATED,
    "deleted": S.TERMINATED,
}
NETWORK_STATES = {"available": S.ACTIVE, "pending": S.PENDING}
LAMBDA_STATES = {"active": S.ACTIVE, "pending": S.PENDING, "inactive": S.STOPPED}
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


@dataclass(frozen=True, slots=True)
class AwsContext:
    account: str
    partition: str
    region: str
    page_size: int | None = None  # None: the service's default page size

    def arn(self, service: str, resource: str, *, region: str | None = None) -> str:
        where = self.region if region is None else region
        return f"arn:{self.partition}:{service}:{where}:{self.account}:{resource}"

    def pages(
        self, client: Any, operation: str, minimum: int = 5, *, sized: bool = True
    ) -> Iterator[dict[str, Any]]:
        """Every page of `operation`; `sized=False` keeps the service's own page size."""
        config = {"PageSize": max(self.page_size, minimum)} if self.page_size and sized else {}
        yield from client.get_paginator(operation).paginate(PaginationConfig=config)

    def record(self, **fields: Any) -> ResourceRecord:
        return ResourceRecord(provider=Provider.AWS, account=self.account, **fields)


def _name(tags: dict[str, str], fallback: str) -> str:
    return tags.get("Name") or fallback


def ec2_instances(client: Any, ctx: AwsContext) -> Iterator[ResourceRecord]:
    for page in ctx.pages(client, "describe_instances"):
        for reservation in page.get("Reservations", []):
            for item in reservation.get("Instances", []):
                tags = aws_tags(item.get("Tags"))
                status = map_status(item.get("State", {}).get("Name"), INSTANCE_STATES)
                size = item.get("InstanceType")
                yield ctx.record(
                    region=ctx.region,
                    type=ResourceType.VM,
                    native_type=EC2_INSTANCE,
                    resource_id=ctx.arn("ec2", f"instance/{item['InstanceId']}"),
                    name=_name(tags, item["InstanceId"]),
                    status=status,
                    tags=tags,
                    metadata=metadata(
                        instanceId=item["InstanceId"],
                        instanceType=size,
                        availabilityZone=item.get("Placement", {}).get("AvailabilityZone"),
                        privateIp=item.get("PrivateIpAddress"),
                        publicIp=item.get("PublicIpAddress"),
                        vpcId=item.get("VpcId"),
                        subnetId=item.get("SubnetId"),
                        imageId=item.get("ImageId"),
                        platform=item.get("PlatformDetails") or item.get("Platform"),
                        launchTime=item.get("LaunchTime"),
                        securityGroups=[g.get("GroupId") for g in item.get("SecurityGroups", [])],
                    ),
                    **priced(price("aws_ec2", size, ctx.region), status),
                )


def ebs_volumes(client: Any, ctx: AwsContext) -> Iterator[ResourceRecord]:
    for page in ctx.pages(client, "describe_volumes"):
        for item in page.get("Volumes", []):
            tags = aws_tags(item.get("Tags"))
            yield ctx.record(
                region=ctx.region,
                type=ResourceType.STORAGE,
                native_type=EBS_VOLUME,
                resource_id=ctx.arn("ec2", f"volume/{item['VolumeId']}"),
                name=_name(tags, item["VolumeId"]),
                status=map_status(item.get("State"), VOLUME_STATES),
                tags=tags,
                metadata=metadata(
                    volumeId=item["VolumeId"],
                    sizeGiB=item.get("Size"),
                    volumeType=item.get("VolumeType"),
                    iops=item.get("Iops"),
                    encrypted=item.get("Encrypted"),
                    availabilityZone=item.get("AvailabilityZone"),
                    attachedTo=[a.get("InstanceId") for a in item.get("Attachments", [])],
                    createTime=item.get("CreateTime"),
                ),
                **priced(ebs_price(item.get("VolumeType"), item.get("Size"), ctx.region)),
            )


def vpcs(client: Any, ctx: AwsContext) -> Iterator[ResourceRecord]:
    for page in ctx.pages(client, "describe_vpcs"):
        for item in page.get("Vpcs", []):
            tags = aws_tags(item.get("Tags"))
            yield ctx.record(
                region=ctx.region,
                type=ResourceType.NETWORK,
                native_type=VPC,
                resource_id=ctx.arn("ec2", f"vpc/{item['VpcId']}"),
                name=_name(tags, item["VpcId"]),
                status=map_status(item.get("State"), NETWORK_STATES),
                tags=tags,
                metadata=metadata(
                    vpcId=item["VpcId"],
                    cidrBlock=item.get("CidrBlock"),
                    cidrBlocks=[
                        c.get("CidrBlock") for c in item.get("CidrBlockAssociationSet", [])
                    ],
                    isDefault=item.get("IsDefault"),
                ),
            )


def subnets(client: Any, ctx: AwsContext) -> Iterator[ResourceRecord]:
    for page in ctx.pages(client, "describe_subnets"):
        for item in page.get("Subnets", []):
            tags = aws_tags(item.get("Tags"))
            yield ctx.record(
                region=ctx.region,
                type=ResourceType.NETWORK,
                native_type=SUBNET,
                resource_id=item.get("SubnetArn") or ctx.arn("ec2", f"subnet/{item['SubnetId']}"),
                name=_name(tags, item["SubnetId"]),
                status=map_status(item.get("State"), NETWORK_STATES),
                tags=tags,
                metadata=metadata(
                    subnetId=item["SubnetId"],
                    vpcId=item.get("VpcId"),
                    cidrBlock=item.get("CidrBlock"),
                    availabilityZone=item.get("AvailabilityZone"),
                    availableIpAddresses=item.get("AvailableIpAddressCount"),
                    publicIpOnLaunch=item.get("MapPublicIpOnLaunch"),
                ),
            )


def security_groups(client: Any, ctx: AwsContext) -> Iterator[ResourceRecord]:
    for page in ctx.pages(client, "describe_security_groups"):
        for item in page.get("SecurityGroups", []):
            tags = aws_tags(item.get("Tags"))
            yield ctx.record(
                region=ctx.region,
                type=ResourceType.NETWORK,
                native_type=SECURITY_GROUP,
                resource_id=ctx.arn("ec2", f"security-group/{item['GroupId']}"),
                name=item.get("GroupName") or item["GroupId"],
                status=ResourceStatus.ACTIVE,
                tags=tags,
                metadata=metadata(
                    groupId=item["GroupId"],
                    vpcId=item.get("VpcId"),
                    description=item.get("Description"),
                    ingressRules=len(item.get("IpPermissions", [])),
                    egressRules=len(item.get("IpPermissionsEgress", [])),
                ),
            )


def lambda_functions(client: Any, ctx: AwsContext) -> Iterator[ResourceRecord]:
    for page in ctx.pages(client, "list_functions", minimum=1):
        for item in page.get("Functions", []):
            yield ctx.record(
                region=ctx.region,
                type=ResourceType.FUNCTION,
                native_type=LAMBDA_FUNCTION,
                resource_id=item["FunctionArn"],
                name=item["FunctionName"],
                status=map_status(item.get("State"), LAMBDA_STATES, default=S.ACTIVE),
                metadata=metadata(
                    runtime=item.get("Runtime"),
                    handler=item.get("Handler"),
                    memorySizeMb=item.get("MemorySize"),
                    timeoutSeconds=item.get("Timeout"),
                    codeSize=item.get("CodeSize"),
                    architectures=item.get("Architectures"),
                    lastModified=item.get("LastModified"),
                ),
            )


def rds_instances(client: Any, ctx: AwsContext) -> Iterator[ResourceRecord]:
    for page in ctx.pages(client, "describe_db_instances", minimum=20):
        for item in page.get("DBInstances", []):
            status = map_status(item.get("DBInstanceStatus"), RDS_STATES)
            size = item.get("DBInstanceClass")
            listed = price("aws_rds", size, ctx.region)
            if listed is not None and item.get("MultiAZ"):
                # A standby replica is billed like the primary.
                listed = Price(listed.hourly * 2, listed.source + "; Multi-AZ ×2")
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
                **priced(listed, status),
            )


def s3_buckets(client: Any, ctx: AwsContext) -> Iterator[ResourceRecord]:
    """Every bucket of the account (a global listing), each with its own region."""
    for page in ctx.pages(client, "list_buckets", sized=False):
        for item in page.get("Buckets", []):
            name = item["Name"]
            region = item.get("BucketRegion") or _bucket_region(client, name)
            if region is None:
                continue  # deleted between the list and the location read
            yield ctx.record(
                region=region,
                type=ResourceType.STORAGE,
                native_type=S3_BUCKET,
                resource_id=f"arn:{ctx.partition}:s3:::{name}",
                name=name,
                status=ResourceStatus.ACTIVE,
                metadata=metadata(creationDate=item.get("CreationDate")),
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


Lister = Callable[[Any, AwsContext], Iterator[ResourceRecord]]

# native type → (boto3 service, lister)
REGIONAL_KINDS: dict[str, tuple[str, Lister]] = {
    EC2_INSTANCE: ("ec2", ec2_instances),
    EBS_VOLUME: ("ec2", ebs_volumes),
    VPC: ("ec2", vpcs),
    SUBNET: ("ec2", subnets),
    SECURITY_GROUP: ("ec2", security_groups),
    LAMBDA_FUNCTION: ("lambda", lambda_functions),
    RDS_INSTANCE: ("rds", rds_instances),
}
GLOBAL_KINDS: dict[str, tuple[str, Lister]] = {S3_BUCKET: ("s3", s3_buckets)}
