"""Webhook mutations: each calls its domain function in `graph.webhooks.service` and maps the
outcome to its payload."""

from __future__ import annotations

from typing import Annotated

import strawberry

from graph.context import Info
from graph.permissions import IsAuthenticated
from graph.user_errors import user_errors
from graph.webhooks import service
from graph.webhooks.inputs import AddWebhookInput, UpdateWebhookInput, WebhookIdInput
from graph.webhooks.payloads import (
    AddWebhookPayload,
    DeleteWebhookPayload,
    TestWebhookPayload,
    UpdateWebhookPayload,
)
from graph.webhooks.types import Webhook, WebhookDelivery


def _writer(info: Info) -> service.WebhookWriter:
    ctx = info.context
    return service.WebhookWriter(
        db=ctx.db, vault=ctx.runtime.vault, dispatcher=ctx.runtime.webhooks, client=ctx.client
    )


def _webhook(outcome: service.WebhookOutcome) -> Webhook | None:
    return Webhook.from_row(outcome.row) if outcome.row is not None else None


@strawberry.type
class WebhookMutations:
    @strawberry.mutation(
        description="Register a webhook; its signing secret is in the payload, this once.",
        permission_classes=[IsAuthenticated],
    )
    async def add_webhook(
        self,
        info: Info,
        input: Annotated[AddWebhookInput, strawberry.argument(description="The webhook.")],
    ) -> AddWebhookPayload:
        outcome = await service.add_webhook(_writer(info), input)
        return AddWebhookPayload(
            webhook=_webhook(outcome),
            secret=outcome.secret,
            user_errors=user_errors(outcome.problems),
        )

    @strawberry.mutation(
        description="Change a webhook's URL, events or note, or turn it off or on.",
        permission_classes=[IsAuthenticated],
    )
    async def update_webhook(
        self,
        info: Info,
        input: Annotated[UpdateWebhookInput, strawberry.argument(description="The changes.")],
    ) -> UpdateWebhookPayload:
        outcome = await service.update_webhook(_writer(info), input)
        return UpdateWebhookPayload(
            webhook=_webhook(outcome), user_errors=user_errors(outcome.problems)
        )

    @strawberry.mutation(
        description="Delete a webhook; deliveries still queued for it are dropped.",
        permission_classes=[IsAuthenticated],
    )
    async def delete_webhook(
        self,
        info: Info,
        input: Annotated[WebhookIdInput, strawberry.argument(description="Which webhook.")],
    ) -> DeleteWebhookPayload:
        outcome = await service.delete_webhook(_writer(info), input)
        return DeleteWebhookPayload(
            deleted_id=strawberry.ID(outcome.deleted_id) if outcome.deleted_id else None,
            user_errors=user_errors(outcome.problems),
        )

    @strawberry.mutation(
        description="Send a signed `webhook.test` event now, once, and return how it went.",
        permission_classes=[IsAuthenticated],
    )
    async def test_webhook(
        self,
        info: Info,
        input: Annotated[WebhookIdInput, strawberry.argument(description="Which webhook.")],
    ) -> TestWebhookPayload:
        outcome = await service.test_webhook(_writer(info), input)
        delivery = outcome.delivery
        return TestWebhookPayload(
            delivery=WebhookDelivery.from_row(delivery) if delivery is not None else None,
            user_errors=user_errors(outcome.problems),
        )
