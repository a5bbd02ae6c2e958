"""PostgreSQL: the acting user and the read in one statement, so one round trip.

Row-level security reads `app.user_id`/`app.role`, which `set_config(..., true)` sets for the
current transaction; here the statement's own implicit transaction. The order is carried by the
data, not by hope: the `actor` row is what `set_config` returns (a MATERIALIZED CTE: evaluated
once and never inlined into the scans), and both the account and the page
are LATERAL subqueries filtered by `actor.user_id`, so PostgreSQL can only scan them once that
row exists — after the settings are in place. Should any part ever run before, it would see no
acting user, and row-level security would return nothing (the account then reads as missing and
the regular path serves the request): never someone else's rows.

The page keeps its order through `position`, a `row_number()` over the page's own ordering, and
each read also names the owner as a plain parameter so the planner can pick the index walk.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from typing import Any, cast

from sqlalchemy import Select, String, bindparam, func, select, true
from sqlalchemy import cast as sql_cast
from sqlalchemy.dialects.postgresql import aggregate_order_by

from db.models import CloudResourceRow, UserRow
from db.scoping import OwnerScope
from graph.connections.keyset import PageRequest, seek
from graph.inventory.fast_path.statements import (
    ACCOUNT_COLUMNS,
    BY_NAME,
    USER,
    PageShape,
    cursor_parameters,
)
from graph.inventory.filters import ResourceCriteria

USER_TEXT = "fast_user_text"
ROLE = "fast_role"
POSITION = "fast_position"
# A statement of the caller's rows, built on the scope it is given.
Part = Callable[[OwnerScope], Select[Any]]


def _actor() -> Any:
    # A materialized CTE: evaluated once, first, and never inlined into the scans (PostgreSQL
    # would otherwise pull a FROM-less subquery up and copy `set_config` into their filters).
    return (
        select(
            # Typed here, so the scans compare uuid with uuid: a cast in their filter would be a
            # function row-level security must not run before its own check (no index then).
            sql_cast(
                func.set_config("app.user_id", bindparam(USER_TEXT, type_=String), True),
                UserRow.id.type,
            ).label("user_id"),
            func.set_config("app.role", bindparam(ROLE, type_=String), True).label("role"),
        )
        .cte("actor")
        .prefix_with("MATERIALIZED")
    )


def _scope(actor: Any) -> OwnerScope:
    # The owner filter compares with what set_config returned: the data dependency above.
    return OwnerScope(cast(uuid.UUID, actor.c.user_id))


def _planned(statement: Select[Any], model: type[Any] = CloudResourceRow) -> Select[Any]:
    """The same owner once more, as a parameter the planner knows when it plans: a value that
    only the CTE yields would be estimated blind (a sort of every row instead of an index walk).
    The filter on `actor.user_id` stays, and with it the order of evaluation."""
    known = OwnerScope(cast(uuid.UUID, bindparam(USER, type_=UserRow.id.type)))
    return known.restrict(statement, model)


def _account(actor: Any, scope: OwnerScope) -> Any:
    columns = (UserRow.is_active, UserRow.tokens_valid_after, UserRow.role, UserRow.totp_enabled)
    labelled = [column.label(label) for column, label in zip(columns, ACCOUNT_COLUMNS, strict=True)]
    # The known id as well (see `_planned`): the primary key, not a scan of every user.
    known = bindparam(USER, type_=UserRow.id.type)
    return scope.users(*labelled).where(UserRow.id == known).lateral("account")


def acting_page_statement(shape: PageShape) -> Select[Any]:
    """Columns `shape.columns`, then the account's; one row with a NULL `id` for an empty page."""
    actor = _actor()
    scope = _scope(actor)
    position = (
        func.row_number()
        .over(order_by=shape.ordering.order_by(reverse=not shape.forward))
        .label(POSITION)
    )
    columns = [BY_NAME[name] for name in shape.columns]
    listed = _planned(
        shape.criteria.apply(scope.select_columns(CloudResourceRow, *columns, position))
    )
    request = PageRequest(size=shape.size, forward=shape.forward, cursor=None)
    page = seek(listed, shape.ordering, request, cursor_parameters(shape)).lateral("page")
    account = _account(actor, scope)
    return (
        select(*[page.c[name] for name in shape.columns], *[account.c[a] for a in ACCOUNT_COLUMNS])
        .select_from(actor.outerjoin(account, true()).outerjoin(page, true()))
        .order_by(page.c[POSITION])
    )


def acting_lists_statement(parts: Sequence[tuple[Part, type[Any]]]) -> Select[Any]:
    """One row: for each part (a statement built on the acting scope, of rows of `model`), one
    array per column, in the part's own order; then the account's columns. A part with no rows
    gives NULL arrays."""
    actor = _actor()
    scope = _scope(actor)
    account = _account(actor, scope)
    joined = actor.outerjoin(account, true())
    columns: list[Any] = []
    for number, (build, model) in enumerate(parts):
        statement = _planned(build(scope), model)
        order = list(statement._order_by_clauses)
        position = func.row_number().over(order_by=order).label(POSITION)
        listed = statement.add_columns(position).subquery(f"part_{number}")
        values = [column for column in listed.c if column.key != POSITION]
        lists = (
            select(
                *[
                    func.array_agg(aggregate_order_by(value, listed.c[POSITION])).label(
                        f"part_{number}_{index}"
                    )
                    for index, value in enumerate(values)
                ]
            )
            .select_from(listed)
            .lateral(f"lists_{number}")
        )
        joined = joined.outerjoin(lists, true())
        columns.extend(lists.c)
    return select(*columns, *[account.c[a] for a in ACCOUNT_COLUMNS]).select_from(joined)


def acting_listing_statement(build: Part, model: type[Any], order: Sequence[str]) -> Select[Any]:
    """The part's rows (a LATERAL subquery on the acting scope, its columns in `order` give the
    order), then the account's columns; one row of NULLs but the account's for no rows."""
    actor = _actor()
    scope = _scope(actor)
    account = _account(actor, scope)
    listed = _planned(build(scope), model).lateral("listing")
    return (
        select(*listed.c, *[account.c[a] for a in ACCOUNT_COLUMNS])
        .select_from(actor.outerjoin(account, true()).outerjoin(listed, true()))
        .order_by(*[listed.c[name] for name in order])
    )


def acting_count_statement(criteria: ResourceCriteria) -> Select[Any]:
    actor = _actor()
    scope = _scope(actor)
    counted = _planned(
        criteria.apply(scope.select_columns(CloudResourceRow, func.count().label("total")))
    ).lateral("counted")
    return select(counted.c.total).select_from(actor.join(counted, true()))
