"""db.bulk binds rows column by column: what it stores must be what SQLAlchemy's own
executemany stores, value for value, on both databases, for every statement the write path
sends through it."""

from __future__ import annotations

import asyncio
import gc
import uuid
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import insert, text
from sqlalchemy.exc import IntegrityError, StatementError

from db.bulk import BulkWrite
from db.engine import Database
from db.enums import FindingStatus, ResourceChangeKind, ResourceType, Severity
from graph.runtime import Runtime
from sync.findings.lifecycle import NEW_FINDINGS
from sync.history import CHANGE_ROWS
from sync.relations import RELATION_ROWS
from sync.upsert import UPSERT_ROWS
from tests.factories import create_user
from tests.sync_support import create_credential

AT = datetime(2026, 3, 4, 5, 6, 7, 891011, tzinfo=UTC)


async def _stored(database: Database, table: str, row_id: uuid.UUID) -> Any:
    """The row as the database holds it: its text form on PostgreSQL, each value with its
    storage class on SQLite."""
    async with database.system_session() as session:
        if database.is_postgres:
            query = f"SELECT t::text FROM {table} t WHERE id = :id"
            return (await session.execute(text(query), {"id": row_id})).scalar_one()
        names = [row[1] for row in (await session.execute(text(f"PRAGMA table_info({table})")))]
        columns = ", ".join(f"typeof({name}), quote({name})" for name in names)
        query = f"SELECT {columns} FROM {table} WHERE id = :id"
        return tuple((await session.execute(text(query), {"id": row_id.hex})).one())


def _rows(user_id: uuid.UUID, credential_id: uuid.UUID, resource_row: uuid.UUID) -> Any:
    owner = {"user_id": user_id, "credential_id": credential_id}
    return [
        (
            UPSERT_ROWS,
            {**owner, "id": resource_row, "provider": "AWS", "account": "123456789012",
             "region": "eu-west-1", "type": ResourceType.VM, "native_type": "AWS::EC2::Instance",
             "resource_id": "i-0abc", "name": "web «1»", "status": "RUNNING",
             "tags": {"team": "café", "n": "1"},
             "metadata": {"_scope": "eu-west-1/x", "n": [1, 2.5]},
             "configuration": {"publicIp": None, "ports": [22, 443]}, "cost_per_hour": 0.0116,
             "scope": "eu-west-1/x", "cost_source": None, "first_seen_at": AT,
             "last_synced_at": AT, "deleted_at": None},
        ),
        (
            NEW_FINDINGS,
            {**owner, "id": uuid.uuid4(), "resource_row_id": resource_row,
             "rule_id": "aws-ec2-imdsv1", "severity": Severity.HIGH, "severity_rank": 3,
             "status": FindingStatus.OPEN, "first_seen_at": AT, "last_seen_at": AT,
             "status_changed_at": AT, "details": {"encrypted": False, "why": "ü"},
             "details_digest": "ab" * 32},
        ),
        (
            CHANGE_ROWS,
            {**owner, "id": uuid.uuid4(), "resource_row_id": resource_row, "resource_id": "i-0abc",
             "type": ResourceType.VM, "kind": ResourceChangeKind.UPDATED, "at": AT, "job_id": None,
             "changes": [{"field": "name", "before": "a", "after": "b"}]},
        ),
        (
            RELATION_ROWS,
            {**owner, "id": uuid.uuid4(), "scope": "eu-west-1/x", "source_resource_id": "i-0abc",
             "type": "MEMBER_OF", "target_resource_id": "subnet-1"},
        ),
    ]  # fmt: skip


