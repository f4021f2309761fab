"""Gives every GraphQL error a stable `extensions.code`, and masks anything unexpected.

- a ClientError raised by a resolver keeps its message, with its code and extensions;
- an error outside field execution (syntax, validation, variable coercion) is the client's: BAD_USER_INPUT;
- anything else is ours: the client sees INTERNAL and the request id, the log gets the traceback.

This holds on every path: results returned at the end of an operation (HTTP), each result of a stream
(websockets) before it is sent, and errors raised out of the operation (Strawberry's parser cache raises
syntax errors instead of returning them).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Final

from graphql import ExecutionResult as GraphQLExecutionResult
from graphql import GraphQLError
from strawberry.exceptions import MissingQueryError
from strawberry.extensions import SchemaExtension
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.types import ExecutionResult, StreamExecutionResult

from gateway.errors import ClientError, ErrorCode
from gateway.logs import request_id_var

log = logging.getLogger(__name__)


def internal_error_message(request_id: str) -> str:
    return f"Internal error. Quote request id {request_id} when reporting it."


def masked_internal_error() -> GraphQLError:
    """What the client sees of a fault of ours."""
    request_id = request_id_var.get()
    return GraphQLError(internal_error_message(request_id),
                        extensions={"code": ErrorCode.INTERNAL.value, "requestId": request_id})


def _request_level(error: GraphQLError) -> bool:
    """Syntax, validation and variable coercion errors: outside field execution, raised by GraphQL itself."""
    original = error.original_error
    return not error.path and (original is None or isinstance(original, GraphQLError | ValueError | TypeError)
                               or type(original).__module__.startswith(("strawberry", "graphql")))


def _argument_coercion(error: GraphQLError) -> bool:
    """A field's arguments refused by GraphQL itself while executing, e.g. a variable's null for an `Int! = 30`
    argument (validation allows a nullable variable where the argument has a default): the client's error."""
    original = error.original_error
    return (original is None or isinstance(original, GraphQLError)) and error.message.startswith("Argument '")


def with_code(error: GraphQLError) -> GraphQLError:
    original = error.original_error
    if error.extensions and error.extensions.get("code") in ErrorCode.__members__:
        return error
    if isinstance(original, ClientError):
        message, extensions = original.message, {**original.extensions, "code": original.code.value}
    elif _request_level(error) or _argument_coercion(error):
        message, extensions = error.message, {"code": ErrorCode.BAD_USER_INPUT.value}
    else:
        request_id = request_id_var.get()
        log.error("unexpected error in %s", ".".join(map(str, error.path or [])) or "operation",
                  exc_info=original or error)
        message = internal_error_message(request_id)
        extensions = {"code": ErrorCode.INTERNAL.value, "requestId": request_id}
    return GraphQLError(message, nodes=error.nodes, source=error.source, positions=error.positions,
                        path=error.path, original_error=None, extensions=extensions)


def _code_errors(result: object) -> None:
    if isinstance(result, ExecutionResult | GraphQLExecutionResult) and result.errors:
        result.errors = [with_code(e) for e in result.errors]


# Raised out of the operation for the view to answer with an HTTP status (400, 405); not errors of a result.
_REQUEST_ERRORS: Final = (MissingQueryError, CannotGetOperationTypeError, InvalidOperationTypeError)


class ErrorCodeExtension(SchemaExtension):
    def on_operation(self) -> Iterator[None]:
        try:
            yield
        except _REQUEST_ERRORS:
            raise
        except GraphQLError as e:
            raise with_code(e) from None
        except Exception as e:
            # Strawberry would show str(e) to the client: anything else raised out of the operation is ours.
            log.error("unexpected error in operation", exc_info=e)
            raise masked_internal_error() from None
        _code_errors(self.execution_context.result)

    def on_stream_result(self, result: StreamExecutionResult) -> Iterator[None]:
        # A stream's results are sent while the operation still runs, before on_operation ends.
        _code_errors(result)
        yield
