"""Row ids: time-ordered version 7 UUIDs, drawn in blocks, never shared with a forked process."""

from __future__ import annotations

import itertools
import os
import threading
import time
import uuid

import pytest

from db.ids import new_id


def _millisecond(value: uuid.UUID) -> int:
    return value.int >> 80


def test_ids_are_version_7_uuids_with_random_bits() -> None:
    # Given many ids drawn in a row (several blocks' worth)
    ids_ = [new_id() for _ in range(5_000)]
    # Then each is a version 7 UUID of the RFC 4122 variant, and none repeats
    assert all(isinstance(value, uuid.UUID) for value in ids_)
    assert {value.version for value in ids_} == {7}
    assert {value.variant for value in ids_} == {uuid.RFC_4122}
    assert len(set(ids_)) == len(ids_)
    # And the bits after the time vary (not a counter): every hex digit position but the
    # version's takes many values
    assert all(len({value.hex[i] for value in ids_}) > 8 for i in range(13, 32) if i != 16)


def test_ids_carry_the_time_they_were_made_and_increase() -> None:
    # Given the clock before and after ids are drawn (one more block than is waiting)
    before = time.time_ns() // 1_000_000
    drawn = [new_id() for _ in range(2 * 512 + 1)]
    after = time.time_ns() // 1_000_000
    # Then each id's first 48 bits are a millisecond of that interval, give or take the
    # milliseconds a block borrows ahead (one per block drawn here) and a waiting block's age
    assert all(before - 1_000 <= _millisecond(value) <= after + 3 for value in drawn)
    # And each id sorts after the one drawn before it
    assert drawn == sorted(drawn)
    assert all(a.int < b.int for a, b in itertools.pairwise(drawn))


def test_a_block_left_waiting_is_not_handed_out_with_an_old_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given a block filled a while ago, most of it still waiting
    first = new_id()
    clock = time.monotonic() + 60
    monkeypatch.setattr(time, "monotonic", lambda: clock)
    # When the next id is drawn
    later = new_id()
    # Then it comes from a new block, of a later millisecond
    assert _millisecond(later) > _millisecond(first)


def test_threads_drawing_at_once_never_share_an_id() -> None:
    # Given four threads drawing ids at the same time
    drawn: list[list[uuid.UUID]] = [[] for _ in range(4)]

    def draw(into: list[uuid.UUID]) -> None:
        for _ in range(3_000):
            into.append(new_id())

    threads = [threading.Thread(target=draw, args=(into,)) for into in drawn]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # Then no id was handed out twice, and each thread's own ids increase
    every = [value for into in drawn for value in into]
    assert len(set(every)) == len(every) == 12_000
    assert all(into == sorted(into) for into in drawn)


def test_a_forked_process_never_draws_its_parents_next_id() -> None:
    # Given a process that has drawn an id (so the rest of its block is waiting)
    new_id()
    reader, writer = os.pipe()
    # When it forks and the child draws an id
    child = os.fork()
    if child == 0:  # pragma: no cover - the child
        os.write(writer, new_id().bytes)
        os._exit(0)
    os.close(writer)
    drawn = uuid.UUID(bytes=os.read(reader, 16))
    os.close(reader)
    os.waitpid(child, 0)
    # Then the parent's next ids are not the one the child drew
    assert drawn not in {new_id() for _ in range(600)}
