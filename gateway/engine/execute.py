"""Executing a plan level by level: each field once for all the parent objects of its level.

Results and errors are graphql-core's: values coerced by the same leaf types, errors located at the same
paths with the same messages, null propagated to the nearest nullable position. Where graphql-core's outcome
depends on timing — errors from a subtree that another error nulled — the engine drops them all, which is the
outcome graphql-core gives when the nulling error comes first.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from graphql import (
    DocumentNode,
    ExecutionResult,
    GraphQLAbstractType,
    GraphQLEnumType,
    GraphQLError,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNonNull,
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
from strawberry.schema.schema_converter import get_arguments

from gateway.engine import observe
from gateway.engine._settle import Raised, settle
from gateway.engine.leaves import plain_leaf_list
from gateway.engine.plan import (
    STRAWBERRY_DEFINITION,
    Fallback,
    FieldKind,
    FieldPlan,
    OperationPlan,
    PlanCache,
    Planner,
    SelectionPlan,
)

# A position whose null must propagate to its nearest nullable ancestor.
INVALID: Final = object()


class _Failure:
    """A resolver's exception, kept as a value until its position is completed."""

    __slots__ = ("error",)

    def __init__(self, error: BaseException) -> None:
        self.error = error


@dataclass
class _Errors:
    """Errors at their own paths, and the positions where a null was put because of one."""

    found: list[tuple[GraphQLError, tuple[str | int, ...]]] = field(default_factory=list)
    nulled: set[tuple[str | int, ...]] = field(default_factory=set)

    def kept(self) -> list[GraphQLError]:
        """The first error of each nulled position, none from inside a subtree that was nulled."""
        recorded: list[tuple[GraphQLError, tuple[str | int, ...]]] = []
        for error, path in self.found:
            # Where the error's null stopped: the nearest nulled position on its path (itself, or an ancestor).
            stop = next((path[:n] for n in range(len(path), -1, -1) if path[:n] in self.nulled), ())
            recorded.append((error, stop))
        positions = {stop for _, stop in recorded}
        seen: set[tuple[str | int, ...]] = set()
        kept: list[GraphQLError] = []
        for error, stop in recorded:
            if stop in seen or any(stop[:n] in positions for n in range(len(stop))):
                continue
            seen.add(stop)
            kept.append(error)
        return kept


def _as_tuple(path: Path | None) -> tuple[str | int, ...]:
    return tuple(path.as_list()) if path is not None else ()


