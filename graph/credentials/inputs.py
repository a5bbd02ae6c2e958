"""Input types of the credential mutations. Secrets come in here and never go back out."""

from __future__ import annotations

import strawberry


@strawberry.input(description="An AWS access key pair (IAM user or temporary credentials).")
class AwsSecretInput:
    access_key_id: str = strawberry.field(description="The access key id, e.g. AKIA….")
    secret_access_key: str = strawberry.field(description="The secret access key.")
    session_token: str | None = strawberry.field(
        default=None, description="Session token, for temporary (ASIA…) credentials only."
    )


@strawberry.input(
    description=(
        "Keyless AWS access: a role in your account that this server assumes with an external "
        "ID it generates for the credential (see CloudCredential.onboarding)."
    )
)
class AwsRoleSecretInput:
    role_arn: str = strawberry.field(
        description=(
            "The role to assume, e.g. arn:aws:iam::123456789012:role/StratographReader; for an "
            "Organization, a role in the management or delegated-administrator account."
        )
    )
    member_role_name: str | None = strawberry.field(
        default=None,
        description=(
            "Set to cover an AWS Organization: the name of the role deployed in every member "
            "account (e.g. by a StackSet), assumed with the same external ID."
        ),
    )
    regions: list[str] | None = strawberry.field(
        default=None,
        description="Regions to list; omitted or empty: every region enabled for the account.",
    )


@strawberry.input(description="An Azure service principal and the subscription it reads.")
class AzureSecretInput:
    tenant_id: str = strawberry.field(description="Directory (tenant) id, a UUID.")
    client_id: str = strawberry.field(description="Application (client) id, a UUID.")
    client_secret: str = strawberry.field(description="The client secret value.")
    subscription_id: str = strawberry.field(description="Subscription id, a UUID.")


@strawberry.input(description="A GCP service-account key file and the project it reads.")
class GcpSecretInput:
    service_account_json: str = strawberry.field(
        description="The service-account key file (JSON) exactly as downloaded."
    )
    project_id: str | None = strawberry.field(
        default=None, description="Project to read; defaults to the key file's project_id."
    )


@strawberry.input(
    one_of=True, description="The secret of exactly one provider; it decides the provider."
)
class CredentialSecretInput:
    aws: AwsSecretInput | None = strawberry.field(
        default=strawberry.UNSET, description="An AWS access key."
    )
    aws_role: AwsRoleSecretInput | None = strawberry.field(
        default=strawberry.UNSET, description="An AWS role this server assumes (no stored key)."
    )
    azure: AzureSecretInput | None = strawberry.field(
        default=strawberry.UNSET, description="An Azure service principal."
    )
    gcp: GcpSecretInput | None = strawberry.field(
        default=strawberry.UNSET, description="A GCP service account."
    )


@strawberry.input(description="A new cloud credential.")
class AddCredentialInput:
    name: str = strawberry.field(description="Your name for it, unique among your credentials.")
    secret: CredentialSecretInput = strawberry.field(
        description="The secret; stored encrypted and never returned."
    )
    default_region: str | None = strawberry.field(
        default=None,
        description="Region used when none is given; defaults to the provider's default region.",
    )


@strawberry.input(description="Changes to a credential; omitted fields stay as they are.")
class UpdateCredentialInput:
    id: strawberry.ID = strawberry.field(description="The credential's global ID.")
    name: str | None = strawberry.field(default=None, description="A new name.")
    default_region: str | None = strawberry.field(default=None, description="A new region.")
    secret: CredentialSecretInput | None = strawberry.field(
        default=None,
        description="A replacement secret of the same provider (a provider cannot change).",
    )


@strawberry.input(description="The credential to delete.")
class DeleteCredentialInput:
    id: strawberry.ID = strawberry.field(description="The credential's global ID.")


@strawberry.input(description="Which credential to check.")
class VerifyCredentialInput:
    id: strawberry.ID = strawberry.field(description="The global ID of one of your credentials.")
