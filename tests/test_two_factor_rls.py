"""PostgreSQL row-level security on the account tables of migration 0003_accounts: a query that
forgot its owner filter still sees only its user's second factors, challenges and security events
(admins: every security event, nobody's factors), and no session can write an audit event acted
by someone else.
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
from db.enums import AuditOutcome, Role, SecurityEventKind
from db.models import MfaChallengeRow, RecoveryCodeRow, TotpFactorRow, UserRow
from graph.runtime import Runtime
from security.security_events import raise_event
from tests.conftest import make_settings
from tests.databases import PostgresTemplate, as_app_role, async_url
from tests.factories import create_user

TABLES = ["totp_factors", "recovery_codes", "mfa_challenges", "security_events"]


@pytest.fixture
async def pg(postgres_template: PostgresTemplate, tmp_path: Path) -> AsyncIterator[Runtime]:
    name = await postgres_template.clone()
    url = async_url(as_app_role(postgres_template.admin_dsn), name)
    runtime = Runtime.from_settings(make_settings(url, tmp_path))
    try:
        yield runtime
    finally:
        await runtime.close()
        await postgres_template.drop(name)


async def seed(runtime: Runtime, user: UserRow) -> None:
    async with runtime.database.system_session() as session:
        session.add(TotpFactorRow(user_id=user.id, key_id="k1", ciphertext=b"x" * 40))
        session.add(RecoveryCodeRow(user_id=user.id, code_hash=uuid.uuid4().hex))
        session.add(
            MfaChallengeRow(
                user_id=user.id,
                token_hash=uuid.uuid4().hex,
                expires_at=datetime.now(UTC) + timedelta(minutes=5),
            )
        )
        raise_event(session, SecurityEventKind.NEW_LOCATION, user_id=user.id, ip="192.0.2.1")


async def seen(runtime: Runtime, table: str, user: UserRow, admin: bool = False) -> list[str]:
    async with runtime.database.session(user.id, is_admin=admin) as session:
        rows = (await session.execute(text(f"SELECT user_id FROM {table}"))).all()
    return sorted(str(row[0]) for row in rows)


async def test_account_tables_have_forced_rls_and_owner_policies(pg: Runtime) -> None:
    async with pg.database.engine.connect() as connection:
        flags = (
            await connection.execute(
                text(
                    "SELECT relname, relrowsecurity, relforcerowsecurity FROM pg_class "
                    "WHERE relname = ANY(:names)"
                ),
                {"names": TABLES},
            )
        ).all()
    assert sorted(tuple(f) for f in flags) == sorted((t, True, True) for t in TABLES)
    # given two users with a row in every table, and an admin
    alice, bob = await create_user(pg), await create_user(pg)
    admin = await create_user(pg, role=Role.ADMIN)
    await seed(pg, alice)
    await seed(pg, bob)
    for table in TABLES:
        # then an unfiltered SELECT sees the acting user's rows only
        assert await seen(pg, table, alice) == [str(alice.id)], table
    # and an admin sees every security event, but nobody's second factor
    everyone = sorted([str(alice.id), str(bob.id)])
    assert await seen(pg, "security_events", admin, admin=True) == everyone
    for table in ("totp_factors", "recovery_codes", "mfa_challenges"):
        assert await seen(pg, table, admin, admin=True) == [], table


async def test_no_session_appends_an_audit_event_acted_by_someone_else(pg: Runtime) -> None:
    alice, bob = await create_user(pg), await create_user(pg)
    with pytest.raises(sqlalchemy.exc.DBAPIError, match="row-level security"):
        async with pg.database.session(alice.id) as session:
            record_audit(session, "forged", AuditOutcome.SUCCESS, user_id=alice.id, actor_id=bob.id)
    # its own events, and anonymous ones, still go in
    async with pg.database.session(alice.id) as session:
        record_audit(session, "own", AuditOutcome.SUCCESS, user_id=alice.id)
        record_audit(session, "anonymous", AuditOutcome.FAILURE, user_id=None)
    assert await seen(pg, "audit_events", alice) == [str(alice.id)]
