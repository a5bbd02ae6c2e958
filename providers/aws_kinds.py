"""The AWS kinds a sync lists: native type → (boto3 service, lister), regional and global.

Each lister (one module per service family: aws_ec2, aws_storage, aws_compute, aws_data,
aws_iam, aws_edge) pages through its listing in a worker thread and yields normalized records
with their configuration and relations; `providers.aws` turns errors into safe
`ProviderError`s. docs/providers.md documents every kind's category and configuration.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from providers.aws_common import AwsContext
from providers.aws_compute import (
    ECS_CLUSTER,
    ECS_SERVICE,
    EKS_CLUSTER,
    LAMBDA_FUNCTION,
    ecs_clusters,
    ecs_services,
    eks_clusters,
    lambda_functions,
)
from providers.aws_data import (
    KMS_KEY,
    RDS_CLUSTER,
    RDS_INSTANCE,
    SNS_TOPIC,
    SQS_QUEUE,
    kms_keys,
    rds_clusters,
    rds_instances,
    sns_topics,
    sqs_queues,
)
from providers.aws_ec2 import (
    EBS_VOLUME,
    EC2_INSTANCE,
    ELASTIC_IP,
    INTERNET_GATEWAY,
    NAT_GATEWAY,
    SECURITY_GROUP,
    SUBNET,
    VPC,
    ebs_volumes,
    ec2_instances,
    elastic_ips,
    internet_gateways,
    nat_gateways,
    security_groups,
    subnets,
    vpcs,
)
from providers.aws_edge import (
    CLASSIC_LOAD_BALANCER,
    DISTRIBUTION,
    HOSTED_ZONE,
    LOAD_BALANCER,
    TARGET_GROUP,
    classic_load_balancers,
    distributions,
    hosted_zones,
    load_balancers,
    target_groups,
)
from providers.aws_iam import IAM_POLICY, IAM_ROLE, IAM_USER, iam_policies, iam_roles, iam_users
from providers.aws_storage import (
    DYNAMODB_TABLE,
    ECR_REPOSITORY,
    LOG_GROUP,
    S3_BUCKET,
    UNKNOWN_REGION,
    dynamodb_tables,
    ecr_repositories,
    log_groups,
    s3_buckets,
)
from providers.base import ResourceRecord

Lister = Callable[[Any, AwsContext], Iterator[ResourceRecord]]

REGIONAL_KINDS: dict[str, tuple[str, Lister]] = {
    EC2_INSTANCE: ("ec2", ec2_instances),
    EBS_VOLUME: ("ec2", ebs_volumes),
    VPC: ("ec2", vpcs),
    SUBNET: ("ec2", subnets),
    SECURITY_GROUP: ("ec2", security_groups),
    ELASTIC_IP: ("ec2", elastic_ips),
    NAT_GATEWAY: ("ec2", nat_gateways),
    INTERNET_GATEWAY: ("ec2", internet_gateways),
    LAMBDA_FUNCTION: ("lambda", lambda_functions),
    EKS_CLUSTER: ("eks", eks_clusters),
    ECS_CLUSTER: ("ecs", ecs_clusters),
    ECS_SERVICE: ("ecs", ecs_services),
    RDS_INSTANCE: ("rds", rds_instances),
    RDS_CLUSTER: ("rds", rds_clusters),
    DYNAMODB_TABLE: ("dynamodb", dynamodb_tables),
    SQS_QUEUE: ("sqs", sqs_queues),
    SNS_TOPIC: ("sns", sns_topics),
    KMS_KEY: ("kms", kms_keys),
    ECR_REPOSITORY: ("ecr", ecr_repositories),
    LOG_GROUP: ("logs", log_groups),
    CLASSIC_LOAD_BALANCER: ("elb", classic_load_balancers),
    LOAD_BALANCER: ("elbv2", load_balancers),
    TARGET_GROUP: ("elbv2", target_groups),
}
# Listed once per account, from the default region's endpoint.
GLOBAL_KINDS: dict[str, tuple[str, Lister]] = {
    S3_BUCKET: ("s3", s3_buckets),
    IAM_ROLE: ("iam", iam_roles),
    IAM_USER: ("iam", iam_users),
    IAM_POLICY: ("iam", iam_policies),
    HOSTED_ZONE: ("route53", hosted_zones),
    DISTRIBUTION: ("cloudfront", distributions),
}

__all__ = [
    "CLASSIC_LOAD_BALANCER",
    "DISTRIBUTION",
    "DYNAMODB_TABLE",
    "EBS_VOLUME",
    "EC2_INSTANCE",
    "ECR_REPOSITORY",
    "ECS_CLUSTER",
    "ECS_SERVICE",
    "EKS_CLUSTER",
    "ELASTIC_IP",
    "GLOBAL_KINDS",
    "HOSTED_ZONE",
    "IAM_POLICY",
    "IAM_ROLE",
    "IAM_USER",
    "INTERNET_GATEWAY",
    "KMS_KEY",
    "LAMBDA_FUNCTION",
    "LOAD_BALANCER",
    "LOG_GROUP",
    "NAT_GATEWAY",
    "RDS_CLUSTER",
    "RDS_INSTANCE",
    "REGIONAL_KINDS",
    "S3_BUCKET",
    "SECURITY_GROUP",
    "SNS_TOPIC",
    "SQS_QUEUE",
    "SUBNET",
    "TARGET_GROUP",
    "UNKNOWN_REGION",
    "VPC",
    "AwsContext",
    "Lister",
]
