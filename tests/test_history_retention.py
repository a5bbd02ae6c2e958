"""HISTORY_RETENTION_DAYS: the housekeeping scheduler purges older change records, in batches
(both databases)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from db.enums import ResourceChangeKind
from db.models import ResourceChangeRow
from db.types import utcnow
from graph.runtime import Runtime
from sync.maintenance import Maintenance, purge_history
from sync.options import SyncOptions
from sync.scheduler import SyncScheduler
from tests.conftest import make_settings
from tests.factories import create_user
from tests.history_support import change_values, insert_changes
from tests.inventory_factories import create_credential, insert_resources, resource_values


async def _records_aged(runtime: Runtime, days: list[int]) -> None:
    owner = await create_user(runtime)
    resource = resource_values(await create_credential(runtime, owner), 0)
    await insert_resources(runtime, [resource])
    now = utcnow()
    await insert_changes(
        runtime,
        [
            change_values(resource, now - timedelta(days=age), ResourceChangeKind.UPDATED)
            for age in days
        ],
    )


async def _ages(runtime: Runtime) -> list[int]:
    now = utcnow()
    async with runtime.database.system_session() as session:
        times = (await session.scalars(select(ResourceChangeRow.at))).all()
    return sorted((now - at).days for at in times)


async def test_the_scheduler_purges_records_older_than_the_retention(runtime: Runtime) -> None:
    # given change records 1, 89, 91 and 200 days old
    await _records_aged(runtime, [1, 89, 91, 200])
    # when the scheduler ticks with the default retention of 90 days
    maintenance = Maintenance(
        runtime.database,
        deleted_retention=None,
        secret_max_age=timedelta(days=90),
        history_retention=SyncOptions().history_retention,
    )
    await SyncScheduler(runtime.database, timedelta(hours=1), maintenance=maintenance).tick()
    # then the two older ones are gone, the others kept
    assert await _ages(runtime) == [1, 89]


async def test_a_large_purge_goes_in_batches_and_loses_nothing_younger(runtime: Runtime) -> None:
    # given seven old records and two recent ones
    await _records_aged(runtime, [100] * 7 + [5, 6])
    # when they are purged three at a time
    purged = await purge_history(runtime.database, utcnow() - timedelta(days=90), batch_size=3)
    # then all seven went (over three batches) and a second run finds nothing
    assert purged == 7
    assert await _ages(runtime) == [5, 6]
    assert await purge_history(runtime.database, utcnow() - timedelta(days=90)) == 0


async def test_zero_days_keeps_every_record(runtime: Runtime, tmp_path: Path) -> None:
    # given HISTORY_RETENTION_DAYS=0 and an old record
    settings = make_settings(str(runtime.settings.database_url), tmp_path, history_retention_days=0)
    options = SyncOptions.from_settings(settings)
    await _records_aged(runtime, [400])
    # when housekeeping runs
    maintenance = Maintenance(
        runtime.database,
        deleted_retention=None,
        secret_max_age=timedelta(days=90),
        history_retention=options.history_retention,
    )
    report = await maintenance.run()
    # then nothing was purged
    assert options.history_retention is None and report.history_purged == 0
    assert await _ages(runtime) == [400]
    # while the default setting keeps 90 days
    assert SyncOptions.from_settings(
        make_settings(str(runtime.settings.database_url), tmp_path)
    ).history_retention == timedelta(days=90)
