"""How old each signing and vault key is: recorded the first time a process sees the key.

A key is known by a fingerprint (a truncated SHA-256 over a labelled digest of the material), so
the table can name and date keys without holding anything that helps recover them. Renaming a
vault key id keeps its age; new material under an old id starts a new age.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from core import metrics
from core.settings import Settings
from db.engine import Database
from db.models import CloudCredentialRow, KeyAgeRow, TotpFactorRow, WebhookRow
from db.types import utcnow
from db.upserts import dialect_insert
from security.tokens import key_id as signing_key_id

logger = logging.getLogger("stratograph.keys")

SIGNING = "signing"
VAULT = "vault"


def fingerprint(material: bytes) -> str:
    """A non-secret name for key material (64 bits of a labelled SHA-256)."""
    return hashlib.sha256(b"stratograph/key-fingerprint/v1|" + material).hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class ConfiguredKey:
    kind: str
    key_id: str
    fingerprint: str
    primary: bool


@dataclass(frozen=True, slots=True)
class KeyInfo:
    kind: str
    key_id: str
    fingerprint: str
    primary: bool
    first_seen_at: datetime
    age_days: int
    overdue: bool
    # Vault keys: credentials still sealed under this key id; None for signing keys.
    credentials: int | None
    # Vault keys: every secret sealed under it (credentials, two-factor secrets, webhook
    # signing secrets): the key may be dropped only at 0. None for signing keys.
    secrets: int | None = None


@dataclass(frozen=True, slots=True)
class KeyRings:
    """The settings' slice key hygiene reads: both rings (primary first) and the age limit."""

    signing: tuple[str, ...]
    vault: dict[str, bytes]
    max_age_days: int

    @classmethod
    def from_settings(cls, settings: Settings) -> KeyRings:
        return cls(
            signing=tuple(settings.jwt_verification_keys),
            vault=settings.vault_keys,
            max_age_days=settings.key_max_age_days,
        )


def configured_keys(rings: KeyRings) -> list[ConfiguredKey]:
    """Every key of both rings, primary first within each ring."""
    keys = [
        ConfiguredKey(SIGNING, signing_key_id(secret), fingerprint(secret.encode()), index == 0)
        for index, secret in enumerate(rings.signing)
    ]
    keys += [
        ConfiguredKey(VAULT, kid, fingerprint(material), index == 0)
        for index, (kid, material) in enumerate(rings.vault.items())
    ]
    return keys


async def record_first_seen(
    database: Database, keys: Iterable[ConfiguredKey], now: datetime | None = None
) -> None:
    """Remember when each key was first seen; keys already known keep their date."""
    moment = now or utcnow()
    rows = [
        {"kind": k.kind, "fingerprint": k.fingerprint, "key_id": k.key_id, "first_seen_at": moment}
        for k in keys
    ]
    if not rows:
        return
    async with database.system_session() as session:
        insert = dialect_insert(session)
        statement = insert(KeyAgeRow.__table__).on_conflict_do_nothing()
        await session.execute(statement, rows)


async def key_status(
    database: Database, rings: KeyRings, now: datetime | None = None
) -> list[KeyInfo]:
    """The configured rings with ages and use, recording keys seen for the first time.

    Reads in a system session: how many credentials each key seals is an operator's aggregate
    over every owner (callers expose it to admins only)."""
    keys = configured_keys(rings)
    await record_first_seen(database, keys, now)
    moment = now or utcnow()
    async with database.system_session() as session:
        seen = {
            (row.kind, row.fingerprint): row.first_seen_at
            for row in (await session.execute(select(KeyAgeRow))).scalars()
        }
        usage = await _count_by_key(session, CloudCredentialRow)
        sealed = await sealed_by_key(session)
    limit = timedelta(days=rings.max_age_days)
    result = []
    for key in keys:
        first = seen.get((key.kind, key.fingerprint), moment)
        age = moment - first
        result.append(
            KeyInfo(
                kind=key.kind,
                key_id=key.key_id,
                fingerprint=key.fingerprint,
                primary=key.primary,
                first_seen_at=first,
                age_days=age.days,
                overdue=age > limit,
                credentials=usage.get(key.key_id, 0) if key.kind == VAULT else None,
                secrets=sealed.get(key.key_id, 0) if key.kind == VAULT else None,
            )
        )
    return result


# Every table whose rows hold a secret sealed by the vault, with the key id beside it.
SEALED_TABLES: tuple[type[CloudCredentialRow] | type[TotpFactorRow] | type[WebhookRow], ...] = (
    CloudCredentialRow,
    TotpFactorRow,
    WebhookRow,
)


async def _count_by_key(session: AsyncSession, table: Any) -> dict[str, int]:
    rows = await session.execute(select(table.key_id, func.count()).group_by(table.key_id))
    return {str(kid): int(count) for kid, count in rows}


async def sealed_by_key(session: AsyncSession) -> dict[str, int]:
    """How many secrets of every kind each vault key id seals."""
    total: dict[str, int] = {}
    for table in SEALED_TABLES:
        for kid, count in (await _count_by_key(session, table)).items():
            total[kid] = total.get(kid, 0) + count
    return total


async def unconfigured_key_usage(database: Database, rings: KeyRings) -> dict[str, int]:
    """Secrets sealed under key ids the ring does not have (they cannot be opened)."""
    ring = rings.vault
    async with database.system_session() as session:
        sealed = await sealed_by_key(session)
    return {kid: count for kid, count in sealed.items() if kid not in ring}


def warn_overdue(keys: Iterable[KeyInfo], max_age_days: int) -> list[KeyInfo]:
    """Log a warning for every key past its age limit; returns them."""
    overdue = [key for key in keys if key.overdue]
    for key in overdue:
        logger.warning(
            "%s key %s (fingerprint %s) is %d days old, past KEY_MAX_AGE_DAYS=%d: rotate it "
            "(docs/operations.md, 'Rotating keys')",
            key.kind,
            key.key_id,
            key.fingerprint,
            key.age_days,
            max_age_days,
        )
    return overdue


async def observe_keys(database: Database, rings: KeyRings) -> list[KeyInfo]:
    """Record new keys, publish their ages on /metrics, warn about overdue ones.

    Run at start-up and by the scheduler's maintenance; a database error is logged, never fatal
    (key ages are a report, not a gate)."""
    try:
        keys = await key_status(database, rings)
    except Exception as error:
        logger.warning("could not read key ages: %s", type(error).__name__)
        return []
    metrics.KEY_AGES.set({(key.kind, key.key_id): key.first_seen_at for key in keys})
    warn_overdue(keys, rings.max_age_days)
    return keys
