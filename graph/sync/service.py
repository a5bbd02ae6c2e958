"""`startSync`'s work: which of the caller's credentials to sync, then queue their jobs."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from core.problems import Problem, ProblemCode
from db.enums import SyncTrigger
from db.models import CloudCredentialRow, SyncJobRow
from db.scoping import ScopedDatabase
from graph.errors import BadRequest
from graph.node import from_global_id
from sync.service import SyncService


@dataclass
class StartSyncOutcome:
    jobs: list[SyncJobRow] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


async def start_sync(
    db: ScopedDatabase, sync: SyncService, credential_global_id: str | None
) -> StartSyncOutcome:
    """A job per credential (the one given, else all of the caller's); one already queued or
    running is returned as it is."""
    only: uuid.UUID | None = None
    if credential_global_id is not None:
        try:
            _, only = from_global_id(credential_global_id, "CloudCredential")
        except BadRequest:
            problem = Problem(("credentialId",), ProblemCode.INVALID, "Not a credential ID.")
            return StartSyncOutcome(problems=[problem])
    credential_ids = await _own_credential_ids(db, only)
    if only is not None and not credential_ids:
        message = "No such credential among yours."
        return StartSyncOutcome(
            problems=[Problem(("credentialId",), ProblemCode.NOT_FOUND, message)]
        )
    return StartSyncOutcome(jobs=await sync.start(credential_ids, SyncTrigger.MANUAL))


async def _own_credential_ids(db: ScopedDatabase, only: uuid.UUID | None) -> list[uuid.UUID]:
    statement = db.scope.select_columns(CloudCredentialRow, CloudCredentialRow.id).order_by(
        CloudCredentialRow.created_at, CloudCredentialRow.id
    )
    if only is not None:
        statement = statement.where(CloudCredentialRow.id == only)
    async with db.session() as session:
        return list((await session.scalars(statement)).all())
