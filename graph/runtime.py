"""Long-lived services of one server process, built once from the settings."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from core import telemetry
from core.settings import Settings
from db.engine import Database, create_engine
from integrations.webhooks.dispatcher import WebhookDispatcher
from integrations.webhooks.options import WebhookOptions
from integrations.webhooks.security_events import queue_security_events
from providers.endpoints import CloudEndpoints
from security.key_ages import KeyRings, observe_keys
from security.passwords import PasswordHasher
from security.ratelimit import RateLimiter, RateLimitOptions
from security.session_events import SessionEvents
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
    # Revocations written by this process wake its WebSockets at once (see graph/ws_session.py).
    session_events: SessionEvents = field(default_factory=SessionEvents)
    webhooks: WebhookDispatcher = field(default=None)  # type: ignore[assignment]

    def __post_init__(self) -> None:
        if self.rate_limiter is None:
            self.rate_limiter = RateLimiter(RateLimitOptions.from_settings(self.settings))
        if self.webhooks is None:
            self.webhooks = WebhookDispatcher(
                self.database, self.vault, WebhookOptions.from_settings(self.settings)
            )

    @property
    def endpoints(self) -> CloudEndpoints:
        return CloudEndpoints.from_settings(self.settings)

    @classmethod
    def from_settings(cls, settings: Settings) -> Runtime:
        telemetry.configure_tracing()
        database = Database(create_engine(settings.database_url))
        telemetry.instrument_engine(database.engine)
        queue_security_events()
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
                extra_maintenance=lambda: _observed(database, settings),
            ),
        )

    async def observe_keys(self) -> None:
        await observe_keys(self.database, KeyRings.from_settings(self.settings))

    async def close(self) -> None:
        await self.sync.stop()
        await self.webhooks.stop()
        self.passwords.close()
        await self.database.dispose()


async def _observed(database: Database, settings: Settings) -> None:
    await observe_keys(database, KeyRings.from_settings(settings))
