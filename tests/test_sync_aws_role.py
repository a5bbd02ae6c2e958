"""A role credential end to end through the existing engine: the user adds it, syncs it over
the API, and the inventory fills; the temporary keys moto issued to the server appear nowhere
(responses, subscription pushes, logs at DEBUG, any database row). Both databases."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from sqlalchemy import select

from db.base import Base
from db.enums import HealthStatus
from db.models import CloudCredentialRow
from graph.node import from_global_id, to_global_id
from tests import test_sync_end_to_end
from tests.factories import access_token, create_user
from tests.graphql_client import GraphQLClient
from tests.standins.aws import PRIMARY_ACCOUNT
from tests.standins.aws_org import (
    MANAGEMENT_ROLE,
    MEMBER_ROLE,
    ORG_REGIONS,
    SINGLE_ROLE,
    AwsOrganization,
)
from tests.test_sync_end_to_end import Served, by_name

pytestmark = pytest.mark.usefixtures("server_identity")
serve = test_sync_end_to_end.serve  # the served app of the end-to-end tests, as a fixture here

ADD = """
mutation Add($input: AddCredentialInput!) {
  addCredential(input: $input) { credential { id externalId } userErrors { field code message } }
}
"""
VERIFY = """
mutation Verify($id: ID!) {
  verifyCredential(input: {id: $id}) { health { status errorMessage } userErrors { code } }
}
"""
OVERVIEW = """
query {
  credentials {
    id fingerprint externalId health { status errorMessage }
    onboarding { cloudFormationTemplate iamTrustPolicy instructions }
    lastSync { status errors { scope code message } }
    resources(first: 100) { edges { node { name account region metadata configuration } } }
  }
  syncJobs(first: 10) { edges { node { status errors { scope code message } } } }
}
"""


class Client:
    """GraphQL over the served app's HTTP, keeping every response body for the leak check."""

    def __init__(self, served: Served, token: str) -> None:
        self.served = served
        self.token = token
        self.bodies: list[str] = []

    async def __call__(self, query: str, variables: dict[str, Any] | None = None) -> Any:
        async with self.served.http() as http:
            response = await GraphQLClient(http)(query, variables, token=self.token)
        self.bodies.append(str(response.body))
        return response.ok()


async def add_role(
    served: Served, role_arn: str, **extra: Any
) -> tuple[CloudCredentialRow, Client]:
    user = await create_user(served.runtime)
    call = Client(served, access_token(served.runtime, user))
    variables = {
        "input": {
            "name": "role",
            "defaultRegion": "us-east-1",
            "secret": {"awsRole": {"roleArn": role_arn, **extra}},
        }
    }
    added = (await call(ADD, variables))["addCredential"]
    assert added["userErrors"] == []
    _, local_id = from_global_id(added["credential"]["id"])
    async with served.runtime.database.system_session() as session:
        row = await session.get(CloudCredentialRow, local_id)
    assert row is not None and row.external_id == added["credential"]["externalId"]
    return row, call


async def database_dump(served: Served) -> str:
    """Every row of every table, as text."""
    lines: list[str] = []
    async with served.runtime.database.system_session() as session:
        for table in Base.metadata.sorted_tables:
            for row in (await session.execute(select(table))).all():
                lines.append(f"{table.name}: {tuple(row)!r}")
    return "\n".join(lines)


async def test_a_role_credential_syncs_end_to_end_and_its_temporary_keys_stay_in_memory(
    serve: Any, aws_org: AwsOrganization, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    # given the server pointed at the gate in front of moto, and a user's role credential
    served: Served = await serve(aws=aws_org)
    credential, call = await add_role(served, SINGLE_ROLE)
    # when the user verifies it, syncs it (following the job), and reads everything back
    verified = (await call(VERIFY, {"id": _id(credential)}))["verifyCredential"]["health"]
    states = await served.sync_and_follow(credential, call.token)
    overview = await call(OVERVIEW)
    # then the sync succeeded through the assumed role, each resource in the role's account
    assert verified["status"] in {"HEALTHY", "DEGRADED"}, verified
    assert states[-1]["status"] == "SUCCEEDED", states[-1]["errors"]
    rows = await served.inventory(credential)
    assert "management-1" in by_name(rows)
    assert {row.account for row in rows} == {PRIMARY_ACCOUNT}
    (listed,) = overview["credentials"]
    assert listed["health"]["status"] == "HEALTHY"
    assert listed["onboarding"]["iamTrustPolicy"]
    # and every AssumeRole carried the credential's external ID
    calls = aws_org.gate.state.assume_role_calls
    assert calls and {(c.role_arn, c.external_id) for c in calls} == {
        (SINGLE_ROLE, credential.external_id)
    }
    # and the temporary keys moto issued are nowhere: responses, pushes, logs, database rows
    issued = aws_org.gate.state.issued
    assert len(issued) >= 3
    places = {
        "responses": "\n".join(call.bodies) + repr(states),
        "logs": caplog.text + "\n".join(r.getMessage() for r in caplog.records),
        "database": await database_dump(served),
    }
    assert "management-1" in places["database"]  # the dump holds the inventory
    for key in issued:
        assert [where for where, text in places.items() if key in text] == []


async def test_an_organization_credential_syncs_every_account_through_the_engine(
    serve: Any, aws_org: AwsOrganization
) -> None:
    # given a credential covering the organization (the engine lists its plan() at once)
    served: Served = await serve(aws=aws_org)
    credential, call = await add_role(
        served, MANAGEMENT_ROLE, memberRoleName=MEMBER_ROLE, regions=list(ORG_REGIONS)
    )
    # when the user syncs it
    states = await served.sync_and_follow(credential, call.token)
    # then every account's resources are stored, each with its account
    assert states[-1]["status"] == "SUCCEEDED", states[-1]["errors"]
    rows = await served.inventory(credential)
    instances: dict[str, list[str]] = {}
    for row in rows:
        if row.native_type == "AWS::EC2::Instance":
            instances.setdefault(row.account, []).append(row.name)
    assert {a: sorted(n) for a, n in instances.items()} == {
        a: sorted(n) for a, n in aws_org.instances.items()
    }
    assert {c.external_id for c in aws_org.gate.state.assume_role_calls} == {credential.external_id}


async def test_a_denied_role_fails_the_sync_with_auth_failed_and_the_health_says_why(
    serve: Any, aws_org: AwsOrganization
) -> None:
    # given a role credential whose role does not trust this server on its external ID
    aws_org.gate.deny(SINGLE_ROLE)
    served: Served = await serve(aws=aws_org)
    served.fast_failures()
    credential, call = await add_role(served, SINGLE_ROLE)
    # when the user syncs it
    states = await served.sync_and_follow(credential, call.token)
    # then the job failed as an authentication failure naming the role and the external ID
    final = states[-1]
    assert final["status"] == "FAILED"
    assert {e["code"] for e in final["errors"]} == {"AUTH_FAILED"}
    message = final["errors"][0]["message"]
    assert SINGLE_ROLE in message and "sts:ExternalId" in message
    async with served.runtime.database.system_session() as session:
        row = await session.get(CloudCredentialRow, credential.id)
    assert row is not None and row.health_status == HealthStatus.ERROR
    assert row.health_error is not None and "trust policy" in row.health_error


def _id(row: CloudCredentialRow) -> str:
    return to_global_id("CloudCredential", row.id)
