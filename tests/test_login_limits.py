"""End to end against the real accounts mutations: log-in brute force is bounded."""

from __future__ import annotations

import secrets
import uuid
from pathlib import Path

from sqlalchemy import select
from starlette.applications import Starlette

from core.settings import Settings
from db.models import AuditEventRow
from graph.app import create_app
from security.passwords import PasswordHasher
from tests.conftest import make_settings
from tests.hardening_support import client_for, codes, post, set_client_ip

LOG_IN = """
mutation LogIn($email: String!, $password: String!) {
  logIn(input: {email: $email, password: $password}) {
    accessToken
    userErrors { code }
  }
}
"""
SIGN_UP = """
mutation SignUp($email: String!, $password: String!) {
  signUp(input: {email: $email, password: $password, fullName: "A"}) {
    user { id }
    userErrors { code }
  }
}
"""


def real_app(database_url: str, tmp_path: Path) -> Starlette:
    """The product app with the contract's default limits; cheap password hashing."""
    app = create_app(
        make_settings(
            database_url,
            tmp_path,
            rate_limit_login=Settings.model_fields["rate_limit_login"].default,
            rate_limit_default=Settings.model_fields["rate_limit_default"].default,
        )
    )
    app.state.runtime.passwords.close()
    app.state.runtime.passwords = PasswordHasher.fast_for_tests()
    return app


def aliased_log_ins(email: str, count: int) -> str:
    fields = " ".join(
        f'a{i}: logIn(input: {{email: "{email}", password: "guess-{i}"}}) {{ accessToken }}'
        for i in range(count)
    )
    return f"mutation {{ {fields} }}"


async def test_password_guessing_is_bounded_per_account(database_url: str, tmp_path: Path) -> None:
    # given the real app with its default log-in limit (5/minute) and an account
    app = real_app(database_url, tmp_path)
    email = f"{uuid.uuid4().hex[:8]}@example.com"
    async with client_for(app) as client:
        password = secrets.token_urlsafe(24)
        created = await post(client, SIGN_UP, variables={"email": email, "password": password})
        assert created.json()["data"]["signUp"]["userErrors"] == []
        # when an attacker guesses from ever-new addresses (the sign-up used 1 of this IP's 5)
        answers = []
        for attempt in range(6):
            set_client_ip(client, f"198.51.100.{attempt + 1}")
            answers.append(
                await post(client, LOG_IN, variables={"email": email, "password": f"nope{attempt}"})
            )
    # then five guesses get the ordinary refusal and the sixth is rate limited, whatever the IP
    refusals = [a.json()["data"]["logIn"]["userErrors"][0]["code"] for a in answers[:5]]
    assert refusals == ["INVALID_CREDENTIALS"] * 5
    assert answers[5].status_code == 429 and codes(answers[5]) == ["RATE_LIMITED"]


async def test_aliased_log_ins_are_counted_one_by_one(database_url: str, tmp_path: Path) -> None:
    app = real_app(database_url, tmp_path)
    async with client_for(app) as client:
        # when ten guesses are packed in one document
        packed = await post(client, aliased_log_ins("victim@example.com", 10))
        # then the document is refused whole: no resolver ran, no password was checked
        assert packed.status_code == 429
        assert "data" not in packed.json()
        assert packed.json()["errors"][0]["extensions"]["retryAfter"] >= 1
        # and five in one document are still allowed (and use up this IP's budget)
        five = await post(client, aliased_log_ins("victim@example.com", 5))
        sixth = await post(client, LOG_IN, variables={"email": "x@example.com", "password": "p"})
    assert five.status_code == 200 and set(five.json()["data"]) == {f"a{i}" for i in range(5)}
    assert sixth.status_code == 429


async def test_audit_records_the_client_behind_a_trusted_proxy(
    database_url: str, tmp_path: Path
) -> None:
    # given the app behind a proxy at 203.0.113.10, and a spoofing client elsewhere
    app = create_app(make_settings(database_url, tmp_path, trusted_proxies=["203.0.113.10"]))
    app.state.runtime.passwords.close()
    app.state.runtime.passwords = PasswordHasher.fast_for_tests()
    forwarded = {"x-forwarded-for": "6.6.6.6, 192.0.2.44"}
    async with client_for(app) as client:
        via_proxy = await post(
            client, LOG_IN, variables={"email": "a@example.com", "password": "x"}, headers=forwarded
        )
        set_client_ip(client, "198.51.100.7")
        direct = await post(
            client, LOG_IN, variables={"email": "b@example.com", "password": "x"}, headers=forwarded
        )
        async with app.state.runtime.database.system_session() as session:
            rows = (
                await session.execute(select(AuditEventRow.ip).order_by(AuditEventRow.created_at))
            ).all()
    assert via_proxy.status_code == direct.status_code == 200
    # then the proxied attempt is attributed to the proxy's client, the direct one to its peer
    assert [row.ip for row in rows] == ["192.0.2.44", "198.51.100.7"]
