"""core.heap.settle: what a process holds once started stays out of later collections, and what
it allocates afterwards is still collected."""

from __future__ import annotations

import gc
import subprocess
import sys
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
    thresholds = gc.get_threshold()
    try:
        # When it settles
        heap.settle()
        # Then that garbage was collected first, and what survived is frozen
        assert before() is None
        assert gc.get_freeze_count() > 0
        assert gc.get_threshold() == (heap.YOUNG_THRESHOLD, *thresholds[1:])
        # And a cycle made afterwards is still collected
        after = _cycle()
        gc.collect()
        assert after() is None
    finally:
        gc.unfreeze()
        gc.set_threshold(*thresholds)


def test_a_worker_settles_its_heap_with_every_clouds_sdk_loaded() -> None:
    # Given a fresh interpreter, when it preloads the inventories as the worker does and settles
    script = (
        "import gc, sys\n"
        "from providers.registry import preload\n"
        "from core import heap\n"
        "preload()\n"
        "heap.settle()\n"
        "sdks = ('boto3', 'azure', 'google')\n"
        "loaded = [any(m.startswith(p) for m in sys.modules) for p in sdks]\n"
        "print(all(loaded), gc.get_freeze_count())\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    loaded, frozen = done.stdout.split()
    # Then the three SDKs were imported before the heap was frozen with them
    assert loaded == "True"
    assert int(frozen) > 50_000
