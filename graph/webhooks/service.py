"""What the webhook mutations do: check the input, write through the owner scope, audit.

Domain functions in the one service pattern: typed arguments (a `WebhookWriter`, the input),
an outcome with `core.problems.Problem`s; `graph.webhooks.mutations` maps it to the payload.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from core.problems import Problem, ProblemCode
from db.audit import Client, record_audit
from db.enums import AuditOutcome, DeliveryStatus
from db.ids import new_id
from db.models import WebhookDeliveryRow, WebhookRow
from db.scoping import ScopedDatabase
from db.types import utcnow
from graph.errors import BadRequest
from graph.node import from_global_id, to_global_id
from graph.webhooks.inputs import AddWebhookInput, UpdateWebhookInput, WebhookIdInput
from graph.webhooks.types import WebhookEvent
from integrations.webhooks.dispatcher import WebhookDispatcher
from integrations.webhooks.events import TEST_EVENT_TYPE, payload
from integrations.webhooks.signing import new_secret, seal_secret
from integrations.webhooks.ssrf import BlockedAddress
from integrations.webhooks.urls import InvalidURL, check_receiver
from security.vault import Vault

MAX_WEBHOOKS = 20
MAX_DESCRIPTION_CHARS = 500
NOT_FOUND = Problem(("id",), ProblemCode.NOT_FOUND, "No such webhook.")


@dataclass(frozen=True, slots=True)
class WebhookWriter:
    """What changing a user's webhooks needs: their database, the vault (secrets), the
    dispatcher (address checks, test deliveries) and the request's origin (audit events)."""

    db: ScopedDatabase
    vault: Vault
    dispatcher: WebhookDispatcher
    client: Client


@dataclass
class WebhookOutcome:
    row: WebhookRow | None = None
    # The signing secret of a new webhook, shown once.
    secret: str | None = None
    delivery: WebhookDeliveryRow | None = None
    # The global ID of a deleted webhook.
    deleted_id: str | None = None
    problems: list[Problem] = field(default_factory=list)


def _row_id(global_id: str) -> uuid.UUID | None:
    try:
        return from_global_id(global_id, "Webhook")[1]
    except BadRequest:
        return None


async def _url_problem(writer: WebhookWriter, url: str) -> Problem | None:
    try:
        await check_receiver(url.strip(), writer.dispatcher.options)
    except InvalidURL as invalid:
        return Problem(("url",), ProblemCode.INVALID, str(invalid))
    except BlockedAddress as refused:
        return Problem(
            ("url",), ProblemCode.INVALID, f"Webhooks may not reach this URL: {refused}."
        )
    return None


def _events_problem(events: list[WebhookEvent]) -> Problem | None:
    if not events:
        return Problem(("events",), ProblemCode.REQUIRED, "Choose at least one event.")
    return None


def _description_problem(description: str | None) -> Problem | None:
    if description is not None and len(description) > MAX_DESCRIPTION_CHARS:
        return Problem(
            ("description",),
            ProblemCode.TOO_LONG,
            f"The description is limited to {MAX_DESCRIPTION_CHARS} characters.",
        )
    return None


def _events(events: list[WebhookEvent]) -> list[str]:
    return sorted({event.name for event in events})


def _audit(writer: WebhookWriter, session: Any, action: str, webhook_id: uuid.UUID) -> None:
    record_audit(
        session,
        action,
        AuditOutcome.SUCCESS,
        user_id=writer.db.scope.user_id,
        ip=writer.client.ip,
        user_agent=writer.client.user_agent,
        details={"webhook_id": to_global_id("Webhook", webhook_id)},
    )


async def add_webhook(writer: WebhookWriter, given: AddWebhookInput) -> WebhookOutcome:
    owner = writer.db.scope.user_id
    if owner is None:  # permission classes let only signed-in callers here
        return WebhookOutcome(problems=[NOT_FOUND])
    problems = [
        p
        for p in (
            _events_problem(given.events),
            _description_problem(given.description),
            await _url_problem(writer, given.url),
        )
        if p is not None
    ]
    if problems:
        return WebhookOutcome(problems=problems)
    row_id = new_id()
    secret = new_secret()
    sealed = seal_secret(writer.vault, secret, owner, row_id)
    row = WebhookRow(
        id=row_id,
        user_id=owner,
        url=given.url.strip(),
        events=_events(given.events),
        description=given.description,
        enabled=True,
        key_id=sealed.key_id,
        secret_ciphertext=sealed.blob,
        consecutive_failures=0,
    )
    async with writer.db.session() as session:
        existing = int(await session.scalar(writer.db.scope.count(WebhookRow)) or 0)
        if existing >= MAX_WEBHOOKS:
            message = f"You can have at most {MAX_WEBHOOKS} webhooks."
            return WebhookOutcome(problems=[Problem(None, ProblemCode.INVALID, message)])
        session.add(row)
        _audit(writer, session, "webhook.add", row_id)
    return WebhookOutcome(row=row, secret=secret)


