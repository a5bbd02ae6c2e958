"""What the webhook mutations do: validate, write through the owner scope, audit."""

from __future__ import annotations

import uuid
from typing import Any

from db.audit import record_audit
from db.enums import AuditOutcome, DeliveryStatus
from db.models import WebhookDeliveryRow, WebhookRow
from db.types import utcnow
from graph.context import Context
from graph.errors import BadRequest
from graph.node import from_global_id, to_global_id
from graph.user_errors import UserError, UserErrorCode, user_error
from graph.webhooks.inputs import AddWebhookInput, UpdateWebhookInput, WebhookIdInput
from graph.webhooks.payloads import (
    AddWebhookPayload,
    DeleteWebhookPayload,
    TestWebhookPayload,
    UpdateWebhookPayload,
)
from graph.webhooks.types import Webhook, WebhookDelivery, WebhookEvent
from integrations.webhooks.events import TEST_EVENT_TYPE, payload
from integrations.webhooks.signing import new_secret, seal_secret
from integrations.webhooks.ssrf import BlockedAddress
from integrations.webhooks.urls import InvalidURL, check_receiver

MAX_WEBHOOKS = 20
MAX_DESCRIPTION_CHARS = 500
NOT_FOUND = "No such webhook."


def _row_id(global_id: str) -> uuid.UUID | None:
    try:
        return from_global_id(global_id, "Webhook")[1]
    except BadRequest:
        return None


async def _url_problem(ctx: Context, url: str) -> UserError | None:
    try:
        await check_receiver(url.strip(), ctx.runtime.webhooks.options)
    except InvalidURL as invalid:
        return user_error(UserErrorCode.INVALID, str(invalid), ["input", "url"])
    except BlockedAddress as refused:
        return user_error(
            UserErrorCode.INVALID, f"Webhooks may not reach this URL: {refused}.", ["input", "url"]
        )
    return None


def _events_problem(events: list[WebhookEvent]) -> UserError | None:
    if not events:
        return user_error(UserErrorCode.REQUIRED, "Choose at least one event.", ["input", "events"])
    return None


def _description_problem(description: str | None) -> UserError | None:
    if description is not None and len(description) > MAX_DESCRIPTION_CHARS:
        return user_error(
            UserErrorCode.TOO_LONG,
            f"The description is limited to {MAX_DESCRIPTION_CHARS} characters.",
            ["input", "description"],
        )
    return None


def _events(events: list[WebhookEvent]) -> list[str]:
    return sorted({event.name for event in events})


def _audit(ctx: Context, session: Any, action: str, webhook_id: uuid.UUID) -> None:
    record_audit(
        session,
        action,
        AuditOutcome.SUCCESS,
        user_id=ctx.db.scope.user_id,
        ip=ctx.client_ip,
        user_agent=ctx.user_agent,
        details={"webhook_id": to_global_id("Webhook", webhook_id)},
    )


async def add_webhook(ctx: Context, given: AddWebhookInput) -> AddWebhookPayload:
    problems = [
        p
        for p in (
            _events_problem(given.events),
            _description_problem(given.description),
            await _url_problem(ctx, given.url),
        )
        if p is not None
    ]
    if problems:
        return AddWebhookPayload(webhook=None, secret=None, user_errors=problems)
    owner = ctx.db.scope.user_id
    assert owner is not None  # IsAuthenticated ran first
    row_id = uuid.uuid4()
    secret = new_secret()
    sealed = seal_secret(ctx.runtime.vault, secret, owner, row_id)
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
    async with ctx.db.session() as session:
        existing = int(await session.scalar(ctx.db.scope.count(WebhookRow)) or 0)
        if existing >= MAX_WEBHOOKS:
            too_many = user_error(
                UserErrorCode.INVALID, f"You can have at most {MAX_WEBHOOKS} webhooks.", ["input"]
            )
            return AddWebhookPayload(webhook=None, secret=None, user_errors=[too_many])
        session.add(row)
        _audit(ctx, session, "webhook.add", row_id)
    return AddWebhookPayload(webhook=Webhook.from_row(row), secret=secret, user_errors=[])


async def update_webhook(ctx: Context, given: UpdateWebhookInput) -> UpdateWebhookPayload:
    row_id = _row_id(given.id)
    problems = [
        p
        for p in (
            _events_problem(given.events) if given.events is not None else None,
            _description_problem(given.description),
            await _url_problem(ctx, given.url) if given.url is not None else None,
        )
        if p is not None
    ]
    if problems:
        return UpdateWebhookPayload(webhook=None, user_errors=problems)
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
    scope = ctx.db.scope
    async with ctx.db.session() as session:
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
            missing = user_error(UserErrorCode.NOT_FOUND, NOT_FOUND, ["input", "id"])
            return UpdateWebhookPayload(webhook=None, user_errors=[missing])
        _audit(ctx, session, "webhook.update", row.id)
    return UpdateWebhookPayload(webhook=Webhook.from_row(row), user_errors=[])


async def delete_webhook(ctx: Context, given: WebhookIdInput) -> DeleteWebhookPayload:
    row_id = _row_id(given.id)
    deleted = 0
    if row_id is not None:
        async with ctx.db.session() as session:
            result = await session.execute(
                ctx.db.scope.delete(WebhookRow)
                .where(WebhookRow.id == row_id)
                .execution_options(synchronize_session=False)
            )
            deleted = getattr(result, "rowcount", 0)
            if deleted:
                _audit(ctx, session, "webhook.delete", row_id)
    if not deleted or row_id is None:
        missing = user_error(UserErrorCode.NOT_FOUND, NOT_FOUND, ["input", "id"])
        return DeleteWebhookPayload(deleted_id=None, user_errors=[missing])
    return DeleteWebhookPayload(deleted_id=to_global_id("Webhook", row_id), user_errors=[])


async def test_webhook(ctx: Context, given: WebhookIdInput) -> TestWebhookPayload:
    """Queue a `webhook.test` delivery and make its one attempt now."""
    row_id = _row_id(given.id)
    scope = ctx.db.scope
    now = utcnow()
    delivery_id = uuid.uuid4()
    async with ctx.db.session() as session:
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
                    next_attempt_at=now + ctx.runtime.webhooks.options.lease,
                )
            )
    if not found:
        missing = user_error(UserErrorCode.NOT_FOUND, NOT_FOUND, ["input", "id"])
        return TestWebhookPayload(delivery=None, user_errors=[missing])
    await ctx.runtime.webhooks.deliver_now(delivery_id)
    async with ctx.db.session() as session:
        row = await session.scalar(
            scope.select(WebhookDeliveryRow).where(WebhookDeliveryRow.id == delivery_id)
        )
    return TestWebhookPayload(
        delivery=WebhookDelivery.from_row(row) if row else None, user_errors=[]
    )


async def list_webhooks(ctx: Context) -> list[Webhook]:
    scope = ctx.db.scope
    async with ctx.db.session() as session:
        rows = await session.scalars(
            scope.select(WebhookRow).order_by(WebhookRow.created_at.desc(), WebhookRow.id)
        )
        return [Webhook.from_row(row) for row in rows]
