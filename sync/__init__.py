"""The sync job engine: jobs in the database, scoped upserts and stale marking, runner, scheduler.

A top-level package beside `providers/` rather than inside it: a provider lists one cloud, while
this package queues and runs jobs, drives whichever provider a credential needs and writes the
inventory. It sits above `providers` in the layer order and below `graph`, which calls
`SyncService` and follows `ProgressHub` (see docs/contributing.md).
"""

from sync.options import SyncOptions
from sync.progress import ProgressHub
from sync.service import SyncService

__all__ = ["ProgressHub", "SyncOptions", "SyncService"]
