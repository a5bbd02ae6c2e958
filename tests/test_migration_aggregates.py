"""Migration 0004_aggregates on a database that already holds an inventory (SQLite): the totals
are filled from the live rows, and the migration downgrades and upgrades again cleanly."""

from __future__ import annotations

import sqlite3
import uuid
from pathlib import Path

from alembic import command

from db.migrate import alembic_config, upgrade


def _insert_inventory(path: Path) -> None:
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
        for n, (cost, deleted) in enumerate([(0.5, None), (None, None), (2.0, "2026-01-02")]):
            db.execute(
                "INSERT INTO resources (id, user_id, credential_id, provider, account, region,"
                " type, native_type, resource_id, name, status, tags, metadata, configuration,"
                " cost_per_hour, scope, first_seen_at, last_synced_at, deleted_at) VALUES (?, ?,"
                " ?, 'AWS', '1', 'us-east-1', 'VM', 'AWS::EC2::Instance', ?, 'web', 'RUNNING',"
                " '{}', '{}', '{}', ?, 'us-east-1/AWS::EC2::Instance', '2026-01-01',"
                " ?, ?)",
                (uuid.uuid4().hex, user, credential, f"i-{n}", cost, f"2026-01-0{n + 1}", deleted),
            )


def test_existing_inventories_get_their_totals_and_the_migration_reverses(
    tmp_path: Path,
) -> None:
    # given a database at the revision before, holding two live resources and a deleted one
    path = tmp_path / "before.db"
    url = f"sqlite+aiosqlite:///{path}"
    upgrade(url, "0003_webhooks")
    _insert_inventory(path)
    # when it is migrated
    upgrade(url, "0004_aggregates")
    # then one total holds the two live ones, their one known price and the latest sighting
    with sqlite3.connect(path) as db:
        rows = db.execute(
            "SELECT scope, count, priced, cost_per_hour, last_synced_at FROM resource_counts"
        ).fetchall()
    assert rows == [("us-east-1/AWS::EC2::Instance", 2, 1, 0.5, "2026-01-02")]
    # and it downgrades (the table and the index go) and upgrades again to the same totals
    command.downgrade(alembic_config(url), "0003_webhooks")
    with sqlite3.connect(path) as db:
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master")}
    assert "resource_counts" not in tables
    assert "ix_resources_credential_id_name_id" not in tables
    upgrade(url, "0004_aggregates")
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT count FROM resource_counts").fetchall() == [(2,)]
