"""`stratograph export`: an operator's export of one user's resources, same rows as the API."""

from __future__ import annotations

import csv
import stat
from pathlib import Path

import pytest

from db.enums import ResourceType
from graph.export.command import ExportError, run_export
from graph.runtime import Runtime
from tests.factories import create_user
from tests.inventory_factories import create_credential, insert_resources, resource_values


async def test_export_writes_the_users_resources_to_a_private_file(
    runtime: Runtime, tmp_path: Path
) -> None:
    # Given two users with resources
    user = await create_user(runtime, email="ops-export@example.com")
    other = await create_user(runtime)
    mine, theirs = await create_credential(runtime, user), await create_credential(runtime, other)
    await insert_resources(
        runtime,
        [
            resource_values(mine, 1, type=ResourceType.VM),
            resource_values(mine, 2, type=ResourceType.STORAGE),
            resource_values(theirs, 3, type=ResourceType.VM),
        ],
    )
    target = tmp_path / "export.csv"
    # When the operator exports the first user's VMs
    written = await run_export(
        runtime.settings,
        email="OPS-export@example.com",
        fmt="csv",
        where=["type=VM"],
        output=str(target),
    )
    # Then the file holds the header and that user's VM only, readable by its owner only
    raw = target.read_bytes()
    assert written == len(raw) and raw.startswith(b"id,name,")
    rows = list(csv.DictReader(raw.decode().splitlines()))
    assert [(r["name"], r["type"]) for r in rows] == [("res-00001", "VM")]
    assert stat.S_IMODE(target.stat().st_mode) == 0o600


@pytest.mark.parametrize(
    "email, where, message",
    [
        ("nobody@example.com", [], "no user"),
        ("not-an-address", [], "not an e-mail address"),
        ("ops2@example.com", ["type"], "NAME=VALUE"),
        ("ops2@example.com", ["colour=red"], "Unknown parameter `colour`"),
    ],
)
async def test_export_refuses_bad_arguments(
    runtime: Runtime, tmp_path: Path, email: str, where: list[str], message: str
) -> None:
    await create_user(runtime, email="ops2@example.com")
    with pytest.raises(ExportError, match=message):
        await run_export(
            runtime.settings, email=email, fmt="csv", where=where, output=str(tmp_path / "x")
        )
