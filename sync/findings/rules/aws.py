"""AWS rules, over the configuration shapes of `providers/aws_*.py` (docs/providers.md)."""

from __future__ import annotations

from typing import Any

from db.enums import Provider, RelationType, Severity
from sync.findings.rules.base import (
    Check,
    Compliance,
    Details,
    Related,
    Rule,
    Subject,
    setting,
)
from sync.findings.rules.network import open_all_ports, open_anything, open_ports

CIS = "CIS AWS Foundations 3.0"
SG = "AWS::EC2::SecurityGroup"
INSTANCE = "AWS::EC2::Instance"
BUCKET = "AWS::S3::Bucket"
RDS = ("AWS::RDS::DBInstance", "AWS::RDS::DBCluster")
ACCESS_KEY_MAX_DAYS = 90
DB_PORTS = (1433, 1521, 3306, 5432, 6379, 9200, 11211, 27017)
# Runtimes AWS has deprecated (no more security patches) by the catalogue's date, 2026-12.
DEPRECATED_RUNTIMES = frozenset(
    {
        "python2.7", "python3.6", "python3.7", "python3.8", "python3.9",
        "nodejs", "nodejs4.3", "nodejs6.10", "nodejs8.10", "nodejs10.x", "nodejs12.x",
        "nodejs14.x", "nodejs16.x", "nodejs18.x",
        "java8", "go1.x", "provided", "ruby2.5", "ruby2.7", "ruby3.2",
        "dotnetcore1.0", "dotnetcore2.0", "dotnetcore2.1", "dotnetcore3.1", "dotnet5.0",
        "dotnet6", "dotnet7",
    }
)  # fmt: skip
SG_DOC = "https://docs.aws.amazon.com/vpc/latest/userguide/vpc-security-groups.html"
S3_BPA_DOC = (
    "https://docs.aws.amazon.com/AmazonS3/latest/userguide/access-control-block-public-access.html"
)


def _cis(*controls: str) -> tuple[Compliance, ...]:
    return tuple(Compliance(CIS, control) for control in controls)


def _ports(*ports: int) -> Check:
    def check(subject: Subject) -> Details | None:
        found = open_ports(subject.configuration, ports)
        return {"rules": found} if found else None

    return check


def _all_ports(subject: Subject) -> Details | None:
    found = open_all_ports(subject.configuration)
    return {"rules": found} if found else None


def _instance_exposed(subject: Subject) -> Details | None:
    public_ip = setting(subject.configuration, "publicIp")
    if not public_ip:
        return None
    exposed = [rule for group in subject.related for rule in open_anything(group)]
    return {"publicIp": public_ip, "rules": exposed} if exposed else None


def _imdsv1(subject: Subject) -> Details | None:
    config = subject.configuration
    if setting(config, "metadataEndpointEnabled") is False:
        return None
    return None if setting(config, "imdsv2Required") else {"imdsv2Required": False}


def _public_acl(subject: Subject) -> Details | None:
    grants = setting(subject.configuration, "publicAclGrants") or []
    return {"grants": grants} if grants else None


def _public_policy(subject: Subject) -> Details | None:
    return (
        {"policyAllowsPublic": True}
        if setting(subject.configuration, "policyAllowsPublic")
        else None
    )


def _no_public_access_block(subject: Subject) -> Details | None:
    block = setting(subject.configuration, "publicAccessBlock")
    if block is None:
        return {"publicAccessBlock": None}
    off = sorted(name for name, on in block.items() if not on)
    return {"disabled": off} if off else None


def _false(key: str) -> Check:
    def check(subject: Subject) -> Details | None:
        value = setting(subject.configuration, key)
        return {key: value} if value is False else None

    return check


def _true(key: str) -> Check:
    def check(subject: Subject) -> Details | None:
        return {key: True} if setting(subject.configuration, key) is True else None

    return check


def _versioning(subject: Subject) -> Details | None:
    state = setting(subject.configuration, "versioning")
    return None if state == "Enabled" else {"versioning": state}


