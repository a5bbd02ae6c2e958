"""Delivering queued webhook events: claim due deliveries, sign, POST, record, back off.

Runs in every process that runs sync jobs (the server with SYNC_IN_PROCESS, `stratograph
worker`). A claim moves `next_attempt_at` forward by a lease and counts the attempt, under
`FOR UPDATE SKIP LOCKED` on PostgreSQL, so several workers never send one attempt twice; an
attempt whose worker died is sent again when the lease ends (the `webhook-id` stays the same, so
receivers can drop the duplicate). Results are written only if the attempt count still matches.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update

from core.telemetry import tracer
from core.waits import wait_set
from db.engine import Database
from db.enums import DeliveryStatus
from db.models import WebhookDeliveryRow, WebhookRow
from db.types import utcnow
from integrations.webhooks.options import WebhookOptions
from integrations.webhooks.signing import message_id, open_secret, signed_headers
from integrations.webhooks.transport import Attempt, WebhookTransport
from integrations.webhooks.urls import InvalidURL, parse_receiver_url
from security.vault import Sealed, Vault, VaultError

logger = logging.getLogger("stratograph.webhooks")


@dataclass(frozen=True, slots=True)
class Claimed:
    id: uuid.UUID
    attempts: int
    webhook_id: uuid.UUID
    user_id: uuid.UUID
    url: str
    enabled: bool
    sealed: Sealed
    payload: dict[str, Any]


class WebhookDispatcher:
    def __init__(
        self,
        database: Database,
        vault: Vault,
        options: WebhookOptions,
        *,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.database = database
        self.vault = vault
        self.options = options
        self.clock = clock
        self.transport = WebhookTransport(
            options.policy, options.resolver, options.limits, options.ssl_context, options.connector
        )
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def claim(self, delivery_id: uuid.UUID | None = None) -> list[Claimed]:
        """Due deliveries (or the one named, due or not), their attempt counted and leased."""
        now = self.clock()
        statement = (
            select(
                WebhookDeliveryRow.id,
                WebhookDeliveryRow.attempts,
                WebhookDeliveryRow.payload,
                WebhookRow.id.label("webhook_id"),
                WebhookRow.user_id,
                WebhookRow.url,
                WebhookRow.enabled,
                WebhookRow.key_id,
                WebhookRow.secret_ciphertext,
            )
            .join(WebhookRow, WebhookRow.id == WebhookDeliveryRow.webhook_id)
            .where(WebhookDeliveryRow.status == DeliveryStatus.PENDING)
            .with_for_update(of=WebhookDeliveryRow, skip_locked=True)
        )
        if delivery_id is not None:
            statement = statement.where(WebhookDeliveryRow.id == delivery_id)
        else:
            statement = (
                statement.where(WebhookDeliveryRow.next_attempt_at <= now)
                .order_by(WebhookDeliveryRow.next_attempt_at)
                .limit(self.options.batch_size)
            )
        claimed: list[Claimed] = []
        async with self.database.system_session() as session:
            for row in (await session.execute(statement)).all():
                result = await session.execute(
                    update(WebhookDeliveryRow)
                    .where(
                        WebhookDeliveryRow.id == row.id,
                        WebhookDeliveryRow.attempts == row.attempts,
                        WebhookDeliveryRow.status == DeliveryStatus.PENDING,
                    )
                    .values(
                        attempts=row.attempts + 1,
                        last_attempt_at=now,
                        next_attempt_at=now + self.options.lease,
                    )
                    .execution_options(synchronize_session=False)
                )
                if getattr(result, "rowcount", 0):
                    claimed.append(
                        Claimed(
                            id=row.id,
                            attempts=row.attempts + 1,
                            webhook_id=row.webhook_id,
                            user_id=row.user_id,
                            url=row.url,
                            enabled=row.enabled,
                            sealed=Sealed(row.key_id, row.secret_ciphertext),
                            payload=row.payload,
                        )
                    )
        return claimed

    async def attempt(self, claimed: Claimed) -> Attempt:
        """One signed POST; never raises for anything the receiver or its URL can do."""
        if not claimed.enabled:
            return Attempt(False, None, 0, "the webhook is disabled", retryable=False)
        try:
            parse_receiver_url(claimed.url, https_only=self.options.https_only)
        except InvalidURL as invalid:
            return Attempt(False, None, 0, f"refused: {invalid}", retryable=False)
        try:
            secret = open_secret(self.vault, claimed.sealed, claimed.user_id, claimed.webhook_id)
        except VaultError:
            return Attempt(False, None, 0, "the signing secret cannot be opened", retryable=False)
        body = json.dumps(claimed.payload, separators=(",", ":"), ensure_ascii=False)
        headers = signed_headers(secret, message_id(claimed.id), self.clock(), body)
        with tracer().start_as_current_span(
            "webhook.deliver",
            attributes={"webhook.event_type": str(claimed.payload.get("type", "")),
                        "webhook.attempt": claimed.attempts},
        ) as span:  # fmt: skip
            outcome = await self.transport.post(claimed.url, body.encode(), headers)
            if outcome.status_code is not None:
                span.set_attribute("http.response.status_code", outcome.status_code)
        return outcome

    async def record(self, claimed: Claimed, outcome: Attempt, *, final: bool = False) -> None:
        """Write the attempt's result; a delivery that used its attempts counts against the hook."""
        options = self.options
        exhausted = final or not outcome.retryable or claimed.attempts >= options.max_attempts
        values: dict[str, Any] = {
            "response_code": outcome.status_code,
            "latency_ms": outcome.latency_ms,
            "error_reason": (outcome.error or "")[:500] or None,
        }
        if outcome.ok:
            values.update(status=DeliveryStatus.SUCCEEDED, next_attempt_at=None)
        elif exhausted:
            values.update(status=DeliveryStatus.FAILED, next_attempt_at=None)
        else:
            values["next_attempt_at"] = self.clock() + options.backoff(claimed.attempts)
        async with self.database.system_session() as session:
            result = await session.execute(
                update(WebhookDeliveryRow)
                .where(
                    WebhookDeliveryRow.id == claimed.id,
                    WebhookDeliveryRow.attempts == claimed.attempts,
                    WebhookDeliveryRow.status == DeliveryStatus.PENDING,
                )
                .values(**values)
                .execution_options(synchronize_session=False)
            )
            if not getattr(result, "rowcount", 0):
                return  # deleted with its webhook, or re-claimed after the lease ran out
            if outcome.ok:
                await self._set_failures(session, claimed.webhook_id, 0)
            elif exhausted and claimed.enabled and not final:
                # A failed `testWebhook` says so to the caller; it never disables the hook.
                await self._count_failure(session, claimed.webhook_id)

    async def _set_failures(self, session: Any, webhook_id: uuid.UUID, count: int) -> None:
        await session.execute(
            update(WebhookRow)
            .where(WebhookRow.id == webhook_id, WebhookRow.consecutive_failures != count)
            .values(consecutive_failures=count)
            .execution_options(synchronize_session=False)
        )

    async def _count_failure(self, session: Any, webhook_id: uuid.UUID) -> None:
        await session.execute(
            update(WebhookRow)
            .where(WebhookRow.id == webhook_id)
            .values(consecutive_failures=WebhookRow.consecutive_failures + 1)
            .execution_options(synchronize_session=False)
        )
        limit = self.options.disable_after_failed_deliveries
        disabled = await session.execute(
            update(WebhookRow)
            .where(WebhookRow.id == webhook_id, WebhookRow.consecutive_failures >= limit)
            .values(
                enabled=False,
                disabled_reason=f"Disabled after {limit} deliveries in a row failed.",
            )
            .execution_options(synchronize_session=False)
        )
        if getattr(disabled, "rowcount", 0):
            logger.warning("webhook %s disabled after %d failed deliveries", webhook_id, limit)

    async def deliver(self, claimed: Claimed, *, final: bool = False) -> Attempt:
        outcome = await self.attempt(claimed)
        await self.record(claimed, outcome, final=final)
        if not outcome.ok:
            logger.info(
                "webhook delivery %s attempt %d failed: %s",
                claimed.id,
                claimed.attempts,
                outcome.error,
            )
        return outcome

    async def deliver_now(self, delivery_id: uuid.UUID) -> Attempt | None:
        """One final attempt of one delivery, now (`testWebhook`); None if it is not pending."""
        claimed = await self.claim(delivery_id)
        return await self.deliver(claimed[0], final=True) if claimed else None

    async def run_once(self) -> int:
        """Send every due delivery once; returns how many attempts were made."""
        claimed = await self.claim()
        if claimed:
            await asyncio.gather(*(self.deliver(c) for c in claimed))
        return len(claimed)

    def wake(self) -> None:
        self._wake.set()

    async def run_forever(self) -> None:
        while True:
            self._wake.clear()
            try:
                while await self.run_once() >= self.options.batch_size:
                    pass  # a full batch: more may be due at once
            except Exception as error:  # the database may be briefly away; keep the loop alive
                logger.warning("webhook dispatcher loop error: %s", type(error).__name__)
            await wait_set(self._wake, self.options.poll_seconds)

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self.run_forever(), name="webhook-dispatcher")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self.transport.close()
