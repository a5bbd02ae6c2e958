"""A thread pool of its own for blocking cloud SDK calls.

SDK calls can sit in retry backoff for a long time; on the default executor they would starve
other blocking work of the process (password hashing at log-in), so they get their own threads.
The sync engine bounds how many run at once; this pool is only the ceiling.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")

MAX_PROVIDER_THREADS = 16
_pool = ThreadPoolExecutor(max_workers=MAX_PROVIDER_THREADS, thread_name_prefix="provider")


async def run_blocking(work: Callable[[], T]) -> T:
    return await asyncio.get_running_loop().run_in_executor(_pool, work)
