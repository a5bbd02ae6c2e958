"""EC2 kinds: instances, volumes, VPCs, subnets, security groups, addresses and gateways.

Never read: instance user data (a separate DescribeInstanceAttribute call this module does not
make) — it often holds bootstrap secrets.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from db.enums import RelationType, ResourceStatus, ResourceType
from providers.aws_common import AwsContext, name_tag, relations
from providers.base import ResourceRecord
from providers.normalize import (
    aws_tags,
    configuration,
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
ELASTIC_IP = "AWS::EC2::EIP"
NAT_GATEWAY = "AWS::EC2::NatGateway"
INTERNET_GATEWAY = "AWS::EC2::InternetGateway"

S = ResourceStatus
R = RelationType
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
NAT_STATES = {
    **NETWORK_STATES,
    "deleting": S.TERMINATED,
    "deleted": S.TERMINATED,
    "failed": S.STOPPED,
}


def ec2_instances(client: Any, ctx: AwsContext) -> Iterator[ResourceRecord]:
    for page in ctx.pages(client, "describe_instances"):
        for reservation in page.get("Reservations", []):
            for item in reservation.get("Instances", []):
                yield _instance(item, ctx)


def _instance(item: dict[str, Any], ctx: AwsContext) -> ResourceRecord:
    tags = aws_tags(item.get("Tags"))
    status = map_status(item.get("State", {}).get("Name"), INSTANCE_STATES)
    size = item.get("InstanceType")
    groups = [g.get("GroupId") for g in item.get("SecurityGroups", []) if g.get("GroupId")]
    options = item.get("MetadataOptions") or {}
    profile = (item.get("IamInstanceProfile") or {}).get("Arn")
    subnet = item.get("SubnetId")
    return ctx.record(
        region=ctx.region,
        type=ResourceType.VM,
        native_type=EC2_INSTANCE,
        resource_id=ctx.instance(item["InstanceId"]),
        name=name_tag(tags, item["InstanceId"]),
        status=status,
        tags=tags,
        metadata=metadata(
            instanceId=item["InstanceId"],
            instanceType=size,
            availabilityZone=item.get("Placement", {}).get("AvailabilityZone"),
            privateIp=item.get("PrivateIpAddress"),
            publicIp=item.get("PublicIpAddress"),
            vpcId=item.get("VpcId"),
            subnetId=subnet,
            imageId=item.get("ImageId"),
            platform=item.get("PlatformDetails") or item.get("Platform"),
            launchTime=item.get("LaunchTime"),
            securityGroups=groups,
        ),
        configuration=configuration(
            publicIp=item.get("PublicIpAddress"),
            imdsv2Required=options.get("HttpTokens") == "required",
            metadataEndpointEnabled=options.get("HttpEndpoint", "enabled") != "disabled",
            iamInstanceProfileArn=profile,
            securityGroupIds=groups,
            subnetId=subnet,
            vpcId=item.get("VpcId"),
        ),
        relations=(
            *relations(R.MEMBER_OF, [ctx.subnet(subnet) if subnet else None]),
            *relations(R.PROTECTED_BY, [ctx.security_group(g) for g in groups]),
            *relations(R.USES, [profile]),
        ),
        **priced(price("aws_ec2", size, ctx.region), status),
    )


def ebs_volumes(client: Any, ctx: AwsContext) -> Iterator[ResourceRecord]:
    for page in ctx.pages(client, "describe_volumes"):
        for item in page.get("Volumes", []):
            tags = aws_tags(item.get("Tags"))
            attached = [a.get("InstanceId") for a in item.get("Attachments", [])]
            key = item.get("KmsKeyId")
            yield ctx.record(
                region=ctx.region,
                type=ResourceType.STORAGE,
                native_type=EBS_VOLUME,
                resource_id=ctx.arn("ec2", f"volume/{item['VolumeId']}"),
                name=name_tag(tags, item["VolumeId"]),
                status=map_status(item.get("State"), VOLUME_STATES),
                tags=tags,
                metadata=metadata(
                    volumeId=item["VolumeId"],
                    sizeGiB=item.get("Size"),
                    volumeType=item.get("VolumeType"),
                    iops=item.get("Iops"),
                    encrypted=item.get("Encrypted"),
                    availabilityZone=item.get("AvailabilityZone"),
                    attachedTo=attached,
                    createTime=item.get("CreateTime"),
                ),
                configuration=configuration(
                    encrypted=bool(item.get("Encrypted")),
                    kmsKeyId=key,
                    attachedInstanceIds=[i for i in attached if i],
                ),
                relations=(
                    *relations(R.ATTACHED_TO, [ctx.instance(i) for i in attached if i]),
                    *relations(R.USES, [ctx.kms_key(key) if key else None]),
                ),
                **priced(ebs_price(item.get("VolumeType"), item.get("Size"), ctx.region)),
            )


def vpcs(client: Any, ctx: AwsContext) -> Iterator[ResourceRecord]:
    for page in ctx.pages(client, "describe_vpcs"):
        for item in page.get("Vpcs", []):
            tags = aws_tags(item.get("Tags"))
            blocks = [c.get("CidrBlock") for c in item.get("CidrBlockAssociationSet", [])]
            v6 = [c.get("Ipv6CidrBlock") for c in item.get("Ipv6CidrBlockAssociationSet", [])]
            yield ctx.record(
                region=ctx.region,
                type=ResourceType.NETWORK,
                native_type=VPC,
                resource_id=ctx.vpc(item["VpcId"]),
                name=name_tag(tags, item["VpcId"]),
                status=map_status(item.get("State"), NETWORK_STATES),
                tags=tags,
                metadata=metadata(
                    vpcId=item["VpcId"],
                    cidrBlock=item.get("CidrBlock"),
                    cidrBlocks=blocks,
                    isDefault=item.get("IsDefault"),
                ),
                configuration=configuration(
                    isDefault=bool(item.get("IsDefault")),
                    cidrBlocks=[b for b in blocks if b],
                    ipv6CidrBlocks=[b for b in v6 if b],
                ),
            )


def subnets(client: Any, ctx: AwsContext) -> Iterator[ResourceRecord]:
    for page in ctx.pages(client, "describe_subnets"):
        for item in page.get("Subnets", []):
            tags = aws_tags(item.get("Tags"))
            vpc = item.get("VpcId")
            yield ctx.record(
                region=ctx.region,
                type=ResourceType.NETWORK,
                native_type=SUBNET,
                resource_id=ctx.subnet(item["SubnetId"]),
                name=name_tag(tags, item["SubnetId"]),
                status=map_status(item.get("State"), NETWORK_STATES),
                tags=tags,
                metadata=metadata(
                    subnetId=item["SubnetId"],
                    vpcId=vpc,
                    cidrBlock=item.get("CidrBlock"),
                    availabilityZone=item.get("AvailabilityZone"),
                    availableIpAddresses=item.get("AvailableIpAddressCount"),
                    publicIpOnLaunch=item.get("MapPublicIpOnLaunch"),
                ),
                configuration=configuration(
                    mapPublicIpOnLaunch=bool(item.get("MapPublicIpOnLaunch")),
                    cidrBlock=item.get("CidrBlock"),
                    vpcId=vpc,
                ),
                relations=tuple(relations(R.MEMBER_OF, [ctx.vpc(vpc) if vpc else None])),
            )


def _rule(permission: dict[str, Any]) -> dict[str, Any]:
    """One security group rule, normalized: protocol "all" for -1, ports null when unbounded."""
    protocol = str(permission.get("IpProtocol", "-1"))
    every = protocol == "-1"
    return {
        "protocol": "all" if every else protocol,
        "fromPort": None if every else permission.get("FromPort"),
        "toPort": None if every else permission.get("ToPort"),
        "ipv4Ranges": [r["CidrIp"] for r in permission.get("IpRanges", []) if r.get("CidrIp")],
        "ipv6Ranges": [
            r["CidrIpv6"] for r in permission.get("Ipv6Ranges", []) if r.get("CidrIpv6")
        ],
        "sourceGroups": [
            g["GroupId"] for g in permission.get("UserIdGroupPairs", []) if g.get("GroupId")
        ],
        "prefixLists": [
            p["PrefixListId"] for p in permission.get("PrefixListIds", []) if p.get("PrefixListId")
        ],
    }


def security_groups(client: Any, ctx: AwsContext) -> Iterator[ResourceRecord]:
    for page in ctx.pages(client, "describe_security_groups"):
        for item in page.get("SecurityGroups", []):
            tags = aws_tags(item.get("Tags"))
            vpc = item.get("VpcId")
            yield ctx.record(
                region=ctx.region,
                type=ResourceType.NETWORK,
                native_type=SECURITY_GROUP,
                resource_id=ctx.security_group(item["GroupId"]),
                name=item.get("GroupName") or item["GroupId"],
                status=ResourceStatus.ACTIVE,
                tags=tags,
                metadata=metadata(
                    groupId=item["GroupId"],
                    vpcId=vpc,
                    description=item.get("Description"),
                    ingressRules=len(item.get("IpPermissions", [])),
                    egressRules=len(item.get("IpPermissionsEgress", [])),
                ),
                configuration=configuration(
                    ingress=[_rule(p) for p in item.get("IpPermissions", [])],
                    egress=[_rule(p) for p in item.get("IpPermissionsEgress", [])],
                    vpcId=vpc,
                ),
                relations=tuple(relations(R.MEMBER_OF, [ctx.vpc(vpc) if vpc else None])),
            )


def elastic_ips(client: Any, ctx: AwsContext) -> Iterator[ResourceRecord]:
    # DescribeAddresses has no pagination: one answer holds every address of the region.
    for item in client.describe_addresses().get("Addresses", []):
        tags = aws_tags(item.get("Tags"))
        ident = item.get("AllocationId") or item.get("PublicIp")
        instance = item.get("InstanceId") or None
        yield ctx.record(
            region=ctx.region,
            type=ResourceType.NETWORK,
            native_type=ELASTIC_IP,
            resource_id=ctx.arn("ec2", f"elastic-ip/{ident}"),
            name=name_tag(tags, str(item.get("PublicIp") or ident)),
            status=ResourceStatus.ACTIVE,
            tags=tags,
            metadata=metadata(allocationId=item.get("AllocationId"), domain=item.get("Domain")),
            configuration=configuration(
                publicIp=item.get("PublicIp"),
                associated=bool(item.get("AssociationId") or instance),
                instanceId=instance,
                networkInterfaceId=item.get("NetworkInterfaceId"),
                privateIp=item.get("PrivateIpAddress"),
            ),
            relations=tuple(
                relations(R.ATTACHED_TO, [ctx.instance(instance) if instance else None])
            ),
        )


def nat_gateways(client: Any, ctx: AwsContext) -> Iterator[ResourceRecord]:
    for page in ctx.pages(client, "describe_nat_gateways"):
        for item in page.get("NatGateways", []):
            tags = aws_tags(item.get("Tags"))
            subnet, vpc = item.get("SubnetId"), item.get("VpcId")
            addresses = item.get("NatGatewayAddresses", [])
            yield ctx.record(
                region=ctx.region,
                type=ResourceType.NETWORK,
                native_type=NAT_GATEWAY,
                resource_id=ctx.arn("ec2", f"natgateway/{item['NatGatewayId']}"),
                name=name_tag(tags, item["NatGatewayId"]),
                status=map_status(item.get("State"), NAT_STATES),
                tags=tags,
                metadata=metadata(natGatewayId=item["NatGatewayId"], vpcId=vpc, subnetId=subnet),
                configuration=configuration(
                    connectivityType=item.get("ConnectivityType", "public"),
                    publicIps=[a["PublicIp"] for a in addresses if a.get("PublicIp")],
                    subnetId=subnet,
                    vpcId=vpc,
                ),
                relations=tuple(
                    relations(
                        R.MEMBER_OF,
                        [ctx.subnet(subnet) if subnet else None, ctx.vpc(vpc) if vpc else None],
                    )
                ),
            )


def internet_gateways(client: Any, ctx: AwsContext) -> Iterator[ResourceRecord]:
    for page in ctx.pages(client, "describe_internet_gateways"):
        for item in page.get("InternetGateways", []):
            tags = aws_tags(item.get("Tags"))
            attached = [a["VpcId"] for a in item.get("Attachments", []) if a.get("VpcId")]
            yield ctx.record(
                region=ctx.region,
                type=ResourceType.NETWORK,
                native_type=INTERNET_GATEWAY,
                resource_id=ctx.arn("ec2", f"internet-gateway/{item['InternetGatewayId']}"),
                name=name_tag(tags, item["InternetGatewayId"]),
                status=ResourceStatus.ACTIVE,
                tags=tags,
                metadata=metadata(internetGatewayId=item["InternetGatewayId"]),
                configuration=configuration(attachedVpcIds=attached),
                relations=tuple(relations(R.ATTACHED_TO, [ctx.vpc(v) for v in attached])),
            )
