"""What a SQLite session costs: a transaction running one query, through the app's engine.

Three engines on one file database, run in turn in this process: "unpooled, four hand-offs"
(a connection opened per session, stock aiosqlite cursors: the engine before pooling),
"pooled, four hand-offs", and the app's engine (`db.engine.create_engine`: pooled, one hand-off
per statement, `db/sqlite_driver.py`). Reported: wall time per session and hand-offs to the
driver's thread per session (every call aiosqlite queues to it, counted: the connect and the
thread's stop are not among them); ratio = time against the unpooled engine.

Knobs: BENCH_SQLITE_SESSIONS (default 500), BENCH_ROUNDS (default 3; the best round is kept).
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import aiosqlite
from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import AsyncAdaptedQueuePool, NullPool

from db.engine import create_engine, sqlite_pragmas

SESSIONS = int(os.environ.get("BENCH_SQLITE_SESSIONS", "500"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))


class HandOffs:
    """Counts the calls queued to any aiosqlite connection's thread."""

    def __init__(self) -> None:
        self.count = 0
        self._original: Any = aiosqlite.Connection._execute

    def __enter__(self) -> HandOffs:
        original = self._original

        async def counted(connection: Any, function: Any, *args: Any, **kwargs: Any) -> Any:
            self.count += 1
            return await original(connection, function, *args, **kwargs)

        aiosqlite.Connection._execute = counted  # type: ignore[method-assign, assignment]
        return self

    def __exit__(self, *_exc: object) -> None:
        aiosqlite.Connection._execute = self._original  # type: ignore[method-assign]


def _stock(url: str, poolclass: Any) -> AsyncEngine:
    """The app's SQLite engine with stock aiosqlite cursors (its PRAGMAs on each connect)."""
    engine = create_async_engine(url, poolclass=poolclass, connect_args={"timeout": 30})
    event.listen(engine.sync_engine, "connect", sqlite_pragmas)
    return engine


async def _measure(engine: AsyncEngine) -> tuple[float, float]:
    async with engine.begin() as connection:  # warm: the first connect and compiles
        await connection.execute(text("SELECT 1"))
    best = float("inf")
    hand_offs = 0
    for _ in range(ROUNDS):
        with HandOffs() as counter:
            started = time.perf_counter()
            for _ in range(SESSIONS):
                async with engine.begin() as connection:
                    await connection.execute(text("SELECT count(*) FROM sqlite_master"))
            elapsed = time.perf_counter() - started
        best = min(best, elapsed)
        hand_offs = counter.count
    await engine.dispose()
    return best / SESSIONS, hand_offs / SESSIONS


async def _main() -> list[dict[str, object]]:
    with tempfile.TemporaryDirectory() as directory:
        url = f"sqlite+aiosqlite:///{Path(directory) / 'sessions.db'}"
        engines = {
            "unpooled, four hand-offs a statement": _stock(url, NullPool),
            "pooled, four hand-offs a statement": _stock(url, AsyncAdaptedQueuePool),
            "the app's engine (pooled, one hand-off)": create_engine(url),
        }
        measured = {name: await _measure(engine) for name, engine in engines.items()}
    baseline = measured["unpooled, four hand-offs a statement"][0]
    return [
        {
            "case": name,
            "ratio": f"{seconds / baseline:.2f}",
            "ms per session": f"{seconds * 1000:.2f}",
            "hand-offs per session": f"{hand_offs:.0f}",
            "sessions": SESSIONS,
        }
        for name, (seconds, hand_offs) in measured.items()
    ]


def main() -> list[dict[str, object]]:
    return asyncio.run(_main())
