"""Row-level security cannot be silently off: the server and the worker check their role.

Attack tests for issue 12 item 6 (PostgreSQL only: SQLite has no roles; the scoping helper is
its isolation). A superuser, a BYPASSRLS role and a role owning the tables are each refused in
production; the least-privilege app role starts; development only warns.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

from db.role_check import UnsafeDatabaseRole
from graph.app import create_app
from sync.worker import run_worker
from tests.conftest import make_settings
from tests.databases import PostgresTemplate, async_url

PRODUCTION = {"environment": "production", "allowed_hosts": ["api.example.com"]}


@pytest.fixture
async def cloned(postgres_template: PostgresTemplate) -> AsyncIterator[str]:
    name = await postgres_template.clone()
    try:
        yield name
    finally:
        await postgres_template.drop(name)


def as_role(dsn: str, role: str, database: str) -> str:
    parts = urlsplit(dsn)
    host = parts.netloc.rsplit("@", 1)[-1]
    return async_url(urlunsplit((parts.scheme, f"{role}@{host}", parts.path, "", "")), database)


@pytest.fixture
async def risky_role(
    postgres_template: PostgresTemplate, cloned: str, request: pytest.FixtureRequest
) -> AsyncIterator[str]:
    """A throw-away login role made unsafe the way the test asks (BYPASSRLS or table owner)."""
    kind = request.param
    role = f"strato_risky_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(postgres_template.admin_dsn)
    clone_dsn = postgres_template.admin_dsn.rsplit("/", 1)[0] + f"/{cloned}"
    try:
        options = "BYPASSRLS" if kind == "bypassrls" else "NOBYPASSRLS"
        await admin.execute(f'CREATE ROLE "{role}" LOGIN NOSUPERUSER {options}')
        await admin.execute(f'GRANT CONNECT ON DATABASE "{cloned}" TO "{role}"')
        inside = await asyncpg.connect(clone_dsn)
        try:
            await inside.execute(f'GRANT USAGE ON SCHEMA public TO "{role}"')
            if kind == "owner":
                await inside.execute(f'ALTER TABLE cloud_credentials OWNER TO "{role}"')
        finally:
            await inside.close()
        yield role
    finally:
        inside = await asyncpg.connect(clone_dsn)
        try:
            await inside.execute(f'REASSIGN OWNED BY "{role}" TO CURRENT_USER')
            await inside.execute(f'DROP OWNED BY "{role}"')
        finally:
            await inside.close()
        await admin.execute(f'REVOKE CONNECT ON DATABASE "{cloned}" FROM "{role}"')
        await admin.execute(f'DROP ROLE IF EXISTS "{role}"')
        await admin.close()


async def start(url: str, tmp_path: Path, **overrides: object) -> None:
    """Run the app's start-up (lifespan) and shut it down again."""
    app = create_app(make_settings(url, tmp_path, **overrides))
    try:
        async with app.router.lifespan_context(app):
            pass
    finally:
        await app.state.runtime.close()


async def test_a_superuser_connection_refuses_to_start_in_production(
    postgres_template: PostgresTemplate, cloned: str, tmp_path: Path
) -> None:
    # Given DATABASE_URL naming the superuser that ran the migrations
    url = async_url(postgres_template.admin_dsn, cloned)
    # When the production server and the production worker start
    # Then both refuse, saying why and what to do
    with pytest.raises(UnsafeDatabaseRole, match="superuser") as refused:
        await start(url, tmp_path, **PRODUCTION)
    assert "NOBYPASSRLS" in str(refused.value)
    with pytest.raises(UnsafeDatabaseRole, match="superuser"):
        await run_worker(make_settings(url, tmp_path, **PRODUCTION), once=True)


@pytest.mark.parametrize("risky_role", ["bypassrls", "owner"], indirect=True)
async def test_a_bypassrls_or_owning_role_refuses_to_start_in_production(
    postgres_template: PostgresTemplate, cloned: str, risky_role: str, tmp_path: Path
) -> None:
    # Given a role that bypasses RLS or owns a table
    url = as_role(postgres_template.admin_dsn, risky_role, cloned)
    # When the production server starts, then it refuses
    with pytest.raises(UnsafeDatabaseRole, match=r"BYPASSRLS|owns"):
        await start(url, tmp_path, **PRODUCTION)


async def test_the_app_role_starts_in_production(database_url: str, tmp_path: Path) -> None:
    # Given the least-privilege app role (the suite's default connection on PostgreSQL)
    # When the production server starts, then it starts
    await start(database_url, tmp_path, **PRODUCTION)


async def test_development_warns_loudly_but_starts(
    postgres_template: PostgresTemplate,
    cloned: str,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Given the superuser in development
    url = async_url(postgres_template.admin_dsn, cloned)
    # When the server starts
    with caplog.at_level(logging.WARNING, logger="stratograph.db"):
        await start(url, tmp_path)
    # Then it started and said loudly why RLS does not protect this deployment
    assert any("UNSAFE DATABASE ROLE" in r.getMessage() for r in caplog.records)
