"""Accounts for the client examples, created through the API as a user would."""

from __future__ import annotations

from typing import Any

import httpx

from tests.aws_standin import ACCESS_KEY_ID, REGION, SECRET_ACCESS_KEY
from tests.tooling import ROOT

PYTHON_OPERATIONS = ROOT / "examples" / "python" / "operations"
PASSWORD = "Correct-Horse-Battery-Staple-42"


def call(api: str, operation: str, token: str | None = None, **variables: Any) -> Any:
    """Run one of examples/python/operations over HTTP; fail on any top-level error."""
    query = (PYTHON_OPERATIONS / f"{operation}.graphql").read_text()
    headers = {"authorization": f"Bearer {token}"} if token else {}
    response = httpx.post(
        f"{api}/graphql", json={"query": query, "variables": variables}, headers=headers
    )
    body = response.json()
    assert not body.get("errors"), body
    return body["data"]


def seed_account(api: str, email: str) -> None:
    """A user with one AWS credential (pointing at the moto stand-in)."""
    signed_up = call(api, "SignUp", email=email, password=PASSWORD, fullName="Example User")
    assert signed_up["signUp"]["userErrors"] == []
    token = call(api, "LogIn", email=email, password=PASSWORD)["logIn"]["accessToken"]
    added = call(
        api,
        "AddAwsCredential",
        token,
        name="demo-aws",
        defaultRegion=REGION,
        accessKeyId=ACCESS_KEY_ID,
        secretAccessKey=SECRET_ACCESS_KEY,
    )
    assert added["addCredential"]["userErrors"] == []
