"""Retry of retryable provider errors: exponential backoff with full jitter, bounded."""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable
from typing import TypeVar

from providers.base import ProviderError

T = TypeVar("T")
Sleep = Callable[[float], Awaitable[None]]


def backoff_delay(attempt: int, base: float, cap: float, rand: Callable[[], float]) -> float:
    """Full jitter (AWS architecture blog): uniform in [0, min(cap, base·2^attempt)]."""
    return rand() * min(cap, base * 2.0**attempt)


async def with_retries(
    call: Callable[[], Awaitable[T]],
    *,
    retries: int,
    base: float,
    cap: float,
    sleep: Sleep,
    rand: Callable[[], float] = random.random,
    on_retry: Callable[[ProviderError], None] | None = None,
) -> T:
    """Run `call`; on a retryable ProviderError wait and try again, at most `retries` times."""
    attempt = 0
    while True:
        try:
            return await call()
        except ProviderError as error:
            if not error.retryable or attempt >= retries:
                raise
            if on_retry is not None:
                on_retry(error)
            await sleep(backoff_delay(attempt, base, cap, rand))
            attempt += 1
