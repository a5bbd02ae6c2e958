"""Helpers for backup tests: settings with a BACKUP_KEY, owner URLs, seeded inventories, and
databases to restore into."""

from __future__ import annotations

import base64
import secrets
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import make_url

from core.settings import Settings
from db.engine import Database, create_engine
from db.models import CloudCredentialRow, CloudResourceRow
from graph.runtime import Runtime
from providers.base import Scope
from providers.vault_access import open_secret
from sync import SyncService
from tests.conftest import make_settings
from tests.databases import PostgresTemplate, SqliteTemplate, async_url
from tests.factories import create_user
from tests.sync_support import ScriptedInventory, make_service, record, sync_once
from tests.vault_helpers import seal_rows

Template = SqliteTemplate | PostgresTemplate


def new_backup_key() -> str:
    return base64.b64encode(secrets.token_bytes(32)).decode()


def owner_url(template: Template, database_url: str) -> str:
    """The same database as its owner: backups read, restores create and drop objects."""
    if isinstance(template, SqliteTemplate):
        return database_url
    return async_url(template.admin_dsn, str(make_url(database_url).database))


def settings_for(base: Settings, database_url: str, tmp_path: Path, **overrides: Any) -> Settings:
    """`base`'s keys (signing, vault, backup) against another database."""
    values: dict[str, Any] = {
        "secret_key": base.secret_key,
        "encryption_keys": list(base.encryption_keys),
        "backup_key": base.backup_key,
    }
    values.update(overrides)
    return make_settings(database_url, tmp_path, **values)


@asynccontextmanager
async def empty_target(template: Template, tmp_path: Path) -> AsyncIterator[str]:
    """A freshly migrated database of the same backend, as its owner."""
    if isinstance(template, SqliteTemplate):
        directory = tmp_path / f"target-{uuid.uuid4().hex[:6]}"
        directory.mkdir()
        yield template.clone(directory)
        return
    name = await template.clone()
    try:
        yield async_url(template.admin_dsn, name)
    finally:
        await template.drop(name)


async def seed_synced(runtime: Runtime, credentials: int = 3, per_scope: int = 20) -> SyncService:
    """Credentials sealed with the runtime's vault, each synced from a scripted inventory."""
    user = await create_user(runtime)
    sealed = await seal_rows(runtime.database, runtime.vault, [user.id], credentials)
    inventories = {}
    for n, credential_id in enumerate(sealed):
        scopes = [Scope("us-east-1", "AWS::EC2::Instance"), Scope("eu-west-1", "AWS::EC2::Volume")]
        inventories[credential_id] = ScriptedInventory(
            {
                scope: [record(f"c{n}-{scope.region}-{i}", scope) for i in range(per_scope)]
                for scope in scopes
            }
        )
    service = make_service(runtime.database, inventories)
    for credential_id in sealed:
        await sync_once(service, credential_id)
    return service


async def inventory_of(database_url: str) -> set[tuple[str, str, str, str]]:
    database = Database(create_engine(database_url))
    try:
        async with database.system_session() as session:
            rows = (await session.scalars(select(CloudResourceRow))).all()
        return {(str(r.credential_id), r.resource_id, r.name, r.status.value) for r in rows}
    finally:
        await database.dispose()


async def secrets_of(database_url: str, settings: Settings) -> dict[uuid.UUID, object]:
    from security.vault import Vault

    database = Database(create_engine(database_url))
    try:
        async with database.system_session() as session:
            rows = (await session.scalars(select(CloudCredentialRow))).all()
        vault = Vault(settings.vault_keys)
        return {row.id: open_secret(row, vault) for row in rows}
    finally:
        await database.dispose()
