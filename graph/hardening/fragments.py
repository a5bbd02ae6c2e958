"""A document's named fragments, expanded in one place for every check that walks a document.

The depth and alias rules (validation), the cost check and the rate limiter's root fields
(execution) all need fragments expanded. They go through one `Fragments` per document (shared
while the parsed document is cached), which guarantees what each of them needs:

- `measure`: a fragment's measure is computed once and reused wherever the fragment is spread, so
  a fan-out of spreads stays linear; a fragment met again while it is being measured (a cycle,
  which validation reports separately) measures as `empty`; an unknown one too.
- `fields`: the fields a selection set executes, each named fragment expanded once, as
  graphql-core's field collection does (spreading it again executes nothing more).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterator
from typing import TypeVar

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    SelectionSetNode,
)

T = TypeVar("T")
# Parsed documents are cached (ParserCache, 512 entries): their fragments are indexed as long.
CACHED_DOCUMENTS = 512


class Fragments:
    def __init__(self, document: DocumentNode) -> None:
        self.definitions = {
            d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
        }
        # Measures that depend on the document only (depth, aliases), shared by every request.
        self.depths: dict[str, int] = {}
        self.aliases: dict[str, int] = {}

    def measure(
        self,
        name: str,
        memo: dict[str, T],
        compute: Callable[[FragmentDefinitionNode], T],
        empty: T,
    ) -> T:
        """`compute(fragment)`, once per `memo`; `empty` for an unknown or cyclic fragment."""
        if name in memo:
            return memo[name]
        definition = self.definitions.get(name)
        if definition is None:
            return empty
        memo[name] = empty  # a spread of `name` met while measuring it is a cycle
        try:
            memo[name] = compute(definition)
        except BaseException:
            del memo[name]
            raise
        return memo[name]

    def fields(self, selection_set: SelectionSetNode) -> Iterator[FieldNode]:
        """The field nodes `selection_set` executes, fragments expanded, each named one once."""
        yield from self._fields(selection_set, set())

    def _fields(self, selection_set: SelectionSetNode, expanded: set[str]) -> Iterator[FieldNode]:
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                yield selection
            elif isinstance(selection, InlineFragmentNode):
                yield from self._fields(selection.selection_set, expanded)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                definition = self.definitions.get(name)
                if definition is not None and name not in expanded:
                    expanded.add(name)
                    yield from self._fields(definition.selection_set, expanded)


_cache: OrderedDict[int, tuple[DocumentNode, Fragments]] = OrderedDict()


def fragments_of(document: DocumentNode) -> Fragments:
    """The `Fragments` of `document`, the same object for the same (cached) parsed document."""
    key = id(document)
    cached = _cache.get(key)
    if cached is not None and cached[0] is document:
        _cache.move_to_end(key)
        return cached[1]
    fragments = Fragments(document)
    # The entry keeps the document alive, so its id cannot be reused while it is cached.
    _cache[key] = (document, fragments)
    if len(_cache) > CACHED_DOCUMENTS:
        _cache.popitem(last=False)
    return fragments
