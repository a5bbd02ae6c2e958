"""A long-running process's heap, settled once it has started.

CPython's full collections scan every object the collector tracks, and most of a server's or a
worker's are its startup's: modules, classes, SDK models, settings, which live as long as the
process. And the youngest generation is collected every 700 net allocations of tracked objects,
which a sync reaches every few rows: the collections it sets off then promote the rows still in
use, and every tenth of those may start a full collection. At 10,000 instances (`python -m bench
sync_moto`'s replay), seven full collections took 0.93 s of a 5.7 s write path. With the startup
heap frozen they took 0.22–0.48 s (eight), and with the youngest generation collected every
10,000 allocations one full collection took 0.02 s and all collections 0.23 s
(docs/sync-engine.md). Frozen objects stay as they are: freed when their last reference goes,
never scanned for cycles.
"""

from __future__ import annotations

import gc

# Net allocations of tracked objects between collections of the youngest generation; the older
# generations keep CPython's defaults (10 and 10 collections of the one below).
YOUNG_THRESHOLD = 10_000


def settle() -> None:
    """Collect the startup's garbage, keep what survived out of every later collection, and
    collect the youngest generation less often. Call once, when the process has imported and
    built what it serves with."""
    gc.collect()
    gc.freeze()
    _, middle, oldest = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, middle, oldest)
