"""Compute kinds: Lambda functions, EKS clusters, ECS clusters and services.

Never read: Lambda environment variables (ListFunctions returns them; they are dropped here and
appear nowhere in a record).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from db.enums import RelationType, ResourceStatus, ResourceType
from providers.aws_common import AwsContext, missing_is_none, relations
from providers.base import ResourceRecord
from providers.normalize import clean_tags, configuration, map_status, metadata

LAMBDA_FUNCTION = "AWS::Lambda::Function"
EKS_CLUSTER = "AWS::EKS::Cluster"
ECS_CLUSTER = "AWS::ECS::Cluster"
ECS_SERVICE = "AWS::ECS::Service"

S = ResourceStatus
R = RelationType
LAMBDA_STATES = {"active": S.ACTIVE, "pending": S.PENDING, "inactive": S.STOPPED}
EKS_STATES = {
    "creating": S.PENDING,
    "active": S.ACTIVE,
    "updating": S.PENDING,
    "deleting": S.TERMINATED,
    "failed": S.STOPPED,
    "pending": S.PENDING,
}
ECS_STATES = {
    "active": S.ACTIVE,
    "provisioning": S.PENDING,
    "deprovisioning": S.PENDING,
    "failed": S.STOPPED,
    "inactive": S.STOPPED,
    "draining": S.PENDING,
}
ECS_DESCRIBE_BATCH = 10  # DescribeServices takes at most 10 services per call
ECS_CLUSTER_BATCH = 100


def lambda_functions(client: Any, ctx: AwsContext) -> Iterator[ResourceRecord]:
    for page in ctx.pages(client, "list_functions", minimum=1, maximum=50):
        for item in page.get("Functions", []):
            vpc = item.get("VpcConfig") or {}
            subnets = [s for s in vpc.get("SubnetIds", []) if s]
            groups = [g for g in vpc.get("SecurityGroupIds", []) if g]
            role = item.get("Role")
            key = item.get("KMSKeyArn")
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
                configuration=configuration(
                    runtime=item.get("Runtime"),
                    packageType=item.get("PackageType", "Zip"),
                    roleArn=role,
                    vpc={"subnetIds": subnets, "securityGroupIds": groups} if subnets else None,
                    kmsKeyArn=key,
                    tracingMode=(item.get("TracingConfig") or {}).get("Mode"),
                ),
                relations=(
                    *relations(R.USES, [role, key]),
                    *relations(R.MEMBER_OF, [ctx.subnet(s) for s in subnets]),
                    *relations(R.PROTECTED_BY, [ctx.security_group(g) for g in groups]),
                ),
            )


def eks_clusters(client: Any, ctx: AwsContext) -> Iterator[ResourceRecord]:
    for page in ctx.pages(client, "list_clusters", minimum=1, maximum=100):
        for cluster_name in page.get("clusters", []):
            item = missing_is_none(
                client.describe_cluster,
                ("ResourceNotFoundException",),
                "cluster",
                name=cluster_name,
            )
            if item is None:
                continue
            network = item.get("resourcesVpcConfig") or {}
            groups = [*network.get("securityGroupIds", []), network.get("clusterSecurityGroupId")]
            groups = [g for g in groups if g]
            vpc = network.get("vpcId")
            logging = (item.get("logging") or {}).get("clusterLogging", [])
            yield ctx.record(
                region=ctx.region,
                type=ResourceType.CONTAINER,
                native_type=EKS_CLUSTER,
                resource_id=item["arn"],
                name=cluster_name,
                status=map_status(item.get("status"), EKS_STATES),
                tags=clean_tags(item.get("tags")),
                metadata=metadata(endpoint=item.get("endpoint"), createdAt=item.get("createdAt")),
                configuration=configuration(
                    version=item.get("version"),
                    endpointPublicAccess=bool(network.get("endpointPublicAccess")),
                    endpointPrivateAccess=bool(network.get("endpointPrivateAccess")),
                    publicAccessCidrs=list(network.get("publicAccessCidrs", [])),
                    secretsEncryption=bool(item.get("encryptionConfig")),
                    enabledLogTypes=sorted(
                        t
                        for group in logging
                        if group.get("enabled")
                        for t in group.get("types", [])
                    ),
                    roleArn=item.get("roleArn"),
                ),
                relations=(
                    *relations(R.USES, [item.get("roleArn")]),
                    *relations(R.MEMBER_OF, [ctx.vpc(vpc) if vpc else None]),
                    *relations(R.PROTECTED_BY, [ctx.security_group(g) for g in groups]),
                ),
            )


def _batches(items: list[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _cluster_arns(client: Any, ctx: AwsContext) -> list[str]:
    return [arn for page in ctx.pages(client, "list_clusters", minimum=1, maximum=100)
            for arn in page.get("clusterArns", [])]  # fmt: skip


def ecs_clusters(client: Any, ctx: AwsContext) -> Iterator[ResourceRecord]:
    for batch in _batches(_cluster_arns(client, ctx), ECS_CLUSTER_BATCH):
        answer = client.describe_clusters(clusters=batch, include=["SETTINGS", "TAGS"])
        for item in answer.get("clusters", []):
            settings = {s.get("name"): s.get("value") for s in item.get("settings", [])}
            yield ctx.record(
                region=ctx.region,
                type=ResourceType.CONTAINER,
                native_type=ECS_CLUSTER,
                resource_id=item["clusterArn"],
                name=item.get("clusterName") or item["clusterArn"].rsplit("/", 1)[-1],
                status=map_status(item.get("status"), ECS_STATES),
                tags={t["key"]: t.get("value", "") for t in item.get("tags", []) if "key" in t},
                metadata=metadata(
                    activeServices=item.get("activeServicesCount"),
                    runningTasks=item.get("runningTasksCount"),
                ),
                configuration=configuration(
                    containerInsights=settings.get("containerInsights") == "enabled"
                ),
            )


def ecs_services(client: Any, ctx: AwsContext) -> Iterator[ResourceRecord]:
    for cluster in _cluster_arns(client, ctx):
        arns = [
            arn
            for page in ctx.pages(client, "list_services", 1, 100, cluster=cluster)
            for arn in page.get("serviceArns", [])
        ]
        for batch in _batches(arns, ECS_DESCRIBE_BATCH):
            for item in client.describe_services(cluster=cluster, services=batch).get(
                "services", []
            ):
                yield _service(item, cluster, ctx)


def _service(item: dict[str, Any], cluster: str, ctx: AwsContext) -> ResourceRecord:
    network = (item.get("networkConfiguration") or {}).get("awsvpcConfiguration") or {}
    subnets = [s for s in network.get("subnets", []) if s]
    groups = [g for g in network.get("securityGroups", []) if g]
    role = item.get("roleArn")
    return ctx.record(
        region=ctx.region,
        type=ResourceType.CONTAINER,
        native_type=ECS_SERVICE,
        resource_id=item["serviceArn"],
        name=item.get("serviceName") or item["serviceArn"].rsplit("/", 1)[-1],
        status=map_status(item.get("status"), ECS_STATES),
        metadata=metadata(
            desiredCount=item.get("desiredCount"), runningCount=item.get("runningCount")
        ),
        configuration=configuration(
            launchType=item.get("launchType"),
            taskDefinition=item.get("taskDefinition"),
            assignPublicIp=network.get("assignPublicIp") == "ENABLED",
            subnetIds=subnets,
            securityGroupIds=groups,
            roleArn=role,
        ),
        relations=(
            *relations(R.MEMBER_OF, [cluster, *(ctx.subnet(s) for s in subnets)]),
            *relations(R.PROTECTED_BY, [ctx.security_group(g) for g in groups]),
            *relations(R.USES, [role]),
        ),
    )
