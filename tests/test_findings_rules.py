"""The rule catalogue: well-formed rules over documented kinds, and the checks' edge cases
(ports and ranges, IPv6, protocols, missing keys), each shown failing and passing."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest

from db.enums import Provider
from sync.findings.evaluate import Candidate, evaluate
from sync.findings.rules import BY_ID, FRAMEWORKS, RULES, Subject

PROVIDERS_DOC = (Path(__file__).resolve().parent.parent / "docs" / "providers.md").read_text()
PREFIX = {Provider.AWS: "aws-", Provider.AZURE: "azure-", Provider.GCP: "gcp-"}


def test_the_catalogue_has_at_least_30_well_formed_rules_over_the_three_clouds() -> None:
    assert len(RULES) >= 30
    assert {rule.provider for rule in RULES} == set(Provider)
    for rule in RULES:
        assert rule.id.startswith(PREFIX[rule.provider]), rule.id
        assert rule.title and rule.description and rule.remediation, rule.id
        assert rule.references and all(r.startswith("https://") for r in rule.references)
        # every kind a rule reads is a kind the inventory documents (and so lists)
        for native_type in rule.native_types:
            assert f"`{native_type}" in PROVIDERS_DOC, (rule.id, native_type)
    assert set(FRAMEWORKS) == {
        "CIS AWS Foundations 3.0",
        "CIS Azure Foundations 2.1",
        "CIS GCP Foundations 3.0",
    }


def check(rule_id: str, configuration: dict[str, Any], *related: dict[str, Any]) -> Any:
    rule = BY_ID[rule_id]
    return rule.check(Subject(rule.native_types[0], configuration, tuple(related)))


def ingress(protocol: str, low: int | None, high: int | None, *ranges: str) -> dict[str, Any]:
    v4 = [r for r in ranges if ":" not in r]
    v6 = [r for r in ranges if ":" in r]
    rule = {"protocol": protocol, "fromPort": low, "toPort": high, "ipv4Ranges": v4,
            "ipv6Ranges": v6, "sourceGroups": [], "prefixLists": []}  # fmt: skip
    return {"ingress": [rule], "egress": []}


@pytest.mark.parametrize(
    "rule_id, group, fails",
    [
        ("aws-ec2-sg-open-ssh", ingress("tcp", 22, 22, "0.0.0.0/0"), True),
        ("aws-ec2-sg-open-ssh", ingress("tcp", 20, 30, "::/0"), True),
        ("aws-ec2-sg-open-ssh", ingress("all", None, None, "0.0.0.0/0"), True),
        ("aws-ec2-sg-open-ssh", ingress("tcp", 22, 22, "10.0.0.0/8"), False),
        ("aws-ec2-sg-open-ssh", ingress("udp", 22, 22, "0.0.0.0/0"), False),
        ("aws-ec2-sg-open-ssh", ingress("tcp", 80, 443, "0.0.0.0/0"), False),
        ("aws-ec2-sg-open-rdp", ingress("tcp", 3389, 3389, "0.0.0.0/0"), True),
        ("aws-ec2-sg-open-all-ports", ingress("all", None, None, "::/0"), True),
        ("aws-ec2-sg-open-all-ports", ingress("tcp", 0, 65535, "0.0.0.0/0"), True),
        ("aws-ec2-sg-open-all-ports", ingress("tcp", 1, 1024, "0.0.0.0/0"), False),
        ("aws-ec2-sg-open-database-ports", ingress("tcp", 5432, 5432, "0.0.0.0/0"), True),
        ("aws-ec2-sg-open-database-ports", ingress("tcp", 5432, 5432, "192.0.2.0/24"), False),
    ],
)
def test_security_group_rules(rule_id: str, group: dict[str, Any], fails: bool) -> None:
    assert (check(rule_id, group) is not None) is fails


def test_the_exposed_instance_rule_needs_a_public_ip_and_an_open_group() -> None:
    open_group = ingress("tcp", 443, 443, "0.0.0.0/0")
    closed_group = ingress("tcp", 443, 443, "10.0.0.0/8")
    public = {"publicIp": "203.0.113.1"}
    assert check("aws-ec2-instance-exposed", public, closed_group, open_group) is not None
    assert check("aws-ec2-instance-exposed", public, closed_group) is None
    assert check("aws-ec2-instance-exposed", {"publicIp": None}, open_group) is None
    assert check("aws-ec2-instance-exposed", public) is None


@pytest.mark.parametrize(
    "rule_id, failing, passing",
    [
        ("aws-ec2-imdsv1-allowed", {"imdsv2Required": False}, {"imdsv2Required": True}),
        ("aws-ec2-ebs-unencrypted", {"encrypted": False}, {"encrypted": True}),
        ("aws-s3-bucket-public-acl", {"publicAclGrants": [{"grantee": "AllUsers"}]},
         {"publicAclGrants": []}),
        ("aws-s3-bucket-public-policy", {"policyAllowsPublic": True},
         {"policyAllowsPublic": False}),
        ("aws-s3-bucket-no-public-access-block", {"publicAccessBlock": None},
         {"publicAccessBlock": {"blockPublicAcls": True, "ignorePublicAcls": True,
                                "blockPublicPolicy": True, "restrictPublicBuckets": True}}),
        ("aws-rds-public", {"publiclyAccessible": True}, {"publiclyAccessible": False}),
        ("aws-rds-unencrypted", {"storageEncrypted": False}, {"storageEncrypted": True}),
        ("aws-dynamodb-no-cmk", {"encryption": {"type": "AWS_OWNED"}},
         {"encryption": {"type": "KMS"}}),
        ("aws-iam-user-no-mfa", {"consoleAccess": True, "mfaEnabled": False},
         {"consoleAccess": False, "mfaEnabled": False}),
        ("aws-iam-access-key-old", {"accessKeys": [{"status": "Active", "ageDays": 91}]},
         {"accessKeys": [{"status": "Inactive", "ageDays": 400},
                         {"status": "Active", "ageDays": 90}]}),
        ("aws-kms-rotation-off", {"keyManager": "CUSTOMER", "rotationEnabled": False},
         {"keyManager": "CUSTOMER", "rotationEnabled": None}),
        ("aws-lambda-deprecated-runtime", {"runtime": "python3.8"}, {"runtime": "python3.12"}),
        ("azure-storage-public-blob-access", {"allowBlobPublicAccess": True},
         {"allowBlobPublicAccess": False}),
        ("azure-storage-old-tls", {"minimumTlsVersion": "TLS1_0"}, {"minimumTlsVersion": "TLS1_2"}),
        ("gcp-storage-bucket-all-users", {"publicBindings": [{"role": "r", "member": "allUsers"}]},
         {"publicBindings": [{"role": "r", "member": "allAuthenticatedUsers"}]}),
        ("gcp-storage-bucket-all-authenticated-users",
         {"publicBindings": [{"role": "r", "member": "allAuthenticatedUsers"}]},
         {"publicBindings": []}),
    ],
)  # fmt: skip
def test_each_check_fails_and_passes(
    rule_id: str, failing: dict[str, Any], passing: dict[str, Any]
) -> None:
    assert check(rule_id, failing) is not None
    assert check(rule_id, passing) is None


def test_a_check_that_cannot_read_its_shape_leaves_the_finding_undecided() -> None:
    # given a stored security group whose ingress is not a list of rules
    candidate = Candidate(uuid.uuid4(), "sg-1", "AWS::EC2::SecurityGroup", {"ingress": [42]})
    # when it is evaluated
    result = evaluate([candidate], {})
    # then its checks are undecided (their findings are left as they are), never passing
    assert {rule_id for _, rule_id in result.undecided} >= {"aws-ec2-sg-open-ssh"}
    assert result.failing == {}


def test_azure_types_match_without_regard_to_case() -> None:
    candidate = Candidate(
        uuid.uuid4(),
        "/subscriptions/s/x",
        "microsoft.storage/STORAGEACCOUNTS",
        {"allowBlobPublicAccess": True, "minimumTlsVersion": "TLS1_2", "httpsOnly": True},
    )
    failing = {rule_id for _, rule_id in evaluate([candidate], {}).failing}
    assert "azure-storage-public-blob-access" in failing
