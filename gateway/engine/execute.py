"""Executing a plan level by level: each field once for all the parent objects of its level.

Results and errors are graphql-core's: values coerced by the same leaf types, errors located at the same
paths with the same messages, null propagated to the nearest nullable position. Where graphql-core's outcome
depends on timing — errors from a subtree that another error nulled — the engine drops them all, which is the
outcome graphql-core gives when the nulling error comes first; of several errors nulling one position it keeps
the first depth first, graphql-core's choice with no await on the way (errors.py).
"""

from __future__ import annotations

import asyncio
import inspect
from bisect import bisect_right
from collections.abc import Awaitable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import repeat
from math import isfinite
from operator import attrgetter, is_
from types import CoroutineType, GeneratorType
from typing import Any, Final

from graphql import (
    DocumentNode,
    ExecutionResult,
    GraphQLAbstractType,
    GraphQLEnumType,
    GraphQLError,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLScalarType,
    GraphQLSchema,
    GraphQLUnionType,
    Undefined,
    located_error,
)
from graphql.execution.values import get_argument_values
from graphql.pyutils import Path, is_iterable
from graphql.pyutils import inspect as graphql_inspect
from graphql.type.scalars import GRAPHQL_MAX_INT, GRAPHQL_MIN_INT
from strawberry.schema.schema_converter import get_arguments

from gateway.engine import observe
from gateway.engine._settle import Raised, settle
from gateway.engine.errors import Errors
from gateway.engine.plan import (
    Fallback,
    FieldKind,
    FieldPlan,
    OperationPlan,
    PlanCache,
    Planner,
    SelectionPlan,
    Shape,
    ShapeKind,
    shape_of,
    strawberry_class,
)

# A position whose null must propagate to its nearest nullable ancestor.
INVALID: Final = object()
# The types of what completes as null at a nullable position.
_NONE: Final = frozenset({type(None)})
_NULLS: Final = frozenset({type(None), type(Undefined)})


class _Failure:
    """A resolver's exception, kept as a value until its position is completed."""

    __slots__ = ("error",)

    def __init__(self, error: BaseException) -> None:
        self.error = error


def _as_tuple(path: Path | None) -> tuple[str | int, ...]:
    return tuple(path.as_list()) if path is not None else ()


