"""GCP rules, over the bucket configuration of `providers/gcp_records.py`."""

from __future__ import annotations

from typing import Any

from db.enums import Provider, Severity
from sync.findings.rules.base import Check, Compliance, Details, Rule, Subject, setting

CIS = "CIS GCP Foundations 3.0"
BUCKET = "storage.googleapis.com/Bucket"
IAM_DOC = "https://cloud.google.com/storage/docs/access-control/iam"


def _members(member: str) -> Check:
    def check(subject: Subject) -> Details | None:
        bound = [
            b
            for b in setting(subject.configuration, "publicBindings") or []
            if b.get("member") == member
        ]
        return {"bindings": bound} if bound else None

    return check


def _prevention(subject: Subject) -> Details | None:
    value = setting(subject.configuration, "publicAccessPrevention")
    return None if value == "enforced" else {"publicAccessPrevention": value}


def _is_not(key: str, good: object) -> Check:
    def check(subject: Subject) -> Details | None:
        value = setting(subject.configuration, key)
        return None if value == good else {key: value}

    return check


def _no_cmek(subject: Subject) -> Details | None:
    return None if setting(subject.configuration, "defaultKmsKey") else {"defaultKmsKey": None}


def _rule(**fields: Any) -> Rule:
    return Rule(provider=Provider.GCP, native_types=(BUCKET,), **fields)


RULES: tuple[Rule, ...] = (
    _rule(
        id="gcp-storage-bucket-all-users",
        title="Bucket is readable by anyone (allUsers)",
        severity=Severity.CRITICAL,
        check=_members("allUsers"),
        description="An IAM binding grants a role on the bucket to allUsers: anyone on the "
        "internet, without signing in.",
        remediation="Remove the allUsers binding and enforce public access prevention.",
        references=(IAM_DOC,),
        compliance=(Compliance(CIS, "5.1"),),
    ),
    _rule(
        id="gcp-storage-bucket-all-authenticated-users",
        title="Bucket is open to any Google account (allAuthenticatedUsers)",
        severity=Severity.HIGH,
        check=_members("allAuthenticatedUsers"),
        description="An IAM binding grants a role on the bucket to every signed-in Google account.",
        remediation="Remove the allAuthenticatedUsers binding; grant roles to named principals.",
        references=(IAM_DOC,),
        compliance=(Compliance(CIS, "5.1"),),
    ),
    _rule(
        id="gcp-storage-bucket-public-access-prevention-off",
        title="Bucket does not enforce public access prevention",
        severity=Severity.MEDIUM,
        check=_prevention,
        description="Public access prevention is not `enforced`: a later binding or ACL could "
        "make the bucket public.",
        remediation="Set publicAccessPrevention to enforced (or enforce it by organization "
        "policy).",
        references=("https://cloud.google.com/storage/docs/public-access-prevention",),
    ),
    _rule(
        id="gcp-storage-bucket-uniform-access-off",
        title="Bucket does not use uniform bucket-level access",
        severity=Severity.MEDIUM,
        check=_is_not("uniformBucketLevelAccess", True),
        description="Object ACLs still apply, so access cannot be reviewed from IAM alone.",
        remediation="Enable uniform bucket-level access.",
        references=("https://cloud.google.com/storage/docs/uniform-bucket-level-access",),
        compliance=(Compliance(CIS, "5.2"),),
    ),
    _rule(
        id="gcp-storage-bucket-versioning-off",
        title="Bucket versioning is not enabled",
        severity=Severity.LOW,
        check=_is_not("versioning", True),
        description="Overwritten or deleted objects cannot be recovered.",
        remediation="Enable object versioning (with a lifecycle rule for old versions).",
        references=("https://cloud.google.com/storage/docs/object-versioning",),
    ),
    _rule(
        id="gcp-storage-bucket-no-cmek",
        title="Bucket has no customer-managed default key",
        severity=Severity.INFO,
        check=_no_cmek,
        description="Objects are encrypted with Google-managed keys.",
        remediation="Set a Cloud KMS default key on the bucket where policy requires it.",
        references=("https://cloud.google.com/storage/docs/encryption/customer-managed-keys",),
    ),
)
