"""The `sync_scopes` records: each scope's last outcome, written in the transaction of its work.

A completed scope that changed nothing (an empty listing, nothing stored) needs no transaction of
its own: its completion waits in `PendingCompletions` and is recorded, with its share of the
job's progress, by the job's next transaction (another scope's, or the job's end). One statement
shape records any number of completions (executemany), so the job's many empty scopes cost one
row each in a statement that runs anyway.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Table
from sqlalchemy.ext.asyncio import AsyncSession

from db.ids import new_id
from db.models import CloudCredentialRow, SyncScopeRow
from db.upserts import per_dialect
from providers.base import Scope

_SCOPES: Table = SyncScopeRow.__table__  # type: ignore[assignment]
_ALWAYS = ("last_job_id", "last_error_code")
_ON_COMPLETION = ("last_completed_at", "resource_count")


@dataclass(frozen=True, slots=True)
class Completion:
    scope: Scope
    completed_at: datetime
    count: int


class PendingCompletions:
    """A job's completed scopes not recorded yet (they changed nothing in the inventory)."""

    def __init__(self) -> None:
        self._waiting: list[Completion] = []

    def add(self, completion: Completion) -> None:
        self._waiting.append(completion)

    @asynccontextmanager
    async def taken(self) -> AsyncIterator[list[Completion]]:
        """The waiting completions, for a transaction to record; back in line if it fails."""
        taken, self._waiting = self._waiting, []
        try:
            yield taken
        except BaseException:
            self._waiting = taken + self._waiting
            raise


def _statement(insert: Any, changed: tuple[str, ...]) -> Any:
    statement = insert(_SCOPES)
    return statement.on_conflict_do_update(
        index_elements=[
            _SCOPES.c.credential_id,
            _SCOPES.c.account,
            _SCOPES.c.region,
            _SCOPES.c.kind,
        ],
        set_={name: statement.excluded[name] for name in changed},
    )


_COMPLETION = per_dialect(lambda insert: _statement(insert, _ALWAYS + _ON_COMPLETION))
_FAILURE = per_dialect(lambda insert: _statement(insert, _ALWAYS))


def _values(
    credential: CloudCredentialRow,
    scope: Scope,
    job_id: uuid.UUID,
    *,
    completed_at: datetime | None,
    count: int,
    error_code: str | None,
) -> dict[str, Any]:
    return {
        "id": new_id(),
        "user_id": credential.user_id,
        "credential_id": credential.id,
        "account": scope.account,
        "region": scope.region,
        "kind": scope.kind,
        "last_job_id": job_id,
        "last_error_code": error_code,
        "last_completed_at": completed_at,
        "resource_count": count,
    }


async def record_completions(
    session: AsyncSession,
    credential: CloudCredentialRow,
    completions: list[Completion],
    *,
    job_id: uuid.UUID,
) -> None:
    """Upsert the scopes' success (completion time and count); one statement for all."""
    if not completions:
        return
    rows = [
        _values(
            credential, c.scope, job_id, completed_at=c.completed_at, count=c.count, error_code=None
        )
        for c in completions
    ]
    await session.execute(_COMPLETION(session), rows)


async def record_failure(
    session: AsyncSession,
    credential: CloudCredentialRow,
    scope: Scope,
    *,
    job_id: uuid.UUID,
    error_code: str,
) -> None:
    """Upsert the scope's failure; it keeps the last completion time and count."""
    values = _values(credential, scope, job_id, completed_at=None, count=0, error_code=error_code)
    await session.execute(_FAILURE(session), [values])
