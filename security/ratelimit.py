"""Rate limits on GraphQL root fields, table-driven by field name, on the `limits` package.

Each executed root field costs one hit on every key its rule names:
- every field that checks a password or a two-factor code (`logIn`, `changePassword`,
  `completeLogIn`, `confirmTotpSetup`, `disableTotp`, `regenerateRecoveryCodes`) shares one
  budget, counted on the client IP and on the account: the normalized e-mail
  (`password_policy.normalize_email`, so full-width or upper-case variants are one account), for
  the signed-in fields the caller's own (`completeLogIn` names no account: its `mfaToken` dies
  after 5 wrong codes, and each new one costs a `logIn` on the account);
- `signUp` and `refreshToken` each have their own budget, on the IP and the normalized e-mail;
- `dashboard` and everything else per user (per IP when anonymous).
Rotating IPs does not help against one account, and rotating e-mails does not help from one IP.
Storage comes from RATE_LIMIT_STORAGE_URL: `memory://` for one process, `redis://…` to share the
counters between processes and machines.
"""

from __future__ import annotations

import hashlib
import logging
import math
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from limits import RateLimitItem, parse
from limits.aio.strategies import MovingWindowRateLimiter

from core.settings import Settings
from security.limit_storage import LimitStorage

logger = logging.getLogger("stratograph.ratelimit")

Key = tuple[RateLimitItem, tuple[str, ...]]

LOGIN_FIELDS = frozenset({"logIn", "signUp", "refreshToken"})
# Fields that verify a password, and so one budget of guesses per account and per address. A new
# field that verifies a password joins this set.
# Codes of the second factor are guesses too, and share it.
PASSWORD_FIELDS = frozenset(
    {
        "logIn",
        "changePassword",
        "completeLogIn",
        "confirmTotpSetup",
        "disableTotp",
        "regenerateRecoveryCodes",
    }
)
# Of those, the ones whose account is the caller's own (no e-mail in the input).
OWN_ACCOUNT_FIELDS = frozenset(
    {"changePassword", "confirmTotpSetup", "disableTotp", "regenerateRecoveryCodes"}
)
PASSWORD_BUDGET = "password"  # noqa: S105 - a key name, not a secret
DASHBOARD_FIELDS = frozenset({"dashboard"})


@dataclass(frozen=True, slots=True)
class FieldCall:
    """One executed root field, with what the rules may key on."""

    name: str
    email: str | None = None


@dataclass(frozen=True, slots=True)
class Caller:
    ip: str
    user_id: str | None
    # The authenticated caller's (stored, hence normalized) e-mail.
    email: str | None = None


@dataclass(frozen=True, slots=True)
class Verdict:
    allowed: bool
    limit: int
    remaining: int
    reset_after: int  # seconds until the window has room again
    window: int  # seconds


def _hashed(value: str) -> str:
    """Keys name e-mails only by digest: the limiter's storage is not a place for addresses."""
    return hashlib.sha256(value.encode()).hexdigest()[:32]


@dataclass(frozen=True, slots=True)
class RateLimitOptions:
    """The limiter's slice of the settings: where counters live and the three budgets."""

    storage_url: str = "memory://"
    login: str = "5/minute"
    dashboard: str = "60/minute"
    default: str = "100/minute"

    @classmethod
    def from_settings(cls, settings: Settings) -> RateLimitOptions:
        return cls(
            storage_url=settings.rate_limit_storage_url,
            login=settings.rate_limit_login,
            dashboard=settings.rate_limit_dashboard,
            default=settings.rate_limit_default,
        )


class RateLimiter:
    def __init__(self, options: RateLimitOptions) -> None:
        # Shared counters (RATE_LIMIT_STORAGE_URL), per-process ones while the shared store is away.
        self.storage = LimitStorage(options.storage_url)
        self.login = parse(options.login)
        self.dashboard = parse(options.dashboard)
        self.default = parse(options.default)

    def keys_for(
        self, call: FieldCall, caller: Caller
    ) -> list[tuple[RateLimitItem, tuple[str, ...]]]:
        """The (limit, identifiers) pairs one call of a root field is counted against."""
        if call.name in PASSWORD_FIELDS or call.name in LOGIN_FIELDS:
            # Password checks share one budget; signing up and refreshing each have their own
            # (signing up must not use up an account's log-in attempts).
            budget = PASSWORD_BUDGET if call.name in PASSWORD_FIELDS else call.name
            account = caller.email if call.name in OWN_ACCOUNT_FIELDS else call.email
            keys: list[Key] = [(self.login, (budget, "ip", caller.ip))]
            if account:
                keys.append((self.login, (budget, "email", _hashed(account))))
            return keys
        item = self.dashboard if call.name in DASHBOARD_FIELDS else self.default
        scope = "dashboard" if call.name in DASHBOARD_FIELDS else "default"
        who = ("user", caller.user_id) if caller.user_id else ("ip", caller.ip)
        return [(item, (scope, *who))]

    async def hit_all(self, calls: Iterable[FieldCall], caller: Caller) -> list[Verdict]:
        """Count every call; one verdict per distinct key, in the order first seen."""
        costs: Counter[Key] = Counter()
        for call in calls:
            for key in self.keys_for(call, caller):
                costs[key] += 1
        return [await self._hit(item, ids, cost) for (item, ids), cost in costs.items()]

    async def _hit(self, item: RateLimitItem, ids: tuple[str, ...], cost: int) -> Verdict:
        window = item.get_expiry()

        async def count(strategy: MovingWindowRateLimiter) -> tuple[bool, Any]:
            allowed = await strategy.hit(item, *ids, cost=cost)
            return allowed, await strategy.get_window_stats(item, *ids)

        allowed, stats = await self.storage.run(count)
        reset_after = max(0, math.ceil(stats.reset_time - time.time()))
        if not allowed:
            reset_after = max(1, reset_after)
        return Verdict(allowed, item.amount, max(0, stats.remaining), reset_after, window)

    async def reset(self) -> None:
        await self.storage.reset()


def tightest(verdicts: list[Verdict]) -> Verdict | None:
    """The verdict to report in headers: a refusal first, else the least remaining."""
    if not verdicts:
        return None
    refused = [v for v in verdicts if not v.allowed]
    if refused:
        return max(refused, key=lambda v: v.reset_after)
    return min(verdicts, key=lambda v: (v.remaining, -v.reset_after))
