"""Typed reads of ORM entities from `OwnerScope.select(Model)` statements.

`OwnerScope.select` is typed `Select[tuple[Model]]` (SQLAlchemy 2.0 style); under SQLAlchemy 2.1's
typing `session.scalars` of that yields `tuple[Model]`, so the unwrapping is typed here, once.
"""

from __future__ import annotations

from typing import Any, TypeVar, cast

from sqlalchemy import Select
from sqlalchemy.ext.asyncio import AsyncSession

T = TypeVar("T")


async def all_of(session: AsyncSession, statement: Select[tuple[T]]) -> list[T]:
    result = await session.scalars(cast(Select[Any], statement))
    return cast(list[T], list(result.all()))


async def one_of(session: AsyncSession, statement: Select[tuple[T]]) -> T | None:
    return cast(T | None, await session.scalar(cast(Select[Any], statement)))
