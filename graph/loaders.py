"""Per-request DataLoaders, made on first use from factories that live in their domain.

A domain writes `def credential_by_id(db: ScopedDatabase) -> DataLoader[...]` in its own
`loaders.py`; a resolver asks `info.context.loaders.get(credential_by_id)`. The context therefore
knows no domain, and one request's batches never serve another request (nothing at module level).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any, TypeVar, cast

from strawberry.dataloader import DataLoader

from db.scoping import ScopedDatabase

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

LoaderFactory = Callable[[ScopedDatabase], DataLoader[K, V]]


class Loaders:
    """The DataLoaders of one request (one scoped database), each built once per factory."""

    __slots__ = ("_db", "_made")

    def __init__(self, db: ScopedDatabase) -> None:
        self._db = db
        self._made: dict[Callable[..., Any], DataLoader[Any, Any]] = {}

    def get(self, factory: LoaderFactory[K, V]) -> DataLoader[K, V]:
        loader = self._made.get(factory)
        if loader is None:
            loader = self._made[factory] = factory(self._db)
        return cast(DataLoader[K, V], loader)
