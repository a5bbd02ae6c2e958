"""PostgreSQL row-level security on change records: a statement that forgets its owner filter,
run as the application role, still sees and touches only the acting user's records."""

from __future__ import annotations

from sqlalchemy import text

from db.enums import ResourceChangeKind
from graph.runtime import Runtime
from tests.factories import create_user
from tests.history_support import change_values, insert_changes
from tests.inventory_factories import (
    BASE_TIME,
    create_credential,
    insert_resources,
    resource_values,
)
from tests.test_row_level_security import owners, pg

__all__ = ["pg"]


async def test_change_records_are_invisible_to_everyone_but_their_owner(pg: Runtime) -> None:
    # given alice's resource with two change records
    alice, bob = await create_user(pg), await create_user(pg)
    resource = resource_values(await create_credential(pg, alice), 0)
    await insert_resources(pg, [resource])
    await insert_changes(
        pg,
        [
            change_values(resource, BASE_TIME, ResourceChangeKind.CREATED),
            change_values(resource, BASE_TIME, ResourceChangeKind.DELETED),
        ],
    )
    everything = "SELECT user_id FROM resource_changes"
    # when bob, an anonymous session and a connection that never says who it acts for read
    # the table without any filter
    async with pg.database.engine.connect() as connection:
        unset = (await connection.execute(text(everything))).all()
    # then none of them sees a record; alice sees both
    assert await owners(pg, everything, bob) == []
    assert await owners(pg, everything, None) == []
    assert unset == []
    assert await owners(pg, everything, alice) == [str(alice.id)] * 2
    # and bob's unfiltered writes touch nothing of hers
    async with pg.database.session(bob.id) as session:
        changed = await session.execute(text("UPDATE resource_changes SET changes = '[]'"))
        removed = await session.execute(text("DELETE FROM resource_changes"))
        assert (changed.rowcount, removed.rowcount) == (0, 0)  # type: ignore[attr-defined]
    assert await owners(pg, everything, alice) == [str(alice.id)] * 2
