"""At least one of every AWS kind in moto (us-east-1 and the global services), wired together
so relations have something to find, and holding secrets a sync must never store."""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import dataclass, field
from typing import Any

from tests.standins.aws import AMI, PRIMARY_ACCOUNT, MotoServer

REGION = "us-east-1"
# Values a sync could read back from the APIs and must never keep.
LAMBDA_SECRET = "lambda-env-secret-7f3c9a"
USER_DATA_SECRET = "user-data-secret-41d8e2"
CLUSTER_PASSWORD = "cluster-master-password-9b2e"
CONSOLE_PASSWORD = "Console-Password-5a7c1f!"
ADMIN_POLICY = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
}
PUBLIC_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Principal": "*", "Action": "sqs:SendMessage", "Resource": "*"}
    ],
}
TRUST_LAMBDA = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Action": "sts:AssumeRole",
            "Principal": {"Service": "lambda.amazonaws.com"},
        }
    ],
}


@dataclass
class EveryKind:
    """Native ids of what was created, for assertions."""

    ids: dict[str, str] = field(default_factory=dict)
    secrets: list[str] = field(default_factory=list)

    def arn(self, service: str, resource: str) -> str:
        return f"arn:aws:{service}:{REGION}:{PRIMARY_ACCOUNT}:{resource}"


def populate_every_kind(server: MotoServer) -> EveryKind:
    made = EveryKind(secrets=[LAMBDA_SECRET, USER_DATA_SECRET, CLUSTER_PASSWORD, CONSOLE_PASSWORD])
    _network_and_instances(server, made)
    _identities(server, made)
    _compute(server, made)
    _data(server, made)
    _traffic(server, made)
    _buckets(server, made)
    return made


def _network_and_instances(server: MotoServer, made: EveryKind) -> None:
    ec2 = server.client("ec2", REGION)
    vpc = ec2.create_vpc(CidrBlock="10.20.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.20.1.0/24")["Subnet"]["SubnetId"]
    web = ec2.create_security_group(GroupName="web-sg", Description="web", VpcId=vpc)["GroupId"]
    other = ec2.create_security_group(GroupName="admin-sg", Description="admin", VpcId=vpc)
    ec2.authorize_security_group_ingress(
        GroupId=web,
        IpPermissions=[
            {
                "IpProtocol": "tcp",
                "FromPort": 22,
                "ToPort": 22,
                "IpRanges": [{"CidrIp": "0.0.0.0/0"}],
                "Ipv6Ranges": [{"CidrIpv6": "::/0"}],
            },
            {
                "IpProtocol": "tcp",
                "FromPort": 443,
                "ToPort": 443,
                "UserIdGroupPairs": [{"GroupId": other["GroupId"]}],
            },
        ],
    )
    iam = server.client("iam", REGION)
    iam.create_role(RoleName="app-instance", AssumeRolePolicyDocument=json.dumps(TRUST_LAMBDA))
    profile = iam.create_instance_profile(InstanceProfileName="app-profile")["InstanceProfile"]
    iam.add_role_to_instance_profile(InstanceProfileName="app-profile", RoleName="app-instance")
    instance = ec2.run_instances(
        ImageId=AMI,
        MinCount=1,
        MaxCount=1,
        InstanceType="t3.micro",
        SubnetId=subnet,
        SecurityGroupIds=[web],
        UserData=f"#!/bin/sh\nexport TOKEN={USER_DATA_SECRET}\n",
        IamInstanceProfile={"Arn": profile["Arn"]},
        MetadataOptions={"HttpTokens": "required", "HttpEndpoint": "enabled"},
        TagSpecifications=[
            {"ResourceType": "instance", "Tags": [{"Key": "Name", "Value": "kinds-web"}]}
        ],
    )["Instances"][0]["InstanceId"]
    volume = ec2.create_volume(AvailabilityZone=f"{REGION}a", Size=8, Encrypted=True)["VolumeId"]
    ec2.attach_volume(VolumeId=volume, InstanceId=instance, Device="/dev/sdf")
    address = ec2.allocate_address(Domain="vpc")
    ec2.associate_address(AllocationId=address["AllocationId"], InstanceId=instance)
    nat_address = ec2.allocate_address(Domain="vpc")["AllocationId"]
    nat = ec2.create_nat_gateway(SubnetId=subnet, AllocationId=nat_address)["NatGateway"]
    gateway = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    ec2.attach_internet_gateway(InternetGatewayId=gateway, VpcId=vpc)
    made.ids.update(
        vpc=made.arn("ec2", f"vpc/{vpc}"),
        subnet=made.arn("ec2", f"subnet/{subnet}"),
        web_sg=made.arn("ec2", f"security-group/{web}"),
        admin_sg=made.arn("ec2", f"security-group/{other['GroupId']}"),
        admin_sg_id=other["GroupId"],
        web_sg_id=web,
        instance=made.arn("ec2", f"instance/{instance}"),
        instance_id=instance,
        volume=made.arn("ec2", f"volume/{volume}"),
        eip=made.arn("ec2", f"elastic-ip/{address['AllocationId']}"),
        nat=made.arn("ec2", f"natgateway/{nat['NatGatewayId']}"),
        igw=made.arn("ec2", f"internet-gateway/{gateway}"),
        instance_profile=profile["Arn"],
    )


