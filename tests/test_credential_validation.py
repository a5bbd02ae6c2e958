"""Shape checks of secret input: each refusal names the field, and never quotes the value."""

from __future__ import annotations

import json
from typing import Any

import pytest

from graph.credentials.inputs import (
    AwsSecretInput,
    AzureFederatedSecretInput,
    AzureSecretInput,
    CredentialSecretInput,
    GcpImpersonationSecretInput,
    GcpSecretInput,
)
from graph.credentials.validation import Problems, check_name, check_region, check_secret
from graph.user_errors import user_errors
from providers.secrets import (
    AwsSecret,
    AzureFederatedSecret,
    AzureSecret,
    GcpImpersonationSecret,
    GcpSecret,
)
from tests.credential_data import service_account

UUID = "2b1c6a5e-3f57-4a8e-9d6b-0c1f2e3d4a5b"
SECRET = "s3cr3t-VALUE-never-echoed"


def aws(**overrides: Any) -> CredentialSecretInput:
    values = {"access_key_id": "AKIAIOSFODNN7EXAMPLE", "secret_access_key": SECRET}
    return CredentialSecretInput(aws=AwsSecretInput(**{**values, **overrides}))


def azure(**overrides: Any) -> CredentialSecretInput:
    values = {
        "tenant_id": UUID,
        "client_id": UUID,
        "client_secret": SECRET,
        "subscription_id": UUID,
    }
    return CredentialSecretInput(azure=AzureSecretInput(**{**values, **overrides}))


def gcp(
    document: Any = None,
    raw: str | None = None,
    project_id: str | None = None,
    scope: str | None = None,
) -> Any:
    text = raw if raw is not None else json.dumps(document or service_account())
    return CredentialSecretInput(
        gcp=GcpSecretInput(service_account_json=text, project_id=project_id, scope=scope)
    )


def federated(**overrides: Any) -> CredentialSecretInput:
    values = {"tenant_id": UUID, "client_id": UUID, "subscription_id": None}
    return CredentialSecretInput(
        azure_federated=AzureFederatedSecretInput(**{**values, **overrides})
    )


EMAIL = "reader@acme-prod-7.iam.gserviceaccount.com"


def impersonation(**overrides: Any) -> CredentialSecretInput:
    values = {"service_account_email": EMAIL, "scope": "folders/123"}
    return CredentialSecretInput(
        gcp_impersonation=GcpImpersonationSecretInput(**{**values, **overrides})
    )


FED = ["input", "secret", "azureFederated"]
IMP = ["input", "secret", "gcpImpersonation"]


BAD = [
    (aws(access_key_id=""), ["input", "secret", "aws", "accessKeyId"], "REQUIRED"),
    (aws(access_key_id="AKIA SHORT"), ["input", "secret", "aws", "accessKeyId"], "INVALID"),
    (
        aws(access_key_id="AKIA-IOSFODNN7EXAMPLE"),
        ["input", "secret", "aws", "accessKeyId"],
        "INVALID",
    ),
    (aws(secret_access_key="  "), ["input", "secret", "aws", "secretAccessKey"], "REQUIRED"),
    (aws(secret_access_key="a b"), ["input", "secret", "aws", "secretAccessKey"], "INVALID"),
    (aws(secret_access_key="x" * 2000), ["input", "secret", "aws", "secretAccessKey"], "TOO_LONG"),
    (aws(session_token="has space"), ["input", "secret", "aws", "sessionToken"], "INVALID"),
    (azure(tenant_id="contoso"), ["input", "secret", "azure", "tenantId"], "INVALID"),
    (azure(client_id="1234"), ["input", "secret", "azure", "clientId"], "INVALID"),
    (azure(client_secret=""), ["input", "secret", "azure", "clientSecret"], "REQUIRED"),
    (azure(subscription_id="sub"), ["input", "secret", "azure", "subscriptionId"], "INVALID"),
    (gcp(raw=""), ["input", "secret", "gcp", "serviceAccountJson"], "REQUIRED"),
    (gcp(raw="{" + SECRET), ["input", "secret", "gcp", "serviceAccountJson"], "INVALID"),
    (gcp(raw='["a list"]'), ["input", "secret", "gcp", "serviceAccountJson"], "INVALID"),
    (
        gcp(service_account(type="authorized_user")),
        ["input", "secret", "gcp", "serviceAccountJson"],
        "INVALID",
    ),
    (
        gcp(service_account(client_email=None)),
        ["input", "secret", "gcp", "serviceAccountJson"],
        "INVALID",
    ),
    (
        gcp(service_account(project_id="X")),
        ["input", "secret", "gcp", "serviceAccountJson"],
        "INVALID",
    ),
    (
        gcp(service_account(private_key=SECRET)),
        ["input", "secret", "gcp", "serviceAccountJson"],
        "INVALID",
    ),
    (
        gcp(
            service_account(
                private_key="-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"
            )
        ),
        ["input", "secret", "gcp", "serviceAccountJson"],
        "INVALID",
    ),
    (gcp(project_id="Not_A_Project"), ["input", "secret", "gcp", "projectId"], "INVALID"),
    (gcp(scope="folders/abc"), ["input", "secret", "gcp", "scope"], "INVALID"),
    (gcp(scope="billingAccounts/1"), ["input", "secret", "gcp", "scope"], "INVALID"),
    (gcp(scope="projects/X_Y"), ["input", "secret", "gcp", "scope"], "INVALID"),
    (gcp(scope="folders/123/x"), ["input", "secret", "gcp", "scope"], "INVALID"),
    (federated(tenant_id="contoso"), [*FED, "tenantId"], "INVALID"),
    (federated(tenant_id=""), [*FED, "tenantId"], "REQUIRED"),
    (federated(client_id="1234"), [*FED, "clientId"], "INVALID"),
    (federated(subscription_id="sub"), [*FED, "subscriptionId"], "INVALID"),
    (federated(subscription_id=" "), [*FED, "subscriptionId"], "REQUIRED"),
    (impersonation(service_account_email=""), [*IMP, "serviceAccountEmail"], "REQUIRED"),
    (impersonation(service_account_email="ann@example.com"), [*IMP, "serviceAccountEmail"],
     "INVALID"),
    (impersonation(service_account_email=f"a b{EMAIL}"), [*IMP, "serviceAccountEmail"],
     "INVALID"),
    (impersonation(scope=""), [*IMP, "scope"], "REQUIRED"),
    (impersonation(scope="organizations/acme"), [*IMP, "scope"], "INVALID"),
    (impersonation(scope="projects/"), [*IMP, "scope"], "INVALID"),
    (impersonation(scope=SECRET), [*IMP, "scope"], "INVALID"),
]  # fmt: skip