class _Run:
    """One execution of a plan: the executor's request state and the errors found so far."""

    def __init__(self, executor: Any, planner: Planner, strawberry_schema: Any) -> None:
        self.executor = executor
        self.planner = planner
        self.schema: GraphQLSchema = executor.schema
        self.variables = executor.variable_values
        self.errors = Errors()
        self.config = strawberry_schema.config
        self.scalar_registry = strawberry_schema.schema_converter.scalar_registry
        self.observer = observe.current()
        # How many INVALIDs have been made so far: while it stays the same, no list holds one, so the lists
        # a level returns need no scan for them.
        self.invalids = 0

    # -- selection sets -------------------------------------------------------------------------------------

    async def selection(self, plan: SelectionPlan, objects: Sequence[Any], paths: Sequence[Path | None]
                        ) -> list[Any]:
        """The response maps of `objects` (all of plan.type), INVALID where a non-null field failed."""
        mark = self.invalids
        columns: list[list[Any]] = []
        for fp in plan.fields:
            self.observer.executed(fp.parent_type.name, fp.name)
            values = await self.resolve(fp, objects, paths)
            columns.append(await self._complete(fp, fp.shape, values, _FieldPaths(paths, fp.key, fp.parent_type.name)))
        # Fields run one after another (statements share the operation's one connection anyway), which also
        # makes mutation root fields serial, as the spec wants.
        if not columns:
            return [{} for _ in objects]
        # One map per object from the fields' columns (each as long as `objects`), keys in the selection's order.
        results: list[Any] = plan.build(plan.keys, *columns)
        if self.invalids != mark:
            for column in columns:
                for i, value in enumerate(column):
                    if value is INVALID:
                        results[i] = INVALID
        return results

    # -- resolving ------------------------------------------------------------------------------------------

    async def resolve(self, fp: FieldPlan, objects: Sequence[Any], paths: Sequence[Path | None]) -> list[Any]:
        if fp.kind is FieldKind.TYPENAME:
            return [fp.parent_type.name] * len(objects)
        if fp.kind is FieldKind.ATTRIBUTE:
            name = fp.attribute
            try:
                return list(map(attrgetter(name), objects))
            except Exception:
                return [_attribute(o, name) for o in objects]
        if fp.plain_call and fp.kind is FieldKind.RESOLVER:
            return await self._call_plain(fp, objects)
        return await self._call_resolver(fp, objects, paths)

    async def _call_plain(self, fp: FieldPlan, objects: Sequence[Any]) -> list[Any]:
        """A resolver of the parent alone (`def id(self)`): called for each parent, nothing converted."""
        assert fp.strawberry is not None
        assert fp.strawberry.base_resolver is not None
        call: Any = fp.strawberry.base_resolver.wrapped_func
        values: list[Any] = []
        append = values.append
        for o in objects:
            try:
                append(call(o))
            except Exception as e:
                append(_Failure(e))
        pending = _awaitable_positions(values)
        if pending:
            await _await_all(values, pending)
        return values

    async def _call_resolver(self, fp: FieldPlan, objects: Sequence[Any], paths: Sequence[Path | None]
                             ) -> list[Any]:
        assert fp.definition is not None
        assert fp.strawberry is not None
        resolver = fp.strawberry.base_resolver
        assert resolver is not None
        if fp.batch is not None and fp.plain_call:
            return await self._call_batch(fp, objects, {}, resolver)
        raw_info = self.executor.build_resolve_info(fp.definition, fp.nodes, fp.parent_type,
                                                    Path(paths[0] if paths else None, fp.key, fp.parent_type.name))
        info = self.config.info_class(_raw_info=raw_info, _field=fp.strawberry)
        try:
            raw_args = get_argument_values(fp.definition, fp.details[0].node, self.variables) \
                if fp.has_arguments else {}
            # Converted once for the whole level; the source goes in per object below.
            _, kwargs = get_arguments(field=fp.strawberry, source=None, info=info, kwargs=raw_args,
                                      config=self.config, scalar_registry=self.scalar_registry)
        except Exception as e:
            return [_Failure(e)] * len(objects)
        if fp.batch is not None:
            return await self._call_batch(fp, objects, kwargs, resolver)
        self_param = resolver.self_parameter is not None
        source_names = [p.name for p in (resolver.parent_parameter, resolver.root_parameter) if p is not None]
        call: Any = resolver.wrapped_func
        values: list[Any] = []
        for o in objects:
            call_kwargs = kwargs
            if source_names:
                call_kwargs = dict(kwargs)
                for name in source_names:
                    call_kwargs[name] = o
            try:
                value = call(o, **call_kwargs) if self_param else call(**call_kwargs)
            except Exception as e:
                value = _Failure(e)
            values.append(value)
        pending = _awaitable_positions(values)
        if pending:
            await _await_all(values, pending)
        return values

    async def _call_batch(self, fp: FieldPlan, objects: Sequence[Any], kwargs: dict[str, Any], resolver: Any
                          ) -> list[Any]:
        assert fp.batch is not None
        arguments = {k: v for k, v in kwargs.items()
                     if resolver.info_parameter is None or k != resolver.info_parameter.name}
        try:
            values = list(await fp.batch(self.executor.context_value, objects, **arguments))
        except Exception as e:
            return [_Failure(e)] * len(objects)
        if len(values) != len(objects):
            error = RuntimeError(f"the batched form of {fp.parent_type.name}.{fp.name} returned {len(values)} "
                                 f"values for {len(objects)} parents")
            return [_Failure(error)] * len(objects)
        return values

    # -- completing -----------------------------------------------------------------------------------------

    async def complete(self, fp: FieldPlan, type_: GraphQLOutputType, values: Sequence[Any],
                       paths: Sequence[Path]) -> list[Any]:
        """Completed values for positions `paths` of type `type_`; INVALID where null must propagate."""
        return await self._complete(fp, fp.shape if type_ is fp.return_type else shape_of(type_), values, paths)

    async def _complete(self, fp: FieldPlan, shape: Shape, values: Sequence[Any], paths: Sequence[Path]
                        ) -> list[Any]:
        if not values:
            return []
        kind = shape.kind
        # The common case first: every value plain (no null, failure or exception among them), handled for the
        # whole column at once; anything else goes value by value below.
        types = set(map(type, values))
        if kind is ShapeKind.LEAF:
            fast = _leaf_column(shape, types, values)
            if fast is not None:
                return fast
        elif kind is ShapeKind.OBJECT:
            runtime = shape.inner
            assert isinstance(runtime, GraphQLObjectType)
            objects = types - _NULLS
            if (not shape.non_null or objects == types) and _all_plain(objects) and \
                    (runtime.is_type_of is None or objects == {shape.own_class}):
                return await self._objects(fp, shape, runtime, values, paths, nulls=objects != types)
        non_null = shape.non_null
        out: list[Any] = [None] * len(values)
        todo: list[int] = []
        mark = len(self.errors.found)
        for i, value in enumerate(values):
            if isinstance(value, _Failure):
                out[i] = self._fail(fp, value.error, paths[i], non_null)
            elif isinstance(value, Exception):
                out[i] = self._fail(fp, value, paths[i], non_null)
            elif value is None or value is Undefined:
                if non_null:
                    out[i] = self._fail(fp, TypeError(
                        f"Cannot return null for non-nullable field {fp.parent_type.name}.{fp.name}."), paths[i], True)
            else:
                todo.append(i)
        if not todo:
            return out
        inner = shape.inner
        if kind is ShapeKind.LEAF:
            assert isinstance(inner, GraphQLScalarType | GraphQLEnumType)
            self._complete_leaves(fp, inner, values, paths, todo, out, non_null)
            if len(self.errors.found) - mark > 1:
                # graphql-core completes leaves in order, so the error it keeps for a null is the first position's;
                # the loop above recorded nulls and exceptions before these coercion errors.
                self.errors.found[mark:] = sorted(self.errors.found[mark:], key=lambda found: _order(found[1]))
        elif kind is ShapeKind.LIST:
            await self._complete_lists(fp, shape, values, paths, todo, out)
        elif kind is ShapeKind.OBJECT:
            assert isinstance(inner, GraphQLObjectType)
            await self._complete_objects(fp, shape, {inner.name: (inner, todo)}, values, paths, out)
        else:
            assert isinstance(inner, GraphQLInterfaceType | GraphQLUnionType)
            groups: dict[str, tuple[GraphQLObjectType, list[int]]] = {}
            for i in todo:
                try:
                    runtime = self._runtime_type(fp, inner, values[i], paths[i])
                except Exception as e:
                    out[i] = self._fail(fp, e, paths[i], non_null)
                    continue
                groups.setdefault(runtime.name, (runtime, []))[1].append(i)
            await self._complete_objects(fp, shape, groups, values, paths, out)
        return out

    def _complete_leaves(self, fp: FieldPlan, leaf: GraphQLScalarType | GraphQLEnumType, values: Sequence[Any],
                         paths: Sequence[Path], todo: list[int], out: list[Any], non_null: bool) -> None:
        coerce = leaf.coerce_output_value
        for i in todo:
            value = values[i]
            try:
                coerced = coerce(value)
                if coerced is Undefined or coerced is None:
                    raise TypeError(
                        f"Expected `{leaf}.coerce_output_value({_inspect(value)})` to return non-nullable value, "
                        f"returned: {_inspect(coerced)}")
                out[i] = coerced
            except Exception as e:
                out[i] = self._fail(fp, e, paths[i], non_null)

    async def _complete_lists(self, fp: FieldPlan, shape: Shape, values: Sequence[Any], paths: Sequence[Path],
                              todo: list[int], out: list[Any]) -> None:
        # The items of every list of the level are completed together, as one column (series values of a whole
        # dashboard in one pass), then cut back into their lists.
        item_shape = shape.item
        assert item_shape is not None
        items: list[Any] = []
        spans: list[tuple[int, int, int]] = []
        for i in todo:
            value = values[i]
            if type(value) is not list and not is_iterable(value):
                out[i] = self._fail(fp, GraphQLError(
                    f"Expected Iterable, but did not find one for field '{fp.parent_type.name}.{fp.name}'."),
                    paths[i], shape.non_null)
                continue
            start = len(items)
            items.extend(value)
            spans.append((i, start, len(items)))
        # graphql-core awaits items that are awaitables (a list of coroutines, say); so does the engine.
        pending = _awaitable_positions(items)
        if pending:
            await _await_all(items, pending)
        mark = self.invalids
        completed = await self._complete(fp, item_shape, items, _ItemPaths(paths, spans))
        checked = self.invalids != mark
        for i, start, end in spans:
            chunk = completed[start:end]
            if checked and any(v is INVALID for v in chunk):
                out[i] = self._null(paths[i], shape.non_null)
            else:
                out[i] = chunk

    async def _objects(self, fp: FieldPlan, shape: Shape, runtime: GraphQLObjectType, values: Sequence[Any],
                       paths: Sequence[Path], nulls: bool) -> list[Any]:
        """The response maps of objects that are all of `runtime` (and, with `nulls`, nulls at a nullable
        position: null in the response), as the next level."""
        plan = self.planner.child(fp, runtime)
        mark = self.invalids
        if not nulls:
            results = await self.selection(plan, values, paths)
            if self.invalids != mark:
                for i, result in enumerate(results):
                    if result is INVALID:
                        results[i] = self._null(paths[i], shape.non_null)
            return results
        present = [i for i, value in enumerate(values) if value is not None and value is not Undefined]
        out: list[Any] = [None] * len(values)
        found = await self.selection(plan, [values[i] for i in present], _Picked(paths, present))
        checked = self.invalids != mark
        for i, result in zip(present, found, strict=True):
            out[i] = self._null(paths[i], shape.non_null) if checked and result is INVALID else result
        return out

    async def _complete_objects(self, fp: FieldPlan, shape: Shape,
                                groups: Mapping[str, tuple[GraphQLObjectType, list[int]]], values: Sequence[Any],
                                paths: Sequence[Path], out: list[Any]) -> None:
        non_null = shape.non_null
        for runtime, indexes in groups.values():
            if runtime.is_type_of is not None:
                checked: list[int] = []
                info: Any = None  # Strawberry's is_type_of reads only the value
                # Strawberry's is_type_of is an isinstance check (we use no strawberry.cast): an instance of the
                # type's own class passes it.
                own = strawberry_class(runtime)
                for i in indexes:
                    if type(values[i]) is own or runtime.is_type_of(values[i], info):
                        checked.append(i)
                    else:
                        out[i] = self._fail(fp, GraphQLError(
                            f"Expected value of type '{runtime.name}' but got: {_inspect(values[i])}.",
                            fp.nodes), paths[i], non_null)
                indexes = checked
            if not indexes:
                continue
            plan = self.planner.child(fp, runtime)
            results = await self.selection(plan, [values[i] for i in indexes], _Picked(paths, indexes))
            for i, result in zip(indexes, results, strict=True):
                out[i] = self._null(paths[i], non_null) if result is INVALID else result

    def _runtime_type(self, fp: FieldPlan, abstract: GraphQLAbstractType, value: Any, path: Path
                      ) -> GraphQLObjectType:
        resolve_type = abstract.resolve_type
        info = self.executor.build_resolve_info(fp.definition, fp.nodes, fp.parent_type, path)
        name = resolve_type(value, info, abstract) if resolve_type is not None else \
            self.executor.type_resolver(value, info, abstract)
        if inspect.isawaitable(name):  # pragma: no cover - Strawberry resolves types synchronously
            raise TypeError("asynchronous type resolution is not supported by the planned executor")
        runtime: GraphQLObjectType = self.executor.ensure_valid_runtime_type(name, abstract, fp.details, info, value)
        return runtime

    # -- errors ---------------------------------------------------------------------------------------------

    def _fail(self, fp: FieldPlan, error: BaseException, path: Path, non_null: bool) -> Any:
        exception = error if isinstance(error, Exception) else RuntimeError(str(error))
        located = located_error(exception, fp.nodes, path.as_list())
        self.errors.found.append((located, tuple(located.path or ()), path))
        return self._null(path, non_null)

    def _null(self, path: Path, non_null: bool) -> Any:
        """INVALID at a non-null position (its parent decides), else a null recorded where it stopped."""
        if non_null:
            self.invalids += 1
            return INVALID
        self.errors.nulled.add(_as_tuple(path))
        return None


