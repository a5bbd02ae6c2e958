"""`stratograph keys`: both key rings with their ages and what each vault key still seals."""

from __future__ import annotations

import asyncio

from core.settings import Settings
from db.engine import Database, create_engine
from security.key_ages import KeyInfo, KeyRings, key_status, unconfigured_key_usage, warn_overdue


async def _status(settings: Settings) -> tuple[list[KeyInfo], dict[str, int]]:
    database = Database(create_engine(settings.database_url))
    try:
        return (
            await key_status(database, KeyRings.from_settings(settings)),
            await unconfigured_key_usage(database, KeyRings.from_settings(settings)),
        )
    finally:
        await database.dispose()


def describe(keys: list[KeyInfo], max_age_days: int, missing: dict[str, int] | None = None) -> str:
    header = f"{'kind':<8} {'key id':<18} {'role':<8} {'first seen':<20} {'age':>6}  notes"
    lines = [header]
    for key in keys:
        notes = []
        if key.credentials is not None:
            notes.append(f"{key.credentials} credentials sealed")
        others = (key.secrets or 0) - (key.credentials or 0)
        if others:
            notes.append(f"{others} other secrets sealed (two-factor, webhooks)")
        if key.overdue:
            notes.append(f"OLDER THAN KEY_MAX_AGE_DAYS={max_age_days}: rotate")
        lines.append(
            f"{key.kind:<8} {key.key_id:<18} {'primary' if key.primary else 'previous':<8} "
            f"{key.first_seen_at:%Y-%m-%d %H:%M}     {key.age_days:>4}d  {'; '.join(notes)}"
        )
    for kid, count in sorted((missing or {}).items()):
        lines.append(
            f"vault    {kid:<18} MISSING  {'':<20} {'':>6}  {count} secrets sealed under a "
            "key id ENCRYPTION_KEYS does not have: they cannot be opened"
        )
    return "\n".join(lines)


def run_keys(settings: Settings) -> int:
    """Exit 1 when secrets are sealed under key ids the ring lacks."""
    keys, missing = asyncio.run(_status(settings))
    warn_overdue(keys, settings.key_max_age_days)
    print(describe(keys, settings.key_max_age_days, missing))
    return 1 if missing else 0
