"""`startSync`: queue a sync of one credential or of all the caller's credentials."""

from __future__ import annotations

import uuid
from typing import Annotated

import strawberry

from db.enums import SyncTrigger
from db.models import CloudCredentialRow
from graph.context import Info
from graph.errors import BadRequest
from graph.node import from_global_id
from graph.permissions import IsAuthenticated
from graph.sync.types import SyncJob
from graph.user_errors import UserError, UserErrorCode, user_error


@strawberry.input(description="Which credential to sync.")
class StartSyncInput:
    credential_id: strawberry.ID | None = strawberry.field(
        default=None, description="The credential to sync; omit it to sync all of yours."
    )


@strawberry.type(description="The jobs started (or already queued or running) by `startSync`.")
class StartSyncPayload:
    jobs: list[SyncJob] = strawberry.field(
        description="One job per credential; an already queued or running job is returned as is."
    )
    user_errors: list[UserError] = strawberry.field(description="Why the input was refused.")


async def _own_credential_ids(info: Info, only: uuid.UUID | None) -> list[uuid.UUID]:
    scope = info.context.db.scope
    statement = scope.select_columns(CloudCredentialRow, CloudCredentialRow.id).order_by(
        CloudCredentialRow.created_at, CloudCredentialRow.id
    )
    if only is not None:
        statement = statement.where(CloudCredentialRow.id == only)
    async with info.context.db.session() as session:
        return list((await session.scalars(statement)).all())


@strawberry.type
class SyncMutations:
    @strawberry.mutation(
        description=(
            "Queue a sync of one credential (or all of yours). One sync runs per credential at "
            "a time: starting one that is already queued or running returns that job."
        ),
        permission_classes=[IsAuthenticated],
    )
    async def start_sync(
        self,
        info: Info,
        input: Annotated[StartSyncInput, strawberry.argument(description="What to sync.")],
    ) -> StartSyncPayload:
        only: uuid.UUID | None = None
        field = ["input", "credentialId"]
        if input.credential_id is not None:
            try:
                _, only = from_global_id(str(input.credential_id), "CloudCredential")
            except BadRequest:
                error = user_error(UserErrorCode.INVALID, "Not a credential ID.", field)
                return StartSyncPayload(jobs=[], user_errors=[error])
        credential_ids = await _own_credential_ids(info, only)
        if only is not None and not credential_ids:
            error = user_error(UserErrorCode.NOT_FOUND, "No such credential among yours.", field)
            return StartSyncPayload(jobs=[], user_errors=[error])
        rows = await info.context.runtime.sync.start(credential_ids, SyncTrigger.MANUAL)
        return StartSyncPayload(jobs=[SyncJob.from_row(row) for row in rows], user_errors=[])
