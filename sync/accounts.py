"""The cloud accounts of a credential as data: what discovery reported, which accounts a listing
reached, and each account's outcome and resource count after its sync."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from db.enums import AccountStatus
from db.ids import new_id
from db.models import CloudAccountRow, CloudCredentialRow, CloudResourceRow
from db.upserts import per_dialect
from providers.base import ERROR_AUTH, ERROR_PERMISSION, CloudAccountInfo, ProviderError

_ACCOUNTS = CloudAccountRow.__table__
MAX_MESSAGE = 500


def status_of_failure(error: BaseException) -> AccountStatus:
    """What an account is when its plan failed: refused (AccessDenied on the member role), or
    not reached (unavailable, throttled, timed out, anything else)."""
    if isinstance(error, ProviderError) and error.code in (ERROR_AUTH, ERROR_PERMISSION):
        return AccountStatus.ACCESS_DENIED
    return AccountStatus.UNREACHABLE


async def _upsert(
    session: AsyncSession,
    credential: CloudCredentialRow,
    rows: Sequence[dict[str, Any]],
    changed: tuple[str, ...],
) -> None:
    if not rows:
        return
    values = [
        {
            "id": new_id(),
            "user_id": credential.user_id,
            "credential_id": credential.id,
            "resource_count": 0,
            **row,
        }
        for row in rows
    ]
    await session.execute(_STATEMENTS[changed](session), values)


def _statement(insert: Any, changed: tuple[str, ...]) -> Any:
    statement = insert(_ACCOUNTS)
    return statement.on_conflict_do_update(
        index_elements=[_ACCOUNTS.c.credential_id, _ACCOUNTS.c.account_id],
        set_={name: statement.excluded[name] for name in changed},
    )


_DISCOVERED: tuple[str, ...] = ("name", "status", "error_code", "error_message")
_LISTED: tuple[str, ...] = ("status", "last_synced_at", "error_code", "error_message")
_STATEMENTS: dict[tuple[str, ...], Callable[[AsyncSession], Any]] = {
    _DISCOVERED: per_dialect(lambda insert: _statement(insert, _DISCOVERED)),
    _LISTED: per_dialect(lambda insert: _statement(insert, _LISTED)),
}


async def record_discovered(
    session: AsyncSession,
    credential: CloudCredentialRow,
    accounts: Sequence[CloudAccountInfo],
    at: datetime,
) -> None:
    """Every account discovery reported, with its status; a non-ACTIVE one with its error."""
    rows = []
    for account in accounts:
        error = account.error
        rows.append(
            {
                "account_id": account.account_id[:128],
                "name": account.name[:256],
                "status": account.status,
                "error_code": error.code[:64] if error else None,
                "error_message": error.message[:MAX_MESSAGE] if error else None,
                "first_seen_at": at,
            }
        )
    await _upsert(session, credential, rows, _DISCOVERED)


async def record_listed(
    session: AsyncSession, credential: CloudCredentialRow, account_ids: Iterable[str], at: datetime
) -> None:
    """A credential of one account: the accounts its records belong to were just listed (named
    by their id until a discovery call names them)."""
    rows = [
        {
            "account_id": account_id[:128],
            "name": account_id[:256],
            "status": AccountStatus.ACTIVE,
            "last_synced_at": at,
            "error_code": None,
            "error_message": None,
            "first_seen_at": at,
        }
        for account_id in sorted(set(account_ids))
        if account_id
    ]
    await _upsert(session, credential, rows, _LISTED)


async def record_outcome(
    session: AsyncSession,
    credential_id: uuid.UUID,
    account_id: str,
    *,
    status: AccountStatus,
    error: dict[str, Any] | None,
    synced_at: datetime | None,
) -> None:
    """One account's sync ended: its status, its first error (if any), when it was listed."""
    values: dict[str, Any] = {
        "status": status,
        "error_code": error["code"] if error else None,
        "error_message": str(error["message"])[:MAX_MESSAGE] if error else None,
    }
    if synced_at is not None:
        values["last_synced_at"] = synced_at
    await session.execute(
        update(CloudAccountRow)
        .where(
            CloudAccountRow.credential_id == credential_id, CloudAccountRow.account_id == account_id
        )
        .values(**values)
        .execution_options(synchronize_session=False)
    )


async def refresh_counts(
    session: AsyncSession, credential_id: uuid.UUID, account_id: str | None = None
) -> None:
    """Each account's live resources, counted after its sync (one statement)."""
    live = (
        select(func.count())
        .select_from(CloudResourceRow)
        .where(
            CloudResourceRow.credential_id == credential_id,
            CloudResourceRow.account == CloudAccountRow.account_id,
            CloudResourceRow.deleted_at.is_(None),
        )
        .scalar_subquery()
    )
    statement = update(CloudAccountRow).where(CloudAccountRow.credential_id == credential_id)
    if account_id is not None:
        statement = statement.where(CloudAccountRow.account_id == account_id)
    await session.execute(
        statement.values(resource_count=live).execution_options(synchronize_session=False)
    )
