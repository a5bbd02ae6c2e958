"""GCP inventory against the HTTP stand-in through the real REST clients."""

from __future__ import annotations

from pathlib import Path

import pytest

from db.enums import ResourceStatus, ResourceType
from providers.base import (
    ERROR_AUTH,
    ERROR_PERMISSION,
    ERROR_UNAVAILABLE,
    ProviderError,
    RetryPolicy,
)
from providers.gcp import ASSETS_SCOPE, GcpInventory, endpoint_options
from providers.secrets import GcpSecret
from tests.standins.gcp import PROJECT_ID, GcpStandin

FAST = RetryPolicy(initial_backoff=0.01, max_backoff=0.05, timeout=1.0)


def inventory(standin: GcpStandin, secret: GcpSecret | None = None) -> GcpInventory:
    return GcpInventory(secret or standin.secret(), api_endpoint=standin.url, retry=FAST)


async def test_lists_every_asset_kind_across_pages(gcp_standin: GcpStandin) -> None:
    # when
    inv = inventory(gcp_standin)
    assert await inv.plan() == [ASSETS_SCOPE]
    records = await inv.list_scope(ASSETS_SCOPE)
    # then every page (two results each) was followed
    assert len(records) == len(gcp_standin.assets) == 7
    assert gcp_standin.hits("searchAllResources") == 4
    by_name = {r.name: r for r in records}
    assert by_name["vm-a"].type == ResourceType.VM
    assert by_name["vm-a"].region == "us-central1"
    assert by_name["vm-a"].metadata["zone"] == "us-central1-a"
    assert by_name["vm-a"].metadata["externalIps"] == ["34.1.2.3"]
    assert by_name["vm-a"].tags == {"team": "infra"}
    assert by_name["vm-a"].account == PROJECT_ID
    assert by_name["vm-a"].cost_per_hour == pytest.approx(0.033503)
    assert by_name["vm-b"].cost_per_hour is None  # unknown machine type
    assert by_name["vm-c"].status == ResourceStatus.STOPPED  # GCE "TERMINATED" is stopped
    assert by_name["vm-c"].cost_per_hour == 0.0
    assert by_name["standin-data"].type == ResourceType.STORAGE
    assert by_name["default"].type == ResourceType.NETWORK
    assert by_name["orders"].type == ResourceType.DATABASE
    assert ASSETS_SCOPE.owns("europe-west1", "compute.googleapis.com/Instance")


async def test_throttling_429_is_retried(gcp_standin: GcpStandin) -> None:
    injected = gcp_standin.fail("searchAllResources", 429, times=2)
    records = await inventory(gcp_standin).list_scope(ASSETS_SCOPE)
    assert injected.answered == 2
    assert len(records) == 7


async def test_a_failing_search_raises_a_safe_error(gcp_standin: GcpStandin) -> None:
    gcp_standin.fail("searchAllResources", 503, times=-1)
    secret = gcp_standin.secret()
    with pytest.raises(ProviderError) as failure:
        await inventory(gcp_standin, secret).list_scope(ASSETS_SCOPE)
    assert failure.value.code == ERROR_UNAVAILABLE
    assert "PRIVATE KEY" not in failure.value.message
    assert "injected" not in failure.value.message


async def test_verify_reads_the_project_and_rejects_a_foreign_key(gcp_standin: GcpStandin) -> None:
    await inventory(gcp_standin).verify()
    with pytest.raises(ProviderError) as failure:
        await inventory(gcp_standin, gcp_standin.secret("impostor")).verify()
    assert failure.value.code == ERROR_AUTH


async def test_verify_of_another_project_is_permission_denied(gcp_standin: GcpStandin) -> None:
    good = gcp_standin.secret()
    other = GcpSecret(project_id="someone-else", service_account_json=good.service_account_json)
    with pytest.raises(ProviderError) as failure:
        await inventory(gcp_standin, other).verify()
    assert failure.value.code == ERROR_PERMISSION


