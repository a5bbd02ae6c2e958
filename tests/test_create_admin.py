"""`stratograph create-admin`: creates or promotes, enforces the policy, never echoes secrets."""

from __future__ import annotations

import asyncio
import io
import os
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from core.settings import Settings
from db.enums import Role
from db.models import AuditEventRow, UserRow
from graph.runtime import Runtime
from stratograph.admin import create_admin
from tests.factories import create_user
from tests.graphql_client import GraphQLClient
from tests.sessions import PASSWORD, log_in, signed_up_session

ROOT = Path(__file__).resolve().parents[1]
ME = "query { me { email role } }"


async def user_by_email(runtime: Runtime, email: str) -> UserRow | None:
    async with runtime.database.system_session() as session:
        found: UserRow | None = (
            await session.execute(select(UserRow).where(UserRow.email == email))
        ).scalar()
    return found


async def run_in_thread(
    settings: Settings, email: str, *, stdin: str | None, monkeypatch: pytest.MonkeyPatch
) -> int:
    """The command's implementation runs its own event loop, so it gets its own thread."""
    if stdin is not None:
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    return await asyncio.to_thread(
        create_admin,
        settings,
        email=email,
        full_name="Root Admin",
        password_stdin=stdin is not None,
    )


async def test_cli_creates_an_admin_from_stdin(settings: Settings, gql: GraphQLClient) -> None:
    # given the real command line, configured through the environment
    env = {
        **os.environ,
        "ENVIRONMENT": "test",
        "DATABASE_URL": settings.database_url,
        "SECRET_KEY": settings.secret_key,
        "ENCRYPTION_KEYS": ",".join(settings.encryption_keys),
        "DEV_SECRETS_FILE": str(settings.secrets_file_path()),
    }
    # when
    pipe = asyncio.subprocess.PIPE
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "stratograph", "create-admin",
        "--email", " Root@Example.com", "--password-stdin",
        cwd=ROOT, env=env, stdin=pipe, stdout=pipe, stderr=pipe,
    )  # fmt: skip
    stdout, stderr = await asyncio.wait_for(process.communicate(f"{PASSWORD}\n".encode()), 60)
    # then
    assert process.returncode == 0, stderr.decode()
    assert stdout.decode().strip() == "created admin root@example.com"
    assert PASSWORD not in stdout.decode() + stderr.decode()
    session = await log_in(gql, "root@example.com", PASSWORD)
    me = (await gql(ME, token=session["accessToken"])).ok()["me"]
    assert me == {"email": "root@example.com", "role": "ADMIN"}


async def test_existing_account_is_promoted_without_touching_its_password(
    settings: Settings, runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a regular user, and a prompt that must not be shown
    user = await create_user(runtime, "promote@example.com", password_hash="kept-hash")

    def no_prompt(prompt: str = "") -> str:
        raise AssertionError("an existing account needs no password")

    monkeypatch.setattr("getpass.getpass", no_prompt)
    # when
    code = await run_in_thread(settings, "promote@example.com", stdin=None, monkeypatch=monkeypatch)
    # then
    promoted = await user_by_email(runtime, "promote@example.com")
    assert code == 0
    assert promoted is not None and promoted.id == user.id
    assert (promoted.role, promoted.password_hash) == (Role.ADMIN, "kept-hash")
    async with runtime.database.system_session() as session:
        event = (await session.execute(select(AuditEventRow))).scalar_one()
    assert (event.action, event.user_id) == ("admin.promote", user.id)


async def test_a_piped_password_resets_an_existing_account_and_its_sessions(
    settings: Settings, runtime: Runtime, gql: GraphQLClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a user with a session
    session = await signed_up_session(gql, "reset@example.com")
    # when
    new_password = "Brand-New-Secret-9"
    code = await run_in_thread(
        settings, "reset@example.com", stdin=new_password + "\n", monkeypatch=monkeypatch
    )
    # then
    assert code == 0
    assert (await gql(ME, token=session["accessToken"])).error_codes == ["UNAUTHENTICATED"]
    assert (await log_in(gql, "reset@example.com"))["userErrors"][0]["code"] == (
        "INVALID_CREDENTIALS"
    )
    assert (await log_in(gql, "reset@example.com", new_password))["userErrors"] == []


@pytest.mark.parametrize("password", ["short1A", "password123", "Password1"])
async def test_weak_password_is_refused(
    settings: Settings,
    runtime: Runtime,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    password: str,
) -> None:
    # when
    code = await run_in_thread(
        settings, "weak@example.com", stdin=password, monkeypatch=monkeypatch
    )
    # then
    assert code == 1
    assert "create-admin: refused" in capsys.readouterr().err
    assert await user_by_email(runtime, "weak@example.com") is None


async def test_prompted_password_must_be_typed_twice(
    settings: Settings, runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a user typing two different passwords, then the same one twice
    answers = iter([PASSWORD, PASSWORD + "x", PASSWORD, PASSWORD])
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(answers))
    # when
    mismatch = await run_in_thread(
        settings, "typed@example.com", stdin=None, monkeypatch=monkeypatch
    )
    created = await run_in_thread(
        settings, "typed@example.com", stdin=None, monkeypatch=monkeypatch
    )
    # then
    assert (mismatch, created) == (1, 0)
    admin = await user_by_email(runtime, "typed@example.com")
    assert admin is not None and admin.role is Role.ADMIN and admin.full_name == "Root Admin"


async def test_malformed_email_is_refused(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code = await run_in_thread(settings, "not-an-email", stdin=PASSWORD, monkeypatch=monkeypatch)
    assert code == 1
    assert "email" in capsys.readouterr().err