class _Run:
    """One execution of a plan: the executor's request state and the errors found so far."""

    def __init__(self, executor: Any, planner: Planner, strawberry_schema: Any) -> None:
        self.executor = executor
        self.planner = planner
        self.schema: GraphQLSchema = executor.schema
        self.variables = executor.variable_values
        self.errors = _Errors()
        self.config = strawberry_schema.config
        self.scalar_registry = strawberry_schema.schema_converter.scalar_registry
        self.observer = observe.current()

    # -- selection sets -------------------------------------------------------------------------------------

    async def selection(self, plan: SelectionPlan, objects: Sequence[Any], paths: Sequence[Path | None]
                        ) -> list[Any]:
        """The response maps of `objects` (all of plan.type), INVALID where a non-null field failed."""
        results: list[dict[str, Any]] = [{} for _ in objects]
        invalid = [False] * len(objects)
        for fp in plan.fields:
            self.observer.executed(fp.parent_type.name, fp.name)
            values = await self.resolve(fp, objects, paths)
            completed = await self.complete(fp, fp.return_type, values, _FieldPaths(paths, fp.key))
            for i, value in enumerate(completed):
                if value is INVALID:
                    invalid[i] = True
                else:
                    results[i][fp.key] = value
        # Fields run one after another (statements share the operation's one connection anyway), which also
        # makes mutation root fields serial, as the spec wants.
        return [INVALID if bad else result for bad, result in zip(invalid, results, strict=True)]

    # -- resolving ------------------------------------------------------------------------------------------

    async def resolve(self, fp: FieldPlan, objects: Sequence[Any], paths: Sequence[Path | None]) -> list[Any]:
        if fp.kind is FieldKind.TYPENAME:
            return [fp.parent_type.name] * len(objects)
        if fp.kind is FieldKind.ATTRIBUTE:
            name = fp.attribute
            try:
                return [getattr(o, name) for o in objects]
            except Exception:
                return [_attribute(o, name) for o in objects]
        return await self._call_resolver(fp, objects, paths)

    async def _call_resolver(self, fp: FieldPlan, objects: Sequence[Any], paths: Sequence[Path | None]
                             ) -> list[Any]:
        assert fp.definition is not None
        assert fp.strawberry is not None
        raw_info = self.executor.build_resolve_info(fp.definition, fp.nodes, fp.parent_type,
                                                    _key(paths[0], fp.key) if paths else Path(None, fp.key, None))
        info = self.config.info_class(_raw_info=raw_info, _field=fp.strawberry)
        try:
            raw_args = get_argument_values(fp.definition, fp.details[0].node, self.variables) \
                if fp.has_arguments else {}
            # Converted once for the whole level; the source goes in per object below.
            _, kwargs = get_arguments(field=fp.strawberry, source=None, info=info, kwargs=raw_args,
                                      config=self.config, scalar_registry=self.scalar_registry)
        except Exception as e:
            return [_Failure(e)] * len(objects)
        resolver = fp.strawberry.base_resolver
        assert resolver is not None
        if fp.batch is not None:
            return await self._call_batch(fp, objects, kwargs, resolver)
        self_param = resolver.self_parameter is not None
        source_names = [p.name for p in (resolver.parent_parameter, resolver.root_parameter) if p is not None]
        call: Any = resolver.wrapped_func
        values: list[Any] = []
        pending: list[int] = []
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
            if inspect.isawaitable(value):
                pending.append(len(values))
            values.append(value)
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
        non_null = isinstance(type_, GraphQLNonNull)
        inner: GraphQLOutputType = type_.of_type if isinstance(type_, GraphQLNonNull) else type_
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
        if isinstance(inner, GraphQLScalarType | GraphQLEnumType):
            self._complete_leaves(fp, inner, values, paths, todo, out, non_null)
            if len(self.errors.found) - mark > 1:
                # graphql-core completes leaves in order, so the error it keeps for a null is the first position's;
                # the loop above recorded nulls and exceptions before these coercion errors.
                self.errors.found[mark:] = sorted(self.errors.found[mark:], key=lambda found: _order(found[1]))
        elif isinstance(inner, GraphQLList):
            await self._complete_lists(fp, inner, values, paths, todo, out, non_null)
        elif isinstance(inner, GraphQLObjectType):
            await self._complete_objects(fp, {inner.name: (inner, todo)}, values, paths, out, non_null)
        elif isinstance(inner, GraphQLInterfaceType | GraphQLUnionType):
            groups: dict[str, tuple[GraphQLObjectType, list[int]]] = {}
            for i in todo:
                try:
                    runtime = self._runtime_type(fp, inner, values[i], paths[i])
                except Exception as e:
                    out[i] = self._fail(fp, e, paths[i], non_null)
                    continue
                groups.setdefault(runtime.name, (runtime, []))[1].append(i)
            await self._complete_objects(fp, groups, values, paths, out, non_null)
        else:  # pragma: no cover - every output type is one of the above
            raise TypeError(f"unexpected output type {type_}")
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

    async def _complete_lists(self, fp: FieldPlan, list_type: GraphQLList[Any], values: Sequence[Any],
                              paths: Sequence[Path], todo: list[int], out: list[Any], non_null: bool) -> None:
        item_type = list_type.of_type
        # Lists of plain scalars (series values) are coerced in one pass; anything unusual goes item by item.
        plain_leaves = isinstance(item_type.of_type if isinstance(item_type, GraphQLNonNull) else item_type,
                                  GraphQLScalarType | GraphQLEnumType)
        items: list[Any] = []
        item_paths = _ItemPaths(paths)
        spans: list[tuple[int, int, int]] = []
        for i in todo:
            value = values[i]
            if plain_leaves:
                coerced = plain_leaf_list(item_type, value)
                if coerced is not None:
                    out[i] = coerced
                    continue
            if not is_iterable(value):
                out[i] = self._fail(fp, GraphQLError(
                    f"Expected Iterable, but did not find one for field '{fp.parent_type.name}.{fp.name}'."),
                    paths[i], non_null)
                continue
            start = len(items)
            for index, item in enumerate(value):
                items.append(item)
                item_paths.add(i, index)
            spans.append((i, start, len(items)))
        # graphql-core awaits items that are awaitables (a list of coroutines, say); so does the engine.
        awaitables = [j for j, item in enumerate(items) if inspect.isawaitable(item)]
        if awaitables:
            await _await_all(items, awaitables)
        completed = await self.complete(fp, item_type, items, item_paths) if items else []
        for i, start, end in spans:
            chunk = completed[start:end]
            if any(v is INVALID for v in chunk):
                out[i] = self._null(paths[i], non_null)
            else:
                out[i] = chunk

    async def _complete_objects(self, fp: FieldPlan, groups: Mapping[str, tuple[GraphQLObjectType, list[int]]],
                                values: Sequence[Any], paths: Sequence[Path], out: list[Any], non_null: bool
                                ) -> None:
        for runtime, indexes in groups.values():
            if runtime.is_type_of is not None:
                checked: list[int] = []
                info: Any = None  # Strawberry's is_type_of reads only the value
                # Strawberry's is_type_of is an isinstance check (we use no strawberry.cast): an instance of the
                # type's own class passes it.
                own = _strawberry_class(runtime)
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
            results = await self.selection(plan, [values[i] for i in indexes], [paths[i] for i in indexes])
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
        self.errors.found.append((located, tuple(located.path or ())))
        return self._null(path, non_null)

    def _null(self, path: Path, non_null: bool) -> Any:
        """INVALID at a non-null position (its parent decides), else a null recorded where it stopped."""
        if non_null:
            return INVALID
        self.errors.nulled.add(_as_tuple(path))
        return None


