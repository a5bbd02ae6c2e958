"""Where the progress of a run over scopes goes: the job row (a credential of one account), or
one part of an organization-wide job and, through it, the job."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from sync import jobs, parts


class Progress(Protocol):
    """Where a run's progress goes: the job row, or a part and its job."""

    @property
    def job_id(self) -> uuid.UUID: ...

    async def add(
        self,
        session: AsyncSession,
        *,
        step: float,
        added: int = 0,
        updated: int = 0,
        removed: int = 0,
        succeeded: int = 0,
        errors: list[dict[str, Any]] | None = None,
        warnings: list[dict[str, Any]] | None = None,
    ) -> None: ...


@dataclass(frozen=True, slots=True)
class JobProgress:
    job_id: uuid.UUID
    worker_id: str

    async def add(
        self,
        session: AsyncSession,
        *,
        step: float,
        added: int = 0,
        updated: int = 0,
        removed: int = 0,
        succeeded: int = 0,
        errors: list[dict[str, Any]] | None = None,
        warnings: list[dict[str, Any]] | None = None,
    ) -> None:
        await jobs.add_progress(
            session, self.job_id, self.worker_id, step=step, added=added, updated=updated,
            removed=removed, errors=errors, warnings=warnings,
        )  # fmt: skip


@dataclass(frozen=True, slots=True)
class PartProgress:
    lease: parts.PartLease

    @property
    def job_id(self) -> uuid.UUID:
        return self.lease.job_id

    async def add(
        self,
        session: AsyncSession,
        *,
        step: float,
        added: int = 0,
        updated: int = 0,
        removed: int = 0,
        succeeded: int = 0,
        errors: list[dict[str, Any]] | None = None,
        warnings: list[dict[str, Any]] | None = None,
    ) -> None:
        await parts.add_progress(
            session, self.lease, step=step, added=added, updated=updated, removed=removed,
            succeeded=succeeded, errors=errors, warnings=warnings,
        )  # fmt: skip
