"""Normalization, scope ownership and the registry that builds inventories from sealed rows."""

from __future__ import annotations

import logging
import secrets
import uuid
from pathlib import Path

import pytest

from db.enums import Provider, ResourceStatus
from db.models import CloudCredentialRow
from providers import normalize
from providers.aws import AwsInventory
from providers.azure import AzureInventory
from providers.base import GLOBAL_REGION, Scope
from providers.endpoints import CloudEndpoints
from providers.gcp import GcpInventory
from providers.registry import inventory_for
from providers.secrets import AwsSecret, CloudSecret, provider_of
from providers.vault_access import seal_into
from security.vault import Vault
from tests.conftest import make_settings
from tests.standins.aws import AwsCloud
from tests.standins.azure import AzureStandin
from tests.standins.fixtures import standin_overrides
from tests.standins.gcp import GcpStandin


def test_unknown_sizes_have_no_price_never_zero() -> None:
    assert normalize.hourly_price("aws_ec2", "t3.micro") == pytest.approx(0.0104)
    assert normalize.hourly_price("aws_ec2", "z9.nonexistent") is None
    assert normalize.hourly_price("azure_vm", None) is None
    assert normalize.ebs_hourly_price("gp3", 100) == pytest.approx(0.08 * 100 / 730, rel=1e-3)
    assert normalize.ebs_hourly_price("mystery", 100) is None


def test_stopped_machines_cost_nothing_and_unknown_stays_unknown() -> None:
    assert normalize.running_cost(0.1, ResourceStatus.STOPPED) == 0.0
    assert normalize.running_cost(0.1, ResourceStatus.RUNNING) == 0.1
    assert normalize.running_cost(None, ResourceStatus.STOPPED) is None


def test_price_table_documents_its_source_and_date() -> None:
    import json

    about = json.loads(Path(normalize.__file__).with_name("prices.json").read_text())["_about"]
    assert {"aws_ec2", "azure_vm", "gcp_compute", "date"} <= set(about)
    assert all(price > 0 for table in normalize.price_table().values() for price in table.values())


def test_metadata_is_json_safe_and_drops_empties() -> None:
    from datetime import UTC, datetime

    cleaned = normalize.metadata(a=None, b="", c=[], d=datetime(2024, 1, 2, tzinfo=UTC), e=0)
    assert cleaned == {"d": "2024-01-02T00:00:00+00:00", "e": 0}
    assert normalize.aws_tags([{"Key": "Name", "Value": "x"}, {"Key": "empty"}]) == {
        "Name": "x",
        "empty": "",
    }


def test_scope_ownership_rules() -> None:
    regional = Scope("eu-west-1", "AWS::EC2::Instance")
    assert regional.owns("eu-west-1", "AWS::EC2::Instance")
    assert not regional.owns("us-east-1", "AWS::EC2::Instance")
    assert not regional.owns("eu-west-1", "AWS::EC2::Volume")
    buckets = Scope(GLOBAL_REGION, "AWS::S3::Bucket", any_region=True)
    assert buckets.owns("ap-southeast-2", "AWS::S3::Bucket")
    generic = Scope(GLOBAL_REGION, "resources", any_region=True, all_types_except=frozenset({"g"}))
    assert generic.owns("eastus", "anything") and not generic.owns("eastus", "g")
    assert regional.key == "eu-west-1/AWS::EC2::Instance"


def sealed_row(secret: CloudSecret, vault: Vault) -> CloudCredentialRow:
    row = CloudCredentialRow(
        id=uuid.uuid4(),
        user_id=uuid.uuid4(),
        provider=provider_of(secret),
        name="x",
        default_region="eu-west-1",
    )
    seal_into(row, secret, vault)
    return row


async def test_registry_builds_each_cloud_from_a_sealed_row(
    aws_cloud: AwsCloud, azure_standin: AzureStandin, gcp_standin: GcpStandin, tmp_path: Path
) -> None:
    # given one vault, settings pointing at the stand-ins, and a sealed row per cloud
    vault = Vault({"k1": secrets.token_bytes(32)})
    settings = make_settings(
        "sqlite+aiosqlite:///:memory:",
        tmp_path,
        **standin_overrides(aws=aws_cloud, azure=azure_standin, gcp=gcp_standin),
    )
    built = {}
    for secret in (aws_cloud.primary, azure_standin.secret(), gcp_standin.secret()):
        # when
        inventory = inventory_for(
            sealed_row(secret, vault), vault, CloudEndpoints.from_settings(settings)
        )
        await inventory.verify()
        built[inventory.provider] = inventory
    # then each works against its stand-in and the AWS regions follow the settings
    assert isinstance(built[Provider.AWS], AwsInventory)
    assert isinstance(built[Provider.AZURE], AzureInventory)
    assert isinstance(built[Provider.GCP], GcpInventory)
    aws_regions = {s.region for s in await built[Provider.AWS].plan()}
    assert aws_regions == {"us-east-1", "eu-west-1", "ap-southeast-2", GLOBAL_REGION}


def test_secrets_do_not_show_in_an_inventory_repr() -> None:
    secret = AwsSecret("AKIAEXAMPLEEXAMPLE00", "very-secret-value-42", None)
    inventory = AwsInventory(secret, default_region="us-east-1")
    assert "very-secret-value-42" not in repr(inventory)
    assert "very-secret-value-42" not in repr(vars(inventory))


async def test_debug_logging_never_carries_a_session_token(
    aws_cloud: AwsCloud, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # given LOG_LEVEL=DEBUG and temporary keys with a session token
    caplog.set_level(logging.DEBUG)
    vault = Vault({"k1": secrets.token_bytes(32)})
    settings = make_settings(
        "sqlite+aiosqlite:///:memory:", tmp_path, **standin_overrides(aws=aws_cloud)
    )
    row = sealed_row(aws_cloud.second, vault)
    # when a provider call is made
    inventory = inventory_for(row, vault, CloudEndpoints.from_settings(settings))
    await inventory.verify()
    await inventory.close()
    # then no log line holds the token or the secret key
    assert aws_cloud.second.session_token
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert aws_cloud.second.session_token not in logged
    assert aws_cloud.second.secret_access_key not in logged
