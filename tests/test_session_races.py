"""Refreshes racing a revocation: once `logOut(allSessions)` or `changePassword` returns, no token
issued before it works, whatever ran concurrently (READ COMMITTED on PostgreSQL let a refresh in
flight insert a token the revocation's UPDATE never saw). Attack test: before the fix, tokens
minted by concurrent refreshes survived on PostgreSQL.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from graph.context import authenticate
from graph.runtime import Runtime
from security.authentication import Authenticator, Client, IssuedSession
from security.passwords import PasswordHasher
from tests.factories import create_user

PASSWORD = "Correct-Horse-42"
NEW_PASSWORD = "Another-Horse-77"
SESSIONS = 16
ROUNDS = 4
CLIENT = Client(ip="198.51.100.7", user_agent="race")


def authenticator(runtime: Runtime) -> Authenticator:
    return Authenticator(
        runtime.database,
        runtime.passwords,
        runtime.signer,
        refresh_ttl=timedelta(days=1),
        events=runtime.session_events,
    )


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
    runtime: Runtime, fast_passwords: PasswordHasher, revocation: str
) -> None:
    auth = authenticator(runtime)
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

        refreshes = [auth.refresh(s.refresh_token, CLIENT) for s in sessions]
        *outcomes, fresh = await asyncio.gather(*refreshes, revoke(password))
        if revocation == "changePassword":
            password = NEW_PASSWORD if password == PASSWORD else PASSWORD

        # then no pair issued before the revocation returned works: neither the originals nor
        # what the racing refreshes minted
        minted = [o.session for o in outcomes if o.session is not None]
        for issued in [*sessions, *minted]:
            alive = await still_works(runtime, auth, issued)
            if alive:
                survivors.append((round_number, issued.refresh_token[:6], alive))
        # and the session the password change handed back is the one that works
        if fresh is not None:
            assert await authenticate(runtime, fresh.access_token) is not None
    assert survivors == []
