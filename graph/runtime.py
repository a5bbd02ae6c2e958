"""Long-lived services of one server process, built once from the settings."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from db.engine import Database, create_engine
from security.passwords import PasswordHasher
from security.ratelimit import RateLimiter
from security.tokens import TokenSigner
from security.vault import Vault
from stratograph.settings import Settings


@dataclass
class Runtime:
    settings: Settings
    database: Database
    signer: TokenSigner
    vault: Vault
    passwords: PasswordHasher
    # Built from the settings when not given; one per process, shared by every request.
    rate_limiter: RateLimiter = field(default=None)  # type: ignore[assignment]

    def __post_init__(self) -> None:
        if self.rate_limiter is None:
            self.rate_limiter = RateLimiter(self.settings)

    @classmethod
    def from_settings(cls, settings: Settings) -> Runtime:
        return cls(
            settings=settings,
            database=Database(create_engine(settings.database_url)),
            signer=TokenSigner(
                secret_key=settings.secret_key,
                previous_keys=tuple(settings.previous_secret_keys),
                algorithm=settings.algorithm,
                access_ttl=timedelta(minutes=settings.access_token_expire_minutes),
            ),
            vault=Vault(settings.vault_keys),
            passwords=PasswordHasher(),
        )

    async def close(self) -> None:
        self.passwords.close()
        await self.database.dispose()
