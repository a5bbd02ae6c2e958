"""Where rate-limit counters live, and what happens when the shared store is away.

RATE_LIMIT_STORAGE_URL names the shared store (`redis://…` for several processes). When it
fails, every limit keeps holding, per process: counting falls back to in-memory counters, the
outage is logged once (and again every `LOG_EVERY_SECONDS` while it lasts, never a traceback
per request), shown on `/readyz` and in the metrics, and the shared store is tried again every
`RETRY_SECONDS` until it answers; then counting returns to it by itself.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from limits.aio.storage import MemoryStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter
from limits.storage import storage_from_string

from core import metrics
from core.log_redaction import redact

logger = logging.getLogger("stratograph.ratelimit")

RETRY_SECONDS = 5.0
LOG_EVERY_SECONDS = 60.0
# A store that hangs must not hang every request with it.
REDIS_TIMEOUT_SECONDS = 1.0

T = TypeVar("T")


def async_storage_url(url: str) -> str:
    """`limits` wants `async+redis://…` for its asyncio storages; the setting stays plain."""
    return url if url.startswith("async+") else f"async+{url}"


def shared_storage(url: str) -> Storage:
    options: dict[str, Any] = {}
    if "redis" in url.split("://", 1)[0]:
        options = {
            "connect_timeout": REDIS_TIMEOUT_SECONDS,
            "stream_timeout": REDIS_TIMEOUT_SECONDS,
        }
    storage = storage_from_string(async_storage_url(url), **options)
    if not isinstance(storage, Storage):
        raise TypeError(f"{url.split('://', 1)[0]}:// has no asyncio rate-limit storage")
    return storage


@dataclass
class Outage:
    """The state of the shared store as the limiter last saw it."""

    clock: Callable[[], float] = time.monotonic
    degraded: bool = False
    failures: int = 0
    _retry_at: float = 0.0
    _logged_at: float = field(default=float("-inf"))

    def may_try(self) -> bool:
        return not self.degraded or self.clock() >= self._retry_at

    def failed(self, error: BaseException) -> None:
        now = self.clock()
        self.failures += 1
        self._retry_at = now + RETRY_SECONDS
        metrics.RATE_LIMIT_STORAGE_ERRORS.inc()
        first = not self.degraded
        self.degraded = True
        metrics.RATE_LIMIT_DEGRADED.set(1)
        if first or now - self._logged_at >= LOG_EVERY_SECONDS:
            self._logged_at = now
            logger.warning(
                "rate-limit storage unavailable (%s: %s; %d failures); limits are counted "
                "per process until it returns",
                type(error).__name__,
                redact(str(error))[:200],
                self.failures,
            )

    def recovered(self) -> None:
        if self.degraded:
            logger.warning("rate-limit storage is back after %d failures", self.failures)
        self.degraded = False
        self.failures = 0
        metrics.RATE_LIMIT_DEGRADED.set(0)


class LimitStorage:
    """The shared strategy, with per-process counters standing in while it is unavailable."""

    def __init__(self, url: str) -> None:
        self.shared_storage = shared_storage(url)
        self.shared = MovingWindowRateLimiter(self.shared_storage)
        self.local_storage = MemoryStorage()
        self.local = MovingWindowRateLimiter(self.local_storage)
        self.outage = Outage()

    async def run(self, call: Callable[[MovingWindowRateLimiter], Awaitable[T]]) -> T:
        """`call` on the shared strategy when it answers, else on the per-process one."""
        if self.outage.may_try():
            try:
                result = await call(self.shared)
            except Exception as error:  # any failure of the store: count locally instead
                self.outage.failed(error)
            else:
                self.outage.recovered()
                return result
        return await call(self.local)

    @property
    def state(self) -> str:
        """`ok`, or `degraded` while the shared store is away."""
        return "degraded" if self.outage.degraded else "ok"

    async def reset(self) -> None:
        await self.local_storage.reset()
        await self.shared_storage.reset()
