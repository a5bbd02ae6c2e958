"""A moto server standing in for AWS, with a few resources to find."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import boto3
import pytest

from tests.standins.aws import MotoServer

REGION = "us-east-1"
# moto accepts any keys; these look real enough for fingerprinting.
ACCESS_KEY_ID = "AKIAIOSFODNN7EXAMPLE"
SECRET_ACCESS_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


@dataclass(frozen=True)
class AwsStandIn:
    endpoint_url: str
    instance_ids: list[str]
    bucket_names: list[str]


@pytest.fixture
def aws_standin() -> Iterator[AwsStandIn]:
    server = MotoServer()  # its own server: these tests populate it and expect nothing else
    endpoint = server.url
    session = boto3.Session(
        aws_access_key_id=ACCESS_KEY_ID,
        aws_secret_access_key=SECRET_ACCESS_KEY,
        region_name=REGION,
    )
    ec2 = session.client("ec2", endpoint_url=endpoint)
    image = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    created = ec2.run_instances(ImageId=image, MinCount=2, MaxCount=2, InstanceType="t3.micro")
    s3 = session.client("s3", endpoint_url=endpoint)
    buckets = ["clients-example-a", "clients-example-b"]
    for name in buckets:
        s3.create_bucket(Bucket=name)
    try:
        yield AwsStandIn(endpoint, [i["InstanceId"] for i in created["Instances"]], buckets)
    finally:
        server.stop()
