"""Static query limits as validation rules (cached with the validation of each document).

Numbers: graphql-armor's defaults (aliases 15, tokens 1000, directives 50) except depth, where a
Relay schema spends two levels on every `edges { node }`; graphql-armor's 6 would refuse
ordinary queries such as `resources → edges → node → credential → lastSync → errors → scope`.
Introspection fields (`__schema`, `__type`) are not counted: they are bounded by the schema,
and production refuses them altogether.

Fragments are expanded by `graph.hardening.fragments` (each measured once, cycles as 0), so a
fragment cycle (which graphql-core reports separately) or a fragment fan-out bomb cannot make
these rules loop or explode.
"""

from __future__ import annotations

from typing import Any

from graphql import (
    DirectiveNode,
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationContext,
    ValidationRule,
)

from graph.errors import ErrorCode
from graph.hardening.fragments import fragments_of

MAX_DEPTH = 8
MAX_ALIASES = 15
MAX_TOKENS = 1000
MAX_DIRECTIVES = 50


def too_complex(message: str, node: Any = None, **extensions: Any) -> GraphQLError:
    return GraphQLError(
        message,
        nodes=[node] if node is not None else None,
        extensions={"code": ErrorCode.QUERY_TOO_COMPLEX.value, **extensions},
    )


class _DocumentMeasure:
    """Depth and alias count of selection sets, fragments measured once (`Fragments`)."""

    def __init__(self, document: DocumentNode) -> None:
        self.fragments = fragments_of(document)

    def _fragment_depth(self, fragment: FragmentDefinitionNode) -> int:
        return self.depth(fragment.selection_set)

    def _fragment_aliases(self, fragment: FragmentDefinitionNode) -> int:
        return self.alias_count(fragment.selection_set)

    def depth(self, selection_set: SelectionSetNode | None) -> int:
        if selection_set is None:
            return 0
        deepest = 0
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                if selection.name.value.startswith("__"):
                    continue
                deepest = max(deepest, 1 + self.depth(selection.selection_set))
            elif isinstance(selection, InlineFragmentNode):
                deepest = max(deepest, self.depth(selection.selection_set))
            elif isinstance(selection, FragmentSpreadNode):
                fragments = self.fragments
                depth = fragments.measure(
                    selection.name.value, fragments.depths, self._fragment_depth, 0
                )
                deepest = max(deepest, depth)
        return deepest

    def alias_count(self, selection_set: SelectionSetNode | None) -> int:
        if selection_set is None:
            return 0
        count = 0
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                count += (selection.alias is not None) + self.alias_count(selection.selection_set)
            elif isinstance(selection, InlineFragmentNode):
                count += self.alias_count(selection.selection_set)
            elif isinstance(selection, FragmentSpreadNode):
                fragments = self.fragments
                count += fragments.measure(
                    selection.name.value, fragments.aliases, self._fragment_aliases, 0
                )
        return count


class _DocumentRule(ValidationRule):
    """Measures each operation once the whole document is known."""

    def __init__(self, context: ValidationContext) -> None:
        super().__init__(context)
        self.measure = _DocumentMeasure(context.document)

    def enter_operation_definition(self, node: OperationDefinitionNode, *_: Any) -> None:
        self.check(node)

    def check(self, node: OperationDefinitionNode) -> None:
        raise NotImplementedError


class MaxDepthRule(_DocumentRule):
    def check(self, node: OperationDefinitionNode) -> None:
        depth = self.measure.depth(node.selection_set)
        if depth > MAX_DEPTH:
            self.report_error(
                too_complex(
                    f"The query is {depth} levels deep; the limit is {MAX_DEPTH}.",
                    node,
                    depth=depth,
                    maxDepth=MAX_DEPTH,
                )
            )


class MaxAliasesRule(_DocumentRule):
    def check(self, node: OperationDefinitionNode) -> None:
        aliases = self.measure.alias_count(node.selection_set)
        if aliases > MAX_ALIASES:
            self.report_error(
                too_complex(
                    f"The operation uses {aliases} aliases; the limit is {MAX_ALIASES}.",
                    node,
                    aliases=aliases,
                    maxAliases=MAX_ALIASES,
                )
            )


class MaxDirectivesRule(ValidationRule):
    def __init__(self, context: ValidationContext) -> None:
        super().__init__(context)
        self.count = 0

    def enter_directive(self, _node: DirectiveNode, *_: Any) -> None:
        self.count += 1

    def leave_document(self, node: DocumentNode, *_: Any) -> None:
        if self.count > MAX_DIRECTIVES:
            self.report_error(
                too_complex(
                    f"The document uses {self.count} directives; the limit is {MAX_DIRECTIVES}.",
                    directives=self.count,
                    maxDirectives=MAX_DIRECTIVES,
                )
            )


LIMIT_RULES: tuple[type[ValidationRule], ...] = (MaxDepthRule, MaxAliasesRule, MaxDirectivesRule)