def _identities(server: MotoServer, made: EveryKind) -> None:
    iam = server.client("iam", REGION)
    policy = iam.create_policy(PolicyName="everything", PolicyDocument=json.dumps(ADMIN_POLICY))
    policy_arn = policy["Policy"]["Arn"]
    role = iam.create_role(
        RoleName="kinds-lambda", AssumeRolePolicyDocument=json.dumps(TRUST_LAMBDA)
    )
    iam.attach_role_policy(RoleName="kinds-lambda", PolicyArn=policy_arn)
    iam.create_user(UserName="alice")
    iam.create_login_profile(UserName="alice", Password=CONSOLE_PASSWORD)
    key = iam.create_access_key(UserName="alice")["AccessKey"]
    made.secrets.append(key["SecretAccessKey"])
    iam.attach_user_policy(UserName="alice", PolicyArn=policy_arn)
    made.ids.update(
        policy=policy_arn,
        role=role["Role"]["Arn"],
        user=f"arn:aws:iam::{PRIMARY_ACCOUNT}:user/alice",
        access_key_id=key["AccessKeyId"],
    )


def _compute(server: MotoServer, made: EveryKind) -> None:
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as archive:
        archive.writestr("handler.py", "def handle(event, context):\n    return event\n")
    function = server.client("lambda", REGION).create_function(
        FunctionName="kinds-fn",
        Runtime="python3.12",
        Role=made.ids["role"],
        Handler="handler.handle",
        Code={"ZipFile": code.getvalue()},
        Environment={"Variables": {"DATABASE_PASSWORD": LAMBDA_SECRET}},
    )
    subnet_id = made.ids["subnet"].rsplit("/", 1)[-1]
    eks = server.client("eks", REGION).create_cluster(
        name="kinds-eks",
        roleArn=made.ids["role"],
        resourcesVpcConfig={
            "subnetIds": [subnet_id],
            "securityGroupIds": [made.ids["web_sg_id"]],
            "endpointPublicAccess": True,
        },
    )["cluster"]
    ecs = server.client("ecs", REGION)
    cluster = ecs.create_cluster(clusterName="kinds-ecs")["cluster"]["clusterArn"]
    ecs.register_task_definition(
        family="kinds-task",
        containerDefinitions=[{"name": "app", "image": "nginx", "memory": 128}],
    )
    service = ecs.create_service(
        cluster="kinds-ecs",
        serviceName="kinds-svc",
        taskDefinition="kinds-task",
        desiredCount=1,
        networkConfiguration={
            "awsvpcConfiguration": {
                "subnets": [subnet_id],
                "securityGroups": [made.ids["web_sg_id"]],
                "assignPublicIp": "ENABLED",
            }
        },
    )["service"]["serviceArn"]
    repository = server.client("ecr", REGION).create_repository(
        repositoryName="kinds-repo", imageScanningConfiguration={"scanOnPush": True}
    )["repository"]["repositoryArn"]
    made.ids.update(
        function=function["FunctionArn"],
        eks=eks["arn"],
        ecs_cluster=cluster,
        ecs_service=service,
        ecr=repository,
    )


