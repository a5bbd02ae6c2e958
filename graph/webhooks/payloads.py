"""Payloads of the webhook mutations: a result field plus `userErrors`."""

from __future__ import annotations

import strawberry

from graph.user_errors import UserError
from graph.webhooks.types import Webhook, WebhookDelivery


@strawberry.type(description="Result of addWebhook.")
class AddWebhookPayload:
    webhook: Webhook | None = strawberry.field(
        description="The new webhook; null when userErrors is not empty."
    )
    secret: str | None = strawberry.field(
        description="The signing secret (`whsec_…`), shown this once: keep it to verify the "
        "`webhook-signature` header. Null when userErrors is not empty."
    )
    user_errors: list[UserError] = strawberry.field(description="Why the input was refused.")


@strawberry.type(description="Result of updateWebhook.")
class UpdateWebhookPayload:
    webhook: Webhook | None = strawberry.field(
        description="The webhook after the change; null when userErrors is not empty."
    )
    user_errors: list[UserError] = strawberry.field(description="Why the input was refused.")


@strawberry.type(description="Result of deleteWebhook.")
class DeleteWebhookPayload:
    deleted_id: strawberry.ID | None = strawberry.field(
        description="The global ID of the deleted webhook; null when nothing was deleted."
    )
    user_errors: list[UserError] = strawberry.field(description="Why nothing was deleted.")


@strawberry.type(description="Result of testWebhook.")
class TestWebhookPayload:
    delivery: WebhookDelivery | None = strawberry.field(
        description="The test delivery (`webhook.test`) after its one attempt."
    )
    user_errors: list[UserError] = strawberry.field(description="Why nothing was sent.")
