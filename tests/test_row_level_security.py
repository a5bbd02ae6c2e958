"""PostgreSQL row-level security: a query that forgets its filter still sees only its user's rows.

Every statement here is deliberately unscoped raw SQL, run through the application's own
connection (the `stratograph_app` role), as a bug in a resolver would run it.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy.exc
from sqlalchemy import text

from db.audit import record_audit
from db.enums import AuditOutcome, Role
from db.models import RefreshTokenRow, UserRow
from graph.runtime import Runtime
from tests.conftest import make_settings
from tests.databases import APP_ROLE, PostgresTemplate, as_app_role, async_url
from tests.factories import create_user

OWNED_TABLES = [
    "refresh_tokens",
    "cloud_credentials",
    "resources",
    "resource_relations",
    "resource_changes",
    "resource_counts",
    "sync_jobs",
    "sync_scopes",
    "webhooks",
    "webhook_deliveries",
    "cloud_accounts",
    "sync_job_parts",
    "findings",
    "finding_counts",
]


@pytest.fixture
async def pg(postgres_template: PostgresTemplate, tmp_path: Path) -> AsyncIterator[Runtime]:
    """A runtime on a fresh PostgreSQL database, connected as the application role."""
    name = await postgres_template.clone()
    url = async_url(as_app_role(postgres_template.admin_dsn), name)
    runtime = Runtime.from_settings(make_settings(url, tmp_path))
    try:
        yield runtime
    finally:
        await runtime.close()
        await postgres_template.drop(name)


async def add_tokens(runtime: Runtime, user: UserRow, count: int) -> None:
    async with runtime.database.system_session() as session:
        for _ in range(count):
            session.add(
                RefreshTokenRow(
                    user_id=user.id,
                    family_id=uuid.uuid4(),
                    token_hash=uuid.uuid4().hex,
                    expires_at=datetime.now(UTC) + timedelta(days=1),
                )
            )


async def owners(
    runtime: Runtime, sql: str, user: UserRow | None, admin: bool = False
) -> list[str]:
    async with runtime.database.session(user.id if user else None, is_admin=admin) as session:
        return [str(row[0]) for row in (await session.execute(text(sql))).all()]


async def test_the_app_role_cannot_bypass_rls(pg: Runtime) -> None:
    async with pg.database.engine.connect() as connection:
        row = (
            await connection.execute(
                text(
                    "SELECT current_user, rolsuper, rolbypassrls FROM pg_roles "
                    "WHERE rolname = current_user"
                )
            )
        ).one()
    assert tuple(row) == (APP_ROLE, False, False)


async def test_every_owned_table_has_forced_rls(pg: Runtime) -> None:
    async with pg.database.engine.connect() as connection:
        rows = (
            await connection.execute(
                text(
                    "SELECT relname, relrowsecurity, relforcerowsecurity FROM pg_class "
                    "WHERE relname = ANY(:names)"
                ),
                {"names": [*OWNED_TABLES, "users", "audit_events"]},
            )
        ).all()
    assert sorted(tuple(r) for r in rows) == sorted(
        (name, True, True) for name in [*OWNED_TABLES, "users", "audit_events"]
    )


async def test_unscoped_select_returns_only_the_acting_users_rows(pg: Runtime) -> None:
    # given two users with refresh tokens
    alice, bob = await create_user(pg), await create_user(pg)
    await add_tokens(pg, alice, 2)
    await add_tokens(pg, bob, 3)
    # when each runs a SELECT without any WHERE clause
    seen_by_alice = await owners(pg, "SELECT user_id FROM refresh_tokens", alice)
    seen_by_bob = await owners(pg, "SELECT user_id FROM refresh_tokens", bob)
    # then each sees their own rows only; admins get no extra reach on owned tables
    assert seen_by_alice == [str(alice.id)] * 2
    assert seen_by_bob == [str(bob.id)] * 3
    admin = await create_user(pg, role=Role.ADMIN)
    assert await owners(pg, "SELECT user_id FROM refresh_tokens", admin, admin=True) == []


async def test_anonymous_sees_nothing(pg: Runtime) -> None:
    alice = await create_user(pg)
    await add_tokens(pg, alice, 1)
    async with pg.database.session(None) as session:
        record_audit(session, "test.anonymous", AuditOutcome.FAILURE, user_id=None)
    for table in ["users", "refresh_tokens", "audit_events", *OWNED_TABLES]:
        assert await owners(pg, f"SELECT 1 FROM {table}", None) == [], table
    # nor does a connection that never said who it acts for
    async with pg.database.engine.connect() as connection:
        count = (await connection.execute(text("SELECT count(*) FROM users"))).scalar()
    assert count == 0


async def test_unscoped_writes_cannot_touch_other_users_rows(pg: Runtime) -> None:
    alice, bob = await create_user(pg), await create_user(pg)
    await add_tokens(pg, alice, 1)
    await add_tokens(pg, bob, 2)
    # when alice's session updates and deletes without a filter
    async with pg.database.session(alice.id) as session:
        updated = await session.execute(text("UPDATE refresh_tokens SET revoked_at = now()"))
        deleted = await session.execute(
            text("DELETE FROM refresh_tokens WHERE user_id = :bob"), {"bob": bob.id}
        )
        assert (updated.rowcount, deleted.rowcount) == (1, 0)  # type: ignore[attr-defined]
    # then bob's rows are intact
    async with pg.database.system_session() as session:
        bobs = (
            await session.execute(
                text("SELECT revoked_at FROM refresh_tokens WHERE user_id = :bob"), {"bob": bob.id}
            )
        ).all()
    assert [row[0] for row in bobs] == [None, None]


async def test_rows_cannot_be_written_for_another_user(pg: Runtime) -> None:
    alice, bob = await create_user(pg), await create_user(pg)
    with pytest.raises(sqlalchemy.exc.DBAPIError, match="row-level security"):
        async with pg.database.session(alice.id) as session:
            session.add(
                RefreshTokenRow(
                    user_id=bob.id,
                    family_id=uuid.uuid4(),
                    token_hash=uuid.uuid4().hex,
                    expires_at=datetime.now(UTC),
                )
            )
    with pytest.raises(sqlalchemy.exc.DBAPIError, match="row-level security"):
        async with pg.database.session(alice.id) as session:
            record_audit(session, "forged", AuditOutcome.SUCCESS, user_id=bob.id)


async def test_users_table_self_admin_and_system(pg: Runtime) -> None:
    alice, bob = await create_user(pg), await create_user(pg)
    admin = await create_user(pg, role=Role.ADMIN)
    everyone = sorted(str(u.id) for u in (alice, bob, admin))
    assert await owners(pg, "SELECT id FROM users", alice) == [str(alice.id)]
    assert sorted(await owners(pg, "SELECT id FROM users", admin, admin=True)) == everyone
    # a user cannot promote themselves, even with a statement that forgot every check
    async with pg.database.session(alice.id) as session:
        result = await session.execute(text("UPDATE users SET role = 'ADMIN'"))
        assert result.rowcount == 0  # type: ignore[attr-defined]
    async with pg.database.system_session() as session:
        rows = (await session.execute(text("SELECT id FROM users"))).all()
    assert sorted(str(r[0]) for r in rows) == everyone


async def test_audit_events_own_for_users_all_for_admins(pg: Runtime) -> None:
    alice, bob = await create_user(pg), await create_user(pg)
    admin = await create_user(pg, role=Role.ADMIN)
    for user in (alice, bob):
        async with pg.database.session(user.id) as session:
            record_audit(session, "test.event", AuditOutcome.SUCCESS, user_id=user.id)
    async with pg.database.session(None) as session:  # an anonymous failure, no user
        record_audit(session, "auth.log_in", AuditOutcome.FAILURE, user_id=None)
    assert await owners(pg, "SELECT user_id FROM audit_events", alice) == [str(alice.id)]
    assert len(await owners(pg, "SELECT user_id FROM audit_events", admin, admin=True)) == 3
    # and history cannot be rewritten from a user's session
    async with pg.database.session(alice.id) as session:
        result = await session.execute(text("DELETE FROM audit_events"))
        assert result.rowcount == 0  # type: ignore[attr-defined]


async def test_inventory_totals_that_forget_their_scope_still_see_only_their_user(
    pg: Runtime,
) -> None:
    # given two users whose syncs left totals in `resource_counts`
    from tests.inventory_factories import create_credential, create_resources

    alice, bob = await create_user(pg), await create_user(pg)
    await create_resources(pg, await create_credential(pg, alice), 3)
    await create_resources(pg, await create_credential(pg, bob), 5)
    # when alice's session sums every total, and tries to rewrite bob's, without any filter
    totals = "SELECT user_id, SUM(count) FROM resource_counts GROUP BY user_id"
    async with pg.database.session(alice.id) as session:
        seen = [(str(u), int(n)) for u, n in (await session.execute(text(totals))).all()]
        changed = await session.execute(text("UPDATE resource_counts SET count = 0"))
    # then only her own total is visible, and only her own rows were writable
    assert seen == [(str(alice.id), 3)]
    assert changed.rowcount == 1  # type: ignore[attr-defined]
    assert await owners(pg, "SELECT user_id FROM resource_counts", bob) == [str(bob.id)]
