"""AWS stand-in: moto's server in a thread, a small populated cloud, failure injection."""

from __future__ import annotations

import io
import logging
import urllib.request
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import boto3
from botocore.awsrequest import AWSResponse
from botocore.compat import HTTPHeaders
from moto.server import ThreadedMotoServer

from providers.secrets import AwsSecret

STANDIN_REGIONS = ("us-east-1", "eu-west-1", "ap-southeast-2")
PRIMARY_ACCOUNT = "123456789012"  # moto's default account
SECOND_ACCOUNT = "210987654321"
PRIMARY_SECRET = AwsSecret(
    access_key_id="AKIASTANDINPRIMARY01",
    secret_access_key="standin-primary-secret-key-0001",
    session_token=None,
)
AMI = "ami-12c6146b"


class MotoServer:
    """moto's server on 127.0.0.1, an ephemeral port, in this process."""

    def __init__(self) -> None:
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self._server.start()
        host, port = self._server.get_host_and_port()
        self.url = f"http://{host}:{port}"
        self._clients: dict[tuple[str, str, str], Any] = {}

    def stop(self) -> None:
        self._server.stop()

    def reset(self) -> None:
        self._post("/moto-api/reset", b"")

    @contextmanager
    def enforce_auth(self) -> Iterator[None]:
        """Make moto check access keys against its IAM (off by default: any key works)."""
        self._post("/moto-api/reset-auth", b"0")
        try:
            yield
        finally:
            self._post("/moto-api/reset-auth", b"inf")

    def _post(self, path: str, body: bytes) -> None:
        request = urllib.request.Request(
            self.url + path, data=body, method="POST", headers={"Content-Type": "text/plain"}
        )
        # Resetting clears every account's backends: slow on a loaded machine after many accounts.
        with urllib.request.urlopen(request, timeout=60) as response:
            response.read()

    def client(self, service: str, region: str, secret: AwsSecret = PRIMARY_SECRET) -> Any:
        """A boto3 client on the server, cached (building clients dominates populating)."""
        key = (service, region, secret.access_key_id)
        if key not in self._clients:
            self._clients[key] = boto3.client(
                service,  # type: ignore[call-overload]
                region_name=region,
                endpoint_url=self.url,
                aws_access_key_id=secret.access_key_id,
                aws_secret_access_key=secret.secret_access_key,
                aws_session_token=secret.session_token,
            )
        return self._clients[key]


@dataclass
class AwsCloud:
    """What `populate` created, for assertions: names per account and region."""

    server: MotoServer
    primary: AwsSecret
    second: AwsSecret
    instances: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    buckets: dict[str, dict[str, str]] = field(default_factory=dict)  # account → name → region
    functions: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    databases: dict[tuple[str, str], list[str]] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return self.server.url


def populate(server: MotoServer) -> AwsCloud:
    """A small cloud: two accounts, three regions, a few of each kind, instances of known sizes."""
    server.reset()
    second = _assume_second_account(server)
    cloud = AwsCloud(server=server, primary=PRIMARY_SECRET, second=second)
    layout = {
        (PRIMARY_ACCOUNT, "us-east-1"): [("web-1", "t3.micro"), ("web-2", "t3.micro"),
                                         ("batch-1", "x2iedn.xlarge")],
        (PRIMARY_ACCOUNT, "eu-west-1"): [("api-eu-1", "m5.large"), ("api-eu-2", "m5.large")],
        (PRIMARY_ACCOUNT, "ap-southeast-2"): [("syd-1", "t3.small")],
        (SECOND_ACCOUNT, "eu-west-1"): [("other-account-1", "t3.micro")],
    }  # fmt: skip
    for (account, region), machines in layout.items():
        secret = PRIMARY_SECRET if account == PRIMARY_ACCOUNT else second
        ec2 = server.client("ec2", region, secret)
        for name, size in machines:
            ec2.run_instances(
                ImageId=AMI,
                MinCount=1,
                MaxCount=1,
                InstanceType=size,
                TagSpecifications=[
                    {
                        "ResourceType": "instance",
                        "Tags": [{"Key": "Name", "Value": name}, {"Key": "env", "Value": "test"}],
                    }
                ],
            )
        cloud.instances[(account, region)] = [name for name, _ in machines]
    _add_functions_and_databases(server, cloud)
    cloud.buckets[PRIMARY_ACCOUNT] = {"standin-us": "us-east-1", "standin-eu": "eu-west-1"}
    cloud.buckets[SECOND_ACCOUNT] = {"standin-second": "ap-southeast-2"}
    for account, buckets in cloud.buckets.items():
        secret = PRIMARY_SECRET if account == PRIMARY_ACCOUNT else second
        s3 = server.client("s3", "us-east-1", secret)
        for name, region in buckets.items():
            extra = {} if region == "us-east-1" else {"LocationConstraint": region}
            s3.create_bucket(Bucket=name, **({"CreateBucketConfiguration": extra} if extra else {}))
    return cloud