async def test_bulk_writes_store_what_sqlalchemy_stores(runtime: Runtime) -> None:
    database = runtime.database
    # Given one row for each statement of the write path
    user = await create_user(runtime)
    credential = await create_credential(database, user)
    rows = _rows(user.id, credential.id, uuid.uuid4())
    by_sqlalchemy, by_bulk = [], []
    for writer, row in rows:
        # When it is written by SQLAlchemy's executemany, read back and removed
        async with database.system_session() as session:
            await session.execute(insert(writer.table), [row, {**row, "id": uuid.uuid4(), **(
                {"resource_id": "i-other"} if writer is UPSERT_ROWS else {}
            ), **({"rule_id": "other"} if writer is NEW_FINDINGS else {})}])  # fmt: skip
        by_sqlalchemy.append(await _stored(database, writer.table.name, row["id"]))
        async with database.system_session() as session:
            await session.execute(text(f"DELETE FROM {writer.table.name}"))
        # And then written again through db.bulk
        async with database.system_session() as session:
            await writer.execute(session, [row])
        by_bulk.append(await _stored(database, writer.table.name, row["id"]))
    # Then the database holds the same values both times
    assert by_bulk == by_sqlalchemy
    assert all(stored is not None for stored in by_bulk)


def test_a_statement_with_columns_the_rows_do_not_carry_is_refused(runtime: Runtime) -> None:
    # A column left out would be bound by its Python-side default in SQLAlchemy's path: here
    # that is refused when the statement is planned, not silently written as NULL.
    writer = BulkWrite(CHANGE_ROWS.table, ("id", "user_id"))
    dialect = runtime.database.engine.dialect
    with pytest.raises(ValueError, match="not the columns"):
        writer.bind(dialect, [{"id": uuid.uuid4(), "user_id": uuid.uuid4()}])


async def test_many_rows_in_one_write_store_what_sqlalchemy_stores(runtime: Runtime) -> None:
    database = runtime.database
    # Given more change records than one SQLite statement can carry (3,276 rows of 10
    # parameters), sharing owner ids and a listing time (one of them written in another
    # timezone), with some values differing from row to row
    user = await create_user(runtime)
    credential = await create_credential(database, user)
    elsewhere = AT.astimezone(timezone(timedelta(hours=2)))
    count = 3_500
    rows = [
        {"id": uuid.uuid4(), "user_id": user.id, "credential_id": credential.id,
         "resource_row_id": None, "resource_id": f"i-{index}",
         "type": ResourceType.VM if index % 2 else ResourceType.STORAGE,
         "kind": ResourceChangeKind.CREATED, "at": elsewhere if index == 7 else AT,
         "job_id": None, "changes": [{"field": "name", "before": index, "after": "ü"}]}
        for index in range(count)
    ]  # fmt: skip
    table = CHANGE_ROWS.table.name
    # When they are written by SQLAlchemy's executemany, read back and removed
    async with database.system_session() as session:
        await session.execute(insert(CHANGE_ROWS.table), rows)
    by_sqlalchemy = await _all_stored(database, table)
    async with database.system_session() as session:
        await session.execute(text(f"DELETE FROM {table}"))
    # And then written again through db.bulk in one call
    async with database.system_session() as session:
        await CHANGE_ROWS.execute(session, rows)
    by_bulk = await _all_stored(database, table)
    # Then the database holds every row, with the same values both times
    assert len(by_bulk) == count
    assert by_bulk == by_sqlalchemy


async def _all_stored(database: Database, table: str) -> list[Any]:
    async with database.system_session() as session:
        if database.is_postgres:
            query = f"SELECT t::text FROM {table} t ORDER BY id"
        else:
            names = [row[1] for row in await session.execute(text(f"PRAGMA table_info({table})"))]
            columns = ", ".join(f"typeof({name}), quote({name})" for name in names)
            query = f"SELECT {columns} FROM {table} ORDER BY id"
        return [tuple(row) for row in await session.execute(text(query))]


def _relations(user_id: uuid.UUID, credential_id: uuid.UUID, count: int) -> list[dict[str, Any]]:
    return [
        {"id": uuid.uuid4(), "user_id": user_id, "credential_id": credential_id,
         "scope": "eu-west-1/x", "source_resource_id": f"i-{index}", "type": "MEMBER_OF",
         "target_resource_id": "subnet-1"}
        for index in range(count)
    ]  # fmt: skip


