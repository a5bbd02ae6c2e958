"""Migration 0004_accounts upgrades a database holding scope records, and downgrades again."""

from __future__ import annotations

import asyncio
import sqlite3
import uuid
from pathlib import Path

import asyncpg
from alembic import command

from db.migrate import alembic_config, upgrade, upgrade_async
from tests.databases import PostgresTemplate, async_url


def database_dsn(template: PostgresTemplate, name: str) -> str:
    return template.admin_dsn.rsplit("/", 1)[0] + f"/{name}"


def seed(path: Path) -> None:
    user, credential = uuid.uuid4().hex, uuid.uuid4().hex
    with sqlite3.connect(path) as db:
        db.execute(
            "INSERT INTO users (id, email, full_name, password_hash, role, is_active, updated_at,"
            " created_at) VALUES (?, 'a@example.com', 'A', '!', 'USER', 1, '2026-01-01',"
            " '2026-01-01')",
            (user,),
        )
        db.execute(
            "INSERT INTO cloud_credentials (id, user_id, provider, name, default_region,"
            " fingerprint, key_id, ciphertext, updated_at, health_status, created_at,"
            " secret_rotated_at) VALUES (?, ?, 'AWS', 'c', 'us-east-1', 'f', 'k', x'00',"
            " '2026-01-01', 'UNKNOWN', '2026-01-01', '2026-01-01')",
            (credential, user),
        )
        db.execute(
            "INSERT INTO sync_scopes (id, user_id, credential_id, region, kind, resource_count)"
            " VALUES (?, ?, ?, 'us-east-1', 'AWS::EC2::Instance', 3)",
            (uuid.uuid4().hex, user, credential),
        )


def test_scope_records_keep_their_key_and_accounts_share_region_and_kind(tmp_path: Path) -> None:
    # given a database at the revision before, holding a scope record
    path = tmp_path / "before.db"
    url = f"sqlite+aiosqlite:///{path}"
    upgrade(url, "0004_aws_roles")
    seed(path)
    # when it is migrated
    upgrade(url)
    with sqlite3.connect(path) as db:
        # then the record belongs to no member account (a credential of one account)
        assert db.execute("SELECT account, resource_count FROM sync_scopes").fetchall() == [("", 3)]
        # and two member accounts can each record the same region and kind
        user, credential = db.execute("SELECT user_id, credential_id FROM sync_scopes").fetchone()
        for account in ("111111111111", "222222222222"):
            db.execute(
                "INSERT INTO sync_scopes (id, user_id, credential_id, account, region, kind,"
                " resource_count) VALUES (?, ?, ?, ?, 'us-east-1', 'AWS::EC2::Instance', 0)",
                (uuid.uuid4().hex, user, credential, account),
            )
        assert db.execute("SELECT count(*) FROM sync_scopes").fetchone() == (3,)
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master")}
        assert {"cloud_accounts", "sync_job_parts"} <= tables


def test_it_downgrades_and_upgrades_again(tmp_path: Path) -> None:
    # given a migrated database with member accounts' scope records
    path = tmp_path / "after.db"
    url = f"sqlite+aiosqlite:///{path}"
    upgrade(url, "0004_aws_roles")
    seed(path)
    upgrade(url)
    with sqlite3.connect(path) as db:
        db.execute("UPDATE sync_scopes SET account = '111111111111'")
    # when it goes back to the revision before, and forward again
    command.downgrade(alembic_config(url), "0004_aws_roles")
    with sqlite3.connect(path) as db:
        columns = {row[1] for row in db.execute("PRAGMA table_info(sync_scopes)")}
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master")}
    upgrade(url)
    # then the old schema was restored (member accounts' scope records, which it cannot key,
    # were dropped: the next sync records them again), and the upgrade works again
    assert "account" not in columns
    assert not {"cloud_accounts", "sync_job_parts"} & tables
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT count(*) FROM sync_scopes").fetchone() == (0,)


async def test_it_downgrades_and_upgrades_again_on_postgresql(
    postgres_template: PostgresTemplate,
) -> None:
    # given a PostgreSQL database migrated to the head (a clone of the migrated template)
    name = await postgres_template.clone()
    url = async_url(postgres_template.admin_dsn, name)
    try:
        # when it goes back to the revision before, and forward again
        await asyncio.to_thread(command.downgrade, alembic_config(url), "0004_aws_roles")
        connection = await asyncpg.connect(database_dsn(postgres_template, name))
        try:
            tables = {r[0] for r in await connection.fetch("SELECT tablename FROM pg_tables")}
        finally:
            await connection.close()
        await upgrade_async(url)
        connection = await asyncpg.connect(database_dsn(postgres_template, name))
        try:
            policies = {
                r[0] for r in await connection.fetch(
                    "SELECT policyname FROM pg_policies WHERE tablename = 'cloud_accounts'"
                )
            }  # fmt: skip
        finally:
            await connection.close()
    finally:
        await postgres_template.drop(name)
    # then the new tables went and came back, with their row-level security policies
    assert not {"cloud_accounts", "sync_job_parts"} & tables
    assert policies == {"cloud_accounts_owner", "cloud_accounts_system"}
