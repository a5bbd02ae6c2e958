"""Following a job: in-process pub/sub wakes followers at once; polling follows other processes."""

from __future__ import annotations

import asyncio
import uuid

from sync.progress import ProgressHub, follow


async def _collect(
    hub: ProgressHub, job_id: uuid.UUID, states: list[str], poll: float
) -> list[str]:
    remaining = list(states)

    async def load() -> str | None:
        return remaining[0] if remaining else None

    seen: list[str] = []
    async for state in follow(
        hub, job_id, load, key=lambda s: s, is_final=lambda s: s == "done", poll_seconds=poll
    ):
        seen.append(state)
        if remaining and state != "done":
            remaining.pop(0)
    return seen


async def test_a_job_run_elsewhere_is_followed_by_polling() -> None:
    # given a job whose changes are never published in this process
    hub = ProgressHub()
    job_id = uuid.uuid4()

    # when it is followed with a short poll interval
    seen = await asyncio.wait_for(_collect(hub, job_id, ["queued", "half", "done"], 0.01), 5)

    # then every state was seen, ending with the final one, and the listener was removed
    assert seen == ["queued", "half", "done"]
    assert hub.listener_count(job_id) == 0


async def test_a_published_change_wakes_the_follower_at_once() -> None:
    # given a follower polling only every hour
    hub = ProgressHub()
    job_id = uuid.uuid4()
    state = ["running"]

    async def load() -> str | None:
        return state[0]

    seen: list[str] = []

    async def follower() -> None:
        async for value in follow(
            hub, job_id, load, key=lambda s: s, is_final=lambda s: s == "done", poll_seconds=3600
        ):
            seen.append(value)

    task = asyncio.create_task(follower())
    deadline = asyncio.get_running_loop().time() + 5
    while not seen:
        assert asyncio.get_running_loop().time() < deadline
        await asyncio.sleep(0.01)

    # when the job ends and the change is published
    state[0] = "done"
    hub.publish(job_id)

    # then the follower sees it without waiting for a poll, and stops
    await asyncio.wait_for(task, 5)
    assert seen == ["running", "done"]
    assert hub.listener_count(job_id) == 0


async def test_an_unchanged_state_is_not_pushed_twice() -> None:
    # given a job whose state does not change between two wake-ups
    hub = ProgressHub()
    job_id = uuid.uuid4()
    loads = iter(["running", "running", "running", "done"])

    async def load() -> str | None:
        return next(loads)

    # when it is followed
    seen = [
        s
        async for s in follow(
            hub, job_id, load, key=lambda s: s, is_final=lambda s: s == "done", poll_seconds=0.001
        )
    ]

    # then each distinct state was pushed once
    assert seen == ["running", "done"]
