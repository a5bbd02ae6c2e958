"""A scope whose whole listing is written in one transaction has its findings evaluated from
the rows as written: they are not read back, and rows it created are not looked up for findings
they cannot have yet. What the findings become is the same (both databases)."""

from __future__ import annotations

from sqlalchemy import select

from db.enums import FindingStatus
from db.models import FindingRow
from graph.runtime import Runtime
from providers.base import Scope
from tests.factories import create_user
from tests.statement_counter import counting_statements
from tests.sync_support import ScriptedInventory, create_credential, make_service, sync_once
from tests.sync_support import record as base_record
from tests.test_findings_engine import PUBLIC_ACL, _bucket

BUCKETS = Scope("global", "AWS::S3::Bucket", any_region=True)
# The own pass's read of a scope's resources back from the inventory.
READ_BACK = "lower(resources.native_type) IN"


def _buckets(*, public: bool) -> list[object]:
    return [base_record(f"b-{n}", BUCKETS, configuration=_bucket(public)) for n in range(3)]


async def _statuses(runtime: Runtime) -> dict[str, FindingStatus]:
    async with runtime.database.system_session() as session:
        rows = await session.execute(select(FindingRow.id, FindingRow.status, FindingRow.rule_id))
        return {str(row.id): row.status for row in rows if row.rule_id == PUBLIC_ACL}


async def test_findings_come_from_the_written_rows_and_still_resolve_and_reopen(
    runtime: Runtime,
) -> None:
    # given three public buckets synced for the first time
    user = await create_user(runtime)
    credential = await create_credential(runtime.database, user)
    cloud = ScriptedInventory({BUCKETS: _buckets(public=True)})  # type: ignore[dict-item]
    service = make_service(runtime.database, {credential.id: cloud})
    with counting_statements(runtime) as first:
        await sync_once(service, credential.id)
    # then each has an open finding, and neither the rows nor their findings were read back
    opened = await _statuses(runtime)
    assert sorted(opened.values()) == [FindingStatus.OPEN] * 3
    assert not [s for s in first.statements if READ_BACK in s], first.statements
    assert not [s for s in first.statements if s.lstrip().startswith("SELECT findings.id")]

    # when they are made private
    cloud.listings[BUCKETS] = _buckets(public=False)  # type: ignore[assignment]
    with counting_statements(runtime) as second:
        await sync_once(service, credential.id)
    # then the same findings resolve (their stored state was looked up, the rows were not read)
    assert await _statuses(runtime) == dict.fromkeys(opened, FindingStatus.RESOLVED)
    assert not [s for s in second.statements if READ_BACK in s], second.statements

    # and when they are public again, the same findings reopen
    cloud.listings[BUCKETS] = _buckets(public=True)  # type: ignore[assignment]
    await sync_once(service, credential.id)
    assert await _statuses(runtime) == opened
