"""What the credential mutations do: check input, seal secrets, write rows, audit.

Every statement is built by the caller's `OwnerScope`, so another user's credential is simply not
found, exactly like a missing one. Secrets are sealed here and never read back.
"""

from __future__ import annotations

import uuid

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from db.audit import record_audit
from db.enums import AuditOutcome, HealthStatus, Provider, SecurityEventKind
from db.models import CloudCredentialRow
from graph.context import Context
from graph.credentials.inputs import (
    AddCredentialInput,
    DeleteCredentialInput,
    UpdateCredentialInput,
)
from graph.credentials.payloads import (
    AddCredentialPayload,
    DeleteCredentialPayload,
    UpdateCredentialPayload,
)
from graph.credentials.types import CloudCredential
from graph.credentials.validation import Problems, check_name, check_region, check_secret
from graph.errors import BadRequest
from graph.node import from_global_id, to_global_id
from graph.user_errors import UserError, UserErrorCode, user_error
from providers.secrets import CloudSecret, provider_of
from providers.vault_access import seal_into
from security.security_events import raise_event

NODE_TYPE = "CloudCredential"


def _not_found() -> UserError:
    return user_error(UserErrorCode.NOT_FOUND, "No such credential.", ["id"])


def _taken() -> UserError:
    return user_error(
        UserErrorCode.TAKEN, "You already have a credential with this name.", ["name"]
    )


def decode_credential_id(global_id: str) -> uuid.UUID | None:
    """The local id behind a credential's global ID; None for anything else (reported missing)."""
    try:
        return from_global_id(global_id, NODE_TYPE)[1]
    except BadRequest:
        return None


def _default_region(ctx: Context, provider: Provider) -> str:
    settings = ctx.runtime.settings
    return {
        Provider.AWS: settings.aws_region,
        Provider.AZURE: settings.azure_region,
        Provider.GCP: settings.gcp_region,
    }[provider]


def _audit(
    ctx: Context, session: AsyncSession, action: str, row: CloudCredentialRow, **extra: object
) -> None:
    record_audit(
        session,
        action,
        AuditOutcome.SUCCESS,
        user_id=row.user_id,
        ip=ctx.client_ip,
        user_agent=ctx.user_agent,
        details={
            "credential_id": to_global_id(NODE_TYPE, row.id),
            "provider": row.provider.value,
            "name": row.name,
            "fingerprint": row.fingerprint,
            **extra,
        },
    )


async def _audit_not_found(ctx: Context, action: str, global_id: str) -> None:
    async with ctx.db.session() as session:
        record_audit(
            session,
            action,
            AuditOutcome.FAILURE,
            user_id=ctx.db.scope.user_id,
            ip=ctx.client_ip,
            user_agent=ctx.user_agent,
            details={"credential_id": global_id[:200], "reason": "not_found"},
        )


async def _name_taken(
    ctx: Context, session: AsyncSession, name: str, except_id: uuid.UUID | None = None
) -> bool:
    statement = ctx.db.scope.select_columns(CloudCredentialRow, CloudCredentialRow.id).where(
        CloudCredentialRow.name == name
    )
    if except_id is not None:
        statement = statement.where(CloudCredentialRow.id != except_id)
    return (await session.execute(statement.limit(1))).first() is not None


async def add_credential(ctx: Context, data: AddCredentialInput) -> AddCredentialPayload:
    problems = Problems()
    name = check_name(data.name, problems)
    region = check_region(data.default_region, problems) if data.default_region else None
    secret = check_secret(data.secret, problems)
    if problems.errors or name is None or secret is None:
        return AddCredentialPayload(credential=None, user_errors=problems.errors)
    owner = ctx.require_user().id
    provider = provider_of(secret)
    row = CloudCredentialRow(
        id=uuid.uuid4(),
        user_id=owner,
        provider=provider,
        name=name,
        default_region=region or _default_region(ctx, provider),
        health_status=HealthStatus.UNKNOWN,
    )
    seal_into(row, secret, ctx.runtime.vault)
    try:
        async with ctx.db.session() as session:
            if await _name_taken(ctx, session, name):
                return AddCredentialPayload(credential=None, user_errors=[_taken()])
            session.add(row)
            await session.flush()
            _audit(ctx, session, "credential.add", row)
    except IntegrityError:  # a concurrent add won the race for the name
        return AddCredentialPayload(credential=None, user_errors=[_taken()])
    return AddCredentialPayload(credential=CloudCredential.from_row(row), user_errors=[])