def test_a_malformed_key_is_an_auth_error() -> None:
    with pytest.raises(ProviderError) as failure:
        GcpInventory(GcpSecret(project_id="p", service_account_json='{"type": "x"}'))
    assert failure.value.code == ERROR_AUTH


def test_one_endpoint_or_a_per_service_template() -> None:
    assert endpoint_options(None, "cloudasset") is None
    single = endpoint_options("http://127.0.0.1:9000", "cloudasset")
    assert single is not None and single.api_endpoint == "http://127.0.0.1:9000"
    template = endpoint_options("https://{service}-psc.p.googleapis.com", "cloudasset")
    assert template is not None
    assert template.api_endpoint == "https://cloudasset-psc.p.googleapis.com"


async def test_https_endpoints_are_trusted_through_the_ca_bundle(tmp_path: Path) -> None:
    # given the stand-in on HTTPS with a private CA
    standin = GcpStandin(ca_path=tmp_path / "gcp-ca.pem")
    standin.populate()
    try:
        trusting = GcpInventory(
            standin.secret(), api_endpoint=standin.url, ca_bundle=standin.ca_bundle, retry=FAST
        )
        distrusting = GcpInventory(standin.secret(), api_endpoint=standin.url, retry=FAST)
        # when / then the bundle makes the certificate acceptable, and only the bundle does
        await trusting.verify()
        assert len(await trusting.list_scope(ASSETS_SCOPE)) == 7
        with pytest.raises(ProviderError) as failure:
            await distrusting.verify()
        assert failure.value.code == ERROR_UNAVAILABLE
    finally:
        standin.stop()


async def test_buckets_carry_their_public_bindings_and_assets_their_project(
    gcp_standin: GcpStandin,
) -> None:
    # given a public and a private binding on the bucket, and kinds of the newer categories
    (bucket,) = [a["name"] for a in gcp_standin.assets if a["assetType"].endswith("/Bucket")]
    gcp_standin.grant(bucket, "roles/storage.objectViewer", "allUsers", "user:ann@example.com")
    gcp_standin.grant(bucket, "roles/storage.legacyBucketReader", "allAuthenticatedUsers")
    gcp_standin.grant(bucket, "roles/storage.admin", "group:ops@example.com")
    for asset_type, path in (
        ("iam.googleapis.com/ServiceAccount", "serviceAccounts/app"),
        ("container.googleapis.com/Cluster", "locations/us-central1/clusters/gke"),
        ("cloudkms.googleapis.com/CryptoKey", "keyRings/r/cryptoKeys/k"),
        ("dns.googleapis.com/ManagedZone", "managedZones/example"),
        ("pubsub.googleapis.com/Topic", "topics/events"),
    ):
        gcp_standin.add_asset(asset_type, path, "global")
    # when
    records = {r.name: r for r in await inventory(gcp_standin).list_scope(ASSETS_SCOPE)}
    # then the bucket's public bindings are its configuration (private members are not)
    assert records["standin-data"].configuration["publicBindings"] == [
        {"role": "roles/storage.legacyBucketReader", "member": "allAuthenticatedUsers"},
        {"role": "roles/storage.objectViewer", "member": "allUsers"},
    ]
    assert gcp_standin.iam_searches == ["policy:(allUsers OR allAuthenticatedUsers)"]
    assert records["vm-a"].configuration == {}
    # every asset is MEMBER_OF its project (as Cloud Asset names the project asset)
    assert {r.relations[0].target for r in records.values()} == {
        "//cloudresourcemanager.googleapis.com/projects/424242424242"
    }
    assert {name: records[name].type for name in ("app", "gke", "k", "example", "events")} == {
        "app": ResourceType.IDENTITY,
        "gke": ResourceType.CONTAINER,
        "k": ResourceType.SECURITY,
        "example": ResourceType.DNS,
        "events": ResourceType.QUEUE,
    }
