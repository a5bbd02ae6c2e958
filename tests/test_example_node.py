"""The Apollo Client and urql recipes of docs/clients.md (examples/node), run by Node against a
live server: log in, start a sync, follow it over graphql-transport-ws, read the resources."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from stratograph.cli import main as cli_main
from tests.aws_standin import REGION, AwsStandIn, aws_standin
from tests.conftest import make_settings
from tests.databases import SqliteTemplate
from tests.example_accounts import PASSWORD, call, seed_account
from tests.services import IN_CI
from tests.threaded_servers import live_api
from tests.tooling import ROOT

__all__ = ["aws_standin"]  # the fixture, imported to be found by pytest

NODE_EXAMPLES = ROOT / "examples" / "node"
EMAIL = "node-clients@example.com"


def require_node_examples() -> str:
    node = shutil.which("node")
    installed = (NODE_EXAMPLES / "node_modules" / ".package-lock.json").exists()
    if node and installed:
        return node
    reason = "node or examples/node/node_modules is missing (run: npm ci --prefix examples/node)"
    if IN_CI:
        pytest.fail(f"{reason}; CI=true makes it mandatory", pytrace=False)
    pytest.skip(reason)


def run_node(node: str, script: str, api: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "STRATOGRAPH_URL": f"{api}/graphql",
        "STRATOGRAPH_EMAIL": EMAIL,
        "STRATOGRAPH_PASSWORD": PASSWORD,
    }
    return subprocess.run(
        [node, script], cwd=NODE_EXAMPLES, env=env, capture_output=True, text=True, timeout=120
    )


def test_the_apollo_and_urql_recipes_work_against_a_live_server(
    sqlite_template: SqliteTemplate, tmp_path: Path, aws_standin: AwsStandIn
) -> None:
    node = require_node_examples()
    # given a live server and a user with an AWS credential
    settings = make_settings(
        sqlite_template.clone(tmp_path),
        tmp_path,
        aws_endpoint_url=aws_standin.endpoint_url,
        aws_sync_regions=[REGION],
    )
    with live_api(settings) as api:
        seed_account(api, EMAIL)

        # when the Apollo recipe runs, then the urql one
        apollo = run_node(node, "apollo.mjs", api)
        urql = run_node(node, "urql.mjs", api)

    # then Apollo followed the sync to its end over the WebSocket and read the resources
    assert apollo.returncode == 0, apollo.stdout + apollo.stderr
    assert "apollo: sync SUCCEEDED 1" in apollo.stdout
    total = int(apollo.stdout.split("apollo: ")[-1].split(" resources")[0])
    assert total >= len(aws_standin.instance_ids) + len(aws_standin.bucket_names)
    # and urql logged in and got the finished job's state over the WebSocket
    assert urql.returncode == 0, urql.stdout + urql.stderr
    assert f"urql: logged in as {EMAIL}" in urql.stdout
    assert "urql: sync SUCCEEDED 1" in urql.stdout


def test_apollo_persisted_queries_run_only_trusted_documents(
    sqlite_template: SqliteTemplate, tmp_path: Path
) -> None:
    node = require_node_examples()
    # given a server that only runs the operations found under examples/, and a user
    manifest = tmp_path / "trusted-documents.json"
    assert cli_main(["build-trusted-documents", str(ROOT / "examples"), "-o", str(manifest)]) == 0
    settings = make_settings(
        sqlite_template.clone(tmp_path), tmp_path, trusted_documents_file=str(manifest)
    )
    with live_api(settings) as api:
        call(api, "SignUp", email=EMAIL, password=PASSWORD, fullName="Node User")

        # when Apollo Client with its persisted-query link logs in and asks who it is
        result = run_node(node, "apollo-persisted.mjs", api)

    # then both operations ran from their hash alone, and an unlisted one was refused
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"persisted: me {EMAIL}; hash-only requests: true,true" in result.stdout
    assert "persisted: untrusted operation refused: UNTRUSTED_DOCUMENT" in result.stdout
