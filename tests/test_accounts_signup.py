"""signUp: normalized emails, the password policy, duplicates, and the registration switch."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from db.models import AuditEventRow, UserRow
from graph.app import create_app
from graph.runtime import Runtime
from security.passwords import PasswordHasher
from tests.conftest import make_settings
from tests.graphql_client import GraphQLClient
from tests.sessions import PASSWORD, SIGN_UP, sign_up

pytestmark = pytest.mark.usefixtures("fast_passwords")


def codes(payload: dict[str, object]) -> list[object]:
    errors = payload["userErrors"]
    assert isinstance(errors, list)
    return [error["code"] for error in errors]


async def test_sign_up_creates_a_user_with_a_normalized_email(
    gql: GraphQLClient, runtime: Runtime
) -> None:
    # when
    payload = await sign_up(gql, "  Ada.Lovelace@Example.COM ", full_name="  Ada   Lovelace ")
    # then
    assert payload["userErrors"] == []
    assert payload["user"]["email"] == "ada.lovelace@example.com"
    assert payload["user"]["fullName"] == "Ada Lovelace"
    assert payload["user"]["role"] == "USER"
    async with runtime.database.system_session() as session:
        row = (await session.execute(select(UserRow))).scalar_one()
    assert row.email == "ada.lovelace@example.com"


async def test_new_passwords_are_stored_as_argon2id_hashes(
    gql: GraphQLClient, runtime: Runtime
) -> None:
    # when
    await sign_up(gql, "hash@example.com")
    # then
    async with runtime.database.system_session() as session:
        stored = (await session.execute(select(UserRow.password_hash))).scalar_one()
    assert stored.startswith("$argon2id$")
    assert PASSWORD not in stored


async def test_duplicate_email_in_another_case_is_taken(gql: GraphQLClient) -> None:
    # given
    await sign_up(gql, "grace@example.com")
    # when
    payload = await sign_up(gql, "GRACE@example.com ")
    # then
    assert payload["user"] is None
    assert payload["userErrors"] == [
        {
            "field": ["input", "email"],
            "code": "TAKEN",
            "message": "An account with this email address already exists.",
        }
    ]


@pytest.mark.parametrize(
    ("password", "code"),
    [
        ("Short1A", "TOO_SHORT"),
        ("A1" + "x" * 127, "TOO_LONG"),
        ("nouppercase42", "PASSWORD_TOO_WEAK"),
        ("NoDigitsAtAll", "PASSWORD_TOO_WEAK"),
        ("Password1", "PASSWORD_TOO_WEAK"),
        ("Qwerty123!", "PASSWORD_TOO_WEAK"),
        ("Summer2024", "PASSWORD_TOO_WEAK"),
    ],
)
async def test_weak_passwords_are_refused(gql: GraphQLClient, password: str, code: str) -> None:
    # when
    payload = await sign_up(gql, "weak@example.com", password=password)
    # then
    assert payload["user"] is None
    assert code in codes(payload)
    assert all(error["field"] == ["input", "password"] for error in payload["userErrors"])


@pytest.mark.parametrize(
    ("email", "full_name", "field", "code"),
    [
        ("not-an-email", "Name", "email", "INVALID"),
        ("   ", "Name", "email", "REQUIRED"),
        ("a@b", "Name", "email", "INVALID"),
        ("blank@example.com", "   ", "fullName", "REQUIRED"),
        ("long@example.com", "x" * 201, "fullName", "TOO_LONG"),
    ],
)
async def test_invalid_email_or_name_is_refused(
    gql: GraphQLClient, email: str, full_name: str, field: str, code: str
) -> None:
    # when
    payload = await sign_up(gql, email, full_name=full_name)
    # then
    assert payload["user"] is None
    assert {"field": ["input", field], "code": code} in [
        {"field": error["field"], "code": error["code"]} for error in payload["userErrors"]
    ]


async def test_every_problem_is_reported_at_once(gql: GraphQLClient) -> None:
    # when everything is wrong
    payload = await sign_up(gql, "nope", password="weak", full_name="")
    # then each field has its own error
    fields = sorted(error["field"][1] for error in payload["userErrors"])
    assert fields == ["email", "fullName", "password"]


async def test_sign_up_is_audited_with_ip_and_user_agent(
    gql: GraphQLClient, runtime: Runtime
) -> None:
    # when
    await sign_up(gql, "audit@example.com", headers={"user-agent": "signup-test/1.0"})
    # then
    async with runtime.database.system_session() as session:
        event = (await session.execute(select(AuditEventRow))).scalar_one()
    assert event.action == "signup"
    assert event.outcome.value == "SUCCESS"
    assert event.ip == "203.0.113.10"
    assert event.user_agent == "signup-test/1.0"
    assert event.user_id is not None


async def test_registration_can_be_disabled(database_url: str, tmp_path: Path) -> None:
    # given a server with ENABLE_REGISTRATION=false
    app = create_app(make_settings(database_url, tmp_path, enable_registration=False))
    app.state.runtime.passwords = PasswordHasher.fast_for_tests()
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            # when
            variables = {"input": {"email": "x@example.com", "password": PASSWORD, "fullName": "X"}}
            response = await http.post("/graphql", json={"query": SIGN_UP, "variables": variables})
        # then
        payload = response.json()["data"]["signUp"]
        assert payload["user"] is None
        assert [e["code"] for e in payload["userErrors"]] == ["REGISTRATION_DISABLED"]
        async with app.state.runtime.database.system_session() as session:
            assert (await session.execute(select(UserRow))).first() is None
    finally:
        await app.state.runtime.close()
