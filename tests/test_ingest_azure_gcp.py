"""Crafted Azure and GCP listings, through the real SDKs against the project's stand-ins: hostile
strings are stored normalized and reported, unreadable items are skipped alone, duplicates across
pages are merged, and nothing but codes and counts reaches the log (both databases)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from core.log_redaction import floor_library_loggers
from db.enums import SyncJobStatus
from db.models import CloudResourceRow, SyncJobRow
from graph.app import create_app
from graph.runtime import Runtime
from providers.azure import RESOURCES_SCOPE
from providers.gcp import ASSETS_SCOPE
from providers.sanitize import MAX_NAME, MAX_TAGS
from tests.conftest import make_settings
from tests.factories import create_user
from tests.ingest_support import run_sync, stored
from tests.standins.azure import SUBSCRIPTION, AzureStandin
from tests.standins.credentials import create_credential
from tests.standins.fixtures import standin_overrides
from tests.standins.gcp import PROJECT_ID, GcpStandin

MEGABYTE_NAME = "n" * 1_000_000
MANY_TAGS = {f"k{n}": f"v{n}" for n in range(10_000)}
SECRETISH = "hostile-marker"  # appears in every crafted value: it must never be logged


@pytest.fixture
async def served(database_url: str, tmp_path: Path) -> AsyncIterator[Any]:
    runtimes: list[Runtime] = []

    async def start(**standins: Any) -> Runtime:
        settings = make_settings(
            database_url, tmp_path, sync_interval_minutes=0, **standin_overrides(**standins)
        )
        runtime: Runtime = create_app(settings).state.runtime
        runtimes.append(runtime)
        return runtime

    yield start
    for runtime in runtimes:
        await runtime.close()


def warnings_of(job: SyncJobRow, scope: str) -> dict[str, dict[str, Any]]:
    return {w["code"]: w for w in job.warnings if w["scope"] == scope}


def skipped_of(job: SyncJobRow, scope: str) -> list[dict[str, Any]]:
    return [e for e in job.errors if e["scope"] == scope and e["code"] == "INVALID_RECORD"]


def by_name(rows: dict[str, CloudResourceRow]) -> dict[str, CloudResourceRow]:
    return {row.name: row for row in rows.values()}


async def synced(
    runtime: Runtime, secret: Any, caplog: pytest.LogCaptureFixture
) -> tuple[SyncJobRow, dict[str, CloudResourceRow], str]:
    user = await create_user(runtime)
    credential = await create_credential(runtime, user.id, secret)
    floor_library_loggers(logging.DEBUG)
    with caplog.at_level(logging.DEBUG):
        job = await run_sync(runtime, credential.id)
    logged = "\n".join(r.getMessage() for r in caplog.records)
    return job, await stored(runtime, credential.id), logged


def azure_id(name: str) -> str:
    return (
        f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg-web/providers/"
        f"Microsoft.Network/virtualNetworks/{name}"
    )


def craft_azure(standin: AzureStandin) -> None:
    vnet = "Microsoft.Network/virtualNetworks"
    standin.add_resource("rg-web", vnet, f"nul\x00{SECRETISH}", "eastus")
    standin.add_resource("rg-web", vnet, f"rtl\u202e{SECRETISH}", "eastus")
    standin.add_resource("rg-web", vnet, "surrogate\ud800", "eastus", tags={"k": "v\udfff"})
    standin.add_resource("rg-web", vnet, "huge", "eastus", tags={"t": SECRETISH})
    standin.resources[-1]["name"] = MEGABYTE_NAME
    standin.add_resource("rg-web", vnet, "many-tags", "eastus", tags=MANY_TAGS)
    standin.add_resource("rg-web", vnet, "tags-list", "eastus", tags=[SECRETISH, "b"])
    standin.add_resource("rg-web", vnet, "numbered", "eastus", tags={"n": 5, "b": True})
    standin.resources[-1]["name"] = 12345
    standin.resources.append({"name": f"no-id-{SECRETISH}", "type": vnet, "location": "eastus"})
    standin.add_resource("rg-web", vnet, "odd-shape", "eastus", properties=SECRETISH, sku="x")
    deep: object = SECRETISH
    for _ in range(900):
        deep = {"d": deep}
    standin.add_resource("rg-web", vnet, "deep", "eastus", managedBy=deep)
    standin.add_resource("rg-web", vnet, "twice", "eastus", tags={"copy": "first"})
    standin.resources.insert(0, {**standin.resources[-1], "tags": {"copy": "early"}})


async def test_a_crafted_azure_listing_loses_only_what_cannot_be_read(
    served: Any, azure_standin: AzureStandin, caplog: pytest.LogCaptureFixture
) -> None:
    # given a subscription whose listing (pages of two) holds hostile and malformed resources
    craft_azure(azure_standin)
    runtime = await served(azure=azure_standin)

    # when it is synced
    job, rows, logged = await synced(runtime, azure_standin.secret(), caplog)

    # then every readable resource is stored, the ordinary ones untouched
    names = by_name(rows)
    assert {"vm-web-1", "vnet-web", "stdata", "rg-web"} <= set(names)
    assert names["vnet-web"].tags == {} and names["vm-web-1"].tags == {"env": "prod"}
    # and hostile strings are normalized: NUL escaped, RTL override kept, surrogates replaced
    assert f"nul\u2400{SECRETISH}" in names and f"rtl\u202e{SECRETISH}" in names
    assert names["surrogate\ufffd"].tags == {"k": "v\ufffd"}
    assert rows[azure_id("surrogate\ud800").replace("\ud800", "\ufffd")].name == "surrogate\ufffd"
    # and oversize values are capped, foreign shapes coerced or dropped
    huge = rows[azure_id("huge")]
    assert len(huge.name) == MAX_NAME and huge.name.endswith("…")
    assert len(rows[azure_id("many-tags")].tags) == MAX_TAGS
    assert rows[azure_id("tags-list")].tags == {}
    assert rows[azure_id("numbered")].name == "12345"
    assert rows[azure_id("numbered")].tags == {"n": "5", "b": "true"}
    # and the same id on two pages is stored once, as listed last
    assert rows[azure_id("twice")].tags == {"copy": "first"}
    # and the job says what it changed and what it skipped, without values
    scope = RESOURCES_SCOPE.key
    warned = warnings_of(job, scope)
    assert {code: w["count"] for code, w in warned.items()} == {
        "BIDI_CONTROL": 1,
        "CONTROL_CHARACTER": 1,
        "DUPLICATE_ID": 1,
        "INVALID_RECORD": 2,
        "INVALID_SHAPE": 1,
        "INVALID_UNICODE": 1,
        "NOT_A_STRING": 1,
        "TOO_DEEP": 1,
        "TOO_MANY_TAGS": 1,
        "TRUNCATED": 1,
    }
    assert warned["TOO_DEEP"]["resourceIds"] == [azure_id("deep")]
    assert warned["TOO_MANY_TAGS"]["resourceIds"] == [azure_id("many-tags")]
    skipped = skipped_of(job, scope)
    assert sorted(str(e["resourceId"]) for e in skipped) == [azure_id("odd-shape"), "None"]
    assert job.status == SyncJobStatus.PARTIAL  # two resources are missing from the inventory
    assert not [e for e in job.errors if e["code"] != "INVALID_RECORD"]
    assert azure_id("odd-shape") not in rows
    assert all(SECRETISH not in str(e) for e in job.errors)
    # and nothing of the values reached the log: counts and codes only
    assert SECRETISH not in logged and "\x00" not in logged
    assert "INVALID_RECORD=2" in logged


async def test_a_skipped_azure_resource_is_kept_not_marked_deleted(
    served: Any, azure_standin: AzureStandin, caplog: pytest.LogCaptureFixture
) -> None:
    # given a synced subscription
    runtime = await served(azure=azure_standin)
    user = await create_user(runtime)
    credential = await create_credential(runtime, user.id, azure_standin.secret())
    first = await run_sync(runtime, credential.id)
    assert first.status == SyncJobStatus.SUCCEEDED
    # and, since, one of its resources comes back in a shape that cannot be read
    (vnet,) = [r for r in azure_standin.resources if r["name"] == "vnet-web"]
    vnet["sku"] = "not an object"

    # when it is synced again
    second = await run_sync(runtime, credential.id)

    # then that resource is reported skipped, and kept: it exists in the cloud
    assert [e["resourceId"] for e in skipped_of(second, RESOURCES_SCOPE.key)] == [vnet["id"]]
    row = (await stored(runtime, credential.id))[vnet["id"]]
    assert row.deleted_at is None
    assert second.removed == 0


def gcp_name(path: str) -> str:
    return f"//compute.googleapis.com/projects/{PROJECT_ID}/{path}"


def craft_gcp(standin: GcpStandin) -> None:
    net = "compute.googleapis.com/Network"
    standin.add_asset(net, "global/networks/nul", "global", displayName=f"a\x00{SECRETISH}")
    standin.add_asset(net, "global/networks/rtl", "global", displayName=f"r\u202e{SECRETISH}")
    standin.add_asset(net, "global/networks/lone", "global", displayName="lone\ud800")
    standin.add_asset(net, "global/networks/huge", "global", displayName=MEGABYTE_NAME)
    standin.add_asset(net, "global/networks/many", "global", labels=MANY_TAGS)
    standin.add_asset(net, "global/networks/list", "global", labels=[SECRETISH])
    standin.add_asset(net, "global/networks/number", "global", displayName=12345)
    standin.add_asset(net, "global/networks/values", "global", labels={"n": 5})
    standin.add_asset(net, "global/networks/noid", "global", displayName=f"x-{SECRETISH}")
    del standin.assets[-1]["name"]
    standin.add_asset(net, "global/networks/twice", "global", labels={"copy": "first"})
    standin.assets.insert(0, {**standin.assets[-1], "labels": {"copy": "early"}})


async def test_a_crafted_gcp_listing_loses_only_what_cannot_be_read(
    served: Any, gcp_standin: GcpStandin, caplog: pytest.LogCaptureFixture
) -> None:
    # given a project whose asset search (pages of two) holds hostile and malformed results
    craft_gcp(gcp_standin)
    runtime = await served(gcp=gcp_standin)

    # when it is synced
    job, rows, logged = await synced(runtime, gcp_standin.secret(), caplog)

    # then the ordinary assets are stored as before
    names = by_name(rows)
    assert {"vm-a", "vm-b", "standin-data", "orders"} <= set(names)
    assert names["vm-a"].tags == {"team": "infra"}
    # and hostile strings are normalized, foreign shapes read for what they are
    assert rows[gcp_name("global/networks/nul")].name == f"a\u2400{SECRETISH}"
    assert rows[gcp_name("global/networks/rtl")].name == f"r\u202e{SECRETISH}"
    assert rows[gcp_name("global/networks/lone")].name == "lone\ufffd"
    assert len(rows[gcp_name("global/networks/huge")].name) == MAX_NAME
    assert len(rows[gcp_name("global/networks/many")].tags) == MAX_TAGS
    assert rows[gcp_name("global/networks/list")].tags == {}
    assert rows[gcp_name("global/networks/number")].name == "12345"
    assert rows[gcp_name("global/networks/values")].tags == {"n": "5"}
    assert rows[gcp_name("global/networks/twice")].tags == {"copy": "first"}
    # and the job counts each change and the one result without an id
    scope = ASSETS_SCOPE.key
    counts = {code: w["count"] for code, w in warnings_of(job, scope).items()}
    assert counts == {
        "BIDI_CONTROL": 1,
        "CONTROL_CHARACTER": 1,
        "DUPLICATE_ID": 1,
        "INVALID_RECORD": 1,
        "INVALID_SHAPE": 1,
        "INVALID_UNICODE": 1,
        "NOT_A_STRING": 2,
        "TOO_MANY_TAGS": 1,
        "TRUNCATED": 1,
    }
    assert [e["resourceId"] for e in skipped_of(job, scope)] == [None]
    assert job.status == SyncJobStatus.PARTIAL
    assert SECRETISH not in logged and "\x00" not in logged
