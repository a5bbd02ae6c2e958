"""Password hashing: argon2id for new hashes, bcrypt hashes of the original platform still verify.

Hashing costs tens of milliseconds of CPU per call, so it never runs on the event loop: a small
dedicated thread pool (argon2 and bcrypt release the GIL) bounds how many hashes run at once, and
other requests keep being served while logins hash.
"""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

from passlib.context import CryptContext

SCHEMES = ["argon2", "bcrypt"]
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Verification:
    ok: bool
    # A replacement hash when the stored one uses a deprecated scheme or outdated parameters.
    new_hash: str | None = None


def default_concurrency() -> int:
    """Leave one core to the event loop when there are several; never fewer than one worker.

    Measured with `python -m bench login_burst` on 2 cores: one hashing thread kept the p99 of
    `me` at 1.2x its quiet value during a login burst, two threads let it reach 3.5x, for the same
    number of logins served (the event loop needs that core too).
    """
    cores = os.cpu_count() or 1
    return max(1, cores - 1)


class PasswordHasher:
    """Async front of a passlib `CryptContext` whose CPU work runs in a bounded thread pool."""

    def __init__(
        self,
        *,
        argon2_memory_kib: int | None = None,
        argon2_rounds: int | None = None,
        concurrency: int | None = None,
    ) -> None:
        settings: dict[str, Any] = {}
        if argon2_memory_kib is not None:
            settings["argon2__memory_cost"] = argon2_memory_kib
        if argon2_rounds is not None:
            settings["argon2__rounds"] = argon2_rounds
        self.context = CryptContext(schemes=SCHEMES, deprecated="auto", **settings)
        self.concurrency = concurrency or default_concurrency()
        self._executor = ThreadPoolExecutor(
            max_workers=self.concurrency, thread_name_prefix="password-hash"
        )
        # Verified for unknown emails so that a miss costs as much as a wrong password; made on
        # first use (in the pool) so building a hasher costs nothing.
        self._dummy: str | None = None

    @classmethod
    def fast_for_tests(cls) -> PasswordHasher:
        """Minimal argon2 cost: the same code paths, without seconds of CPU per test."""
        return cls(argon2_memory_kib=64, argon2_rounds=1)

    async def hash(self, password: str) -> str:
        hashed: str = await self._run(self.context.hash, password)
        return hashed

    async def verify(self, password: str, stored_hash: str) -> Verification:
        """Check a password; unusable or unknown hash formats simply fail (at the usual cost)."""
        return await self._run(self._verify_sync, password, stored_hash)

    async def verify_dummy(self, password: str) -> Verification:
        """Spend the time of a real verification, for an account that does not exist."""
        await self._run(self._verify_dummy_sync, password)
        return Verification(ok=False)

    def needs_update(self, stored_hash: str) -> bool:
        return bool(self.context.needs_update(stored_hash))

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)

    def _verify_sync(self, password: str, stored_hash: str) -> Verification:
        if self.context.identify(stored_hash) is None:
            # Not a hash we know (e.g. an account created without a usable password).
            return self._verify_dummy_sync(password)
        ok, new_hash = self.context.verify_and_update(password, stored_hash)
        return Verification(ok=bool(ok), new_hash=new_hash if ok else None)

    def _verify_dummy_sync(self, password: str) -> Verification:
        if self._dummy is None:
            # Hashing costs what a verification costs, so even the first miss takes the usual time.
            self._dummy = self.context.hash(secrets.token_urlsafe(24))
        else:
            self.context.verify(password, self._dummy)
        return Verification(ok=False)

    async def _run(self, function: Callable[..., T], *args: str) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, function, *args)
