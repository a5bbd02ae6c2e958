"""Traffic kinds: classic, application and network load balancers, target groups, Route 53
hosted zones and CloudFront distributions (the last two global)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from db.enums import RelationType, ResourceStatus, ResourceType
from providers.aws_common import AwsContext, missing_is_none, relations
from providers.base import GLOBAL_REGION, ResourceRecord
from providers.normalize import configuration, map_status, metadata

CLASSIC_LOAD_BALANCER = "AWS::ElasticLoadBalancing::LoadBalancer"
LOAD_BALANCER = "AWS::ElasticLoadBalancingV2::LoadBalancer"
TARGET_GROUP = "AWS::ElasticLoadBalancingV2::TargetGroup"
HOSTED_ZONE = "AWS::Route53::HostedZone"
DISTRIBUTION = "AWS::CloudFront::Distribution"

S = ResourceStatus
R = RelationType
LB_STATES = {"active": S.ACTIVE, "provisioning": S.PENDING, "failed": S.STOPPED,
             "active_impaired": S.ACTIVE}  # fmt: skip
DISTRIBUTION_STATES = {"deployed": S.ACTIVE, "inprogress": S.PENDING}


def classic_load_balancers(client: Any, ctx: AwsContext) -> Iterator[ResourceRecord]:
    for page in ctx.pages(client, "describe_load_balancers", minimum=1, maximum=400):
        for item in page.get("LoadBalancerDescriptions", []):
            name = item["LoadBalancerName"]
            groups = list(item.get("SecurityGroups", []))
            instances = [i["InstanceId"] for i in item.get("Instances", []) if i.get("InstanceId")]
            vpc = item.get("VPCId")
            yield ctx.record(
                region=ctx.region,
                type=ResourceType.NETWORK,
                native_type=CLASSIC_LOAD_BALANCER,
                resource_id=ctx.arn("elasticloadbalancing", f"loadbalancer/{name}"),
                name=name,
                status=ResourceStatus.ACTIVE,
                metadata=metadata(dnsName=item.get("DNSName")),
                configuration=configuration(
                    scheme=item.get("Scheme"),
                    internetFacing=item.get("Scheme") == "internet-facing",
                    listeners=[
                        {
                            "protocol": listener.get("Protocol"),
                            "port": listener.get("LoadBalancerPort"),
                            "instanceProtocol": listener.get("InstanceProtocol"),
                            "instancePort": listener.get("InstancePort"),
                        }
                        for listener in (
                            d.get("Listener") or {} for d in item.get("ListenerDescriptions", [])
                        )
                    ],
                    securityGroupIds=groups,
                ),
                relations=(
                    *relations(R.ROUTES_TO, [ctx.instance(i) for i in instances]),
                    *relations(R.PROTECTED_BY, [ctx.security_group(g) for g in groups]),
                    *relations(R.MEMBER_OF, [ctx.vpc(vpc) if vpc else None]),
                ),
            )


def _target_groups(client: Any, ctx: AwsContext) -> list[dict[str, Any]]:
    return [group for page in ctx.pages(client, "describe_target_groups", minimum=1, maximum=400)
            for group in page.get("TargetGroups", [])]  # fmt: skip


def _targets(client: Any, ctx: AwsContext, group: dict[str, Any]) -> list[str]:
    """Native ids of a target group's targets (instances by ARN; IPs and Lambdas as given)."""
    answer = missing_is_none(
        client.describe_target_health,
        ("TargetGroupNotFound",),
        None,
        TargetGroupArn=group["TargetGroupArn"],
    )
    found = []
    for health in (answer or {}).get("TargetHealthDescriptions", []):
        target = (health.get("Target") or {}).get("Id")
        if target:
            found.append(ctx.instance(target) if group.get("TargetType", "instance") == "instance"
                         else target)  # fmt: skip
    return found


