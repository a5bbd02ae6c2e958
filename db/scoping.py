"""The one tenancy-scoping helper: every user-scoped query is built here, with its owner filter.

Resolvers and loaders never write `where(Model.user_id == ...)` themselves; they ask an
`OwnerScope` for a statement, so the filter cannot be forgotten. PostgreSQL row-level security
enforces the same rule a second time underneath.
"""

from __future__ import annotations

import uuid
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from sqlalchemy import Select, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute
from sqlalchemy.sql.dml import Delete, Update

from db.engine import Database


class Owned(Protocol):
    user_id: Any


OwnedT = TypeVar("OwnedT", bound=Owned)


class ScopeError(RuntimeError):
    """An owned table was queried without an acting user."""


@dataclass(frozen=True, slots=True)
class OwnerScope:
    """Whose rows a query may touch.

    `see_all` is never on by default, even for admins: an admin's inventory is their own. Views
    that let admins see everyone's rows (audit events, users) ask for `admin_view()` explicitly.
    """

    user_id: uuid.UUID | None
    is_admin: bool = False
    see_all: bool = False

    def admin_view(self) -> OwnerScope:
        """Everyone's rows for an admin; the caller's own rows for anyone else."""
        return OwnerScope(self.user_id, self.is_admin, see_all=self.is_admin)

    def _owner_column(self, model: type[Any]) -> InstrumentedAttribute[Any]:
        column = getattr(model, "user_id", None)
        if column is None:
            raise ScopeError(f"{model.__name__} has no user_id column; it is not an owned table")
        return column  # type: ignore[no-any-return]

    def _require_user(self) -> uuid.UUID:
        if self.user_id is None:
            raise ScopeError("owned rows were queried without an acting user")
        return self.user_id

    def restrict(self, statement: Select[Any], model: type[Any]) -> Select[Any]:
        """Add the owner filter for `model` to an arbitrary select (joins, aggregates)."""
        if self.see_all:
            return statement
        return statement.where(self._owner_column(model) == self._require_user())

    def select(self, model: type[OwnedT]) -> Select[OwnedT]:
        return self.restrict(select(model), model)

    def select_columns(self, model: type[Any], *columns: Any) -> Select[Any]:
        return self.restrict(select(*columns), model)

    def count(self, model: type[Any]) -> Select[tuple[int]]:
        return self.restrict(select(func.count()).select_from(model), model)

    def users(self, *columns: Any) -> Select[Any]:
        """User rows: the caller's own, or everyone's on an admin view."""
        from db.models import UserRow  # local: the models import nothing from here

        statement = select(*columns) if columns else select(UserRow)
        if self.see_all:
            return statement
        return statement.where(UserRow.id == self._require_user())

    def update(self, model: type[Any]) -> Update:
        return update(model).where(self._owner_column(model) == self._require_user())

    def delete(self, model: type[Any]) -> Delete:
        return delete(model).where(self._owner_column(model) == self._require_user())


class ScopedDatabase:
    """The database handle a request gets: sessions and statements for one acting user.

    Each call to `session()` opens its own short transaction, so sibling resolvers that graphql-core
    runs concurrently never share an `AsyncSession`.
    """

    def __init__(self, database: Database, scope: OwnerScope) -> None:
        self.database = database
        self.scope = scope

    def session(self) -> AbstractAsyncContextManager[AsyncSession]:
        return self.database.session(self.scope.user_id, is_admin=self.scope.is_admin)