def _leaf_column(shape: Shape, types: set[type], values: Sequence[Any]) -> list[Any] | None:
    """A column of leaves coerced in one pass when every value is plain (what the per-value completion gives
    for them), else None: a null where none may be, a failure, a value the scalar refuses go value by value."""
    nulls = type(None) in types
    if nulls and shape.non_null:
        return None
    passthrough = shape.passthrough
    if passthrough is not None:
        if types == {passthrough}:
            present = values
        elif types <= {passthrough, type(None)}:
            present = [v for v in values if v is not None]
        else:
            return None
        if present and passthrough is int and (min(present) < GRAPHQL_MIN_INT or max(present) > GRAPHQL_MAX_INT):
            return None
        if passthrough is float and not all(map(isfinite, present)):
            return None
        return list(values)
    if not _all_plain(types - _NONE):
        return None
    leaf = shape.inner
    assert isinstance(leaf, GraphQLScalarType | GraphQLEnumType)
    coerce = leaf.coerce_output_value
    try:
        coerced = [None if v is None else coerce(v) for v in values] if nulls else list(map(coerce, values))
    except Exception:
        return None  # the value-by-value path raises the same error again, located at its value
    # A coercion that gave null (or Undefined) is an error, found value by value.
    if not _all_plain(set(map(type, coerced)) - _NONE) or (nulls and _nones(coerced) != _nones(values)):
        return None
    return coerced