def load_balancers(client: Any, ctx: AwsContext) -> Iterator[ResourceRecord]:
    groups = _target_groups(client, ctx)
    by_balancer: dict[str, list[dict[str, Any]]] = {}
    for group in groups:
        for arn in group.get("LoadBalancerArns", []):
            by_balancer.setdefault(arn, []).append(group)
    for page in ctx.pages(client, "describe_load_balancers", minimum=1, maximum=400):
        for item in page.get("LoadBalancers", []):
            arn = item["LoadBalancerArn"]
            listeners = [
                listener
                for listing in ctx.pages(client, "describe_listeners", 1, 400, LoadBalancerArn=arn)
                for listener in listing.get("Listeners", [])
            ]
            security_groups = list(item.get("SecurityGroups", []))
            attached = by_balancer.get(arn, [])
            targets = [t for group in attached for t in _targets(client, ctx, group)]
            vpc = item.get("VpcId")
            yield ctx.record(
                region=ctx.region,
                type=ResourceType.NETWORK,
                native_type=LOAD_BALANCER,
                resource_id=arn,
                name=item["LoadBalancerName"],
                status=map_status((item.get("State") or {}).get("Code"), LB_STATES),
                metadata=metadata(dnsName=item.get("DNSName"), type=item.get("Type")),
                configuration=configuration(
                    type=item.get("Type"),
                    scheme=item.get("Scheme"),
                    internetFacing=item.get("Scheme") == "internet-facing",
                    listeners=[
                        {
                            "protocol": x.get("Protocol"),
                            "port": x.get("Port"),
                            "sslPolicy": x.get("SslPolicy"),
                        }
                        for x in listeners
                    ],
                    securityGroupIds=security_groups,
                    targetGroupArns=[g["TargetGroupArn"] for g in attached],
                ),
                relations=(
                    *relations(R.ROUTES_TO, [g["TargetGroupArn"] for g in attached]),
                    *relations(R.ROUTES_TO, targets),
                    *relations(R.PROTECTED_BY, [ctx.security_group(g) for g in security_groups]),
                    *relations(R.MEMBER_OF, [ctx.vpc(vpc) if vpc else None]),
                ),
            )


def target_groups(client: Any, ctx: AwsContext) -> Iterator[ResourceRecord]:
    for group in _target_groups(client, ctx):
        vpc = group.get("VpcId")
        yield ctx.record(
            region=ctx.region,
            type=ResourceType.NETWORK,
            native_type=TARGET_GROUP,
            resource_id=group["TargetGroupArn"],
            name=group["TargetGroupName"],
            status=ResourceStatus.ACTIVE,
            metadata=metadata(loadBalancerArns=group.get("LoadBalancerArns")),
            configuration=configuration(
                protocol=group.get("Protocol"),
                port=group.get("Port"),
                targetType=group.get("TargetType", "instance"),
                healthCheckProtocol=group.get("HealthCheckProtocol"),
            ),
            relations=(
                *relations(R.ROUTES_TO, _targets(client, ctx, group)),
                *relations(R.MEMBER_OF, [ctx.vpc(vpc) if vpc else None]),
            ),
        )


def hosted_zones(client: Any, ctx: AwsContext) -> Iterator[ResourceRecord]:
    for page in ctx.pages(client, "list_hosted_zones", minimum=1, maximum=100):
        for item in page.get("HostedZones", []):
            zone_id = item["Id"].rsplit("/", 1)[-1]
            config = item.get("Config") or {}
            yield ctx.record(
                region=GLOBAL_REGION,
                type=ResourceType.DNS,
                native_type=HOSTED_ZONE,
                resource_id=f"arn:{ctx.partition}:route53:::hostedzone/{zone_id}",
                name=item["Name"].rstrip(".") or item["Name"],
                status=ResourceStatus.ACTIVE,
                metadata=metadata(zoneId=zone_id, comment=config.get("Comment")),
                configuration=configuration(
                    privateZone=bool(config.get("PrivateZone")),
                    recordSetCount=item.get("ResourceRecordSetCount"),
                ),
            )


def _origin_bucket(domain: str, partition: str) -> str | None:
    """The bucket ARN of an S3 origin (`name.s3.amazonaws.com`, `name.s3.<region>.…`)."""
    name, marker, _ = domain.partition(".s3.")
    if not marker and ".s3-" in domain:
        name, marker, _ = domain.partition(".s3-")
    return f"arn:{partition}:s3:::{name}" if marker and name else None


def distributions(client: Any, ctx: AwsContext) -> Iterator[ResourceRecord]:
    for page in ctx.pages(client, "list_distributions", minimum=1, maximum=100):
        for item in (page.get("DistributionList") or {}).get("Items", []):
            origins = [
                o.get("DomainName", "") for o in (item.get("Origins") or {}).get("Items", [])
            ]
            behavior = item.get("DefaultCacheBehavior") or {}
            certificate = item.get("ViewerCertificate") or {}
            buckets = [_origin_bucket(domain, ctx.partition) for domain in origins]
            yield ctx.record(
                region=GLOBAL_REGION,
                type=ResourceType.NETWORK,
                native_type=DISTRIBUTION,
                resource_id=item["ARN"],
                name=item.get("DomainName") or item["Id"],
                status=map_status(item.get("Status"), DISTRIBUTION_STATES),
                metadata=metadata(distributionId=item["Id"], comment=item.get("Comment")),
                configuration=configuration(
                    enabled=bool(item.get("Enabled")),
                    viewerProtocolPolicy=behavior.get("ViewerProtocolPolicy"),
                    minimumProtocolVersion=certificate.get("MinimumProtocolVersion"),
                    webAclId=item.get("WebACLId") or None,
                    origins=origins,
                ),
                relations=tuple(relations(R.ROUTES_TO, buckets)),
            )