def _data(server: MotoServer, made: EveryKind) -> None:
    kms = server.client("kms", REGION)
    key = kms.create_key(Description="kinds key")["KeyMetadata"]
    kms.enable_key_rotation(KeyId=key["KeyId"])
    kms.create_alias(AliasName="alias/kinds", TargetKeyId=key["KeyId"])
    rds = server.client("rds", REGION)
    cluster = rds.create_db_cluster(
        DBClusterIdentifier="kinds-aurora",
        Engine="aurora-postgresql",
        MasterUsername="admin1",
        MasterUserPassword=CLUSTER_PASSWORD,
        StorageEncrypted=True,
        KmsKeyId=key["Arn"],
    )["DBCluster"]
    table = server.client("dynamodb", REGION).create_table(
        TableName="kinds-table",
        BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        SSESpecification={"Enabled": True, "SSEType": "KMS", "KMSMasterKeyId": key["Arn"]},
    )["TableDescription"]
    sqs = server.client("sqs", REGION)
    queue = sqs.create_queue(
        QueueName="kinds-queue", Attributes={"Policy": json.dumps(PUBLIC_POLICY)}
    )["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])
    topic = server.client("sns", REGION).create_topic(
        Name="kinds-topic", Attributes={"KmsMasterKeyId": key["Arn"]}
    )["TopicArn"]
    logs = server.client("logs", REGION)
    logs.create_log_group(logGroupName="/kinds/app")
    logs.put_retention_policy(logGroupName="/kinds/app", retentionInDays=30)
    made.ids.update(
        kms=key["Arn"],
        rds_cluster=cluster["DBClusterArn"],
        dynamodb=table["TableArn"],
        sqs=queue_arn["Attributes"]["QueueArn"],
        sns=topic,
        log_group=made.arn("logs", "log-group:/kinds/app"),
    )


def _traffic(server: MotoServer, made: EveryKind) -> None:
    subnet_id = made.ids["subnet"].rsplit("/", 1)[-1]
    vpc_id = made.ids["vpc"].rsplit("/", 1)[-1]
    elb = server.client("elb", REGION)
    elb.create_load_balancer(
        LoadBalancerName="kinds-classic",
        Subnets=[subnet_id],
        Listeners=[{"Protocol": "HTTP", "LoadBalancerPort": 80, "InstancePort": 8080}],
    )
    elb.register_instances_with_load_balancer(
        LoadBalancerName="kinds-classic", Instances=[{"InstanceId": made.ids["instance_id"]}]
    )
    ec2 = server.client("ec2", REGION)
    second = ec2.create_subnet(
        VpcId=vpc_id, CidrBlock="10.20.2.0/24", AvailabilityZone=f"{REGION}b"
    )["Subnet"]["SubnetId"]
    elbv2 = server.client("elbv2", REGION)
    balancer = elbv2.create_load_balancer(
        Name="kinds-alb", Subnets=[subnet_id, second], SecurityGroups=[made.ids["web_sg_id"]]
    )["LoadBalancers"][0]["LoadBalancerArn"]
    group = elbv2.create_target_group(Name="kinds-tg", Protocol="HTTP", Port=80, VpcId=vpc_id)[
        "TargetGroups"
    ][0]["TargetGroupArn"]
    elbv2.register_targets(TargetGroupArn=group, Targets=[{"Id": made.ids["instance_id"]}])
    elbv2.create_listener(
        LoadBalancerArn=balancer,
        Protocol="HTTP",
        Port=80,
        DefaultActions=[{"Type": "forward", "TargetGroupArn": group}],
    )
    zone = (
        server.client("route53", REGION)
        .create_hosted_zone(Name="kinds.example.com", CallerReference="kinds")["HostedZone"]["Id"]
        .rsplit("/", 1)[-1]
    )
    made.ids.update(
        classic_elb=made.arn("elasticloadbalancing", "loadbalancer/kinds-classic"),
        alb=balancer,
        target_group=group,
        zone=f"arn:aws:route53:::hostedzone/{zone}",
    )


def _buckets(server: MotoServer, made: EveryKind) -> None:
    s3 = server.client("s3", REGION)
    s3.create_bucket(Bucket="kinds-private")
    s3.put_public_access_block(
        Bucket="kinds-private",
        PublicAccessBlockConfiguration={
            "BlockPublicAcls": True,
            "IgnorePublicAcls": True,
            "BlockPublicPolicy": True,
            "RestrictPublicBuckets": True,
        },
    )
    s3.put_bucket_encryption(
        Bucket="kinds-private",
        ServerSideEncryptionConfiguration={
            "Rules": [
                {
                    "ApplyServerSideEncryptionByDefault": {
                        "SSEAlgorithm": "aws:kms",
                        "KMSMasterKeyID": made.ids["kms"],
                    }
                }
            ]
        },
    )
    s3.put_bucket_versioning(Bucket="kinds-private", VersioningConfiguration={"Status": "Enabled"})
    s3.create_bucket(Bucket="kinds-public", ACL="public-read")
    s3.put_bucket_policy(
        Bucket="kinds-public",
        Policy=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": "*",
                        "Action": "s3:GetObject",
                        "Resource": "arn:aws:s3:::kinds-public/*",
                    }
                ],
            }
        ),
    )
    s3.put_bucket_acl(Bucket="kinds-private", ACL="log-delivery-write")
    s3.put_bucket_logging(
        Bucket="kinds-public",
        BucketLoggingStatus={
            "LoggingEnabled": {"TargetBucket": "kinds-private", "TargetPrefix": "logs/"}
        },
    )
    distribution = _distribution(server)
    made.ids.update(
        private_bucket="arn:aws:s3:::kinds-private",
        public_bucket="arn:aws:s3:::kinds-public",
        distribution=distribution,
    )


def _distribution(server: MotoServer) -> Any:
    answer = server.client("cloudfront", REGION).create_distribution(
        DistributionConfig={
            "CallerReference": "kinds",
            "Comment": "kinds",
            "Enabled": True,
            "Origins": {
                "Quantity": 1,
                "Items": [
                    {
                        "Id": "bucket",
                        "DomainName": "kinds-public.s3.amazonaws.com",
                        "S3OriginConfig": {"OriginAccessIdentity": ""},
                    }
                ],
            },
            "DefaultCacheBehavior": {
                "TargetOriginId": "bucket",
                "ViewerProtocolPolicy": "allow-all",
                "MinTTL": 0,
            },
        }
    )
    return answer["Distribution"]["ARN"]
