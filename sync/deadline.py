"""One overall deadline per listing: a cloud endpoint that accepts and never answers ends the
scope with a typed error instead of holding the job for the SDKs' retries of read timeouts
(botocore: 60 s per read × 8 attempts, then the engine's whole-scope retries)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import TypeVar

from providers.base import ERROR_TIMEOUT, ProviderError

T = TypeVar("T")


class Deadline:
    """Seconds from its creation; `run` awaits within what is left, else raises TIMEOUT."""

    def __init__(self, seconds: float, what: str) -> None:
        self.seconds = seconds
        self.what = what
        self._ends = asyncio.get_running_loop().time() + seconds

    async def run(self, awaitable: Awaitable[T]) -> T:
        left = self._ends - asyncio.get_running_loop().time()
        try:
            return await asyncio.wait_for(awaitable, max(0.0, left))
        except TimeoutError:
            raise ProviderError(
                ERROR_TIMEOUT,
                f"The cloud did not finish {self.what} within {self.seconds:g} seconds.",
            ) from None
