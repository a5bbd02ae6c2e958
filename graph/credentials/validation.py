"""Shape checks for credential input: `Problem`s that name the argument at fault.

Nothing here talks to a cloud: it only refuses input that cannot possibly be a working secret, so
a typo is caught at once instead of at the first sync. Messages never repeat the submitted value.
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass, field

from cryptography.hazmat.primitives.serialization import load_pem_private_key

from core.problems import Problem, ProblemCode
from graph.credentials.inputs import CredentialSecretInput
from providers.secrets import AwsRoleSecret, AwsSecret, AzureSecret, CloudSecret, GcpSecret

NAME_MAX = 100
REGION_RE = re.compile(r"^[a-z][a-z0-9-]{0,62}[a-z0-9]$")
# AWS documents access key ids as 16–128 word characters.
AWS_KEY_ID_RE = re.compile(r"^\w{16,128}$", re.ASCII)
# GCP project ids: lowercase letter first; legacy domain-scoped ids contain '.' and ':'.
GCP_PROJECT_RE = re.compile(r"^[a-z][-a-z0-9.:]{4,62}[a-z0-9]$")
# IAM: a role ARN names a partition, a 12-digit account and a role (path and name, 1–64 name
# characters from IAM's set).
AWS_ROLE_ARN_RE = re.compile(
    r"^arn:aws(-cn|-us-gov)?:iam::[0-9]{12}:role/([\x21-\x7e]{0,510}/)?[\w+=,.@-]{1,64}$",
    re.ASCII,
)
AWS_ROLE_NAME_RE = re.compile(r"^[\w+=,.@-]{1,64}$", re.ASCII)
AWS_REGION_RE = re.compile(r"^[a-z]{2}(-[a-z]+)+-[0-9]{1,2}$")
AWS_REGIONS_MAX = 64
SECRET_MAX = 1024
SESSION_TOKEN_MAX = 8192
SERVICE_ACCOUNT_JSON_MAX = 64 * 1024


@dataclass
class Problems:
    """Problems collected under a common path prefix inside `input`."""

    prefix: tuple[str, ...] = ()
    errors: list[Problem] = field(default_factory=list)

    def add(self, name: str, code: ProblemCode, message: str) -> None:
        self.errors.append(Problem((*self.prefix, name), code, message))

    def under(self, *names: str) -> Problems:
        """A view adding errors to the same list under a longer prefix."""
        return Problems((*self.prefix, *names), self.errors)


def check_name(value: str | None, problems: Problems) -> str | None:
    name = (value or "").strip()
    if not name:
        problems.add("name", ProblemCode.REQUIRED, "Give the credential a name.")
        return None
    if len(name) > NAME_MAX:
        problems.add("name", ProblemCode.TOO_LONG, f"Use at most {NAME_MAX} characters.")
        return None
    return name


def check_region(value: str, problems: Problems) -> str | None:
    region = value.strip()
    if not REGION_RE.match(region):
        problems.add(
            "defaultRegion",
            ProblemCode.INVALID,
            "Not a region name (lowercase letters, digits and dashes, e.g. us-east-1).",
        )
        return None
    return region


def _required_text(value: str | None, name: str, limit: int, problems: Problems) -> str | None:
    text = (value or "").strip()
    if not text:
        problems.add(name, ProblemCode.REQUIRED, f"{name} is required.")
        return None
    if len(text) > limit:
        problems.add(name, ProblemCode.TOO_LONG, f"{name} is longer than {limit} characters.")
        return None
    if any(ch.isspace() for ch in text):
        problems.add(name, ProblemCode.INVALID, f"{name} must not contain spaces.")
        return None
    return text


def check_aws(
    access_key_id: str | None,
    secret_access_key: str | None,
    session_token: str | None,
    problems: Problems,
) -> AwsSecret | None:
    before = len(problems.errors)
    key_id = (access_key_id or "").strip()
    if not key_id:
        problems.add("accessKeyId", ProblemCode.REQUIRED, "accessKeyId is required.")
    elif not AWS_KEY_ID_RE.match(key_id):
        problems.add(
            "accessKeyId",
            ProblemCode.INVALID,
            "An access key id is 16 to 128 letters and digits (e.g. AKIA…).",
        )
    secret = _required_text(secret_access_key, "secretAccessKey", SECRET_MAX, problems)
    token = None
    if session_token is not None and session_token.strip():
        token = _required_text(session_token, "sessionToken", SESSION_TOKEN_MAX, problems)
    if len(problems.errors) > before or secret is None:
        return None
    return AwsSecret(access_key_id=key_id, secret_access_key=secret, session_token=token)


def check_aws_role(
    role_arn: str | None,
    member_role_name: str | None,
    regions: list[str] | None,
    problems: Problems,
) -> AwsRoleSecret | None:
    before = len(problems.errors)
    arn = (role_arn or "").strip()
    if not arn:
        problems.add("roleArn", ProblemCode.REQUIRED, "roleArn is required.")
    elif len(arn) > 2048 or not AWS_ROLE_ARN_RE.match(arn):
        problems.add(
            "roleArn",
            ProblemCode.INVALID,
            "A role ARN looks like arn:aws:iam::123456789012:role/RoleName "
            "(a 12-digit account id and an IAM role name).",
        )
    member = (member_role_name or "").strip() or None
    if member is not None and not AWS_ROLE_NAME_RE.match(member):
        problems.add(
            "memberRoleName",
            ProblemCode.INVALID,
            "A role name is 1 to 64 letters, digits and +=,.@_- (no path, no ARN).",
        )
    chosen = [region.strip() for region in regions or []]
    if len(chosen) > AWS_REGIONS_MAX:
        problems.add("regions", ProblemCode.TOO_LONG, f"Give at most {AWS_REGIONS_MAX} regions.")
    elif not all(AWS_REGION_RE.match(region) for region in chosen):
        problems.add(
            "regions", ProblemCode.INVALID, "Every region must be an AWS region name (us-east-1)."
        )
    if len(problems.errors) > before:
        return None
    return AwsRoleSecret(role_arn=arn, member_role_name=member, regions=tuple(sorted(set(chosen))))


def _uuid_field(value: str | None, name: str, problems: Problems) -> str | None:
    text = (value or "").strip()
    if not text:
        problems.add(name, ProblemCode.REQUIRED, f"{name} is required.")
        return None
    try:
        return str(uuid.UUID(text))
    except ValueError:
        problems.add(
            name, ProblemCode.INVALID, f"{name} must be a UUID (xxxxxxxx-xxxx-xxxx-xxxx-…)."
        )
        return None


def check_azure(
    tenant_id: str | None,
    client_id: str | None,
    client_secret: str | None,
    subscription_id: str | None,
    problems: Problems,
) -> AzureSecret | None:
    tenant = _uuid_field(tenant_id, "tenantId", problems)
    client = _uuid_field(client_id, "clientId", problems)
    secret = _required_text(client_secret, "clientSecret", SECRET_MAX, problems)
    subscription = _uuid_field(subscription_id, "subscriptionId", problems)
    if tenant is None or client is None or secret is None or subscription is None:
        return None
    return AzureSecret(
        tenant_id=tenant, client_id=client, client_secret=secret, subscription_id=subscription
    )


def _service_account_problem(document: object) -> str | None:
    """What is wrong with a parsed service-account key file, in words that quote none of it."""
    if not isinstance(document, dict):
        return "serviceAccountJson must be a JSON object (the downloaded key file)."
    if document.get("type") != "service_account":
        return 'serviceAccountJson needs "type": "service_account".'
    email = document.get("client_email")
    if not isinstance(email, str) or "@" not in email:
        return "serviceAccountJson needs a client_email."
    project = document.get("project_id")
    if not isinstance(project, str) or not GCP_PROJECT_RE.match(project):
        return "serviceAccountJson needs a valid project_id."
    key = document.get("private_key")
    if not isinstance(key, str) or "PRIVATE KEY" not in key:
        return "serviceAccountJson needs a PEM private_key."
    try:
        load_pem_private_key(key.encode(), password=None)
    except (ValueError, TypeError):
        return "serviceAccountJson's private_key is not a readable PEM private key."
    return None


def check_gcp(
    service_account_json: str | None, project_id: str | None, problems: Problems
) -> GcpSecret | None:
    raw = (service_account_json or "").strip()
    name = "serviceAccountJson"
    if not raw:
        problems.add(name, ProblemCode.REQUIRED, "serviceAccountJson is required.")
        return None
    if len(raw) > SERVICE_ACCOUNT_JSON_MAX:
        problems.add(name, ProblemCode.TOO_LONG, "serviceAccountJson is too large.")
        return None
    try:
        document = json.loads(raw)
    except ValueError:
        # The decoder's message may quote the document; say only that it is not JSON.
        problems.add(name, ProblemCode.INVALID, "serviceAccountJson is not valid JSON.")
        return None
    problem = _service_account_problem(document)
    if problem is not None:
        problems.add(name, ProblemCode.INVALID, problem)
        return None
    project = (project_id or "").strip() or str(document["project_id"])
    if not GCP_PROJECT_RE.match(project):
        problems.add("projectId", ProblemCode.INVALID, "Not a valid GCP project id.")
        return None
    return GcpSecret(project_id=project, service_account_json=raw)


def check_secret(secret: CredentialSecretInput, problems: Problems) -> CloudSecret | None:
    """The one provider-specific secret of a `@oneOf` input, checked; None if it is refused."""
    at = problems.under("secret")
    if secret.aws:
        aws = secret.aws
        return check_aws(
            aws.access_key_id, aws.secret_access_key, aws.session_token, at.under("aws")
        )
    if secret.aws_role:
        role = secret.aws_role
        return check_aws_role(
            role.role_arn, role.member_role_name, role.regions, at.under("awsRole")
        )
    if secret.azure:
        az = secret.azure
        return check_azure(
            az.tenant_id, az.client_id, az.client_secret, az.subscription_id, at.under("azure")
        )
    if secret.gcp:
        return check_gcp(secret.gcp.service_account_json, secret.gcp.project_id, at.under("gcp"))
    # @oneOf guarantees one branch; this only guards direct (non-GraphQL) callers.
    problems.add("secret", ProblemCode.REQUIRED, "Give exactly one of aws, azure or gcp.")
    return None
