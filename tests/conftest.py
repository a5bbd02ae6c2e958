"""Fixtures shared by the whole suite.

Every test that takes `database_url` (directly or through `app`/`client`) runs twice: against
SQLite and against PostgreSQL, each on a fresh database cloned from a migrated template.
"""

from __future__ import annotations

import asyncio
import base64
import secrets
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from core.settings import Settings
from graph.app import create_app
from graph.runtime import Runtime
from security.passwords import PasswordHasher
from tests.databases import PostgresTemplate, SqliteTemplate, as_app_role, async_url
from tests.graphql_client import GraphQLClient
from tests.services import require_postgres

pytest_plugins = ["tests.standins.fixtures", "tests.standins.aws_org"]

BACKENDS = ["sqlite", "postgres"]


# Templates are built with their own short event loop (sync fixtures), so they can be resolved
# lazily per backend: a SQLite-only run never touches PostgreSQL.
@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> SqliteTemplate:
    template = SqliteTemplate(tmp_path_factory.mktemp("sqlite-template"))
    asyncio.run(template.build())
    return template


@pytest.fixture(scope="session")
def postgres_template() -> Iterator[PostgresTemplate]:
    template = PostgresTemplate(require_postgres())
    asyncio.run(template.build())
    yield template
    asyncio.run(template.destroy())


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def template(backend: str, request: pytest.FixtureRequest) -> SqliteTemplate | PostgresTemplate:
    name = "sqlite_template" if backend == "sqlite" else "postgres_template"
    found: SqliteTemplate | PostgresTemplate = request.getfixturevalue(name)
    return found


@pytest.fixture
async def database_url(
    template: SqliteTemplate | PostgresTemplate, tmp_path: Path
) -> AsyncIterator[str]:
    if isinstance(template, SqliteTemplate):
        yield template.clone(tmp_path)
        return
    name = await template.clone()
    try:
        # The app connects as the unprivileged role, so the whole suite runs under RLS.
        yield async_url(as_app_role(template.admin_dsn), name)
    finally:
        await template.drop(name)


def make_settings(database_url: str, tmp_path: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "environment": "test",
        "database_url": database_url,
        "secret_key": secrets.token_urlsafe(48),
        "encryption_keys": ["k1:" + base64.b64encode(secrets.token_bytes(32)).decode()],
        "dev_secrets_file": str(tmp_path / "secrets.json"),
        "allowed_hosts": ["*"],
        # Generous rate limits, so suites that log in a lot are not throttled; the rate-limit
        # tests (test_rate_limits, test_login_limits, …) set the limits they exercise.
        "rate_limit_login": "10000/minute",
        "rate_limit_dashboard": "10000/minute",
        "rate_limit_default": "10000/minute",
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return make_settings(database_url, tmp_path)


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[Starlette]:
    application = create_app(settings)
    yield application
    await application.state.runtime.close()


@pytest.fixture
def runtime(app: Starlette) -> Runtime:
    return app.state.runtime  # type: ignore[no-any-return]


@pytest.fixture
async def http(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, client=("203.0.113.10", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


@pytest.fixture
def gql(http: httpx.AsyncClient) -> GraphQLClient:
    return GraphQLClient(http)


@pytest.fixture
def fast_passwords(runtime: Runtime) -> PasswordHasher:
    """Minimal argon2 cost for tests that sign up and log in a lot (same code paths)."""
    runtime.passwords.close()
    runtime.passwords = PasswordHasher.fast_for_tests()
    return runtime.passwords
