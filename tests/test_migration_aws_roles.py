"""Migration 0004_aws_roles (SQLite): existing credentials keep their data with no external ID;
the column is unique; it downgrades and upgrades again."""

from __future__ import annotations

import sqlite3
import uuid
from pathlib import Path

import pytest
from alembic import command

from db.migrate import alembic_config, upgrade

INSERT_CREDENTIAL = (
    "INSERT INTO cloud_credentials (id, user_id, provider, name, default_region, fingerprint,"
    " key_id, ciphertext, updated_at, health_status, created_at, secret_rotated_at)"
    " VALUES (?, ?, 'AWS', ?, 'us-east-1', 'f', 'k', x'00', '2026-01-01', 'UNKNOWN',"
    " '2026-01-01', '2026-01-01')"
)


def columns(path: Path) -> set[str]:
    with sqlite3.connect(path) as db:
        return {row[1] for row in db.execute("PRAGMA table_info(cloud_credentials)")}


def test_the_external_id_column_comes_and_goes_keeping_credentials(tmp_path: Path) -> None:
    # given a database at the revision before, holding a credential
    path = tmp_path / "before.db"
    url = f"sqlite+aiosqlite:///{path}"
    upgrade(url, "0003_webhooks")
    user = uuid.uuid4().hex
    with sqlite3.connect(path) as db:
        db.execute(
            "INSERT INTO users (id, email, full_name, password_hash, role, is_active, updated_at,"
            " created_at) VALUES (?, 'a@example.com', 'A', '!', 'USER', 1, '2026-01-01',"
            " '2026-01-01')",
            (user,),
        )
        db.execute(INSERT_CREDENTIAL, (uuid.uuid4().hex, user, "old"))
    # when it is migrated
    upgrade(url, "0004_aws_roles")
    # then the credential is kept without an external ID, and external IDs are unique
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT name, external_id FROM cloud_credentials").fetchall() == [
            ("old", None)
        ]
        db.execute(INSERT_CREDENTIAL, (uuid.uuid4().hex, user, "a"))
        db.execute(INSERT_CREDENTIAL, (uuid.uuid4().hex, user, "b"))
        db.execute("UPDATE cloud_credentials SET external_id = 'same' WHERE name = 'a'")
        with pytest.raises(sqlite3.IntegrityError):
            db.execute("UPDATE cloud_credentials SET external_id = 'same' WHERE name = 'b'")
    # and it downgrades (the column goes, the rows stay) and upgrades again
    command.downgrade(alembic_config(url), "0003_webhooks")
    assert "external_id" not in columns(path)
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT count(*) FROM cloud_credentials").fetchone() == (3,)
    upgrade(url, "0004_aws_roles")
    assert "external_id" in columns(path)