async def update_credential(ctx: Context, data: UpdateCredentialInput) -> UpdateCredentialPayload:
    problems = Problems()
    name = check_name(data.name, problems) if data.name is not None else None
    region = (
        check_region(data.default_region, problems) if data.default_region is not None else None
    )
    secret = check_secret(data.secret, problems) if data.secret else None
    if problems.errors:
        return UpdateCredentialPayload(credential=None, user_errors=problems.errors)
    credential_id = decode_credential_id(data.id)
    result: CloudCredential | None = None
    try:
        async with ctx.db.session() as session:
            row = await _load_for_update(ctx, session, credential_id)
            if row is not None:
                refused = await _refusal(ctx, session, row, name, secret)
                if refused:
                    return UpdateCredentialPayload(credential=None, user_errors=refused)
                changed = _apply(ctx, row, name, region, secret)
                if changed:
                    await session.flush()
                    _audit(ctx, session, "credential.update", row, changed=changed)
                if "secret" in changed:
                    raise_event(
                        session,
                        SecurityEventKind.CREDENTIAL_SECRET_REPLACED,
                        user_id=row.user_id,
                        ip=ctx.client_ip,
                        user_agent=ctx.user_agent,
                        details={
                            "credential_id": to_global_id(NODE_TYPE, row.id),
                            "name": row.name,
                            "fingerprint": row.fingerprint,
                        },
                    )
                result = CloudCredential.from_row(row)
    except IntegrityError:  # a concurrent rename won the race for the name
        return UpdateCredentialPayload(credential=None, user_errors=[_taken()])
    if result is None:
        await _audit_not_found(ctx, "credential.update", data.id)
        return UpdateCredentialPayload(credential=None, user_errors=[_not_found()])
    return UpdateCredentialPayload(credential=result, user_errors=[])


async def _load_for_update(
    ctx: Context, session: AsyncSession, credential_id: uuid.UUID | None
) -> CloudCredentialRow | None:
    if credential_id is None:
        return None
    statement = ctx.db.scope.select(CloudCredentialRow).where(
        CloudCredentialRow.id == credential_id
    )
    return (await session.scalars(statement.with_for_update())).first()


async def _refusal(
    ctx: Context,
    session: AsyncSession,
    row: CloudCredentialRow,
    name: str | None,
    secret: CloudSecret | None,
) -> list[UserError]:
    errors: list[UserError] = []
    if secret is not None and provider_of(secret) != row.provider:
        # A credential's provider never changes: its inventory and jobs belong to that cloud.
        errors.append(
            user_error(
                UserErrorCode.INVALID,
                f"This credential is for {row.provider.value}; a secret for another provider "
                "needs a new credential.",
                ["secret"],
            )
        )
    if name is not None and name != row.name and await _name_taken(ctx, session, name, row.id):
        errors.append(_taken())
    return errors


def _apply(
    ctx: Context,
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
        seal_into(row, secret, ctx.runtime.vault)
        row.health_status = HealthStatus.UNKNOWN
        row.health_response_ms = None
        row.health_checked_at = None
        row.health_error = None
        changed.append("secret")
    return changed


async def delete_credential(ctx: Context, data: DeleteCredentialInput) -> DeleteCredentialPayload:
    credential_id = decode_credential_id(data.id)
    deleted = None
    if credential_id is not None:
        async with ctx.db.session() as session:
            statement = ctx.db.scope.select(CloudCredentialRow).where(
                CloudCredentialRow.id == credential_id
            )
            row = (await session.scalars(statement)).first()
            if row is not None:
                # Resources, sync jobs and sync scopes go with it (ON DELETE CASCADE).
                await session.execute(
                    ctx.db.scope.delete(CloudCredentialRow).where(CloudCredentialRow.id == row.id)
                )
                _audit(ctx, session, "credential.delete", row)
                deleted = to_global_id(NODE_TYPE, row.id)
    if deleted is None:
        await _audit_not_found(ctx, "credential.delete", data.id)
        return DeleteCredentialPayload(deleted_id=None, user_errors=[_not_found()])
    return DeleteCredentialPayload(deleted_id=deleted, user_errors=[])
