"""Signing up and logging in through the API, for tests about what comes after."""

from __future__ import annotations

from typing import Any

from tests.graphql_client import GraphQLClient

PASSWORD = "Correct-Horse-42"

SIGN_UP = """
mutation SignUp($input: SignUpInput!) {
  signUp(input: $input) {
    user { id email fullName role createdAt }
    userErrors { field code message }
  }
}
"""

SESSION_FIELDS = """
    accessToken refreshToken tokenType expiresIn
    user { id email role }
    userErrors { field code message }
"""

LOG_IN = f"""
mutation LogIn($input: LogInInput!) {{ logIn(input: $input) {{ {SESSION_FIELDS} }} }}
"""

REFRESH = f"""
mutation Refresh($input: RefreshTokenInput!) {{
  refreshToken(input: $input) {{ {SESSION_FIELDS} }}
}}
"""


async def sign_up(
    gql: GraphQLClient,
    email: str,
    password: str = PASSWORD,
    full_name: str = "Test User",
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    variables = {"input": {"email": email, "password": password, "fullName": full_name}}
    payload: dict[str, Any] = (await gql(SIGN_UP, variables, headers=headers)).ok()["signUp"]
    return payload


async def log_in(
    gql: GraphQLClient,
    email: str,
    password: str = PASSWORD,
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    variables = {"input": {"email": email, "password": password}}
    payload: dict[str, Any] = (await gql(LOG_IN, variables, headers=headers)).ok()["logIn"]
    return payload


async def refresh(gql: GraphQLClient, refresh_token: str) -> dict[str, Any]:
    variables = {"input": {"refreshToken": refresh_token}}
    payload: dict[str, Any] = (await gql(REFRESH, variables)).ok()["refreshToken"]
    return payload


async def signed_up_session(gql: GraphQLClient, email: str) -> dict[str, Any]:
    """A new account's first session (the logIn payload)."""
    created = await sign_up(gql, email)
    assert created["userErrors"] == [], created
    session = await log_in(gql, email)
    assert session["userErrors"] == [], session
    return session