def _logging(subject: Subject) -> Details | None:
    logging = setting(subject.configuration, "logging") or {}
    return None if logging.get("enabled") else {"logging": False}


def _dynamodb_cmk(subject: Subject) -> Details | None:
    encryption = setting(subject.configuration, "encryption") or {}
    kind = encryption.get("type")
    return None if kind == "KMS" else {"encryption": kind or "AWS_OWNED"}


def _backups(subject: Subject) -> Details | None:
    days = setting(subject.configuration, "backupRetentionDays")
    return {"backupRetentionDays": days} if days is not None and days < 7 else None


def _no_mfa(subject: Subject) -> Details | None:
    config = subject.configuration
    if setting(config, "consoleAccess") and not setting(config, "mfaEnabled"):
        return {"consoleAccess": True, "mfaEnabled": False}
    return None


def _old_keys(subject: Subject) -> Details | None:
    old = [
        {"accessKeyId": key.get("accessKeyId"), "ageDays": key.get("ageDays")}
        for key in setting(subject.configuration, "accessKeys") or []
        if key.get("status") == "Active" and (key.get("ageDays") or 0) > ACCESS_KEY_MAX_DAYS
    ]
    return {"accessKeys": old} if old else None


def _rotation(subject: Subject) -> Details | None:
    config = subject.configuration
    if setting(config, "keyManager") != "CUSTOMER":
        return None
    return {"rotationEnabled": False} if setting(config, "rotationEnabled") is False else None


def _runtime(subject: Subject) -> Details | None:
    runtime = setting(subject.configuration, "runtime")
    return {"runtime": runtime} if runtime in DEPRECATED_RUNTIMES else None


def _any_principal(subject: Subject) -> Details | None:
    trust = setting(subject.configuration, "trust") or {}
    return {"anyPrincipal": True} if trust.get("anyPrincipal") else None


def _eks_public(subject: Subject) -> Details | None:
    config = subject.configuration
    if not setting(config, "endpointPublicAccess"):
        return None
    cidrs = setting(config, "publicAccessCidrs") or []
    open_to = [c for c in cidrs if c in ("0.0.0.0/0", "::/0")]
    return {"publicAccessCidrs": open_to} if open_to or not cidrs else None


def _sqs_unencrypted(subject: Subject) -> Details | None:
    encryption = setting(subject.configuration, "encryption") or {}
    if encryption.get("sqsManaged") or encryption.get("kmsKeyId"):
        return None
    return {"encryption": None}


def _viewer_http(subject: Subject) -> Details | None:
    policy = setting(subject.configuration, "viewerProtocolPolicy")
    return {"viewerProtocolPolicy": policy} if policy == "allow-all" else None


def _plain_listener(subject: Subject) -> Details | None:
    config = subject.configuration
    if not setting(config, "internetFacing"):
        return None
    plain = [
        listener.get("port")
        for listener in setting(config, "listeners") or []
        if str(listener.get("protocol", "")).upper() == "HTTP"
    ]
    return {"httpPorts": plain} if plain else None


def _log_retention(subject: Subject) -> Details | None:
    days = setting(subject.configuration, "retentionDays")
    return None if days is None or days >= 365 else {"retentionDays": days}


def _rule(**fields: Any) -> Rule:
    return Rule(provider=Provider.AWS, **fields)


