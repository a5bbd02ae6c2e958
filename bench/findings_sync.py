"""The findings engine's share of a sync: the same in-memory syncs with findings evaluated and
with the evaluation replaced by a no-op (the peer), measured in the same run, SQLite.

The inventory is made of kinds rules read, most of them failing: per region, instances with a
public IP and IMDSv1 behind an open security group (a relation-based rule), unencrypted
volumes, and public buckets. Three syncs each: the first opens every finding, the second sees
them all again (lastSeenAt moves), the third has every other resource fixed (resolutions).
share = (with findings − without) / with findings.

Knob: BENCH_FINDINGS_COUNTS (instances per run, default "1000,10000").
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.sync_engine import _setup
from db.engine import Database
from db.enums import Provider, RelationType, ResourceStatus, ResourceType
from db.models import CloudCredentialRow
from providers.base import Relation, ResourceRecord, Scope
from sync import ProgressHub, SyncOptions, SyncService
from sync import store as sync_store
from sync.engine import SyncEngine
from sync.findings import lifecycle

COUNTS = tuple(int(n) for n in os.environ.get("BENCH_FINDINGS_COUNTS", "1000,10000").split(","))
REGIONS = ("us-east-1", "eu-west-1", "us-west-2", "ap-southeast-2")
GROUPS_PER_REGION = 10
SG = {"ingress": [{"protocol": "tcp", "fromPort": 22, "toPort": 22, "ipv4Ranges": ["0.0.0.0/0"],
                   "ipv6Ranges": [], "sourceGroups": [], "prefixLists": []}],
      "egress": [], "vpcId": "vpc-1"}  # fmt: skip


class FailingInventory:
    """Resources most rules fail on; `fixed` turns every other one compliant."""

    provider = Provider.AWS

    def __init__(self, count: int) -> None:
        self.count = count
        self.fixed = False
        self.scopes = [
            *(Scope(r, kind) for r in REGIONS for kind in ("AWS::EC2::Instance",
              "AWS::EC2::SecurityGroup", "AWS::EC2::Volume")),
            Scope("global", "AWS::S3::Bucket", any_region=True),
        ]  # fmt: skip

    async def verify(self) -> None:
        return None

    async def close(self) -> None:
        return None

    async def plan(self) -> list[Scope]:
        return list(self.scopes)

    def _record(self, scope: Scope, n: int, configuration: dict[str, Any], **extra: Any) -> Any:
        return ResourceRecord(
            provider=Provider.AWS, account="123456789012", region=scope.region,
            type=ResourceType.VM, native_type=scope.kind,
            resource_id=f"{scope.region}/{scope.kind}/{n}", name=f"r-{n}",
            status=ResourceStatus.RUNNING, configuration=configuration, **extra,
        )  # fmt: skip

    def _ok(self, n: int) -> bool:
        return self.fixed and n % 2 == 0

    async def list_scope(self, scope: Scope) -> list[ResourceRecord]:
        per_region = self.count // len(REGIONS)
        if scope.kind == "AWS::EC2::SecurityGroup":
            return [self._record(scope, n, SG) for n in range(GROUPS_PER_REGION)]
        if scope.kind == "AWS::EC2::Instance":
            group = f"{scope.region}/AWS::EC2::SecurityGroup"
            return [
                self._record(
                    scope, n,
                    {"publicIp": None if self._ok(n) else "203.0.113.1",
                     "imdsv2Required": self._ok(n)},
                    relations=(Relation(RelationType.PROTECTED_BY,
                                        f"{group}/{n % GROUPS_PER_REGION}"),),
                )
                for n in range(per_region)
            ]  # fmt: skip
        if scope.kind == "AWS::EC2::Volume":
            return [self._record(scope, n, {"encrypted": self._ok(n)}) for n in range(per_region)]
        grants = [{"grantee": "AllUsers", "permission": "READ"}]
        return [
            self._record(scope, n, {"publicAclGrants": [] if self._ok(n) else grants,
                                    "policyAllowsPublic": False, "publicAccessBlock": None,
                                    "versioning": "Enabled", "logging": {"enabled": True}})
            for n in range(100)
        ]  # fmt: skip


async def _three_syncs(
    database: Database, credential: CloudCredentialRow, count: int
) -> list[float]:
    inventory = FailingInventory(count)
    options = SyncOptions(interval=None)
    hub = ProgressHub()
    engine = SyncEngine(database, lambda _: inventory, hub, options)
    service = SyncService(database, lambda _: inventory, options, hub=hub, engine=engine)
    times = []
    for fixed in (False, False, True):
        inventory.fixed = fixed
        started = time.perf_counter()
        await service.start([credential.id])
        await service.runner.drain()
        times.append(time.perf_counter() - started)
    return times


async def _off(*_: Any, **__: Any) -> lifecycle.Changes:
    return lifecycle.Changes()


async def _run(directory: Path, count: int) -> dict[str, object]:
    # The one call site of the engine (sync.store.complete_scope) looks the name up here.
    evaluate = getattr(sync_store, "evaluate_scope")  # noqa: B009
    measured: dict[str, list[float]] = {}
    for label, hook in (("without", _off), ("with", evaluate), ("without2", _off),
                        ("with2", evaluate)):  # fmt: skip
        setattr(sync_store, "evaluate_scope", hook)  # noqa: B010
        database, credential = await _setup(f"sqlite+aiosqlite:///{directory}/{label}-{count}.db")
        try:
            measured[label] = await _three_syncs(database, credential, count)
        finally:
            await database.dispose()
    setattr(sync_store, "evaluate_scope", evaluate)  # noqa: B010
    # Interleaved and best of two per sync, so a noisy neighbour hurts both sides alike.
    on = [min(a, b) for a, b in zip(measured["with"], measured["with2"], strict=True)]
    off = [min(a, b) for a, b in zip(measured["without"], measured["without2"], strict=True)]
    share = [(a - b) / a for a, b in zip(on, off, strict=True)]
    return {
        "case": f"sqlite, {count:,} instances + {count:,} volumes + 100 buckets",
        "syncs s (open, again, half fixed) with": " / ".join(f"{t:.2f}" for t in on),
        "without": " / ".join(f"{t:.2f}" for t in off),
        "findings share": " / ".join(f"{s:.0%}" for s in share),
    }


async def _main() -> list[dict[str, object]]:
    with tempfile.TemporaryDirectory() as directory:
        return [await _run(Path(directory), count) for count in COUNTS]


def main() -> list[dict[str, object]]:
    return asyncio.run(_main())