async def test_a_write_left_in_flight_is_seen_by_the_next_statement(runtime: Runtime) -> None:
    database = runtime.database
    # Given relations written in several statements, the last one left in flight
    user = await create_user(runtime)
    credential = await create_credential(database, user)
    rows = _relations(user.id, credential.id, 1_200)
    async with database.system_session() as session:
        await RELATION_ROWS.execute(session, rows, 500, behind=True)
        # When the same transaction reads them at once
        counted = (await session.execute(text("SELECT count(*) FROM resource_relations"))).scalar()
    # Then every row is there, to the transaction and after its commit
    assert counted == len(rows)
    assert len(await _all_stored(database, "resource_relations")) == len(rows)


async def test_a_write_left_in_flight_that_fails_fails_the_commit(runtime: Runtime) -> None:
    database = runtime.database
    # Given a write left in flight whose last statement the database refuses (a repeated id)
    user = await create_user(runtime)
    credential = await create_credential(database, user)
    rows = _relations(user.id, credential.id, 3)
    rows[2]["id"] = rows[1]["id"]
    # When the transaction commits with nothing sent after it
    with pytest.raises(IntegrityError):
        async with database.system_session() as session:
            await RELATION_ROWS.execute(session, rows, behind=True)
    # Then the failure surfaces there and nothing of the transaction is stored
    assert await _all_stored(database, "resource_relations") == []
    # And the database goes on serving the next transaction
    async with database.system_session() as session:
        await RELATION_ROWS.execute(session, rows[:2], behind=True)
    assert len(await _all_stored(database, "resource_relations")) == 2


async def test_a_write_left_in_flight_is_waited_for_when_the_transaction_fails(
    runtime: Runtime,
) -> None:
    database = runtime.database
    # Given a write left in flight that the database refuses
    user = await create_user(runtime)
    credential = await create_credential(database, user)
    rows = _relations(user.id, credential.id, 2)
    rows[1]["id"] = rows[0]["id"]
    loop = asyncio.get_running_loop()
    unretrieved: list[dict[str, Any]] = []
    loop.set_exception_handler(lambda _loop, context: unretrieved.append(context))
    try:
        # When the transaction fails for a reason of its own before anything else is sent
        with pytest.raises(LookupError, match="the caller's own failure"):
            async with database.system_session() as session:
                await RELATION_ROWS.execute(session, rows, behind=True)
                raise LookupError("the caller's own failure")
        gc.collect()
    finally:
        loop.set_exception_handler(None)
    # Then the rollback waited for the write (its failure is not left unretrieved) and the
    # caller's failure is the one raised; the database serves the next transaction
    assert unretrieved == []
    async with database.system_session() as session:
        await RELATION_ROWS.execute(session, rows[:1], behind=True)
    assert len(await _all_stored(database, "resource_relations")) == 1


async def test_a_value_its_type_refuses_fails_the_write_as_a_statement_error(
    runtime: Runtime,
) -> None:
    # Given a row whose value its column type's processor refuses (text for a time: the
    # processor raises AttributeError, neither TypeError nor ValueError)
    database = runtime.database
    user = await create_user(runtime)
    credential = await create_credential(database, user)
    ((_, row), *_) = _rows(user.id, credential.id, uuid.uuid4())
    broken = {**row, "first_seen_at": "yesterday"}
    # When it is written, then it fails as the StatementError the write path isolates row by
    # row (as SQLAlchemy's own binding fails), and nothing is stored
    with pytest.raises(StatementError):
        async with database.system_session() as session:
            await UPSERT_ROWS.execute(session, [broken])
    async with database.system_session() as session:
        assert (await session.execute(text("SELECT count(*) FROM resources"))).scalar_one() == 0
