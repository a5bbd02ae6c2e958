"""Delivery knobs: the settings that reach the webhooks, plus timing that tests shrink."""

from __future__ import annotations

import ssl
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from core.settings import Settings
from integrations.webhooks.ssrf import AddressPolicy, Resolver, system_resolver
from integrations.webhooks.transport import Limits


@dataclass(frozen=True)
class WebhookOptions:
    policy: AddressPolicy = field(default_factory=AddressPolicy)
    # Production refuses plain-http receivers (registration and delivery).
    https_only: bool = True
    limits: Limits = field(default_factory=Limits)
    # Attempts of one delivery; the waits between them grow 4× from `first_retry`, up to the cap.
    max_attempts: int = 6
    first_retry: timedelta = timedelta(seconds=30)
    retry_cap: timedelta = timedelta(hours=6)
    # Deliveries in a row that used every attempt before the webhook is disabled.
    disable_after_failed_deliveries: int = 5
    poll_seconds: float = 2.0
    # An attempt not recorded within this time (its worker died) is tried again.
    lease: timedelta = timedelta(minutes=2)
    batch_size: int = 20
    resolver: Resolver = system_resolver
    ssl_context: ssl.SSLContext | None = None
    # What opens the checked connection (httpcore's default; tests confine it to loopback).
    connector: Any = None

    @classmethod
    def from_settings(cls, settings: Settings) -> WebhookOptions:
        return cls(
            policy=AddressPolicy(settings.webhook_allow_private_networks),
            https_only=settings.is_production,
        )

    def backoff(self, attempts: int) -> timedelta:
        """The wait after the `attempts`-th failed attempt: 30 s, 2, 8 and 32 min, 2 h 8 min."""
        wait: timedelta = self.first_retry * (4 ** max(0, attempts - 1))
        return min(wait, self.retry_cap)
