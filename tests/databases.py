"""Per-test databases cloned from a migrated template, for SQLite and PostgreSQL alike."""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from db.migrate import upgrade_async

APP_ROLE = os.environ.get("TEST_POSTGRES_APP_ROLE", "stratograph_app")


def as_app_role(dsn: str) -> str:
    """The same server and database, logged in as the application's role (RLS applies).

    Migrations and template cloning stay on the administrator; the app under test does not.
    """
    parts = urlsplit(dsn)
    host = parts.netloc.rsplit("@", 1)[-1]
    return urlunsplit((parts.scheme, f"{APP_ROLE}@{host}", parts.path, parts.query, ""))


def async_url(dsn: str, database: str) -> str:
    """The SQLAlchemy asyncpg URL for another database on the server of `dsn`."""
    parts = urlsplit(dsn)
    return urlunsplit(("postgresql+asyncpg", parts.netloc, f"/{database}", parts.query, ""))


class SqliteTemplate:
    def __init__(self, directory: Path) -> None:
        self.path = directory / "template.db"

    async def build(self) -> None:
        await upgrade_async(f"sqlite+aiosqlite:///{self.path}")

    def clone(self, directory: Path) -> str:
        target = directory / f"test-{uuid.uuid4().hex[:8]}.db"
        shutil.copyfile(self.path, target)
        return f"sqlite+aiosqlite:///{target}"


class PostgresTemplate:
    def __init__(self, admin_dsn: str) -> None:
        self.admin_dsn = admin_dsn
        self.name = f"stratograph_tmpl_{uuid.uuid4().hex[:10]}"

    async def _admin(self) -> asyncpg.Connection:
        return await asyncpg.connect(self.admin_dsn)

    async def build(self) -> None:
        connection = await self._admin()
        try:
            await connection.execute(f'CREATE DATABASE "{self.name}"')
        finally:
            await connection.close()
        await upgrade_async(async_url(self.admin_dsn, self.name))

    async def clone(self) -> str:
        name = f"stratograph_test_{uuid.uuid4().hex[:12]}"
        connection = await self._admin()
        try:
            await connection.execute(f'CREATE DATABASE "{name}" TEMPLATE "{self.name}"')
            # Database-level grants are not copied from a template; table grants and RLS are.
            await connection.execute(f'GRANT CONNECT ON DATABASE "{name}" TO "{APP_ROLE}"')
        finally:
            await connection.close()
        return name

    async def drop(self, name: str) -> None:
        connection = await self._admin()
        try:
            await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await connection.close()

    async def destroy(self) -> None:
        await self.drop(self.name)
