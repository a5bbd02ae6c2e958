"""Hostile data from AWS (through boto3 against moto) never costs the rest of a listing: one
instance whose `Name` tag holds a NUL byte is stored sanitized and flagged, next to the others
(both databases)."""

from __future__ import annotations

import inspect
import logging
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from botocore.awsrequest import AWSResponse
from botocore.compat import HTTPHeaders
from sqlalchemy import select
from starlette.applications import Starlette

from core.log_redaction import floor_library_loggers
from db.enums import SyncJobStatus
from db.models import SyncScopeRow
from graph.app import create_app
from graph.runtime import Runtime
from providers.aws import REGION_NAME
from providers.sanitize import MAX_NAME, MAX_TAGS
from tests.conftest import make_settings
from tests.factories import access_token, create_user
from tests.graphql_client import GraphQLClient
from tests.ingest_support import run_sync, stored
from tests.standins.aws import AMI, AwsCloud
from tests.standins.credentials import create_credential
from tests.standins.fixtures import standin_overrides

EC2 = "us-east-1/AWS::EC2::Instance"
HOSTILE_NAME = "evil\x00name\u202egnp.exe"
SECRETISH = "hostile-marker"


@pytest.fixture
async def aws_app(
    database_url: str, tmp_path: Path, aws_cloud: AwsCloud
) -> AsyncIterator[Starlette]:
    settings = make_settings(
        database_url, tmp_path, sync_interval_minutes=0, **standin_overrides(aws=aws_cloud)
    )
    settings.aws_sync_regions = ["us-east-1"]
    app = create_app(settings)
    yield app
    await app.state.runtime.close()


@pytest.fixture
def aws_runtime(aws_app: Starlette) -> Runtime:
    runtime: Runtime = aws_app.state.runtime
    return runtime


def tag_instance(aws_cloud: AwsCloud, tags: list[dict[str, str]]) -> str:
    """An instance with these tags (set afterwards: botocore cannot read moto's answer to a
    RunInstances whose tags hold a NUL byte)."""
    ec2 = aws_cloud.server.client("ec2", "us-east-1")
    answer = ec2.run_instances(ImageId=AMI, MinCount=1, MaxCount=1, InstanceType="t3.micro")
    instance = str(answer["Instances"][0]["InstanceId"])
    ec2.create_tags(Resources=[instance], Tags=tags)
    return instance


async def test_a_nul_byte_in_a_name_tag_costs_nothing_but_that_tag(
    aws_runtime: Runtime, aws_cloud: AwsCloud, caplog: pytest.LogCaptureFixture
) -> None:
    # given an instance whose Name tag holds a NUL byte (and an RTL override), next to the
    # region's ordinary instances
    hostile = tag_instance(
        aws_cloud, [{"Key": "Name", "Value": HOSTILE_NAME}, {"Key": "own\x00er", "Value": "x\x00"}]
    )
    user = await create_user(aws_runtime)
    credential = await create_credential(aws_runtime, user.id, aws_cloud.primary)

    # when the credential is synced, logging at DEBUG as `LOG_LEVEL=DEBUG` configures it
    floor_library_loggers(logging.DEBUG)
    with caplog.at_level(logging.DEBUG):
        job = await run_sync(aws_runtime, credential.id)

    # then every instance of the region is stored, the hostile one included, sanitized
    rows = await stored(aws_runtime, credential.id)
    instances = {r.resource_id.rsplit("/", 1)[-1]: r for r in rows.values()
                 if r.native_type == "AWS::EC2::Instance"}  # fmt: skip
    assert job.status == SyncJobStatus.SUCCEEDED, job.errors
    assert {"web-1", "web-2", "batch-1"} <= {r.name for r in instances.values()}
    assert hostile in instances
    assert instances[hostile].name == "evil\u2400name\u202egnp.exe"
    assert instances[hostile].tags == {"Name": "evil\u2400name\u202egnp.exe",
                                       "own\u2400er": "x\u2400"}  # fmt: skip
    # and the job says what was changed, per scope and code, naming the resource
    warnings = {(w["scope"], w["code"]): w for w in job.warnings}
    control = warnings[(EC2, "CONTROL_CHARACTER")]
    assert control["count"] == 1
    assert [i.rsplit("/", 1)[-1] for i in control["resourceIds"]] == [hostile]
    assert warnings[(EC2, "BIDI_CONTROL")]["count"] == 1
    # and nothing but counts and codes reached the log
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "evil" not in logged and "\x00" not in logged and "gnp" not in logged
    assert "CONTROL_CHARACTER" in logged


