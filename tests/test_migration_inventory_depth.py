"""Migration 0003_inventory_depth on a database that already holds an inventory (SQLite): rows
keep their data, get their scope from the stamp, and accept the new resource types."""

from __future__ import annotations

import sqlite3
import uuid
from pathlib import Path

from db.migrate import upgrade


def test_existing_rows_get_their_scope_and_the_new_types_are_accepted(tmp_path: Path) -> None:
    # given a database at the revision before, holding a stamped resource
    path = tmp_path / "before.db"
    url = f"sqlite+aiosqlite:///{path}"
    upgrade(url, "0003_accounts")
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
            "INSERT INTO resources (id, user_id, credential_id, provider, account, region, type,"
            " native_type, resource_id, name, status, tags, metadata, first_seen_at,"
            " last_synced_at) VALUES (?, ?, ?, 'AWS', '1', 'us-east-1', 'VM',"
            " 'AWS::EC2::Instance', 'i-1', 'web', 'RUNNING', '{}',"
            ' \'{"_scope": "us-east-1/AWS::EC2::Instance", "instanceType": "t3.micro"}\','
            " '2026-01-01', '2026-01-01')",
            (uuid.uuid4().hex, user, credential),
        )
    # when it is migrated
    upgrade(url)
    # then the row keeps its data, gains its scope and an empty configuration
    with sqlite3.connect(path) as db:
        row = db.execute("SELECT name, scope, configuration, metadata FROM resources").fetchone()
        assert row[:3] == ("web", "us-east-1/AWS::EC2::Instance", "{}")
        assert "t3.micro" in row[3]
        # and a resource of a new type can be stored
        db.execute("UPDATE resources SET type = 'IDENTITY'")
        assert db.execute("SELECT type FROM resources").fetchone() == ("IDENTITY",)
