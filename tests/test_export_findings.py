"""`GET /export/findings` and `stratograph export findings`: the `findings` connection's rows, as
CSV or NDJSON, with its filters as query parameters, for the token's owner only (both
databases)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import httpx

from core.settings import Settings
from db.enums import FindingStatus
from graph.export.command import run_export
from graph.node import to_global_id
from graph.runtime import Runtime
from tests.factories import access_token, create_user
from tests.finding_factories import finding_values, insert_findings
from tests.graphql_client import GraphQLClient
from tests.inventory_factories import create_credential, insert_resources, resource_values

PAGE = """
query($f: FindingFilter) {
  findings(first: 100, filter: $f) { edges { node { id status rule { id } resource { name } } } }
}
"""


async def _owner(runtime: Runtime) -> tuple[str, str, object]:
    """A user with 6 resources: each fails SSH (open), half fail RDP too (resolved)."""
    user = await create_user(runtime)
    credential = await create_credential(runtime, user)
    ids = await insert_resources(runtime, [resource_values(credential, i) for i in range(6)])
    rows = [finding_values(credential, row_id) for row_id in ids]
    rows += [
        finding_values(credential, row_id, "aws-ec2-sg-open-rdp", status=FindingStatus.RESOLVED)
        for row_id in ids[::2]
    ]
    await insert_findings(runtime, rows)
    return user.email, access_token(runtime, user), credential


async def test_the_export_has_the_connections_rows_with_its_filters(
    runtime: Runtime, http: httpx.AsyncClient, gql: GraphQLClient
) -> None:
    # given a user with open and resolved findings
    _, token, _ = await _owner(runtime)
    headers = {"authorization": f"Bearer {token}"}
    for query, filter_ in (
        ("", {}),
        ("status=OPEN", {"status": ["OPEN"]}),
        ("ruleId=aws-ec2-sg-open-rdp&severity=HIGH", {"ruleId": ["aws-ec2-sg-open-rdp"]}),
    ):
        # when the export is asked for with the filter as query parameters
        response = await http.get(f"/export/findings?format=csv&{query}", headers=headers)
        assert response.status_code == 200, response.text
        rows = list(csv.DictReader(io.StringIO(response.text)))
        # then it has exactly the connection's findings
        page = (await gql(PAGE, {"f": filter_}, token=token)).ok()["findings"]["edges"]
        assert sorted(r["id"] for r in rows) == sorted(e["node"]["id"] for e in page)
        assert {(r["ruleId"], r["status"]) for r in rows} == {
            (e["node"]["rule"]["id"], e["node"]["status"]) for e in page
        }
    # and NDJSON carries the same fields, details as JSON
    lines = (await http.get("/export/findings?format=ndjson", headers=headers)).text.splitlines()
    first = json.loads(lines[0])
    assert first["details"] == {"rules": [{"ports": [22], "sources": ["0.0.0.0/0"]}]}
    assert first["compliance"]


async def test_another_users_export_has_none_of_the_findings(
    runtime: Runtime, http: httpx.AsyncClient
) -> None:
    # given a user with findings, and another user
    _, _, credential = await _owner(runtime)
    stranger = access_token(runtime, await create_user(runtime))
    headers = {"authorization": f"Bearer {stranger}"}
    # when the other user exports, also naming the owner's credential
    everything = await http.get("/export/findings?format=ndjson", headers=headers)
    named = await http.get(
        "/export/findings?format=ndjson&credentialId="
        + to_global_id("CloudCredential", credential.id),  # type: ignore[attr-defined]
        headers=headers,
    )
    # then both are empty
    assert everything.status_code == named.status_code == 200
    assert everything.text == named.text == ""


async def test_bad_parameters_are_a_bad_request(runtime: Runtime, http: httpx.AsyncClient) -> None:
    _, token, _ = await _owner(runtime)
    for query in ("severity=URGENT", "unknown=1", "status=OPEN,NOPE", "format=xml"):
        response = await http.get(
            f"/export/findings?{query}", headers={"authorization": f"Bearer {token}"}
        )
        assert response.status_code == 400, query
        assert response.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"


async def test_the_command_exports_a_users_findings(
    runtime: Runtime, settings: Settings, tmp_path: Path
) -> None:
    # given a user with findings
    email, _, _ = await _owner(runtime)
    output = tmp_path / "findings.ndjson"
    # when an operator exports the open ones
    await run_export(
        settings,
        email=email,
        fmt="ndjson",
        where=["status=OPEN"],
        output=str(output),
        dataset="findings",
    )
    # then the file holds the 6 open findings
    records = [json.loads(line) for line in output.read_text().splitlines()]
    assert len(records) == 6
    assert {r["status"] for r in records} == {"OPEN"}
