"""Inputs of the webhook mutations."""

from __future__ import annotations

import strawberry

from graph.webhooks.types import WebhookEvent


@strawberry.input(description="A new webhook.")
class AddWebhookInput:
    url: str = strawberry.field(
        description="The receiver: https:// (plain http:// only outside production)."
    )
    events: list[WebhookEvent] = strawberry.field(description="What it receives; at least one.")
    description: str | None = strawberry.field(default=None, description="A note, ≤ 500 chars.")


@strawberry.input(description="Changes to a webhook; omitted fields stay as they are.")
class UpdateWebhookInput:
    id: strawberry.ID = strawberry.field(description="The webhook.")
    url: str | None = strawberry.field(default=None, description="A new receiver URL.")
    events: list[WebhookEvent] | None = strawberry.field(
        default=None, description="The new set of events; at least one."
    )
    description: str | None = strawberry.field(default=None, description="A new note.")
    enabled: bool | None = strawberry.field(
        default=None,
        description="Turn it off, or on again (which also clears an automatic disabling).",
    )


@strawberry.input(description="Which webhook.")
class WebhookIdInput:
    id: strawberry.ID = strawberry.field(description="The webhook.")
