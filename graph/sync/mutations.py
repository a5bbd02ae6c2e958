"""`startSync`: queue a sync of one credential or of all the caller's credentials."""

from __future__ import annotations

from typing import Annotated

import strawberry

from graph.context import Info
from graph.permissions import IsAuthenticated
from graph.sync import service
from graph.sync.types import SyncJob
from graph.user_errors import UserError, user_errors


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
        outcome = await service.start_sync(
            info.context.db,
            info.context.runtime.sync,
            str(input.credential_id) if input.credential_id is not None else None,
        )
        return StartSyncPayload(
            jobs=[SyncJob.from_row(row) for row in outcome.jobs],
            user_errors=user_errors(outcome.problems),
        )
