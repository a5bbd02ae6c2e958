"""Enrolling two-factor log-in through the API, with codes computed from the `otpauthUri`."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import pyotp

from tests.graphql_client import GraphQLClient
from tests.sessions import PASSWORD, SESSION_FIELDS

BEGIN = "mutation { beginTotpSetup { otpauthUri secret userErrors { field code message } } }"
CONFIRM = """
mutation Confirm($input: TotpCodeInput!) {
  confirmTotpSetup(input: $input) { recoveryCodes userErrors { field code message } }
}
"""
DISABLE = """
mutation Disable($input: DisableTotpInput!) {
  disableTotp(input: $input) { totpEnabled userErrors { field code message } }
}
"""
REGENERATE = """
mutation Regenerate($input: TotpCodeInput!) {
  regenerateRecoveryCodes(input: $input) { recoveryCodes userErrors { field code message } }
}
"""
LOG_IN = f"""
mutation LogIn($input: LogInInput!) {{
  logIn(input: $input) {{ mfaRequired mfaToken {SESSION_FIELDS} }}
}}
"""
COMPLETE = f"""
mutation Complete($input: CompleteLogInInput!) {{
  completeLogIn(input: $input) {{ mfaRequired mfaToken {SESSION_FIELDS} }}
}}
"""
ME = "query { me { id email role totpEnabled } }"


class Clock:
    """The server's TOTP clock (`security.totp.time`), moved by the test, never by waiting."""

    def __init__(self) -> None:
        self.now = time.time()

    def time(self) -> float:
        return self.now

    def next_step(self) -> None:
        self.now += 30


@dataclass
class Authenticator:
    """The user's authenticator app: the code of the clock's time step, from the enrolment URI."""

    totp: pyotp.TOTP
    clock: Clock

    def code(self, steps_from_now: int = 0) -> str:
        return self.totp.at(self.clock.now + steps_from_now * self.totp.interval)


async def enrol(gql: GraphQLClient, token: str, clock: Clock) -> tuple[Authenticator, list[str]]:
    """Begin and confirm a setup with the current code, then move the clock to the next step
    (that code is spent)."""
    begun = (await gql(BEGIN, token=token)).ok()["beginTotpSetup"]
    assert begun["userErrors"] == [], begun
    totp = pyotp.parse_uri(begun["otpauthUri"])
    assert isinstance(totp, pyotp.TOTP) and totp.secret == begun["secret"]
    app = Authenticator(totp, clock)
    confirmed = (await gql(CONFIRM, {"input": {"code": app.code()}}, token=token)).ok()
    payload = confirmed["confirmTotpSetup"]
    assert payload["userErrors"] == [], payload
    clock.next_step()
    return app, list(payload["recoveryCodes"])


async def log_in(gql: GraphQLClient, email: str, password: str = PASSWORD) -> dict[str, Any]:
    variables = {"input": {"email": email, "password": password}}
    payload: dict[str, Any] = (await gql(LOG_IN, variables)).ok()["logIn"]
    return payload


async def complete(
    gql: GraphQLClient, mfa_token: str, *, code: str | None = None, recovery: str | None = None
) -> dict[str, Any]:
    given: dict[str, Any] = {"mfaToken": mfa_token}
    if code is not None:
        given["code"] = code
    if recovery is not None:
        given["recoveryCode"] = recovery
    payload: dict[str, Any] = (await gql(COMPLETE, {"input": given})).ok()["completeLogIn"]
    return payload


def codes_of(payload: dict[str, Any]) -> list[str]:
    return [error["code"] for error in payload["userErrors"]]


def install_clock(monkeypatch: Any) -> Clock:
    clock = Clock()
    monkeypatch.setattr("security.totp.time", clock)
    return clock
