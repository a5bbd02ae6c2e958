"""Long-lived services of one server process, built once from the settings."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from core.settings import Settings
from db.engine import Database, create_engine
from providers.endpoints import CloudEndpoints
from security.passwords import PasswordHasher
from security.ratelimit import RateLimiter, RateLimitOptions
from security.tokens import TokenSigner
from security.vault import Vault
from sync import SyncOptions, SyncService
from sync.inventories import registry_factory


@dataclass
class Runtime:
    settings: Settings
    database: Database
    signer: TokenSigner
    vault: Vault
    sync: SyncService
    passwords: PasswordHasher
    # Built from the settings when not given; one per process, shared by every request.
    rate_limiter: RateLimiter = field(default=None)  # type: ignore[assignment]

    def __post_init__(self) -> None:
        if self.rate_limiter is None:
            self.rate_limiter = RateLimiter(RateLimitOptions.from_settings(self.settings))

    @property
    def endpoints(self) -> CloudEndpoints:
        return CloudEndpoints.from_settings(self.settings)

    @classmethod
    def from_settings(cls, settings: Settings) -> Runtime:
        database = Database(create_engine(settings.database_url))
        vault = Vault(settings.vault_keys)
        return cls(
            settings=settings,
            database=database,
            signer=TokenSigner(
                secret_key=settings.secret_key,
                previous_keys=tuple(settings.previous_secret_keys),
                algorithm=settings.algorithm,
                access_ttl=timedelta(minutes=settings.access_token_expire_minutes),
            ),
            vault=vault,
            passwords=PasswordHasher(),
            sync=SyncService(
                database,
                registry_factory(vault, CloudEndpoints.from_settings(settings)),
                SyncOptions.from_settings(settings),
            ),
        )

    async def close(self) -> None:
        await self.sync.stop()
        self.passwords.close()
        await self.database.dispose()
