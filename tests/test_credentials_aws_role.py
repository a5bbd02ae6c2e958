"""AWS role credentials through the API: the server generates the external ID (no user can set,
change or share one), onboarding documents for the owner only, and verification through the
gate in front of moto."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from core.settings import Settings
from db.models import CloudCredentialRow
from graph.runtime import Runtime
from tests.conftest import make_settings
from tests.credential_data import aws_secret
from tests.factories import access_token, create_user
from tests.graphql_client import GraphQLClient
from tests.standins.aws import PRIMARY_ACCOUNT
from tests.standins.aws_gate import AwsGate
from tests.standins.aws_org import MEMBER_ROLE, ORG_REGIONS, SINGLE_ROLE

pytestmark = pytest.mark.usefixtures("server_identity")

FIELDS = """
  id name fingerprint externalId
  onboarding { cloudFormationTemplate iamTrustPolicy memberRoleTemplate instructions }
"""
ADD = f"""
mutation Add($input: AddCredentialInput!) {{
  addCredential(input: $input) {{ credential {{ {FIELDS} }} userErrors {{ field code message }} }}
}}
"""
UPDATE = f"""
mutation Update($input: UpdateCredentialInput!) {{
  updateCredential(input: $input) {{
    credential {{ {FIELDS} }} userErrors {{ field code message }}
  }}
}}
"""
VERIFY = """
mutation Verify($id: ID!) {
  verifyCredential(input: {id: $id}) { health { status errorMessage } userErrors { code } }
}
"""
NODE = f"query Node($id: ID!) {{ node(id: $id) {{ ... on CloudCredential {{ {FIELDS} }} }} }}"


@pytest.fixture
def settings(database_url: str, tmp_path: Path, aws_gate: AwsGate) -> Settings:
    return make_settings(
        database_url,
        tmp_path,
        aws_endpoint_url=aws_gate.url,
        aws_sync_regions=list(ORG_REGIONS),
    )


def role(arn: str = SINGLE_ROLE, **extra: Any) -> dict[str, Any]:
    return {"awsRole": {"roleArn": arn, **extra}}


async def add(gql: GraphQLClient, token: str, secret: dict[str, Any], name: str = "r") -> Any:
    response = await gql(ADD, {"input": {"name": name, "secret": secret}}, token=token)
    return response.ok()["addCredential"]


async def user_token(runtime: Runtime) -> str:
    return access_token(runtime, await create_user(runtime))


async def stored_external_ids(runtime: Runtime) -> list[str | None]:
    async with runtime.database.system_session() as session:
        return list((await session.scalars(select(CloudCredentialRow.external_id))).all())


async def test_a_role_credential_gets_an_external_id_and_ready_onboarding(
    gql: GraphQLClient, runtime: Runtime
) -> None:
    # given a user
    token = await user_token(runtime)
    # when they add a role credential
    added = await add(gql, token, role())
    # then the server generated an external ID and documents that trust it
    assert added["userErrors"] == []
    credential = added["credential"]
    external_id = credential["externalId"]
    assert isinstance(external_id, str) and len(external_id) >= 32
    assert credential["fingerprint"] == f"role {PRIMARY_ACCOUNT}/StratographReader"
    onboarding = credential["onboarding"]
    policy = json.loads(onboarding["iamTrustPolicy"])
    (statement,) = policy["Statement"]
    assert statement["Principal"] == {"AWS": f"arn:aws:iam::{PRIMARY_ACCOUNT}:root"}
    assert statement["Action"] == "sts:AssumeRole"
    assert statement["Condition"] == {"StringEquals": {"sts:ExternalId": external_id}}
    template = json.loads(onboarding["cloudFormationTemplate"])
    (resource,) = template["Resources"].values()
    assert resource["Type"] == "AWS::IAM::Role"
    assert resource["Properties"]["AssumeRolePolicyDocument"] == policy
    assert resource["Properties"]["ManagedPolicyArns"] == [
        "arn:aws:iam::aws:policy/SecurityAudit",
        "arn:aws:iam::aws:policy/job-function/ViewOnlyAccess",
    ]
    assert template["Parameters"]["RoleName"]["Default"] == "StratographReader"
    assert onboarding["memberRoleTemplate"] is None
    assert await stored_external_ids(runtime) == [external_id]


async def test_an_organization_credential_also_gets_the_member_role_template(
    gql: GraphQLClient, runtime: Runtime
) -> None:
    # when a user adds a role credential covering an Organization
    added = await add(gql, await user_token(runtime), role(memberRoleName=MEMBER_ROLE))
    # then the member role's template trusts the server on the same external ID
    credential = added["credential"]
    onboarding = credential["onboarding"]
    member = json.loads(onboarding["memberRoleTemplate"])
    (resource,) = member["Resources"].values()
    assert member["Parameters"]["RoleName"]["Default"] == MEMBER_ROLE
    condition = resource["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]["Condition"]
    assert condition == {"StringEquals": {"sts:ExternalId": credential["externalId"]}}
    assert "StackSet" in onboarding["instructions"]


async def test_a_key_credential_has_no_external_id_and_no_onboarding(
    gql: GraphQLClient, runtime: Runtime
) -> None:
    # when a user adds an access-key credential
    added = await add(gql, await user_token(runtime), aws_secret().input)
    # then neither field applies
    assert added["credential"]["externalId"] is None
    assert added["credential"]["onboarding"] is None


async def test_a_user_cannot_set_an_external_id(gql: GraphQLClient, runtime: Runtime) -> None:
    # given a user who knows the external ID another tenant's role trusts
    token = await user_token(runtime)
    victim = (await add(gql, await user_token(runtime), role()))["credential"]["externalId"]
    # when they try to choose it, in the role input or beside it
    attempts = [
        {"input": {"name": "a", "secret": role(externalId=victim)}},
        {"input": {"name": "b", "externalId": victim, "secret": role()}},
    ]
    responses = [await gql(ADD, variables, token=token) for variables in attempts]
    # then the input has no such field, and nothing was stored
    for response in responses:
        assert response.errors and "externalId" in str(response.errors)
    assert await stored_external_ids(runtime) == [victim]


async def test_another_tenant_naming_the_same_role_gets_a_different_external_id(
    gql: GraphQLClient, runtime: Runtime
) -> None:
    # given a tenant whose role trusts this server on their external ID
    first = (await add(gql, await user_token(runtime), role()))["credential"]
    # when another tenant registers the very same role ARN (the confused deputy)
    second = (await add(gql, await user_token(runtime), role()))["credential"]
    # then they get another external ID, which the first tenant's trust policy does not accept
    assert second["externalId"] != first["externalId"]
    second_policy = json.loads(second["onboarding"]["iamTrustPolicy"])
    condition = second_policy["Statement"][0]["Condition"]["StringEquals"]["sts:ExternalId"]
    assert condition == second["externalId"]


async def test_updates_keep_the_external_id(gql: GraphQLClient, runtime: Runtime) -> None:
    # given a role credential
    token = await user_token(runtime)
    added = (await add(gql, token, role()))["credential"]
    # when it is renamed, given another role, switched to a key and back to a role
    changes: list[dict[str, Any]] = [
        {"name": "renamed"},
        {"secret": role(f"arn:aws:iam::{PRIMARY_ACCOUNT}:role/Other", regions=["eu-west-1"])},
        {"secret": aws_secret().input},
        {"secret": role(memberRoleName=MEMBER_ROLE)},
    ]
    seen = []
    for change in changes:
        response = await gql(UPDATE, {"input": {"id": added["id"], **change}}, token=token)
        payload = response.ok()["updateCredential"]
        assert payload["userErrors"] == []
        seen.append(payload["credential"]["externalId"])
    # then the external ID never changed: the customer's trust policy keeps working
    assert seen == [added["externalId"]] * len(changes)
    assert await stored_external_ids(runtime) == [added["externalId"]]


@pytest.mark.parametrize(
    ("secret", "field"),
    [
        (role("arn:aws:iam::12345678901:role/R"), "roleArn"),  # 11-digit account
        (role("arn:aws:iam::123456789012:user/R"), "roleArn"),
        (role("arn:aws:s3:::bucket"), "roleArn"),
        (role(""), "roleArn"),
        (role(memberRoleName=f"arn:aws:iam::{PRIMARY_ACCOUNT}:role/M"), "memberRoleName"),
        (role(memberRoleName="has space"), "memberRoleName"),
        (role(regions=["us-east-1", "the moon"]), "regions"),
    ],
)
async def test_a_malformed_role_is_refused_naming_the_field(
    gql: GraphQLClient, runtime: Runtime, secret: dict[str, Any], field: str
) -> None:
    # when a user adds a role credential with one malformed value
    added = await add(gql, await user_token(runtime), secret)
    # then the refusal names that field, and nothing is stored
    assert added["credential"] is None
    (error,) = added["userErrors"]
    assert error["field"] == ["input", "secret", "awsRole", field]
    assert error["code"] in {"INVALID", "REQUIRED"}
    assert await stored_external_ids(runtime) == []


async def test_only_the_owner_sees_the_external_id_and_onboarding(
    gql: GraphQLClient, runtime: Runtime
) -> None:
    # given one user's role credential
    added = (await add(gql, await user_token(runtime), role()))["credential"]
    # when another user asks for it by id
    response = await gql(NODE, {"id": added["id"]}, token=await user_token(runtime))
    # then it does not exist for them
    assert response.ok()["node"] is None


async def test_verify_succeeds_through_the_role_and_fails_clearly_when_denied(
    gql: GraphQLClient, runtime: Runtime, aws_gate: AwsGate
) -> None:
    # given a role credential, and a second one whose role does not trust this server
    token = await user_token(runtime)
    trusted = (await add(gql, token, role(), name="trusted"))["credential"]
    denied_arn = f"arn:aws:iam::{PRIMARY_ACCOUNT}:role/NotTrusting"
    aws_gate.deny(denied_arn)
    denied = (await add(gql, token, role(denied_arn), name="denied"))["credential"]
    # when both are verified
    results = [
        (await gql(VERIFY, {"id": c["id"]}, token=token)).ok()["verifyCredential"]["health"]
        for c in (trusted, denied)
    ]
    # then the trusted one is healthy, the other an ERROR that says what to fix
    assert results[0]["status"] in {"HEALTHY", "DEGRADED"}, results[0]
    assert results[1]["status"] == "ERROR"
    message = results[1]["errorMessage"]
    assert denied_arn in message and "sts:ExternalId" in message and "trust policy" in message
    # and every AssumeRole carried the external ID of its own credential
    by_role = {c.role_arn: c.external_id for c in aws_gate.state.assume_role_calls}
    assert by_role == {SINGLE_ROLE: trusted["externalId"], denied_arn: denied["externalId"]}