def _strawberry_class(type_: GraphQLObjectType) -> type | None:
    definition = type_.extensions.get(STRAWBERRY_DEFINITION) if type_.extensions else None
    origin = getattr(definition, "origin", None)
    return origin if isinstance(origin, type) and not getattr(definition, "is_graphql_generic", False) else None


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


class _FieldPaths(Sequence[Path]):
    """The paths of one field under each parent, made only when asked for (errors, objects below)."""

    __slots__ = ("key", "parents")

    def __init__(self, parents: Sequence[Path | None], key: str) -> None:
        self.parents = parents
        self.key = key

    def __len__(self) -> int:
        return len(self.parents)

    def __getitem__(self, index: int) -> Path:  # type: ignore[override]
        return Path(self.parents[index], self.key, None)


class _ItemPaths(Sequence[Path]):
    """The paths of the items of several lists, made only when asked for."""

    __slots__ = ("indexes", "lists", "owners")

    def __init__(self, lists: Sequence[Path]) -> None:
        self.lists = lists
        self.owners: list[int] = []
        self.indexes: list[int] = []

    def add(self, owner: int, index: int) -> None:
        self.owners.append(owner)
        self.indexes.append(index)

    def __len__(self) -> int:
        return len(self.owners)

    def __getitem__(self, index: int) -> Path:  # type: ignore[override]
        return self.lists[self.owners[index]].add_key(self.indexes[index], None)


def _order(path: tuple[str | int, ...]) -> tuple[tuple[int, str | int], ...]:
    """Sorts the paths of one level by position (keys and indexes never compared with each other)."""
    return tuple((0, s) if isinstance(s, int) else (1, s) for s in path)


def _key(path: Path | None, key: str) -> Path:
    return Path(path, key, None)


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
            variables: dict[str, Any] | None, context: Any, root_value: Any, executor_class: type[Any]) -> Prepared:
    """The operation's plan, from the cache or compiled; raises Fallback for what graphql-core must run."""
    facts = cache.facts(query, document)
    if facts.incremental:
        raise Fallback("@defer/@stream")
    executor = executor_class.build(strawberry_schema._schema, document, root_value, context, variables,
                                    operation_name)
    if isinstance(executor, list):
        return Prepared(None, None, None, errors=executor)
    conditions = tuple(sorted((k, executor.variable_values.coerced.get(k)) for k in facts.condition_variables))
    key = (query, operation_name, conditions)

    def build() -> tuple[OperationPlan, Planner]:
        planner = Planner(executor, facts.condition_variables)
        return planner.operation_plan(), planner

    plan, planner = cache.get(key, build)
    return Prepared(executor, plan, planner)


async def run_prepared(strawberry_schema: Any, prepared: Prepared) -> ExecutionResult:
    """The prepared operation's result."""
    if prepared.errors is not None or prepared.plan is None or prepared.planner is None:
        return ExecutionResult(data=None, errors=prepared.errors)
    run = _Run(prepared.executor, prepared.planner, strawberry_schema)
    results = await run.selection(prepared.plan.root, [prepared.executor.root_value], [None])
    data = results[0]
    if data is INVALID:
        run.errors.nulled.add(())
        data = None
    return ExecutionResult(data=data, errors=run.errors.kept() or None)


def value_at(data: Any, path: tuple[str | int, ...]) -> tuple[bool, Any]:
    """(found, value) of the response at `path`."""
    value = data
    for segment in path:
        if isinstance(segment, int):
            if not (isinstance(value, list) and 0 <= segment < len(value)):
                return False, None
            value = value[segment]
        else:
            if not (isinstance(value, dict) and segment in value):
                return False, None
            value = value[segment]
    return True, value


def normalised_errors(data: Any, errors: Sequence[GraphQLError]) -> list[GraphQLError]:
    """Errors under the engine's rule (none from inside a nulled subtree), whichever executor produced them."""
    result = _Errors()
    for error in errors:
        path = tuple(error.path or ())
        result.found.append((error, path))
        for n in range(len(path) + 1):
            found, value = value_at(data, path[:n])
            if found and value is None:
                result.nulled.add(path[:n])
    if data is None:
        result.nulled.add(())
    return result.kept()
