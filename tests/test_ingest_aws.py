"""Hostile data from AWS (through boto3 against moto) never costs the rest of a listing: one
instance whose `Name` tag holds a NUL byte is stored sanitized and flagged, next to the others
(both databases)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from db.enums import SyncJobStatus
from graph.runtime import Runtime
from stratograph.logs import quiet_driver_loggers
from tests.conftest import make_settings
from tests.factories import create_user
from tests.ingest_support import run_sync, stored
from tests.standins.aws import AMI, AwsCloud
from tests.standins.credentials import create_credential
from tests.standins.fixtures import standin_overrides

EC2 = "us-east-1/AWS::EC2::Instance"
HOSTILE_NAME = "evil\x00name\u202egnp.exe"


@pytest.fixture
async def aws_runtime(
    database_url: str, tmp_path: Path, aws_cloud: AwsCloud
) -> AsyncIterator[Runtime]:
    from graph.app import create_app

    settings = make_settings(
        database_url, tmp_path, sync_interval_minutes=0, **standin_overrides(aws=aws_cloud)
    )
    settings.aws_sync_regions = ["us-east-1"]
    app = create_app(settings)
    runtime: Runtime = app.state.runtime
    yield runtime
    await runtime.close()


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
    quiet_driver_loggers()
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
