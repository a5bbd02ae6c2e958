"""examples/python: its operations match the schema, and the gql script works against a live
server (HTTP for queries and mutations, graphql-transport-ws for the syncJob subscription)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from graphql import parse, validate

from graph.schema import schema
from tests.aws_standin import (
    ACCESS_KEY_ID,
    REGION,
    SECRET_ACCESS_KEY,
    AwsStandIn,
    aws_standin,
)
from tests.conftest import make_settings
from tests.example_accounts import PASSWORD
from tests.threaded_servers import live_api
from tests.tooling import ROOT

__all__ = ["aws_standin"]  # the fixture, imported to be found by pytest

EXAMPLE = ROOT / "examples" / "python" / "sync_progress.py"
EXAMPLE_OPERATIONS = sorted((ROOT / "examples").rglob("*.graphql"))


@pytest.mark.parametrize("path", EXAMPLE_OPERATIONS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_example_operation_is_valid_against_the_schema(path: Path) -> None:
    # given an operation file shipped with the examples
    document = parse(path.read_text())

    # when it is validated against the server's schema, then there is nothing to report
    assert validate(schema._schema, document) == []


def run_example(api_url: str, email: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "STRATOGRAPH_PASSWORD": PASSWORD,
        "AWS_ACCESS_KEY_ID": ACCESS_KEY_ID,
        "AWS_SECRET_ACCESS_KEY": SECRET_ACCESS_KEY,
    }
    return subprocess.run(
        [sys.executable, str(EXAMPLE), "--url", f"{api_url}/graphql", "--email", email],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )


def test_the_gql_example_signs_up_adds_a_credential_and_follows_a_sync(
    database_url: str, tmp_path: Path, aws_standin: AwsStandIn
) -> None:
    # given a live server whose AWS is the moto stand-in holding 2 instances and 2 buckets
    settings = make_settings(
        database_url,
        tmp_path,
        aws_endpoint_url=aws_standin.endpoint_url,
        aws_sync_regions=[REGION],  # one region keeps the sync short
    )
    with live_api(settings) as api_url:
        # when the example runs for a new user, then once more for the same user
        first = run_example(api_url, "gql-example@example.com")
        second = run_example(api_url, "gql-example@example.com")

    # then the first run signed up, added the credential and watched the sync finish
    assert first.returncode == 0, first.stdout + first.stderr
    assert "signing up" in first.stdout
    assert "added credential example-aws (AKIA" in first.stdout
    progress = [line for line in first.stdout.splitlines() if line.startswith("sync ")]
    assert progress[-2].startswith("sync SUCCEEDED")
    added = int(progress[-1].split(": ")[1].split(" added")[0])
    assert added >= len(aws_standin.instance_ids) + len(aws_standin.bucket_names)
    # and the second logged straight in and reused the credential
    assert second.returncode == 0, second.stdout + second.stderr
    assert "signing up" not in second.stdout
    assert "using credential example-aws" in second.stdout
    # and the secrets never showed in any output
    for output in (first.stdout, first.stderr, second.stdout, second.stderr):
        assert SECRET_ACCESS_KEY not in output
        assert PASSWORD not in output
