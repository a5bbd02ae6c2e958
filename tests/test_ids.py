"""Row ids: random version 4 UUIDs, drawn in blocks, never shared with a forked process."""

from __future__ import annotations

import os
import uuid

from db.ids import new_id


def test_ids_are_random_version_4_uuids() -> None:
    # Given many ids drawn in a row (several blocks' worth)
    ids = [new_id() for _ in range(5_000)]
    # Then each is a version 4 UUID of the RFC 4122 variant, and none repeats
    assert all(isinstance(value, uuid.UUID) for value in ids)
    assert {value.version for value in ids} == {4}
    assert {value.variant for value in ids} == {uuid.RFC_4122}
    assert len(set(ids)) == len(ids)
    # And the random bits vary (not a counter): every hex digit position takes many values
    assert all(len({value.hex[i] for value in ids}) > 8 for i in range(32) if i not in (12, 16))


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
