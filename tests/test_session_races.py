"""Refreshes racing a revocation: once `logOut(allSessions)` or `changePassword` returns, no token
issued before it works, whatever ran concurrently (READ COMMITTED on PostgreSQL let a refresh in
flight insert a token the revocation's UPDATE never saw). Attack test: before the fix, tokens
minted by concurrent refreshes survived on PostgreSQL.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from graph.context import authenticate
from graph.runtime import Runtime
from security import refresh_tokens
from security.authentication import Authenticator, Client, IssuedSession
from security.passwords import PasswordHasher
from tests.factories import create_user

PASSWORD = "Correct-Horse-42"
NEW_PASSWORD = "Another-Horse-77"
SESSIONS = 12
ROUNDS = 3
# The longest the first refresh of a round waits, after claiming its token, for the revocation to
# block behind it (see `WidenedRace`).
HOLD_SECONDS = 2.0
LOCK_WAITERS = text(
    "SELECT count(*) FROM pg_stat_activity"
    " WHERE datname = current_database() AND wait_event_type = 'Lock'"
)
CLIENT = Client(ip="198.51.100.7", user_agent="race")


def authenticator(runtime: Runtime) -> Authenticator:
    return Authenticator(
        runtime.database,
        runtime.passwords,
        runtime.signer,
        refresh_ttl=timedelta(days=1),
        events=runtime.session_events,
    )


async def someone_waits_on_a_lock(runtime: Runtime) -> None:
    """Return once another PostgreSQL backend of this database waits on a row lock."""
    async with runtime.database.engine.connect() as connection:
        while not (await connection.execute(LOCK_WAITERS)).scalar():  # noqa: ASYNC110
            await asyncio.sleep(0.005)  # another server's state: nothing to wait on but a poll


class WidenedRace:
    """Widens the window a refresh leaves between claiming its token and committing.

    The first refresh of a round, once it has claimed its token, waits until the revocation is
    blocked behind it (PostgreSQL: a backend waiting on a lock; SQLite, where writers queue on
    the database lock: the revocation reached `revoke_all`). Before the fix, the revocation's
    UPDATE then waited on the claimed row only, and missed the row the refresh went on to insert.
    With the fix the revocation waits on the account before anything else, so it sees that row.
    """

    def __init__(self, runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> None:
        self.revocation_started = asyncio.Event()
        self.held = False
        claim, revoke_all = refresh_tokens.claim, refresh_tokens.revoke_all

        async def slow_claim(session: AsyncSession, token: str, *, now: datetime) -> Any:
            rotation = await claim(session, token, now=now)
            if not self.held:
                self.held = True
                blocked = (
                    someone_waits_on_a_lock(runtime)
                    if runtime.database.is_postgres
                    else self.revocation_started.wait()
                )
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(blocked, HOLD_SECONDS)
            return rotation

        async def signalling_revoke_all(
            session: AsyncSession, user_id: uuid.UUID, *, now: datetime
        ) -> int:
            self.revocation_started.set()
            return await revoke_all(session, user_id, now=now)

        monkeypatch.setattr(refresh_tokens, "claim", slow_claim)
        monkeypatch.setattr(refresh_tokens, "revoke_all", signalling_revoke_all)

    def reset(self) -> None:
        self.revocation_started.clear()
        self.held = False


async def still_works(runtime: Runtime, auth: Authenticator, issued: IssuedSession) -> list[str]:
    """Which halves of a pair are still accepted."""
    alive = []
    if await authenticate(runtime, issued.access_token) is not None:
        alive.append("access")
    if (await auth.refresh(issued.refresh_token, CLIENT)).session is not None:
        alive.append("refresh")
    return alive


@pytest.mark.parametrize("revocation", ["logOut", "changePassword"])
async def test_no_token_issued_before_a_revocation_survives_concurrent_refreshes(
    runtime: Runtime,
    fast_passwords: PasswordHasher,
    revocation: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    auth = authenticator(runtime)
    race = WidenedRace(runtime, monkeypatch)
    password = PASSWORD
    user = await create_user(runtime, password_hash=await fast_passwords.hash(password))
    survivors: list[tuple[int, str, list[str]]] = []
    for round_number in range(ROUNDS):
        # given an account with many live sessions
        sessions = []
        for _ in range(SESSIONS):
            outcome = await auth.log_in(user.email, password, CLIENT)
            assert outcome.session is not None, outcome.problems
            sessions.append(outcome.session)

        # when every session refreshes while the account's sessions are revoked
        async def revoke(current: str) -> IssuedSession | None:
            if revocation == "logOut":
                await auth.log_out(None, all_sessions=True, acting_user_id=user.id, client=CLIENT)
                return None
            new = NEW_PASSWORD if current == PASSWORD else PASSWORD
            changed = await auth.change_password(user.id, current, new, CLIENT)
            assert changed.session is not None, changed.problems
            return changed.session

        race.reset()
        refreshes = [asyncio.create_task(auth.refresh(s.refresh_token, CLIENT)) for s in sessions]
        revoking = asyncio.create_task(revoke(password))  # started after the refreshes
        outcomes = await asyncio.gather(*refreshes)
        fresh = await revoking
        if revocation == "changePassword":
            password = NEW_PASSWORD if password == PASSWORD else PASSWORD

        # then no pair issued before the revocation returned works: neither the originals nor
        # what the racing refreshes minted
        minted = [o.session for o in outcomes if o.session is not None]
        # (minted first: presenting a used original again would revoke its family as reuse)
        for issued in [*minted, *sessions]:
            alive = await still_works(runtime, auth, issued)
            if alive:
                survivors.append((round_number, issued.refresh_token[:6], alive))
        # and the session the password change handed back is the one that works
        if isinstance(fresh, IssuedSession):
            assert await authenticate(runtime, fresh.access_token) is not None
    assert survivors == []
