"""One budget of password guesses per account and per client address, whatever field checks the
password and however the e-mail is spelled. Attack tests: before the fix, full-width spellings of
one e-mail each had their own log-in budget, and `changePassword` had none beyond the default.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import httpx
from starlette.applications import Starlette

from core.settings import Settings
from graph.app import create_app
from security.password_policy import normalize_email
from security.passwords import PasswordHasher
from tests.conftest import make_settings
from tests.factories import access_token, create_user
from tests.hardening_support import client_for, codes, post, set_client_ip

PASSWORD = "Correct-Horse-42"
BUDGET = 5  # the contract's RATE_LIMIT_LOGIN default, 5/minute
LOG_IN = """
mutation LogIn($email: String!, $password: String!) {
  logIn(input: {email: $email, password: $password}) { accessToken userErrors { code } }
}
"""
CHANGE_PASSWORD = """
mutation Change($current: String!) {
  changePassword(input: {currentPassword: $current, newPassword: "Another-Horse-77"}) {
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
        )
    )
    app.state.runtime.passwords.close()
    app.state.runtime.passwords = PasswordHasher.fast_for_tests()
    return app


def full_width(text: str) -> str:
    """ASCII letters and digits as their full-width forms (UTS-46 maps them back)."""
    return "".join(chr(ord(c) + 0xFEE0) if c.isascii() and c.isalnum() else c for c in text)


async def signed_up(app: Starlette, email: str) -> str:
    """An account's access token, made directly: no request spends any budget."""
    runtime = app.state.runtime
    user = await create_user(runtime, email, password_hash=await runtime.passwords.hash(PASSWORD))
    return access_token(runtime, user)


def outcome(response: httpx.Response, field: str) -> Any:
    if codes(response):
        return codes(response)[0]
    return response.json()["data"][field]["userErrors"][0]["code"]


async def test_spellings_of_one_email_share_the_accounts_budget(
    database_url: str, tmp_path: Path
) -> None:
    # given an account, and spellings of its e-mail that log-in folds to the same address
    app = real_app(database_url, tmp_path)
    local = f"u{uuid.uuid4().hex[:8]}"
    email = f"{local}@example.com"
    # (UTS-46 folds the domain: full-width letters there reach the same account)
    spellings = [
        email,
        email.upper(),
        f"{local}@" + full_width("example.com"),
        f"{local.upper()}@" + full_width("EXAMPLE.COM"),
        f"  {email}  ",
        f"{local}@EXAMPLE." + full_width("com"),
    ]
    assert {normalize_email(spelling)[0] for spelling in spellings} == {email}
    async with client_for(app) as client:
        await signed_up(app, email)
        # when an attacker guesses, one spelling and one address per attempt
        answers = []
        for attempt, spelling in enumerate(spellings):
            set_client_ip(client, f"198.51.100.{attempt + 1}")
            variables = {"email": spelling, "password": f"guess-{attempt}"}
            answers.append(await post(client, LOG_IN, variables=variables))
    # then the first five are ordinary refusals and the sixth is rate limited
    assert [outcome(a, "logIn") for a in answers] == ["INVALID_CREDENTIALS"] * BUDGET + [
        "RATE_LIMITED"
    ]


async def test_change_password_guesses_are_bounded_per_account(
    database_url: str, tmp_path: Path
) -> None:
    # given a logged-in account
    app = real_app(database_url, tmp_path)
    async with client_for(app) as client:
        token = await signed_up(app, f"{uuid.uuid4().hex[:8]}@example.com")
        # when someone holding the access token guesses the current password, each time from a
        # new address
        answers = []
        for attempt in range(BUDGET + 3):
            set_client_ip(client, f"198.51.100.{attempt + 1}")
            answers.append(
                await post(
                    client,
                    CHANGE_PASSWORD,
                    variables={"current": f"guess-{attempt}"},
                    headers={"authorization": f"Bearer {token}"},
                )
            )
    # then only the log-in budget's worth of guesses reach the password check
    results = [outcome(a, "changePassword") for a in answers]
    assert results == ["INVALID_CREDENTIALS"] * BUDGET + ["RATE_LIMITED"] * 3
    assert all(a.status_code == 429 for a in answers[BUDGET:])


async def test_log_in_and_change_password_share_one_budget(
    database_url: str, tmp_path: Path
) -> None:
    # given a logged-in account
    app = real_app(database_url, tmp_path)
    email = f"{uuid.uuid4().hex[:8]}@example.com"
    async with client_for(app) as client:
        token = await signed_up(app, email)
        # when guesses alternate between logIn and changePassword, from new addresses
        answers = []
        for attempt in range(BUDGET + 1):
            set_client_ip(client, f"198.51.100.{attempt + 1}")
            if attempt % 2:
                variables = {"email": email, "password": f"guess-{attempt}"}
                answers.append(("logIn", await post(client, LOG_IN, variables=variables)))
            else:
                response = await post(
                    client,
                    CHANGE_PASSWORD,
                    variables={"current": f"guess-{attempt}"},
                    headers={"authorization": f"Bearer {token}"},
                )
                answers.append(("changePassword", response))
    # then together they get the one budget
    results = [outcome(response, field) for field, response in answers]
    assert results == ["INVALID_CREDENTIALS"] * BUDGET + ["RATE_LIMITED"]


async def test_password_checks_from_one_address_share_its_budget(
    database_url: str, tmp_path: Path
) -> None:
    # given several accounts, and one attacker address
    app = real_app(database_url, tmp_path)
    async with client_for(app) as client:
        tokens = [await signed_up(app, f"{uuid.uuid4().hex[:8]}@example.com") for _ in range(3)]
        set_client_ip(client, "203.0.113.66")
        # when that address guesses passwords of different accounts through changePassword
        answers = [
            await post(
                client,
                CHANGE_PASSWORD,
                variables={"current": f"guess-{n}"},
                headers={"authorization": f"Bearer {tokens[n % 3]}"},
            )
            for n in range(BUDGET + 1)
        ]
    # then the address's budget runs out across accounts
    results = [outcome(a, "changePassword") for a in answers]
    assert results == ["INVALID_CREDENTIALS"] * BUDGET + ["RATE_LIMITED"]
