"""`stratograph worker` whose AWS listings take a while, so a test can catch a job mid-flight.

Run as `python -m tests.slow_worker`; `STANDIN_SCOPE_DELAY` (seconds) is added before each scope
listing. Everything else is the real worker.
"""

from __future__ import annotations

import asyncio
import os
import sys

from providers.aws import AwsInventory
from providers.base import ResourceRecord, Scope
from stratograph.cli import main

DELAY = float(os.environ.get("STANDIN_SCOPE_DELAY", "0.2"))
_list_scope = AwsInventory.list_scope


async def _slow_list_scope(self: AwsInventory, scope: Scope) -> list[ResourceRecord]:
    await asyncio.sleep(DELAY)
    return await _list_scope(self, scope)


if __name__ == "__main__":
    AwsInventory.list_scope = _slow_list_scope  # type: ignore[method-assign]
    raise SystemExit(main(["worker", *sys.argv[1:]]))