def _nones(values: Sequence[Any]) -> int:
    return sum(map(is_, values, repeat(None)))


@lru_cache(maxsize=1024)
def _special(type_: type) -> bool:
    """Whether values of this type are completed as a null or an error rather than as themselves."""
    return type_ is type(None) or type_ is type(Undefined) or type_ is _Failure or issubclass(type_, BaseException)


def _all_plain(types: set[type]) -> bool:
    return not any(map(_special, types))


@lru_cache(maxsize=1024)
def _may_await(type_: type) -> bool:
    return issubclass(type_, CoroutineType | GeneratorType | Awaitable)


def _awaitable_positions(values: Sequence[Any]) -> list[int]:
    """Where `values` holds awaitables (inspect.isawaitable), checked once per type before any value is."""
    if not any(map(_may_await, set(map(type, values)))):
        return []
    return [i for i, v in enumerate(values) if inspect.isawaitable(v)]


async def _await_all(values: list[Any], pending: Sequence[int]) -> None:
    """Replaces the awaitables at `pending` by their results (a _Failure for an exception), all awaited together."""
    coroutines = [i for i in pending if inspect.iscoroutine(values[i])]
    others = [i for i in pending if not inspect.iscoroutine(values[i])]
    for i, value in zip(coroutines, await settle([values[i] for i in coroutines]), strict=True):
        values[i] = _Failure(value.error) if isinstance(value, Raised) else value
    if others:
        awaited = await asyncio.gather(*(values[i] for i in others), return_exceptions=True)
        for i, value in zip(others, awaited, strict=True):
            if isinstance(value, asyncio.CancelledError):
                raise value
            values[i] = _Failure(value) if isinstance(value, BaseException) else value