async def test_a_hostile_instance_is_flagged_again_on_every_sync_and_never_removed(
    aws_runtime: Runtime, aws_cloud: AwsCloud
) -> None:
    # given a synced hostile instance
    hostile = tag_instance(aws_cloud, [{"Key": "Name", "Value": "a\x00b"}])
    user = await create_user(aws_runtime)
    credential = await create_credential(aws_runtime, user.id, aws_cloud.primary)
    await run_sync(aws_runtime, credential.id)

    # when it is synced again
    second = await run_sync(aws_runtime, credential.id)

    # then it was updated in place, not added again nor removed, and flagged again
    assert second.status == SyncJobStatus.SUCCEEDED, second.errors
    assert second.added == 0 and second.removed == 0
    rows = await stored(aws_runtime, credential.id)
    (row,) = [r for r in rows.values() if r.resource_id.endswith(hostile)]
    assert row.deleted_at is None and row.name == "a\u2400b"
    assert {w["code"] for w in second.warnings} == {"CONTROL_CHARACTER"}


def instance_xml(instance_id: str, tags: list[tuple[bytes, bytes]]) -> bytes:
    tag_set = b"".join(
        b"<item><key>" + key + b"</key><value>" + value + b"</value></item>" for key, value in tags
    )
    return (
        b"<item><instanceId>" + instance_id.encode() + b"</instanceId>"
        b"<instanceType>t3.micro</instanceType>"
        b"<instanceState><code>16</code><name>running</name></instanceState>"
        b"<tagSet>" + tag_set + b"</tagSet></item>"
    )


def describe_page(instances: list[bytes], next_token: str | None) -> bytes:
    token = b"<nextToken>" + next_token.encode() + b"</nextToken>" if next_token else b""
    return (
        b'<?xml version="1.0" encoding="UTF-8"?>'
        b'<DescribeInstancesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">'
        b"<requestId>crafted</requestId><reservationSet><item><reservationId>r-1</reservationId>"
        b"<ownerId>123456789012</ownerId><instancesSet>" + b"".join(instances) + b"</instancesSet>"
        b"</item></reservationSet>" + token + b"</DescribeInstancesResponse>"
    )


class _Body:
    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._body


def serve_crafted_instances(events: Any) -> None:
    """Answer DescribeInstances with two crafted pages, without reaching moto: i-2 is on both
    pages; i-3's Name holds a NUL byte and a byte that is not UTF-8, and it has 10,000 tags."""
    many = [(f"k{n}".encode(), b"v") for n in range(10_000)]
    first = describe_page(
        [
            instance_xml("i-1", [(b"Name", b"plain")]),
            instance_xml("i-2", [(b"Name", b"early")]),
        ],
        "page-2",
    )
    second = describe_page(
        [
            instance_xml("i-2", [(b"Name", b"m" * 1_000_000)]),
            instance_xml("i-3", [(b"Name", b"bad\x00\xff" + SECRETISH.encode()), *many]),
        ],
        None,
    )

    def answer(request: Any, **_: Any) -> AWSResponse:
        body = request.body.decode() if isinstance(request.body, bytes) else str(request.body)
        page = second if "NextToken=page-2" in body else first
        return AWSResponse(request.url, 200, HTTPHeaders(), _Body(page))

    events.register("before-send.ec2.DescribeInstances", answer)


def answer_with(runtime: Runtime, install: Callable[[Any], None]) -> None:
    """Every AWS inventory the engine builds gets `install`'s botocore handlers (crafted
    answers in place of moto's)."""
    engine = runtime.sync.engine
    build = engine.factory

    async def crafted(row: Any) -> Any:
        inventory: Any = build(row)
        if inspect.isawaitable(inventory):
            inventory = await inventory
        install(inventory.events)
        return inventory

    engine.factory = crafted


async def test_crafted_describe_instances_pages_lose_nothing(
    aws_runtime: Runtime, aws_cloud: AwsCloud, caplog: pytest.LogCaptureFixture
) -> None:
    # given EC2 answers with two crafted pages (an id repeated across them, a NUL byte, a byte
    # that is not UTF-8, a 1 MB name, 10,000 tags)
    answer_with(aws_runtime, serve_crafted_instances)
    user = await create_user(aws_runtime)
    credential = await create_credential(aws_runtime, user.id, aws_cloud.primary)

    # when the credential is synced
    floor_library_loggers(logging.DEBUG)
    with caplog.at_level(logging.DEBUG):
        job = await run_sync(aws_runtime, credential.id)

    # then the three instances are stored once each, normalized
    rows = await stored(aws_runtime, credential.id)
    instances = {r.resource_id.rsplit("/", 1)[-1]: r for r in rows.values()
                 if r.native_type == "AWS::EC2::Instance"}  # fmt: skip
    assert sorted(instances) == ["i-1", "i-2", "i-3"]
    assert instances["i-1"].name == "plain"
    assert len(instances["i-2"].name) == MAX_NAME  # the copy listed last, cut
    assert instances["i-3"].name == f"bad\u2400\ufffd{SECRETISH}"
    assert len(instances["i-3"].tags) == MAX_TAGS
    # and the job counts what it changed, and skipped nothing
    assert job.status == SyncJobStatus.SUCCEEDED, job.errors
    counts = {w["code"]: w["count"] for w in job.warnings if w["scope"] == EC2}
    assert counts == {
        "CONTROL_CHARACTER": 1,
        "DUPLICATE_ID": 1,
        "INVALID_UNICODE": 1,
        "TOO_MANY_TAGS": 1,
        "TRUNCATED": 1,
    }
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert SECRETISH not in logged and "mmmm" not in logged


