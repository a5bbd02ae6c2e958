"""The demo's cloud: moto's AWS server on 127.0.0.1 holding a small multi-region estate."""

from __future__ import annotations

import io
import logging
import zipfile
from dataclasses import dataclass, field
from typing import Any

import boto3

# Any key pair works against moto (it does not check signatures unless told to).
DEMO_ACCESS_KEY_ID = "AKIADEMOSTRATOGRAPH1"
DEMO_SECRET_ACCESS_KEY = "demo-secret-access-key-not-a-real-one"  # noqa: S105 (moto only)
DEMO_REGIONS = ("us-east-1", "eu-west-1", "ap-southeast-2")
_AMI = "ami-12c6146b"  # one of moto's built-in images
_MACHINES = {
    "us-east-1": [("web-1", "t3.micro"), ("web-2", "t3.micro"), ("batch-1", "m5.xlarge")],
    "eu-west-1": [("api-eu-1", "m5.large"), ("api-eu-2", "m5.large")],
    "ap-southeast-2": [("syd-1", "t3.small")],
}
_BUCKETS = {"demo-assets-us": "us-east-1", "demo-logs-eu": "eu-west-1"}
_FUNCTIONS = {"us-east-1": "resize-images"}


@dataclass
class DemoCloud:
    """A running moto server and what was put in it."""

    url: str
    server: Any
    counts: dict[str, int] = field(default_factory=dict)

    def stop(self) -> None:
        self.server.stop()


def start_cloud(host: str = "127.0.0.1", port: int = 0) -> DemoCloud:
    from moto.server import ThreadedMotoServer  # a development dependency: imported on use

    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = ThreadedMotoServer(ip_address=host, port=port, verbose=False)
    server.start()
    bound_host, bound_port = server.get_host_and_port()
    return DemoCloud(url=f"http://{bound_host}:{bound_port}", server=server)


def populate(cloud: DemoCloud) -> None:
    """A few instances per region (each in its own VPC), two buckets and a Lambda function."""

    def client(service: str, region: str) -> Any:
        return boto3.client(
            service,  # type: ignore[call-overload]
            region_name=region,
            endpoint_url=cloud.url,
            aws_access_key_id=DEMO_ACCESS_KEY_ID,
            aws_secret_access_key=DEMO_SECRET_ACCESS_KEY,
        )

    for region, machines in _MACHINES.items():
        ec2 = client("ec2", region)
        vpc = ec2.create_vpc(CidrBlock="10.20.0.0/16")["Vpc"]["VpcId"]
        ec2.create_tags(Resources=[vpc], Tags=[{"Key": "Name", "Value": f"demo-{region}"}])
        subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.20.1.0/24")["Subnet"]["SubnetId"]
        for name, size in machines:
            ec2.run_instances(
                ImageId=_AMI,
                MinCount=1,
                MaxCount=1,
                InstanceType=size,
                SubnetId=subnet,
                TagSpecifications=[
                    {
                        "ResourceType": "instance",
                        "Tags": [{"Key": "Name", "Value": name}, {"Key": "env", "Value": "demo"}],
                    }
                ],
            )
    s3 = client("s3", "us-east-1")
    for bucket, region in _BUCKETS.items():
        where = {} if region == "us-east-1" else {"LocationConstraint": region}
        s3.create_bucket(Bucket=bucket, **({"CreateBucketConfiguration": where} if where else {}))
    _add_functions(client)
    cloud.counts = {
        "instances": sum(len(m) for m in _MACHINES.values()),
        "buckets": len(_BUCKETS),
        "functions": len(_FUNCTIONS),
        "regions": len(DEMO_REGIONS),
    }


def _add_functions(client: Any) -> None:
    role = client("iam", "us-east-1").create_role(
        RoleName="demo-lambda", AssumeRolePolicyDocument="{}"
    )["Role"]["Arn"]
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as archive:
        archive.writestr("handler.py", "def handle(event, context):\n    return event\n")
    for region, name in _FUNCTIONS.items():
        client("lambda", region).create_function(
            FunctionName=name,
            Runtime="python3.12",
            Role=role,
            Handler="handler.handle",
            Code={"ZipFile": code.getvalue()},
        )
