"""What the credential mutations do: check input, seal secrets, write rows, audit.

Plain functions of typed arguments returning a `CredentialOutcome`; the resolvers only map it to
a payload. Every statement is built by the caller's `OwnerScope`, so another user's credential is
simply not found, exactly like a missing one. Secrets are sealed here and never read back.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from core.problems import Problem, ProblemCode
from db.audit import Client, record_audit
from db.enums import AuditOutcome, HealthStatus, Provider, SecurityEventKind
from db.ids import new_id
from db.models import CloudCredentialRow
from db.scoping import ScopedDatabase
from graph.credentials.inputs import (
    AddCredentialInput,
    DeleteCredentialInput,
    UpdateCredentialInput,
)
from graph.credentials.validation import Problems, check_name, check_region, check_secret
from graph.errors import BadRequest, ErrorCode, PublicError
from graph.node import from_global_id, to_global_id
from providers.secrets import (
    AwsRoleSecret,
    AzureFederatedSecret,
    CloudSecret,
    GcpImpersonationSecret,
    new_external_id,
    provider_of,
)
from providers.vault_access import seal_into
from security.security_events import raise_event
from security.vault import Vault

NODE_TYPE = "CloudCredential"
NOT_FOUND = Problem(("id",), ProblemCode.NOT_FOUND, "No such credential.")
TAKEN = Problem(("name",), ProblemCode.TAKEN, "You already have a credential with this name.")


@dataclass(frozen=True, slots=True)
class CredentialWriter:
    """What writing a user's credentials needs: their database, the vault, the request's origin
    (for audit events) and each provider's default region."""

    db: ScopedDatabase
    vault: Vault
    client: Client
    default_regions: Mapping[Provider, str]


@dataclass
class CredentialOutcome:
    row: CloudCredentialRow | None = None
    # The global ID of a deleted credential.
    deleted_id: str | None = None
    problems: list[Problem] = field(default_factory=list)


def _keyless_refusal(writer: CredentialWriter, secret: CloudSecret | None) -> list[Problem]:
    """Keyless credentials sign in as the server itself (its federated token, its Google
    identity), which every customer who trusts the server has granted access to. Anyone naming
    another customer's app registration or service account would read that customer's cloud
    (the confused deputy), so only an administrator, who owns that identity, may bind it."""
    if writer.db.scope.is_admin:
        return []
    if isinstance(secret, AzureFederatedSecret):
        where = "azureFederated"
    elif isinstance(secret, GcpImpersonationSecret):
        where = "gcpImpersonation"
    else:
        return []
    return [
        Problem(
            ("secret", where),
            ProblemCode.ADMIN_REQUIRED,
            "Only an administrator may add a credential that signs in with the server's own "
            "identity; use a client secret or key, or ask an administrator.",
        )
    ]


def decode_credential_id(global_id: str) -> uuid.UUID | None:
    """The local id behind a credential's global ID; None for anything else (reported missing)."""
    try:
        return from_global_id(global_id, NODE_TYPE)[1]
    except BadRequest:
        return None


def _audit(
    writer: CredentialWriter,
    session: AsyncSession,
    action: str,
    row: CloudCredentialRow,
    **extra: object,
) -> None:
    record_audit(
        session,
        action,
        AuditOutcome.SUCCESS,
        user_id=row.user_id,
        ip=writer.client.ip,
        user_agent=writer.client.user_agent,
        details={
            "credential_id": to_global_id(NODE_TYPE, row.id),
            "provider": row.provider.value,
            "name": row.name,
            "fingerprint": row.fingerprint,
            **extra,
        },
    )


async def _audit_not_found(writer: CredentialWriter, action: str, global_id: str) -> None:
    async with writer.db.session() as session:
        record_audit(
            session,
            action,
            AuditOutcome.FAILURE,
            user_id=writer.db.scope.user_id,
            ip=writer.client.ip,
            user_agent=writer.client.user_agent,
            details={"credential_id": global_id[:200], "reason": "not_found"},
        )


async def _name_taken(
    db: ScopedDatabase, session: AsyncSession, name: str, except_id: uuid.UUID | None = None
) -> bool:
    statement = db.scope.select_columns(CloudCredentialRow, CloudCredentialRow.id).where(
        CloudCredentialRow.name == name
    )
    if except_id is not None:
        statement = statement.where(CloudCredentialRow.id != except_id)
    return (await session.execute(statement.limit(1))).first() is not None


async def add_credential(writer: CredentialWriter, data: AddCredentialInput) -> CredentialOutcome:
    problems = Problems()
    name = check_name(data.name, problems)
    region = check_region(data.default_region, problems) if data.default_region else None
    secret = check_secret(data.secret, problems)
    problems.errors += _keyless_refusal(writer, secret)
    if problems.errors or name is None or secret is None:
        return CredentialOutcome(problems=problems.errors)
    owner = writer.db.scope.user_id
    if owner is None:  # behind IsAuthenticated; fails closed if a permission class is missing
        raise PublicError("Authentication required", ErrorCode.UNAUTHENTICATED)
    provider = provider_of(secret)
    row = CloudCredentialRow(
        id=new_id(),
        user_id=owner,
        provider=provider,
        name=name,
        default_region=region or writer.default_regions[provider],
        health_status=HealthStatus.UNKNOWN,
    )
    seal_into(row, secret, writer.vault)
    if isinstance(secret, AwsRoleSecret):
        row.external_id = new_external_id()
    try:
        async with writer.db.session() as session:
            if await _name_taken(writer.db, session, name):
                return CredentialOutcome(problems=[TAKEN])
            session.add(row)
            await session.flush()
            _audit(writer, session, "credential.add", row)
    except IntegrityError:  # a concurrent add won the race for the name
        return CredentialOutcome(problems=[TAKEN])
    return CredentialOutcome(row=row)