# Paths are made only when asked for — for an error, or once per level for a resolver's Info — so the lists
# of paths below are views over their parents' paths.

class _FieldPaths(Sequence[Path]):
    """The paths of one field under each parent, with the parent's type as graphql-core gives it (which also
    finds a position's plan under an abstract type, see errors.depth_first)."""

    __slots__ = ("key", "parents", "typename")

    def __init__(self, parents: Sequence[Path | None], key: str, typename: str) -> None:
        self.parents = parents
        self.key = key
        self.typename = typename

    def __len__(self) -> int:
        return len(self.parents)

    def __getitem__(self, index: int) -> Path:  # type: ignore[override]
        return Path(self.parents[index], self.key, self.typename)


class _Picked(Sequence[Path]):
    """The paths at some positions of another sequence of paths."""

    __slots__ = ("indexes", "paths")

    def __init__(self, paths: Sequence[Path], indexes: Sequence[int]) -> None:
        self.paths = paths
        self.indexes = indexes

    def __len__(self) -> int:
        return len(self.indexes)

    def __getitem__(self, index: int) -> Path:  # type: ignore[override]
        return self.paths[self.indexes[index]]


class _ItemPaths(Sequence[Path]):
    """The paths of the items of several lists laid end to end: (list's position, start, end) per list."""

    __slots__ = ("lists", "spans", "starts")

    def __init__(self, lists: Sequence[Path], spans: Sequence[tuple[int, int, int]]) -> None:
        self.lists = lists
        self.spans = spans
        self.starts = [start for _, start, _ in spans]

    def __len__(self) -> int:
        return self.spans[-1][2] if self.spans else 0

    def __getitem__(self, index: int) -> Path:  # type: ignore[override]
        # The last list starting at or before `index` holds it (an empty list before it starts there too).
        owner, start, _ = self.spans[bisect_right(self.starts, index) - 1]
        return self.lists[owner].add_key(index - start, None)