def _add_functions_and_databases(server: MotoServer, cloud: AwsCloud) -> None:
    role = server.client("iam", "us-east-1").create_role(
        RoleName="standin-lambda", AssumeRolePolicyDocument="{}"
    )["Role"]["Arn"]
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as archive:
        archive.writestr("handler.py", "def handle(event, context):\n    return event\n")
    for region, name in (("us-east-1", "resize-images"), ("eu-west-1", "nightly-report")):
        server.client("lambda", region).create_function(
            FunctionName=name,
            Runtime="python3.12",
            Role=role,
            Handler="handler.handle",
            Code={"ZipFile": code.getvalue()},
        )
        cloud.functions[(PRIMARY_ACCOUNT, region)] = [name]
    server.client("rds", "us-east-1").create_db_instance(
        DBInstanceIdentifier="orders-db",
        DBInstanceClass="db.t3.micro",
        Engine="postgres",
        MasterUsername="standin",
        MasterUserPassword="standin-password",
        AllocatedStorage=20,
    )
    cloud.databases[(PRIMARY_ACCOUNT, "us-east-1")] = ["orders-db"]


def _assume_second_account(server: MotoServer) -> AwsSecret:
    answer = server.client("sts", "us-east-1").assume_role(
        RoleArn=f"arn:aws:iam::{SECOND_ACCOUNT}:role/stratograph-reader",
        RoleSessionName="stratograph",
    )["Credentials"]
    return AwsSecret(
        access_key_id=answer["AccessKeyId"],
        secret_access_key=answer["SecretAccessKey"],
        session_token=answer["SessionToken"],
    )


class _Body:
    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._body


@dataclass
class Injection:
    """Counts how many requests a failure injection answered."""

    remaining: int
    answered: int = 0


def inject_error(events: Any, event: str, *, times: int, status: int, body: bytes) -> Injection:
    """Answer the next `times` requests of a botocore `before-send.*` event with `body`."""
    injection = Injection(remaining=times)

    def answer(request: Any, **_: Any) -> AWSResponse | None:
        if injection.remaining == 0:
            return None
        injection.remaining -= 1
        injection.answered += 1
        return AWSResponse(request.url, status, HTTPHeaders(), _Body(body))

    events.register(event, answer)
    return injection


def inject_ec2_error(
    events: Any,
    operation: str = "DescribeInstances",
    *,
    times: int = 2,
    status: int = 503,
    code: str = "RequestLimitExceeded",
    region: str | None = None,
) -> Injection:
    """Answer the next `times` EC2 `operation` requests with an error, without reaching moto.

    `events` is a botocore event emitter (`AwsInventory.events`); `times=-1` fails forever;
    `region` limits the failure to requests signed for that region.
    """
    injection = Injection(remaining=times)
    body = (
        f"<Response><Errors><Error><Code>{code}</Code><Message>injected</Message></Error>"
        "</Errors><RequestID>standin</RequestID></Response>"
    ).encode()

    def answer(request: Any, **_: Any) -> AWSResponse | None:
        if injection.remaining == 0:
            return None
        if region is not None and f"/{region}/" not in str(request.headers.get("Authorization")):
            return None
        injection.remaining -= 1
        injection.answered += 1
        return AWSResponse(request.url, status, HTTPHeaders(), _Body(body))

    events.register(f"before-send.ec2.{operation}", answer)
    return injection
