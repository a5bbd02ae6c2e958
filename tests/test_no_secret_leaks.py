"""No secret comes back out: not from the schema, not in a response, not in a log line."""

from __future__ import annotations

import logging
import re
from typing import Any

import pytest
from graphql import GraphQLInputObjectType, GraphQLInterfaceType, GraphQLObjectType
from sqlalchemy import select

from db.models import AuditEventRow
from graph.runtime import Runtime
from graph.schema import schema
from tests.credential_data import SubmittedSecret, all_secrets, aws_secret, azure_secret
from tests.factories import access_token, create_user
from tests.graphql_client import GraphQLClient
from tests.test_credentials_api import ADD, CREDENTIALS, DELETE, NODE, UPDATE

# Field names that would hold a secret: no output type may have one.
SECRET_FIELD = re.compile(
    r"secret|private_?key|session_?token|service_?account_?json|ciphertext|password",
    re.IGNORECASE,
)

# Contract operation names that mention a secret without returning one (their payloads are checked).
OPERATION_NAMES = frozenset({"Mutation.changePassword"})
# Contract fields that hand a new secret to its owner once, at creation (never readable again).
SHOWN_ONCE = frozenset({"BeginTotpSetupPayload.secret", "AddWebhookPayload.secret"})
# Contract fields about a secret's age, not its content: typed so that no string can pass.
SECRET_AGE_FIELDS = {
    "CloudCredential.secretRotatedAt": "DateTime!",
    "CloudCredential.secretAgeDays": "Int!",
}


def _fields(kinds: tuple[type, ...]) -> list[str]:
    found = []
    for name, gql_type in schema._schema.type_map.items():
        if not name.startswith("__") and isinstance(gql_type, kinds):
            found += [f"{name}.{field}" for field in getattr(gql_type, "fields", {})]
    return found


def test_no_output_type_has_a_field_that_could_return_a_secret() -> None:
    # given every field of every output type, and (as a control) of every input type
    outputs = _fields((GraphQLObjectType, GraphQLInterfaceType))
    inputs = _fields((GraphQLInputObjectType,))
    # then secrets can go in, and nothing named like one comes out
    assert {"AwsSecretInput.secretAccessKey", "AzureSecretInput.clientSecret"} <= {
        f for f in inputs if SECRET_FIELD.search(f.split(".")[1])
    }
    assert "CloudCredential.fingerprint" in outputs
    allowed = OPERATION_NAMES | SHOWN_ONCE | set(SECRET_AGE_FIELDS)
    assert [f for f in outputs if SECRET_FIELD.search(f.split(".")[1]) and f not in allowed] == []
    credential = schema._schema.type_map["CloudCredential"]
    assert isinstance(credential, GraphQLObjectType)
    for name, type_name in SECRET_AGE_FIELDS.items():
        assert str(credential.fields[name.split(".")[1]].type) == type_name


class Recorder:
    """Sends requests and keeps every response body for the final leak check."""

    def __init__(self, gql: GraphQLClient, token: str) -> None:
        self.gql = gql
        self.token = token
        self.bodies: list[str] = []

    async def __call__(self, query: str, variables: dict[str, Any] | None = None) -> Any:
        response = await self.gql(query, variables, token=self.token)
        self.bodies.append(str(response.body))
        return response


def _inline_aws(secret: SubmittedSecret) -> str:
    aws = secret.input["aws"]
    # An unknown field makes validation fail with the secret written into the query itself.
    return (
        'mutation { addCredential(input: {name: "inline", secret: {aws: {'
        f'accessKeyId: "{aws["accessKeyId"]}", secretAccessKey: "{aws["secretAccessKey"]}", '
        "bogus: 1}}}) { userErrors { code } } }"
    )


async def test_no_response_or_log_line_contains_a_submitted_secret(
    gql: GraphQLClient, runtime: Runtime, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    call = Recorder(gql, access_token(runtime, await create_user(runtime)))
    submitted = all_secrets()
    # when every credential operation runs, successfully and not
    ids = []
    for n, secret in enumerate(submitted):
        added = await call(ADD, {"input": {"name": f"c{n}", "secret": secret.input}})
        ids.append(added.ok()["addCredential"]["credential"]["id"])
    await call(CREDENTIALS)
    for credential_id in ids:
        await call(NODE, {"id": credential_id})
    replacement = aws_secret(with_session_token=True)
    submitted.append(replacement)
    await call(UPDATE, {"input": {"id": ids[0], "secret": replacement.input}})
    refused = azure_secret()
    submitted.append(refused)
    await call(UPDATE, {"input": {"id": ids[0], "secret": refused.input}})  # provider switch
    errors = await _malformed_requests(call, submitted)
    for credential_id in ids:
        await call(DELETE, {"input": {"id": credential_id}})
    # then the requests produced errors and log lines, and none holds a secret
    assert errors and all(errors), "every malformed request must be refused"
    async with runtime.database.system_session() as session:
        audit = [str(d) for d in (await session.scalars(select(AuditEventRow.details))).all()]
    assert len(audit) >= 7
    logged = caplog.text + "\n".join(r.getMessage() for r in caplog.records)
    for secret in submitted:
        for text in secret.secret_strings:
            assert not [body for body in call.bodies if text in body]
            assert text not in logged
            assert not [details for details in audit if text in details]
    assert "<redacted>" in logged  # the refusals were logged, redacted


async def _malformed_requests(call: Recorder, submitted: list[SubmittedSecret]) -> list[Any]:
    """Requests graphql-core refuses; its messages would quote the input if not redacted."""
    extra = aws_secret()
    submitted.append(extra)
    missing = {"aws": {"secretAccessKey": extra.input["aws"]["secretAccessKey"]}}
    unknown = {"aws": {**extra.input["aws"], "region": "x"}}
    wrong_type = {"aws": {**extra.input["aws"], "secretAccessKey": [extra.secret_strings[0]]}}
    two = {**extra.input, **submitted[1].input}
    invalid = {"azure": {**submitted[1].input["azure"], "tenantId": "nope"}}
    responses = [
        await call(ADD, {"input": {"name": "bad", "secret": variables}})
        for variables in (missing, unknown, wrong_type, two)
    ]
    responses.append(await call(_inline_aws(extra)))
    shaped = await call(ADD, {"input": {"name": "bad", "secret": invalid}})
    return [r.errors for r in responses] + [shaped.ok()["addCredential"]["userErrors"]]
