"""Row ids: random (version 4) UUIDs, drawn from the operating system's randomness in blocks.

`uuid.uuid4()` makes one `os.urandom` system call per id; a large sync creates a row id for
every resource, change record, finding and relation it writes, and one call each was about a
tenth of the write path's Python. Here one call fills a block of ids. The bytes come from the
same source, so the ids are as unpredictable as `uuid4`'s. A forked process starts with an empty
block: it never hands out an id its parent holds.
"""

from __future__ import annotations

import os
import uuid

_BLOCK = 512
# Version 4, variant RFC 4122: the bits `uuid.UUID(version=4)` sets.
_CLEAR = ~((0xF000 << 64) | (0xC000 << 48)) & ((1 << 128) - 1)
_SET = (0x4000 << 64) | (0x8000 << 48)
_ready: list[int] = []


def _fill() -> None:
    raw = os.urandom(16 * _BLOCK)
    _ready.extend(
        int.from_bytes(raw[start : start + 16]) & _CLEAR | _SET for start in range(0, len(raw), 16)
    )


def new_id() -> uuid.UUID:
    """A new random row id."""
    while True:
        try:
            # list.pop is atomic: threads drawing at once never share an id.
            return uuid.UUID(int=_ready.pop())
        except IndexError:
            _fill()


os.register_at_fork(after_in_child=_ready.clear)
