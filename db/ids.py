"""Row ids: time-ordered UUIDs (RFC 9562 version 7), drawn in blocks.

A random (version 4) id lands anywhere in its table's primary-key index and in every index that
leads with it (a change record's or a finding's resource row id): each insert of a large sync
touched pages all over them. With the time first, the ids a sync makes go in at the end of those
indexes. Replaying the 10,000-instance sync (`python -m bench sync_moto`'s listings), SQLite's
inserts of change records took 0.30–0.39 s instead of 0.61–0.71 s, of findings 0.27–0.34 s
instead of 0.56–0.64 s (docs/sync-engine.md). B-tree indexes on PostgreSQL gain locality the
same way.

Each id: 48 bits of Unix time in milliseconds, the version and variant bits, and 74 random bits
from the operating system (`os.urandom`, as `uuid4` uses), so ids stay unguessable; they are
never secrets (tokens come from `secrets`). An id reveals when its row was made, to the
millisecond, as the row's own timestamps do.

One `os.urandom` call fills a block of ids (one call per id was about a tenth of the write
path's Python): the block carries one millisecond, later than every earlier block's, and is
handed out in ascending order, so the ids one process makes increase. A block older than
`_FRESH_SECONDS` is dropped, so an id's time stays within that of its making. A forked process
starts with an empty block: it never hands out an id its parent holds.
"""

from __future__ import annotations

import os
import threading
import time
import uuid

_BLOCK = 512
_RANDOM_BYTES = 10  # 80 bits drawn; the 6 the version and variant take are overwritten
_FRESH_SECONDS = 1.0
# Version 7, variant RFC 4122 (the bits `uuid.UUID(version=7)` sets), below the time's 48 bits.
_CLEAR = ~((0xF000 << 64) | (0xC000 << 48)) & ((1 << 80) - 1)
_SET = (0x7000 << 64) | (0x8000 << 48)
_ready: list[int] = []
_state = {"millisecond": 0, "filled": 0.0}
_filling = threading.Lock()


def _fill() -> None:
    with _filling:
        if _ready and time.monotonic() - _state["filled"] < _FRESH_SECONDS:
            return  # another thread filled it meanwhile
        millisecond = max(time.time_ns() // 1_000_000, int(_state["millisecond"]) + 1)
        raw = os.urandom(_RANDOM_BYTES * _BLOCK)
        top = millisecond << 80
        block = sorted(
            (
                top | int.from_bytes(raw[start : start + _RANDOM_BYTES]) & _CLEAR | _SET
                for start in range(0, len(raw), _RANDOM_BYTES)
            ),
            reverse=True,  # handed out from the end
        )
        _ready[:] = block
        _state["millisecond"] = millisecond
        _state["filled"] = time.monotonic()


def new_id() -> uuid.UUID:
    """A new row id, later than every id this process made before it."""
    if time.monotonic() - _state["filled"] >= _FRESH_SECONDS:
        _fill()
    while True:
        try:
            # list.pop is atomic: threads drawing at once never share an id.
            return uuid.UUID(int=_ready.pop())
        except IndexError:
            _fill()


def _forked() -> None:
    _ready.clear()
    _state["filled"] = 0.0


os.register_at_fork(after_in_child=_forked)
