"""Query size limits, checked while validating a document: depth, field count and aliases.

A few hundred aliased forecasts or a fragment fanned out a thousand times would cost seconds of CPU and many
statements; such documents are refused before execution with QUERY_TOO_COMPLEX. Introspection fields
(`__schema`, `__type`, …) are not counted: GraphiQL's introspection query is deep by nature.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationRule,
)
from strawberry.extensions import AddValidationRules

from gateway.errors import ErrorCode

MAX_DEPTH: Final = 12
MAX_FIELDS: Final = 2000
MAX_ALIASES: Final = 100


@dataclass(frozen=True)
class Size:
    depth: int = 0
    fields: int = 0
    aliases: int = 0

    def __add__(self, other: Size) -> Size:
        return Size(max(self.depth, other.depth), self.fields + other.fields, self.aliases + other.aliases)


class QuerySizeRule(ValidationRule):
    """Reports one QUERY_TOO_COMPLEX error per operation over a limit."""

    def enter_operation_definition(self, node: OperationDefinitionNode, *_: Any) -> None:
        fragments = {d.name.value: d for d in self.context.document.definitions
                     if isinstance(d, FragmentDefinitionNode)}
        size = _measure(node.selection_set, fragments, {}, frozenset())
        for value, limit, what in ((size.depth, MAX_DEPTH, "levels deep"), (size.fields, MAX_FIELDS, "fields"),
                                   (size.aliases, MAX_ALIASES, "aliases")):
            if value > limit:
                self.report_error(GraphQLError(
                    f"the operation has {value} {what}; at most {limit} are allowed", node,
                    extensions={"code": ErrorCode.QUERY_TOO_COMPLEX.value}))
                return


def _measure(selections: SelectionSetNode | None, fragments: dict[str, FragmentDefinitionNode],
             memo: dict[str, Size], seen: frozenset[str]) -> Size:
    """The size of a selection set, each fragment measured once (cycles are another rule's error)."""
    total = Size()
    for selection in selections.selections if selections is not None else ():
        if isinstance(selection, FieldNode):
            if selection.name.value.startswith("__"):
                continue
            inner = _measure(selection.selection_set, fragments, memo, seen)
            total = total + Size(inner.depth + 1, inner.fields + 1, inner.aliases + (selection.alias is not None))
        elif isinstance(selection, InlineFragmentNode):
            total = total + _measure(selection.selection_set, fragments, memo, seen)
        elif isinstance(selection, FragmentSpreadNode):
            name = selection.name.value
            if name in seen or name not in fragments:
                continue
            if name not in memo:
                memo[name] = _measure(fragments[name].selection_set, fragments, memo, seen | {name})
            total = total + memo[name]
    return total


class QuerySizeLimit(AddValidationRules):
    """The schema extension that adds QuerySizeRule to validation."""

    def __init__(self) -> None:
        super().__init__([QuerySizeRule])