RULES: tuple[Rule, ...] = (
    _rule(
        id="aws-ec2-sg-open-ssh",
        title="Security group allows SSH (22) from anywhere",
        severity=Severity.HIGH,
        native_types=(SG,),
        check=_ports(22),
        description="An ingress rule lets 0.0.0.0/0 or ::/0 reach TCP port 22: anyone on the "
        "internet can try to log in to the instances the group protects.",
        remediation="Restrict the rule's source to known addresses, or reach instances through "
        "Session Manager or a bastion instead of SSH from the internet.",
        references=(SG_DOC,),
        compliance=_cis("5.2", "5.3"),
    ),
    _rule(
        id="aws-ec2-sg-open-rdp",
        title="Security group allows RDP (3389) from anywhere",
        severity=Severity.HIGH,
        native_types=(SG,),
        check=_ports(3389),
        description="An ingress rule lets 0.0.0.0/0 or ::/0 reach TCP port 3389 (Remote Desktop).",
        remediation="Restrict the rule's source to known addresses or use Fleet Manager.",
        references=(SG_DOC,),
        compliance=_cis("5.2", "5.3"),
    ),
    _rule(
        id="aws-ec2-sg-open-all-ports",
        title="Security group allows every port from anywhere",
        severity=Severity.CRITICAL,
        native_types=(SG,),
        check=_all_ports,
        description="An ingress rule lets 0.0.0.0/0 or ::/0 reach every port (all protocols, "
        "or TCP 0–65535).",
        remediation="Replace the rule with rules for the ports the workload serves.",
        references=(SG_DOC,),
        compliance=_cis("5.2", "5.3"),
    ),
    _rule(
        id="aws-ec2-sg-open-database-ports",
        title="Security group allows database ports from anywhere",
        severity=Severity.HIGH,
        native_types=(SG,),
        check=_ports(*DB_PORTS),
        description="An ingress rule lets 0.0.0.0/0 or ::/0 reach a database or cache port "
        "(1433, 1521, 3306, 5432, 6379, 9200, 11211, 27017).",
        remediation="Allow database ports only from the application's security groups.",
        references=(SG_DOC,),
    ),
    _rule(
        id="aws-ec2-instance-exposed",
        title="Instance with a public IP behind an open group",
        severity=Severity.HIGH,
        native_types=(INSTANCE,),
        check=_instance_exposed,
        related=Related(RelationType.PROTECTED_BY, SG, requires="publicIp"),
        description="The instance has a public IP address and one of its security groups lets "
        "0.0.0.0/0 or ::/0 in: it is reachable from the internet. Re-evaluated when the "
        "instance's or its groups' scope completes.",
        remediation="Remove the public IP, or narrow the groups' ingress sources.",
        references=(SG_DOC,),
    ),
    _rule(
        id="aws-ec2-imdsv1-allowed",
        title="Instance allows IMDSv1",
        severity=Severity.MEDIUM,
        native_types=(INSTANCE,),
        check=_imdsv1,
        description="The instance metadata service answers requests without a session token "
        "(HttpTokens optional): a server-side request forgery can read the instance role's "
        "credentials.",
        remediation="Set HttpTokens to required (IMDSv2) on the instance.",
        references=(
            "https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/configuring-IMDS-existing-instances.html",
        ),
        compliance=_cis("5.6"),
    ),
    _rule(
        id="aws-ec2-ebs-unencrypted",
        title="EBS volume is not encrypted",
        severity=Severity.MEDIUM,
        native_types=("AWS::EC2::Volume",),
        check=_false("encrypted"),
        description="The volume's data, snapshots and traffic to the instance are not encrypted.",
        remediation="Copy a snapshot with encryption on and replace the volume; turn on EBS "
        "encryption by default for the region.",
        references=("https://docs.aws.amazon.com/ebs/latest/userguide/ebs-encryption.html",),
        compliance=_cis("2.2.1"),
    ),
    _rule(
        id="aws-s3-bucket-public-acl",
        title="S3 bucket is public through its ACL",
        severity=Severity.CRITICAL,
        native_types=(BUCKET,),
        check=_public_acl,
        description="The bucket's ACL grants a permission to AllUsers or AuthenticatedUsers.",
        remediation="Remove the grants and turn on the bucket's public access block.",
        references=(S3_BPA_DOC,),
        compliance=_cis("2.1.4"),
    ),
    _rule(
        id="aws-s3-bucket-public-policy",
        title="S3 bucket is public through its policy",
        severity=Severity.CRITICAL,
        native_types=(BUCKET,),
        check=_public_policy,
        description="The bucket policy allows the principal `*` without a condition.",
        remediation="Narrow the policy's principal or add a condition (aws:SourceVpce, "
        "aws:PrincipalOrgID); turn on the public access block.",
        references=(S3_BPA_DOC,),
        compliance=_cis("2.1.4"),
    ),
    _rule(
        id="aws-s3-bucket-no-public-access-block",
        title="S3 bucket lacks a complete public access block",
        severity=Severity.MEDIUM,
        native_types=(BUCKET,),
        check=_no_public_access_block,
        description="The bucket has no public access block, or one of its four settings is off.",
        remediation="Turn on all four settings of the bucket's public access block.",
        references=(S3_BPA_DOC,),
        compliance=_cis("2.1.4"),
    ),
    _rule(
        id="aws-s3-bucket-versioning-off",
        title="S3 bucket versioning is not enabled",
        severity=Severity.LOW,
        native_types=(BUCKET,),
        check=_versioning,
        description="Overwritten or deleted objects cannot be recovered.",
        remediation="Enable versioning (and a lifecycle rule for old versions).",
        references=("https://docs.aws.amazon.com/AmazonS3/latest/userguide/Versioning.html",),
    ),
    _rule(
        id="aws-s3-bucket-logging-off",
        title="S3 bucket access logging is off",
        severity=Severity.LOW,
        native_types=(BUCKET,),
        check=_logging,
        description="Requests to the bucket are not logged, so access cannot be audited.",
        remediation="Enable server access logging to a separate log bucket.",
        references=("https://docs.aws.amazon.com/AmazonS3/latest/userguide/ServerLogs.html",),
    ),
    _rule(
        id="aws-rds-unencrypted",
        title="RDS database storage is not encrypted",
        severity=Severity.HIGH,
        native_types=RDS,
        check=_false("storageEncrypted"),
        description="The database's storage, backups and snapshots are not encrypted at rest.",
        remediation="Restore an encrypted copy of a snapshot and switch over to it.",
        references=(
            "https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/Overview.Encryption.html",
        ),
        compliance=_cis("2.3.1"),
    ),
    _rule(
        id="aws-rds-public",
        title="RDS instance is publicly accessible",
        severity=Severity.HIGH,
        native_types=("AWS::RDS::DBInstance",),
        check=_true("publiclyAccessible"),
        description="The instance has a public DNS name resolving to a public address.",
        remediation="Set PubliclyAccessible to false and reach it from inside the VPC.",
        references=(
            "https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_VPC.WorkingWithRDSInstanceinaVPC.html",
        ),
        compliance=_cis("2.3.3"),
    ),
    _rule(
        id="aws-rds-backups-short",
        title="RDS backups are kept less than 7 days",
        severity=Severity.LOW,
        native_types=RDS,
        check=_backups,
        description="Automated backups are off (0) or kept fewer than 7 days.",
        remediation="Set the backup retention period to 7 days or more.",
        references=(
            "https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_WorkingWithAutomatedBackups.html",
        ),
    ),
    _rule(
        id="aws-rds-deletion-protection-off",
        title="RDS deletion protection is off",
        severity=Severity.LOW,
        native_types=RDS,
        check=_false("deletionProtection"),
        description="The database can be deleted by one API call.",
        remediation="Turn on deletion protection.",
        references=(
            "https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_DeleteInstance.html",
        ),
    ),
    _rule(
        id="aws-dynamodb-no-cmk",
        title="DynamoDB table is not encrypted with a KMS key",
        severity=Severity.LOW,
        native_types=("AWS::DynamoDB::Table",),
        check=_dynamodb_cmk,
        description="The table is encrypted with an AWS owned key: its use is not logged in "
        "CloudTrail and access to the key cannot be controlled.",
        remediation="Switch the table's encryption to an AWS managed or customer managed KMS key.",
        references=(
            "https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/EncryptionAtRest.html",
        ),
    ),
    _rule(
        id="aws-iam-user-no-mfa",
        title="IAM user with console access has no MFA",
        severity=Severity.HIGH,
        native_types=("AWS::IAM::User",),
        check=_no_mfa,
        description="The user can sign in to the console with a password alone.",
        remediation="Assign an MFA device to the user, or remove the console password.",
        references=("https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_mfa.html",),
        compliance=_cis("1.10"),
    ),
    _rule(
        id="aws-iam-access-key-old",
        title="IAM access key older than 90 days",
        severity=Severity.MEDIUM,
        native_types=("AWS::IAM::User",),
        check=_old_keys,
        description=f"An active access key was created more than {ACCESS_KEY_MAX_DAYS} days "
        "before the sync.",
        remediation="Create a new key, move its users to it, then deactivate and delete the "
        "old one.",
        references=(
            "https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_access-keys.html",
        ),
        compliance=_cis("1.14"),
    ),
    _rule(
        id="aws-iam-policy-admin",
        title="Customer-managed IAM policy allows full administration",
        severity=Severity.HIGH,
        native_types=("AWS::IAM::ManagedPolicy",),
        check=_true("allowsAdmin"),
        description="The policy's default version allows `*` on `*`.",
        remediation="Grant only the actions and resources the policy's users need.",
        references=("https://docs.aws.amazon.com/IAM/latest/UserGuide/best-practices.html",),
        compliance=_cis("1.16"),
    ),
    _rule(
        id="aws-iam-role-trusts-anyone",
        title="IAM role can be assumed by any principal",
        severity=Severity.CRITICAL,
        native_types=("AWS::IAM::Role",),
        check=_any_principal,
        description="The role's trust policy allows `*` as principal: any AWS account may "
        "assume it.",
        remediation="Name the accounts or services that may assume the role, or add conditions.",
        references=(
            "https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_terms-and-concepts.html",
        ),
    ),
    _rule(
        id="aws-kms-rotation-off",
        title="KMS key rotation is off",
        severity=Severity.MEDIUM,
        native_types=("AWS::KMS::Key",),
        check=_rotation,
        description="A customer managed key that supports automatic rotation does not rotate.",
        remediation="Enable automatic key rotation.",
        references=("https://docs.aws.amazon.com/kms/latest/developerguide/rotate-keys.html",),
        compliance=_cis("3.6"),
    ),
    _rule(
        id="aws-lambda-deprecated-runtime",
        title="Lambda function uses a deprecated runtime",
        severity=Severity.MEDIUM,
        native_types=("AWS::Lambda::Function",),
        check=_runtime,
        description="The runtime no longer receives security patches from AWS.",
        remediation="Move the function to a supported runtime version.",
        references=("https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtimes.html",),
    ),
    _rule(
        id="aws-eks-public-endpoint",
        title="EKS API endpoint is open to the internet",
        severity=Severity.MEDIUM,
        native_types=("AWS::EKS::Cluster",),
        check=_eks_public,
        description="The cluster's API server endpoint is public and accepts 0.0.0.0/0.",
        remediation="Turn off public access, or restrict publicAccessCidrs to known ranges.",
        references=("https://docs.aws.amazon.com/eks/latest/userguide/cluster-endpoint.html",),
    ),
    _rule(
        id="aws-eks-secrets-unencrypted",
        title="EKS secrets are not envelope-encrypted",
        severity=Severity.MEDIUM,
        native_types=("AWS::EKS::Cluster",),
        check=_false("secretsEncryption"),
        description="Kubernetes secrets are not encrypted with a KMS key.",
        remediation="Enable secrets encryption with a KMS key on the cluster.",
        references=("https://docs.aws.amazon.com/eks/latest/userguide/enable-kms.html",),
    ),
    _rule(
        id="aws-sqs-public-policy",
        title="SQS queue policy allows anyone",
        severity=Severity.HIGH,
        native_types=("AWS::SQS::Queue",),
        check=_public_policy,
        description="The queue policy allows the principal `*` without a condition.",
        remediation="Name the principals that may use the queue, or add conditions.",
        references=(
            "https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-basic-examples-of-sqs-policies.html",
        ),
    ),
    _rule(
        id="aws-sqs-unencrypted",
        title="SQS queue is not encrypted",
        severity=Severity.LOW,
        native_types=("AWS::SQS::Queue",),
        check=_sqs_unencrypted,
        description="Neither SQS-managed nor KMS server-side encryption is on.",
        remediation="Enable server-side encryption on the queue.",
        references=(
            "https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-server-side-encryption.html",
        ),
    ),
    _rule(
        id="aws-sns-public-policy",
        title="SNS topic policy allows anyone",
        severity=Severity.HIGH,
        native_types=("AWS::SNS::Topic",),
        check=_public_policy,
        description="The topic policy allows the principal `*` without a condition.",
        remediation="Name the principals that may publish or subscribe, or add conditions.",
        references=("https://docs.aws.amazon.com/sns/latest/dg/sns-access-policy-use-cases.html",),
    ),
    _rule(
        id="aws-sns-unencrypted",
        title="SNS topic is not encrypted",
        severity=Severity.LOW,
        native_types=("AWS::SNS::Topic",),
        check=_false("encrypted"),
        description="Messages are stored without server-side encryption.",
        remediation="Set a KMS key on the topic.",
        references=("https://docs.aws.amazon.com/sns/latest/dg/sns-server-side-encryption.html",),
    ),
    _rule(
        id="aws-ecr-public-policy",
        title="ECR repository policy allows anyone",
        severity=Severity.HIGH,
        native_types=("AWS::ECR::Repository",),
        check=_public_policy,
        description="The repository policy allows the principal `*` without a condition.",
        remediation="Name the accounts that may pull, or add conditions.",
        references=(
            "https://docs.aws.amazon.com/AmazonECR/latest/userguide/repository-policies.html",
        ),
    ),
    _rule(
        id="aws-ecr-scan-on-push-off",
        title="ECR repository does not scan images on push",
        severity=Severity.LOW,
        native_types=("AWS::ECR::Repository",),
        check=_false("scanOnPush"),
        description="Pushed images are not scanned for known vulnerabilities.",
        remediation="Enable scan on push (or enhanced scanning for the registry).",
        references=("https://docs.aws.amazon.com/AmazonECR/latest/userguide/image-scanning.html",),
    ),
    _rule(
        id="aws-cloudfront-http-allowed",
        title="CloudFront distribution serves plain HTTP",
        severity=Severity.MEDIUM,
        native_types=("AWS::CloudFront::Distribution",),
        check=_viewer_http,
        description="The default behaviour's viewer protocol policy is allow-all.",
        remediation="Set the viewer protocol policy to redirect-to-https or https-only.",
        references=(
            "https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/using-https-viewers-to-cloudfront.html",
        ),
    ),
    _rule(
        id="aws-elb-http-listener",
        title="Internet-facing load balancer listens on plain HTTP",
        severity=Severity.MEDIUM,
        native_types=(
            "AWS::ElasticLoadBalancing::LoadBalancer",
            "AWS::ElasticLoadBalancingV2::LoadBalancer",
        ),
        check=_plain_listener,
        description="An internet-facing load balancer has an HTTP listener (traffic in clear).",
        remediation="Serve HTTPS and redirect the HTTP listener to it.",
        references=(
            "https://docs.aws.amazon.com/elasticloadbalancing/latest/application/create-https-listener.html",
        ),
    ),
    _rule(
        id="aws-logs-short-retention",
        title="Log group keeps logs less than a year",
        severity=Severity.INFO,
        native_types=("AWS::Logs::LogGroup",),
        check=_log_retention,
        description="The log group's retention is under 365 days (never-expiring groups pass).",
        remediation="Set a retention of 365 days or more where the logs serve audits.",
        references=(
            "https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/Working-with-log-groups-and-streams.html",
        ),
    ),
)