async def update_webhook(writer: WebhookWriter, given: UpdateWebhookInput) -> WebhookOutcome:
    row_id = _row_id(given.id)
    problems = [
        p
        for p in (
            _events_problem(given.events) if given.events is not None else None,
            _description_problem(given.description),
            await _url_problem(writer, given.url) if given.url is not None else None,
        )
        if p is not None
    ]
    if problems:
        return WebhookOutcome(problems=problems)
    values: dict[str, Any] = {"updated_at": utcnow()}
    if given.url is not None:
        values["url"] = given.url.strip()
    if given.events is not None:
        values["events"] = _events(given.events)
    if given.description is not None:
        values["description"] = given.description
    if given.enabled is not None:
        values["enabled"] = given.enabled
        if given.enabled:  # turned on again: a fresh start
            values.update(disabled_reason=None, consecutive_failures=0)
    scope = writer.db.scope
    async with writer.db.session() as session:
        row = None
        if row_id is not None:
            await session.execute(
                scope.update(WebhookRow)
                .where(WebhookRow.id == row_id)
                .values(**values)
                .execution_options(synchronize_session=False)
            )
            row = await session.scalar(
                scope.select(WebhookRow)
                .where(WebhookRow.id == row_id)
                .execution_options(populate_existing=True)
            )
        if row is None:
            return WebhookOutcome(problems=[NOT_FOUND])
        _audit(writer, session, "webhook.update", row.id)
    return WebhookOutcome(row=row)


async def delete_webhook(writer: WebhookWriter, given: WebhookIdInput) -> WebhookOutcome:
    row_id = _row_id(given.id)
    deleted = 0
    if row_id is not None:
        async with writer.db.session() as session:
            result = await session.execute(
                writer.db.scope.delete(WebhookRow)
                .where(WebhookRow.id == row_id)
                .execution_options(synchronize_session=False)
            )
            deleted = getattr(result, "rowcount", 0)
            if deleted:
                _audit(writer, session, "webhook.delete", row_id)
    if not deleted or row_id is None:
        return WebhookOutcome(problems=[NOT_FOUND])
    return WebhookOutcome(deleted_id=to_global_id("Webhook", row_id))


async def test_webhook(writer: WebhookWriter, given: WebhookIdInput) -> WebhookOutcome:
    """Queue a `webhook.test` delivery and make its one attempt now."""
    row_id = _row_id(given.id)
    scope = writer.db.scope
    now = utcnow()
    delivery_id = new_id()
    async with writer.db.session() as session:
        found = (
            await session.scalar(scope.count(WebhookRow).where(WebhookRow.id == row_id))
            if row_id is not None
            else 0
        )
        if found and row_id is not None:
            data = {"webhookId": to_global_id("Webhook", row_id), "message": "Test delivery."}
            session.add(
                WebhookDeliveryRow(
                    id=delivery_id,
                    user_id=scope.user_id,
                    webhook_id=row_id,
                    event_type=TEST_EVENT_TYPE,
                    payload=payload(TEST_EVENT_TYPE, data, now),
                    status=DeliveryStatus.PENDING,
                    attempts=0,
                    # Picked up by the workers only if this process dies before its attempt.
                    next_attempt_at=now + writer.dispatcher.options.lease,
                )
            )
    if not found:
        return WebhookOutcome(problems=[NOT_FOUND])
    await writer.dispatcher.deliver_now(delivery_id)
    async with writer.db.session() as session:
        delivery = await session.scalar(
            scope.select(WebhookDeliveryRow).where(WebhookDeliveryRow.id == delivery_id)
        )
    return WebhookOutcome(delivery=delivery)


async def list_webhooks(db: ScopedDatabase) -> list[WebhookRow]:
    async with db.session() as session:
        rows = await session.scalars(
            db.scope.select(WebhookRow).order_by(WebhookRow.created_at.desc(), WebhookRow.id)
        )
        return list(rows)