JOBS = """
query Jobs {
  syncJobs(first: 5) {
    edges { node {
      status
      warnings { scope code count resourceIds }
      errors { scope code message resourceId }
    } }
  }
}
"""


async def test_the_owner_reads_the_warnings_over_the_api(
    aws_app: Starlette, aws_runtime: Runtime, aws_cloud: AwsCloud
) -> None:
    # given a synced hostile instance
    hostile = tag_instance(aws_cloud, [{"Key": "Name", "Value": f"x\x00{SECRETISH}"}])
    user = await create_user(aws_runtime)
    credential = await create_credential(aws_runtime, user.id, aws_cloud.primary)
    await run_sync(aws_runtime, credential.id)

    # when its owner lists their sync jobs
    transport = httpx.ASGITransport(app=aws_app, client=("203.0.113.10", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        answer = await GraphQLClient(http)(JOBS, token=access_token(aws_runtime, user))

    # then the job names the scope, the code, the count and the instance, and no value
    (edge,) = answer.ok()["syncJobs"]["edges"]
    node = edge["node"]
    assert node["status"] == "SUCCEEDED" and node["errors"] == []
    (warning,) = node["warnings"]
    assert (warning["scope"], warning["code"], warning["count"]) == (EC2, "CONTROL_CHARACTER", 1)
    assert [i.rsplit("/", 1)[-1] for i in warning["resourceIds"]] == [hostile]
    assert SECRETISH not in str(answer.ok())


def serve_crafted_regions(events: Any) -> None:
    """Answer DescribeRegions with us-east-1 beside names no region has: a NUL byte, an
    endpoint's URL, a 10,000-character name."""
    names = [b"us-east-1", b"evil\x00region", b"https://attacker.example", b"r" * 10_000]
    items = b"".join(
        b"<item><regionName>" + name + b"</regionName><optInStatus>opt-in-not-required"
        b"</optInStatus></item>"
        for name in names
    )
    body = (
        b'<?xml version="1.0" encoding="UTF-8"?>'
        b'<DescribeRegionsResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">'
        b"<requestId>crafted</requestId><regionInfo>" + items + b"</regionInfo>"
        b"</DescribeRegionsResponse>"
    )

    def answer(request: Any, **_: Any) -> AWSResponse:
        return AWSResponse(request.url, 200, HTTPHeaders(), _Body(body))

    events.register("before-send.ec2.DescribeRegions", answer)


@pytest.fixture
async def unrestricted_runtime(
    database_url: str, tmp_path: Path, aws_cloud: AwsCloud
) -> AsyncIterator[Runtime]:
    """A server that syncs every region DescribeRegions names (no AWS_SYNC_REGIONS)."""
    settings = make_settings(
        database_url, tmp_path, sync_interval_minutes=0, **standin_overrides(aws=aws_cloud)
    )
    settings.aws_sync_regions = []
    app = create_app(settings)
    yield app.state.runtime
    await app.state.runtime.close()


async def test_names_that_are_not_regions_are_not_planned(
    unrestricted_runtime: Runtime, aws_cloud: AwsCloud, caplog: pytest.LogCaptureFixture
) -> None:
    # given an endpoint whose DescribeRegions lists hostile names beside us-east-1, and no
    # region restriction
    aws_runtime = unrestricted_runtime
    answer_with(aws_runtime, serve_crafted_regions)
    user = await create_user(aws_runtime)
    credential = await create_credential(aws_runtime, user.id, aws_cloud.primary)
    tag_instance(aws_cloud, [{"Key": "Name", "Value": "ordinary"}])
    # when the credential is synced
    with caplog.at_level(logging.WARNING):
        job = await run_sync(aws_runtime, credential.id)
    # then only real region names were planned, the job succeeded, and the log
    # counts the refused names without quoting them
    assert job.status == SyncJobStatus.SUCCEEDED, job.errors
    rows = await stored(aws_runtime, credential.id)
    assert all(r.region == "global" or REGION_NAME.fullmatch(r.region) for r in rows.values())
    async with aws_runtime.database.system_session() as session:
        planned = set(
            await session.scalars(
                select(SyncScopeRow.region).where(SyncScopeRow.credential_id == credential.id)
            )
        )
    assert "us-east-1" in planned
    assert all(region == "global" or REGION_NAME.fullmatch(region) for region in planned)
    assert any(r.name == "ordinary" for r in rows.values())
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "3 names that are not region names" in logged
    assert "evil" not in logged and "attacker" not in logged
