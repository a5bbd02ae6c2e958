"""`keyStatus` (admins): the signing and vault key rings with their ages, as `stratograph keys`
prints them. Key material never leaves the server: only ids, fingerprints and dates."""

from __future__ import annotations

from datetime import datetime
from enum import Enum

import strawberry

from graph.context import Info
from graph.permissions import IsAdmin
from security.key_ages import SIGNING, KeyInfo, KeyRings, key_status


@strawberry.enum(description="Which key ring a key belongs to.")
class KeyKind(Enum):
    SIGNING = strawberry.enum_value(
        "SIGNING", description="SECRET_KEY and PREVIOUS_SECRET_KEYS (access-token signatures)."
    )
    VAULT = strawberry.enum_value("VAULT", description="ENCRYPTION_KEYS (credential encryption).")


@strawberry.type(description="One configured key: never the key, only how to recognize it.")
class KeyAgeInfo:
    kind: KeyKind = strawberry.field(description="Its ring.")
    key_id: str = strawberry.field(
        description="The vault key id, or the signing key's `kid` (a digest, as tokens carry)."
    )
    fingerprint: str = strawberry.field(
        description="A non-secret digest of the key material (64 bits of a labelled SHA-256)."
    )
    primary: bool = strawberry.field(
        description="Whether it signs or seals new data (false: kept to verify or decrypt)."
    )
    first_seen_at: datetime = strawberry.field(
        description="When a server first ran with this key material."
    )
    age_days: int = strawberry.field(description="Whole days since firstSeenAt.")
    overdue: bool = strawberry.field(description="Older than KEY_MAX_AGE_DAYS: rotate it.")
    credential_count: int | None = strawberry.field(
        description="Vault keys: credentials still sealed under it; null for signing keys."
    )
    sealed_count: int | None = strawberry.field(
        description=(
            "Vault keys: every secret still sealed under it (credentials, two-factor secrets, "
            "webhook signing secrets); drop the key only at 0. Null for signing keys."
        )
    )

    @classmethod
    def from_info(cls, key: KeyInfo) -> KeyAgeInfo:
        return cls(
            kind=KeyKind.SIGNING if key.kind == SIGNING else KeyKind.VAULT,
            key_id=key.key_id,
            fingerprint=key.fingerprint,
            primary=key.primary,
            first_seen_at=key.first_seen_at,
            age_days=key.age_days,
            overdue=key.overdue,
            credential_count=key.credentials,
            sealed_count=key.secrets,
        )


@strawberry.type(description="The server's keys and how old they are.")
class KeyStatus:
    max_age_days: int = strawberry.field(description="KEY_MAX_AGE_DAYS: the rotation deadline.")
    keys: list[KeyAgeInfo] = strawberry.field(
        description="Every configured key, signing ring first, each ring's primary first."
    )
    overdue_count: int = strawberry.field(description="How many keys are past the deadline.")


@strawberry.type
class OperationsQueries:
    @strawberry.field(
        description=(
            "Administrators: the signing and vault keys with their ages and use, and which are "
            "past KEY_MAX_AGE_DAYS."
        ),
        permission_classes=[IsAdmin],
    )
    async def key_status(self, info: Info) -> KeyStatus:
        runtime = info.context.runtime
        keys = await key_status(runtime.database, KeyRings.from_settings(runtime.settings))
        return KeyStatus(
            max_age_days=runtime.settings.key_max_age_days,
            keys=[KeyAgeInfo.from_info(key) for key in keys],
            overdue_count=sum(1 for key in keys if key.overdue),
        )
