"""The write path's fixed cost per scope: an AWS-shaped plan of mostly-empty scopes replayed
through the real engine on SQLite, no cloud (so all the time is ours).

The shape of `bench/sync_moto`'s 1,000-instance sync: 106 scopes (26 kinds × 4 regions + 2
global), of which 16 hold 2,024 resources (250 instances, 250 volumes, a VPC and 5 subnets per
region) and 90 are empty. Each of BENCH_SCOPE_REPEATS fresh databases gets a first sync and an
unchanged re-sync; the median and best of each are reported.
"""

from __future__ import annotations

import asyncio
import base64
import os
import statistics
import tempfile

from bench.sync_moto import Replay, _database, ours
from core import heap
from db.enums import Provider, ResourceStatus, ResourceType
from providers.base import ResourceRecord, Scope
from providers.registry import preload
from security.vault import Vault

REGIONS = ("us-east-1", "eu-west-1", "us-west-2", "ap-southeast-2")
REPEATS = int(os.environ.get("BENCH_SCOPE_REPEATS", "5"))
FILLED = (
    ("AWS::EC2::Instance", 250, ResourceType.VM),
    ("AWS::EC2::Volume", 250, ResourceType.STORAGE),
    ("AWS::EC2::VPC", 1, ResourceType.NETWORK),
    ("AWS::EC2::Subnet", 5, ResourceType.NETWORK),
)


def listings() -> dict[Scope, list[ResourceRecord]]:
    kinds = [f"AWS::Empty::Kind{n:02d}" for n in range(22)] + [kind for kind, _, _ in FILLED]
    plan: dict[Scope, list[ResourceRecord]] = {
        Scope(region, kind): [] for region in REGIONS for kind in kinds
    }
    plan.update({Scope("global", f"AWS::Global::Kind{n}"): [] for n in range(2)})
    serial = 0
    for region in REGIONS:
        for kind, count, type_ in FILLED:
            records = []
            for _ in range(count):
                serial += 1
                records.append(
                    ResourceRecord(
                        provider=Provider.AWS, account="123456789012", region=region,
                        type=type_, native_type=kind, resource_id=f"r-{serial:06d}",
                        name=f"r-{serial}", status=ResourceStatus.RUNNING, cost_per_hour=0.0104,
                    )
                )  # fmt: skip
            plan[Scope(region, kind)] = records
    return plan


async def _run() -> list[dict[str, object]]:
    plan = listings()
    vault = Vault({"bench": base64.b64decode(base64.b64encode(os.urandom(32)))})
    first, again = [], []
    with tempfile.TemporaryDirectory() as directory:
        for n in range(REPEATS):
            database, credential = await _database(f"sqlite+aiosqlite:///{directory}/{n}.db", vault)
            first.append(await ours(database, credential, Replay(plan)))
            again.append(await ours(database, credential, Replay(plan)))
            await database.dispose()
    filled = sum(1 for records in plan.values() if records)
    return [
        {
            "case": f"{label}, {len(plan)} scopes ({filled} filled), "
            f"{sum(map(len, plan.values())):,} resources",
            "median s": f"{statistics.median(times):.2f}",
            "best s": f"{min(times):.2f}",
        }
        for label, times in (("first sync", first), ("unchanged re-sync", again))
    ]


def main() -> list[dict[str, object]]:
    # As `stratograph worker` does before its first job (core/heap.py).
    preload()
    heap.settle()
    return asyncio.run(_run())