def _order(path: tuple[str | int, ...]) -> tuple[tuple[int, str | int], ...]:
    """Sorts the paths of one level by position (keys and indexes never compared with each other)."""
    return tuple((0, s) if isinstance(s, int) else (1, s) for s in path)


def _attribute(o: Any, name: str) -> Any:
    try:
        return getattr(o, name)
    except Exception as e:
        return _Failure(e)


def _inspect(value: Any) -> str:
    return graphql_inspect(value)


@dataclass
class Prepared:
    """An operation ready to run: graphql-core's checked request state and the plan (or the request's errors)."""

    executor: Any
    plan: OperationPlan | None
    planner: Planner | None
    errors: list[GraphQLError] | None = None


def prepare(strawberry_schema: Any, cache: PlanCache, query: str, document: DocumentNode, operation_name: str | None,
            variables: dict[str, Any] | None, context: Any, root_value: Any, executor_class: type[Any], *,
            events: bool = False) -> Prepared:
    """The operation's plan, from the cache or compiled; raises Fallback for what graphql-core must run.

    With `events`, a subscription's selection is planned to run over one event (see Planner)."""
    facts = cache.facts(query, document)
    if facts.incremental:
        raise Fallback("@defer/@stream")
    executor = executor_class.build(strawberry_schema._schema, document, root_value, context, variables,
                                    operation_name)
    if isinstance(executor, list):
        return Prepared(None, None, None, errors=executor)
    conditions = tuple(sorted((k, executor.variable_values.coerced.get(k)) for k in facts.condition_variables))
    key = (query, operation_name, conditions, events)

    def build() -> tuple[OperationPlan, Planner]:
        planner = Planner(executor, facts.condition_variables, events=events)
        return planner.operation_plan(), planner

    plan, planner = cache.get(key, build)
    return Prepared(executor, plan, planner)


async def run_prepared(strawberry_schema: Any, prepared: Prepared) -> ExecutionResult:
    """The prepared operation's result."""
    if prepared.errors is not None or prepared.plan is None or prepared.planner is None:
        return ExecutionResult(data=None, errors=prepared.errors)
    run = _Run(prepared.executor, prepared.planner, strawberry_schema)
    try:
        results = await run.selection(prepared.plan.root, [prepared.executor.root_value], [None])
    finally:
        # graphql-core's executor keeps two of its own bound methods (for Info): a cycle, which would keep the
        # operation's Context for the cycle collector; the execution is over, so it is broken here.
        prepared.executor.async_helpers = None
    data = results[0]
    if data is INVALID:
        run.errors.nulled.add(())
        data = None
    return ExecutionResult(data=data, errors=run.errors.kept(prepared.plan.root) or None)
