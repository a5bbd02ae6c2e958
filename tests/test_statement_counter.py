"""The statement counter charges a block with its own statements, not a background loop's."""

from __future__ import annotations

import asyncio

from sqlalchemy import text

from graph.runtime import Runtime
from tests.statement_counter import counting_statements


async def _select(runtime: Runtime, value: int) -> None:
    async with runtime.database.system_session() as session:
        await session.execute(text(f"SELECT {value}"))


async def test_a_background_loop_polling_inside_the_block_is_not_counted(runtime: Runtime) -> None:
    # given a loop started before the block (as a server's job-queue poll is), waiting for a cue
    cue, polled = asyncio.Event(), asyncio.Event()

    async def poll() -> None:
        await cue.wait()
        await _select(runtime, 1)
        polled.set()

    loop = asyncio.create_task(poll())
    try:
        # when the block runs a statement itself, in a task it starts, and the loop polls meanwhile
        with counting_statements(runtime) as counter:
            cue.set()
            await polled.wait()
            await _select(runtime, 2)
            await asyncio.create_task(_select(runtime, 3))
    finally:
        await loop
    # then only the block's two statements are counted
    ours = [s for s in counter.statements if s in ("SELECT 1", "SELECT 2", "SELECT 3")]
    assert ours == ["SELECT 2", "SELECT 3"]
