"""core.heap.settle: what a process holds once started stays out of later collections, and what
it allocates afterwards is still collected."""

from __future__ import annotations

import gc
import weakref

from core import heap


class _Node:
    def __init__(self) -> None:
        self.other: _Node | None = None


def _cycle() -> weakref.ref[_Node]:
    first, second = _Node(), _Node()
    first.other, second.other = second, first
    return weakref.ref(first)


def test_the_startup_heap_is_frozen_and_later_cycles_are_collected() -> None:
    # Given a cycle that is garbage before the process settles
    before = _cycle()
    try:
        # When it settles
        heap.settle()
        # Then that garbage was collected first, and what survived is frozen
        assert before() is None
        assert gc.get_freeze_count() > 0
        # And a cycle made afterwards is still collected
        after = _cycle()
        gc.collect()
        assert after() is None
    finally:
        gc.unfreeze()
