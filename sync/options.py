"""Tunables of the sync engine, read once from the settings (tests build their own)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from core.settings import Settings


@dataclass(frozen=True, slots=True)
class SyncOptions:
    concurrency: int = 8
    region_concurrency: int = 4
    max_retries: int = 2
    # The SDKs already retried quickly; a whole-scope retry waits out a longer throttling window.
    backoff_base_seconds: float = 2.0
    backoff_cap_seconds: float = 30.0
    batch_size: int = 500
    heartbeat_seconds: float = 15.0
    stale_after: timedelta = timedelta(seconds=120)
    max_attempts: int = 3
    # How often the runner looks for queued jobs when nobody wakes it (other processes enqueue).
    poll_seconds: float = 2.0
    # The same while LISTEN/NOTIFY wakes the runner (PostgreSQL): only a safety net.
    notified_poll_seconds: float = 30.0
    # How many jobs (credentials) one process runs at once.
    max_parallel_jobs: int = 4
    interval: timedelta | None = timedelta(minutes=60)
    # Housekeeping on the schedule: purge resources deleted longer ago (None keeps them), and
    # report long-lived cloud secrets older than `secret_max_age`.
    deleted_retention: timedelta | None = timedelta(days=30)
    secret_max_age: timedelta = timedelta(days=90)
    # Overall deadline of planning and of each scope's listing, SDK and engine retries included.
    scope_timeout_seconds: float = 600.0

    @classmethod
    def from_settings(cls, settings: Settings) -> SyncOptions:
        minutes = settings.sync_interval_minutes
        stale = timedelta(seconds=settings.sync_stale_after_seconds)
        return cls(
            concurrency=settings.sync_concurrency,
            region_concurrency=settings.sync_region_concurrency,
            max_retries=settings.sync_max_retries,
            # A heartbeat several times per stale window, so one slow write never looks dead.
            heartbeat_seconds=max(1.0, stale.total_seconds() / 4),
            stale_after=stale,
            max_attempts=settings.sync_max_attempts,
            interval=timedelta(minutes=minutes) if minutes > 0 else None,
            deleted_retention=(
                timedelta(days=settings.deleted_retention_days)
                if settings.deleted_retention_days > 0
                else None
            ),
            secret_max_age=timedelta(days=settings.key_max_age_days),
            scope_timeout_seconds=float(settings.sync_scope_timeout_seconds),
        )
