"""The sync engine: jobs in the database, scoped upserts and stale marking, runner and scheduler.

Nothing here imports `graph`: the GraphQL layer calls `SyncService` and follows `ProgressHub`.
"""

from providers.sync.options import SyncOptions
from providers.sync.progress import ProgressHub
from providers.sync.service import SyncService

__all__ = ["ProgressHub", "SyncOptions", "SyncService"]
