"""`stratograph create-admin`: create an administrator, or promote an existing account."""

from __future__ import annotations

import asyncio
import getpass
import sys
from typing import TextIO

from core.settings import Settings
from db.engine import Database, create_engine
from security.password_policy import PolicyError
from security.passwords import PasswordHasher
from security.registration import AdminOutcome, create_or_promote_admin, find_user_by_email


class PasswordsDiffer(Exception):
    """The two prompted copies of the password were not the same."""


def read_password(stdin: TextIO | None) -> str:
    """From stdin (first line, for scripts) or an interactive prompt asked twice."""
    if stdin is not None:
        return stdin.readline().rstrip("\r\n")
    first = getpass.getpass("Password for the new admin: ")
    if first != getpass.getpass("Repeat the password: "):
        raise PasswordsDiffer
    return first


async def _run(
    settings: Settings, email: str, full_name: str, stdin: TextIO | None
) -> AdminOutcome:
    database = Database(create_engine(settings.database_url))
    passwords = PasswordHasher()
    try:
        existing = await find_user_by_email(database, email)
        # A new admin needs a password; an existing account keeps its own unless one is piped in.
        password = read_password(stdin) if existing is None or stdin is not None else None
        return await create_or_promote_admin(
            database, passwords, email=email, password=password, full_name=full_name
        )
    finally:
        passwords.close()
        await database.dispose()


def create_admin(settings: Settings, *, email: str, full_name: str, password_stdin: bool) -> int:
    stdin = sys.stdin if password_stdin else None
    try:
        outcome = asyncio.run(_run(settings, email, full_name, stdin))
    except PolicyError as exc:
        reasons = " ".join(problem.message for problem in exc.problems)
        print(f"create-admin: refused: {reasons}", file=sys.stderr)
        return 1
    except PasswordsDiffer:
        print("create-admin: refused: the two passwords differ", file=sys.stderr)
        return 1
    verb = "created" if outcome.created else "promoted"
    print(f"{verb} admin {outcome.user.email}")
    return 0