@pytest.mark.parametrize(("secret", "field", "code"), BAD)
def test_bad_secret_is_refused_naming_its_field(
    secret: CredentialSecretInput, field: list[str], code: str
) -> None:
    # when
    problems = Problems()
    checked = check_secret(secret, problems)
    # then
    assert checked is None
    assert [(e.field, e.code.name) for e in user_errors(problems.errors)] == [(field, code)]
    assert SECRET not in problems.errors[0].message


def test_good_secrets_become_their_provider_shapes() -> None:
    problems = Problems()
    checked = [
        check_secret(aws(session_token="FwoGZXIvYXdzE"), problems),
        check_secret(azure(tenant_id=UUID.upper()), problems),
        check_secret(gcp(service_account(project_id="acme-prod-7")), problems),
        check_secret(gcp(service_account(), project_id="other-project"), problems),
    ]
    assert problems.errors == []
    assert isinstance(checked[0], AwsSecret) and checked[0].session_token == "FwoGZXIvYXdzE"
    assert isinstance(checked[1], AzureSecret) and checked[1].tenant_id == UUID  # normalized
    assert isinstance(checked[2], GcpSecret) and checked[2].project_id == "acme-prod-7"
    assert isinstance(checked[3], GcpSecret) and checked[3].project_id == "other-project"


def test_keyless_and_multi_scope_secrets_become_their_shapes() -> None:
    problems = Problems()
    every = check_secret(azure(subscription_id=None), problems)
    fed = check_secret(federated(subscription_id=UUID.upper()), problems)
    folder = check_secret(gcp(scope="folders/123"), problems)
    project = check_secret(gcp(scope="projects/acme-other-1"), problems)
    imp = check_secret(impersonation(service_account_email=EMAIL.upper()), problems)
    compute = check_secret(
        impersonation(
            service_account_email="123456-compute@developer.gserviceaccount.com",
            scope="organizations/42",
        ),
        problems,
    )
    assert problems.errors == []
    # no subscription: every subscription the principal sees
    assert isinstance(every, AzureSecret) and every.subscription_id is None
    assert isinstance(fed, AzureFederatedSecret) and fed.subscription_id == UUID
    assert isinstance(folder, GcpSecret) and folder.scope == "folders/123"
    # a project scope is that project, stored as before (its scope keys stay unchanged)
    assert isinstance(project, GcpSecret)
    assert (project.project_id, project.scope) == ("acme-other-1", None)
    assert isinstance(imp, GcpImpersonationSecret) and imp.service_account_email == EMAIL
    assert isinstance(compute, GcpImpersonationSecret) and compute.scope == "organizations/42"


def test_every_problem_of_an_input_is_reported_at_once() -> None:
    problems = Problems()
    check_secret(azure(tenant_id="", client_id="x", subscription_id="y"), problems)
    assert [e.field[-1] for e in problems.errors if e.field] == [
        "tenantId",
        "clientId",
        "subscriptionId",
    ]
    problems = Problems()
    check_secret(impersonation(service_account_email="x", scope="y"), problems)
    assert [e.field for e in user_errors(problems.errors)] == [
        [*IMP, "serviceAccountEmail"],
        [*IMP, "scope"],
    ]


@pytest.mark.parametrize(
    ("name", "code"), [("", "REQUIRED"), ("   ", "REQUIRED"), ("x" * 101, "TOO_LONG")]
)
def test_bad_names(name: str, code: str) -> None:
    problems = Problems()
    assert check_name(name, problems) is None
    assert [(e.field, e.code.name) for e in user_errors(problems.errors)] == [
        (["input", "name"], code)
    ]


@pytest.mark.parametrize("region", ["us-east-1", "eastus", "us-central1", "europe-west1"])
def test_region_names_of_every_provider_are_accepted(region: str) -> None:
    problems = Problems()
    assert check_region(region, problems) == region
    assert problems.errors == []


@pytest.mark.parametrize("region", ["US-EAST-1", "us east", "-us", "a", "x" * 70])
def test_bad_region_names(region: str) -> None:
    problems = Problems()
    assert check_region(region, problems) is None
    assert [e.field for e in user_errors(problems.errors)] == [["input", "defaultRegion"]]
