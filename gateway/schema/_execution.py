"""The execution context the schema runs with: graphql-core's, with a fast path for lists of plain scalars.

graphql-core completes every list item on its own (a path entry, an awaitable check, the non-null and leaf
checks, then the scalar's coercion): about 3 µs an item, which is most of a dashboard whose series are parallel
arrays (50 agents x 6 metrics x 30 days is 9,000 floats). A list whose items are all plain values of a scalar or
enum type is coerced in one pass instead. Anything else (an awaitable or exception item, a null in a list of
non-null items, a value the scalar refuses, a @stream) goes the ordinary way, so results and errors are the same.
"""

from __future__ import annotations

from typing import Any

from graphql import (
    ExecutionResult,
    GraphQLList,
    GraphQLOutputType,
    GraphQLResolveInfo,
)
from graphql.pyutils import AwaitableOrValue, Path
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from gateway.engine.leaves import plain_leaf_list
from gateway.live.hub import Shared, SharedData


class ScalarListExecutionContext(StrawberryGraphQLCoreExecutionContext):
    def execute_operation(self, serially: bool | None = None) -> Any:
        # A live group's result, computed and serialised once for all its subscribers (gateway/live): each
        # subscriber's event passes it on instead of executing the selection set again.
        if isinstance(self.root_value, Shared):
            return ExecutionResult(data=SharedData(self.root_value), errors=None)
        return super().execute_operation(serially)

    def complete_list_value(
        self,
        return_type: GraphQLList[GraphQLOutputType],
        field_details_list: Any,
        info: GraphQLResolveInfo[Any],
        path: Path,
        result: Any,
        position_context: Any,
    ) -> AwaitableOrValue[list[Any]]:
        completed = plain_leaf_list(return_type.of_type, result)
        if completed is not None and self.get_stream_usage(field_details_list, path) is None:
            return completed
        return super().complete_list_value(return_type, field_details_list, info, path, result, position_context)