async def update_credential(
    writer: CredentialWriter, data: UpdateCredentialInput
) -> CredentialOutcome:
    problems = Problems()
    name = check_name(data.name, problems) if data.name is not None else None
    region = (
        check_region(data.default_region, problems) if data.default_region is not None else None
    )
    secret = check_secret(data.secret, problems) if data.secret else None
    problems.errors += _keyless_refusal(writer, secret)
    if problems.errors:
        return CredentialOutcome(problems=problems.errors)
    credential_id = decode_credential_id(data.id)
    result: CloudCredentialRow | None = None
    try:
        async with writer.db.session() as session:
            row = await _load_for_update(writer.db, session, credential_id)
            if row is not None:
                refused = await _refusal(writer.db, session, row, name, secret)
                if refused:
                    return CredentialOutcome(problems=refused)
                changed = _apply(writer.vault, row, name, region, secret)
                if changed:
                    await session.flush()
                    _audit(writer, session, "credential.update", row, changed=changed)
                if "secret" in changed:
                    raise_event(
                        session,
                        SecurityEventKind.CREDENTIAL_SECRET_REPLACED,
                        user_id=row.user_id,
                        ip=writer.client.ip,
                        user_agent=writer.client.user_agent,
                        details={
                            "credential_id": to_global_id(NODE_TYPE, row.id),
                            "name": row.name,
                            "fingerprint": row.fingerprint,
                        },
                    )
                result = row
    except IntegrityError:  # a concurrent rename won the race for the name
        return CredentialOutcome(problems=[TAKEN])
    if result is None:
        await _audit_not_found(writer, "credential.update", data.id)
        return CredentialOutcome(problems=[NOT_FOUND])
    return CredentialOutcome(row=result)


async def _load_for_update(
    db: ScopedDatabase, session: AsyncSession, credential_id: uuid.UUID | None
) -> CloudCredentialRow | None:
    if credential_id is None:
        return None
    statement = db.scope.select(CloudCredentialRow).where(CloudCredentialRow.id == credential_id)
    return (await session.scalars(statement.with_for_update())).first()


async def _refusal(
    db: ScopedDatabase,
    session: AsyncSession,
    row: CloudCredentialRow,
    name: str | None,
    secret: CloudSecret | None,
) -> list[Problem]:
    problems: list[Problem] = []
    if secret is not None and provider_of(secret) != row.provider:
        # A credential's provider never changes: its inventory and jobs belong to that cloud.
        problems.append(
            Problem(
                ("secret",),
                ProblemCode.INVALID,
                f"This credential is for {row.provider.value}; a secret for another provider "
                "needs a new credential.",
            )
        )
    if name is not None and name != row.name and await _name_taken(db, session, name, row.id):
        problems.append(TAKEN)
    return problems


def _apply(
    vault: Vault,
    row: CloudCredentialRow,
    name: str | None,
    region: str | None,
    secret: CloudSecret | None,
) -> list[str]:
    """Change the row; return the names of the fields that changed (never their values)."""
    changed: list[str] = []
    if name is not None and name != row.name:
        row.name = name
        changed.append("name")
    if region is not None and region != row.default_region:
        row.default_region = region
        changed.append("defaultRegion")
    if secret is not None:
        # A fresh nonce under the primary key; the old health check said nothing about this key.
        seal_into(row, secret, vault)
        # Generated once and kept for the credential's life, whatever the updates: the role's
        # trust policy names it, and the user never chooses it.
        if isinstance(secret, AwsRoleSecret) and row.external_id is None:
            row.external_id = new_external_id()
        row.health_status = HealthStatus.UNKNOWN
        row.health_response_ms = None
        row.health_checked_at = None
        row.health_error = None
        changed.append("secret")
    return changed


async def delete_credential(
    writer: CredentialWriter, data: DeleteCredentialInput
) -> CredentialOutcome:
    credential_id = decode_credential_id(data.id)
    deleted = None
    if credential_id is not None:
        async with writer.db.session() as session:
            statement = writer.db.scope.select(CloudCredentialRow).where(
                CloudCredentialRow.id == credential_id
            )
            row = (await session.scalars(statement)).first()
            if row is not None:
                # Resources, sync jobs and sync scopes go with it (ON DELETE CASCADE).
                await session.execute(
                    writer.db.scope.delete(CloudCredentialRow).where(
                        CloudCredentialRow.id == row.id
                    )
                )
                _audit(writer, session, "credential.delete", row)
                deleted = to_global_id(NODE_TYPE, row.id)
    if deleted is None:
        await _audit_not_found(writer, "credential.delete", data.id)
        return CredentialOutcome(problems=[NOT_FOUND])
    return CredentialOutcome(deleted_id=deleted)
