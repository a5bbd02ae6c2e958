"""AWS inventory against moto's server through the real boto3 clients."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from db.enums import ResourceStatus, ResourceType
from providers import aws_kinds as kinds
from providers.aws import AwsInventory
from providers.base import (
    ERROR_AUTH,
    ERROR_PERMISSION,
    ERROR_UNAVAILABLE,
    GLOBAL_REGION,
    ProviderError,
    ResourceRecord,
    RetryPolicy,
    Scope,
)
from providers.secrets import AwsSecret
from tests.standins.aws import (
    PRIMARY_ACCOUNT,
    SECOND_ACCOUNT,
    STANDIN_REGIONS,
    AwsCloud,
    inject_ec2_error,
    inject_error,
)


def inventory(cloud: AwsCloud, secret: AwsSecret | None = None, **options: Any) -> AwsInventory:
    return AwsInventory(
        secret or cloud.primary,
        default_region="us-east-1",
        endpoint_url=cloud.url,
        regions=STANDIN_REGIONS,
        **options,
    )


async def list_all(inv: AwsInventory) -> dict[Scope, list[ResourceRecord]]:
    scopes = await inv.plan()
    listings = await asyncio.gather(*(inv.list_scope(scope) for scope in scopes))
    return dict(zip(scopes, listings, strict=True))


def names(records: list[ResourceRecord]) -> list[str]:
    return sorted(record.name for record in records)


async def test_plan_covers_every_region_and_kind_plus_global_buckets(aws_cloud: AwsCloud) -> None:
    # when
    scopes = await inventory(aws_cloud).plan()
    # then
    regional = {(s.region, s.kind) for s in scopes if s.region != GLOBAL_REGION}
    assert regional == {(r, k) for r in STANDIN_REGIONS for k in kinds.REGIONAL_KINDS}
    assert Scope(GLOBAL_REGION, kinds.S3_BUCKET, any_region=True) in scopes


async def test_lists_every_kind_in_every_region_of_the_primary_account(
    aws_cloud: AwsCloud,
) -> None:
    # when
    listed = await list_all(inventory(aws_cloud))
    # then instances are found per region, with their account, tags and prices
    for region in STANDIN_REGIONS:
        instances = listed[Scope(region, kinds.EC2_INSTANCE)]
        assert names(instances) == sorted(aws_cloud.instances[(PRIMARY_ACCOUNT, region)])
        assert all(r.account == PRIMARY_ACCOUNT and r.region == region for r in instances)
        assert {r.type for r in instances} == {ResourceType.VM}
        # every region has its default VPC, subnets and security group
        assert listed[Scope(region, kinds.VPC)][0].metadata["isDefault"] is True
        assert listed[Scope(region, kinds.SUBNET)]
        assert "default" in names(listed[Scope(region, kinds.SECURITY_GROUP)])
    web = next(r for r in listed[Scope("us-east-1", kinds.EC2_INSTANCE)] if r.name == "web-1")
    assert web.status == ResourceStatus.RUNNING
    assert web.tags == {"Name": "web-1", "env": "test"}
    assert web.metadata["instanceType"] == "t3.micro"
    assert web.metadata["privateIp"]
    assert web.cost_per_hour == pytest.approx(0.0104)
    assert web.resource_id.startswith(f"arn:aws:ec2:us-east-1:{PRIMARY_ACCOUNT}:instance/i-")
    unknown = next(r for r in listed[Scope("us-east-1", kinds.EC2_INSTANCE)] if r.name == "batch-1")
    assert unknown.cost_per_hour is None  # a size missing from the price table is not free
    volumes = listed[Scope("us-east-1", kinds.EBS_VOLUME)]
    assert volumes and all(v.type == ResourceType.STORAGE for v in volumes)
    assert all(v.cost_per_hour and v.cost_per_hour > 0 for v in volumes)
    assert names(listed[Scope("us-east-1", kinds.LAMBDA_FUNCTION)]) == ["resize-images"]
    assert names(listed[Scope("eu-west-1", kinds.LAMBDA_FUNCTION)]) == ["nightly-report"]
    (database,) = listed[Scope("us-east-1", kinds.RDS_INSTANCE)]
    assert (database.name, database.type) == ("orders-db", ResourceType.DATABASE)
    assert database.cost_per_hour == pytest.approx(0.017)
    buckets = listed[Scope(GLOBAL_REGION, kinds.S3_BUCKET, any_region=True)]
    assert {b.name: b.region for b in buckets} == aws_cloud.buckets[PRIMARY_ACCOUNT]


async def test_second_account_sees_only_its_own_resources(aws_cloud: AwsCloud) -> None:
    # given a credential of another account (temporary keys from sts:AssumeRole)
    inv = inventory(aws_cloud, aws_cloud.second)
    # when
    listed = await list_all(inv)
    # then
    assert await inv.account() == SECOND_ACCOUNT
    instances = [r for (s, records) in listed.items() if s.kind == kinds.EC2_INSTANCE
                 for r in records]  # fmt: skip
    assert names(instances) == ["other-account-1"]
    assert instances[0].account == SECOND_ACCOUNT
    assert f":{SECOND_ACCOUNT}:" in instances[0].resource_id
    buckets = listed[Scope(GLOBAL_REGION, kinds.S3_BUCKET, any_region=True)]
    assert {b.name: b.region for b in buckets} == aws_cloud.buckets[SECOND_ACCOUNT]


async def test_every_page_is_followed(aws_cloud: AwsCloud) -> None:
    # given 7 reservations in a region and the smallest page EC2 allows (5)
    ec2 = aws_cloud.server.client("ec2", "ap-southeast-2")
    for _ in range(6):
        ec2.run_instances(ImageId="ami-12c6146b", MinCount=1, MaxCount=1)
    inv = inventory(aws_cloud, page_size=1)
    requests: list[Any] = []
    inv.events.register("before-send.ec2.DescribeInstances", lambda **kw: requests.append(1))
    # when
    found = await inv.list_scope(Scope("ap-southeast-2", kinds.EC2_INSTANCE))
    # then all seven came back, over two requests
    assert len(found) == 7
    assert len(requests) == 2


async def test_throttling_is_retried_until_it_succeeds(aws_cloud: AwsCloud) -> None:
    # given EC2 answers 503 RequestLimitExceeded twice
    inv = inventory(aws_cloud)
    injection = inject_ec2_error(inv.events, times=2)
    # when
    found = await inv.list_scope(Scope("eu-west-1", kinds.EC2_INSTANCE))
    # then botocore retried and the listing is complete
    assert injection.answered == 2
    assert names(found) == sorted(aws_cloud.instances[(PRIMARY_ACCOUNT, "eu-west-1")])


async def test_a_failing_region_raises_a_safe_error_while_others_list(aws_cloud: AwsCloud) -> None:
    # given eu-west-1 keeps failing, and few retries to keep the test fast
    inv = inventory(aws_cloud, retry=RetryPolicy(max_attempts=2))
    inject_ec2_error(inv.events, times=-1, status=503, code="InternalError", region="eu-west-1")
    # when / then
    with pytest.raises(ProviderError) as failure:
        await inv.list_scope(Scope("eu-west-1", kinds.EC2_INSTANCE))
    assert failure.value.code == ERROR_UNAVAILABLE
    assert failure.value.retryable
    assert "eu-west-1" in failure.value.message
    for secret in (aws_cloud.primary.secret_access_key, aws_cloud.primary.access_key_id):
        assert secret not in failure.value.message
    other = await inv.list_scope(Scope("us-east-1", kinds.EC2_INSTANCE))
    assert len(other) == 3


async def test_permission_denied_is_reported_not_swallowed(aws_cloud: AwsCloud) -> None:
    inv = inventory(aws_cloud)
    inject_ec2_error(inv.events, "DescribeVolumes", times=-1, status=403,
                     code="UnauthorizedOperation")  # fmt: skip
    with pytest.raises(ProviderError) as failure:
        await inv.list_scope(Scope("us-east-1", kinds.EBS_VOLUME))
    assert failure.value.code == ERROR_PERMISSION
    assert not failure.value.retryable
    assert "injected" not in failure.value.message  # AWS's own message is never copied


async def test_verify_accepts_good_keys_and_rejects_unknown_ones(aws_cloud: AwsCloud) -> None:
    # given moto checks keys against its IAM; one real user key, one made-up key
    iam = aws_cloud.server.client("iam", "us-east-1")
    iam.create_user(UserName="reader")
    key = iam.create_access_key(UserName="reader")["AccessKey"]
    good = AwsSecret(key["AccessKeyId"], key["SecretAccessKey"], None)
    bad = AwsSecret("AKIAUNKNOWNKEY000001", "not-the-right-secret-key", None)
    with aws_cloud.server.enforce_auth():
        # when / then
        await inventory(aws_cloud, good).verify()
        with pytest.raises(ProviderError) as failure:
            await inventory(aws_cloud, bad).verify()
    assert failure.value.code == ERROR_AUTH
    assert "not-the-right-secret-key" not in failure.value.message
    assert "AKIAUNKNOWNKEY000001" not in failure.value.message


async def test_a_bucket_whose_location_is_denied_is_still_listed(aws_cloud: AwsCloud) -> None:
    # given a bucket policy that denies GetBucketLocation (for every bucket, here)
    inv = inventory(aws_cloud)
    denied = b"<Error><Code>AccessDenied</Code><Message>denied</Message></Error>"
    inject_error(inv.events, "before-send.s3.GetBucketLocation", times=-1, status=403, body=denied)
    # when
    buckets = await inv.list_scope(Scope(GLOBAL_REGION, kinds.S3_BUCKET, any_region=True))
    # then every bucket is there, with an unknown region
    assert {b.name: b.region for b in buckets} == {
        name: kinds.UNKNOWN_REGION for name in aws_cloud.buckets[PRIMARY_ACCOUNT]
    }


async def test_a_large_page_size_stays_within_each_operations_bounds(
    aws_cloud: AwsCloud,
) -> None:
    # given every kind in the cloud and a page size above several operations' maximum
    # (DescribeLogGroups takes at most 50, ListFunctions 50, DescribeDBInstances 100)
    from tests.standins.aws_every_kind import populate_every_kind

    populate_every_kind(aws_cloud.server)
    inv = inventory(aws_cloud, page_size=1000)
    # when every scope is listed
    listed = await list_all(inv)
    # then none is refused, and the kinds that were created are found
    assert listed[Scope("us-east-1", kinds.LOG_GROUP)]
    assert listed[Scope("us-east-1", kinds.LAMBDA_FUNCTION)]
    assert listed[Scope(GLOBAL_REGION, kinds.IAM_USER, any_region=True)]
