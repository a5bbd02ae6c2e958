"""Helpers for webhook tests: a resolver the test controls, a dispatcher aimed at the receiver."""

from __future__ import annotations

import uuid
from dataclasses import replace
from typing import Any

import httpcore
from sqlalchemy import select

from db.engine import Database
from db.models import WebhookDeliveryRow
from graph.runtime import Runtime
from integrations.webhooks.dispatcher import WebhookDispatcher
from integrations.webhooks.ssrf import AddressPolicy, BlockedAddress
from integrations.webhooks.transport import Limits
from tests.webhook_receiver import WebhookReceiver

ADD_WEBHOOK = """
mutation Add($input: AddWebhookInput!) {
  addWebhook(input: $input) {
    webhook { id url events enabled }
    secret
    userErrors { field code message }
  }
}
"""


class LoopbackOnly(httpcore.AnyIOBackend):
    """Opens connections to loopback only: even a broken guard can never make a test send
    traffic to a private or metadata address."""

    attempted: list[str]

    def __init__(self) -> None:
        self.attempted = []

    async def connect_tcp(self, host: str, port: int, *args: Any, **kwargs: Any) -> Any:
        self.attempted.append(host)
        if host not in ("127.0.0.1", "::1"):
            raise httpcore.ConnectError(f"the test network reaches loopback only, not {host}")
        return await super().connect_tcp(host, port, *args, **kwargs)


class FakeDNS:
    """Names → addresses, changeable between registration and delivery (DNS rebinding)."""

    def __init__(self, **names: list[str]) -> None:
        self.names = {k.replace("_", "."): v for k, v in names.items()}
        self.lookups: list[str] = []

    def set(self, host: str, addresses: list[str]) -> None:
        self.names[host] = addresses

    async def __call__(self, host: str, port: int) -> list[str]:
        self.lookups.append(host)
        if host not in self.names:
            raise BlockedAddress("the host name does not resolve")
        return list(self.names[host])


def aim_at(
    runtime: Runtime,
    receiver: WebhookReceiver,
    dns: FakeDNS,
    *,
    allow_private: bool = True,
    **changes: Any,
) -> WebhookDispatcher:
    """Replace the runtime's dispatcher: trusting the receiver's CA, resolving through `dns`."""
    options = replace(
        runtime.webhooks.options,
        resolver=dns,
        ssl_context=receiver.client_context(),
        policy=AddressPolicy(allow_private),
        connector=changes.pop("connector", LoopbackOnly()),
        limits=changes.pop("limits", Limits(connect_seconds=2, read_seconds=2, total_seconds=8)),
        **changes,
    )
    runtime.webhooks = WebhookDispatcher(runtime.database, runtime.vault, options)
    return runtime.webhooks


async def deliveries(database: Database, webhook_id: uuid.UUID | None = None) -> list[Any]:
    async with database.system_session() as session:
        statement = select(WebhookDeliveryRow).order_by(WebhookDeliveryRow.created_at)
        if webhook_id is not None:
            statement = statement.where(WebhookDeliveryRow.webhook_id == webhook_id)
        return list((await session.scalars(statement)).all())
