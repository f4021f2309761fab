"""Faults injected where both executors get a field's value, for as long as a test wants them.

    faults.field("Agent", "email", lambda agent, email: raise_(RuntimeError("boom")) if agent is victim else email)

A fault is a function of the parent object and the value the field would have had; it returns another value
or raises. It is applied to what both executors call, so both see the same fault whatever order they resolve
parents in:

- a resolver field: its Strawberry resolver (`wrapped_func`, which graphql-core calls through Strawberry and
  the engine calls directly), and its batched form when it has one (one result per parent, an exception for
  a failed parent);
- a plain attribute field: a data descriptor on the Python class, read by both through getattr;
- a loader: its batch function raises, failing every key of the batch.

Plans are cached per document with the batched forms they found, so the fixture gives the schema a new plan
cache while faults are installed.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from graphql import GraphQLObjectType
from strawberry.types.field import StrawberryField

from gateway.engine.batch import BATCH_ATTRIBUTE, batch_form
from gateway.engine.plan import PlanCache
from gateway.loaders._base import TenantLoader
from gateway.schema import schema

Fault = Callable[[Any, Any], Any]
_MISSING = object()


def raise_(error: BaseException) -> Any:
    raise error


class _FaultyAttribute:
    """A class attribute standing for a dataclass field: stores in the instance, reads through the fault."""

    def __init__(self, name: str, fault: Fault, applies: Callable[[Any], bool], default: Any) -> None:
        self.name, self.fault, self.applies, self.default = name, fault, applies, default

    def __get__(self, obj: Any, owner: type[Any] | None = None) -> Any:
        if obj is None:
            return self.default
        value = obj.__dict__.get(self.name, self.default)
        return self.fault(obj, value) if self.applies(obj) else value

    def __set__(self, obj: Any, value: Any) -> None:
        obj.__dict__[self.name] = value


class Faults:
    """Installed faults, undone by `restore` (the `faults` fixture does)."""

    def __init__(self) -> None:
        self._undo: list[Callable[[], None]] = []
        self._plans = schema.plan_cache
        schema.plan_cache = PlanCache()

    def restore(self) -> None:
        while self._undo:
            self._undo.pop()()
        schema.plan_cache = self._plans

    def field(self, type_name: str, field_name: str, fault: Fault) -> None:
        """Every value of `type_name.field_name` goes through `fault(parent, value)`."""
        type_ = schema._schema.type_map[type_name]
        assert isinstance(type_, GraphQLObjectType)
        definition = type_.fields[field_name].extensions["strawberry-definition"]
        assert isinstance(definition, StrawberryField)
        # One resolver can serve several types (Measurable.metrics): the fault is for this type's objects only
        # (Strawberry's is_type_of would not do: a Team passes Agent's, as both are Nodes).
        owner = _python_class(type_)
        root = type_ in (schema._schema.query_type, schema._schema.mutation_type)

        def applies(parent: Any) -> bool:
            return root or isinstance(parent, owner)

        # Plans keep the batched forms they found: compile them again with the fault in place.
        schema.plan_cache = PlanCache()

        if definition.base_resolver is not None:
            self._resolver(definition, fault, applies)
        else:
            self._attribute(type_, definition.python_name, fault, applies)

    def _resolver(self, definition: StrawberryField, fault: Fault, applies: Callable[[Any], bool]) -> None:
        resolver = definition.base_resolver
        assert resolver is not None
        original = resolver.wrapped_func
        parent_of = _parent_getter(resolver)

        def apply(parent: Any, value: Any) -> Any:
            return fault(parent, value) if applies(parent) else value

        if inspect.iscoroutinefunction(original):
            @functools.wraps(original)
            async def wrapper(*args: Any, **kwargs: Any) -> Any:
                return apply(parent_of(args, kwargs), await original(*args, **kwargs))
        else:
            @functools.wraps(original)
            def wrapper(*args: Any, **kwargs: Any) -> Any:
                return apply(parent_of(args, kwargs), original(*args, **kwargs))

        form = batch_form(original)
        if form is not None:
            async def batched(context: Any, parents: Sequence[Any], **arguments: Any) -> list[Any]:
                values = list(await form(context, parents, **arguments))
                out: list[Any] = []
                for parent, value in zip(parents, values, strict=True):
                    try:
                        out.append(value if isinstance(value, Exception) else apply(parent, value))
                    except Exception as e:
                        out.append(e)
                return out

            setattr(wrapper, BATCH_ATTRIBUTE, batched)
        resolver.wrapped_func = wrapper

        def undo() -> None:
            resolver.wrapped_func = original

        self._undo.append(undo)

    def _attribute(self, type_: GraphQLObjectType, name: str, fault: Fault, applies: Callable[[Any], bool]) -> None:
        cls = _python_class(type_)
        original = cls.__dict__.get(name, _MISSING)
        default = original if original is not _MISSING else None
        setattr(cls, name, _FaultyAttribute(name, fault, applies, default))

        def undo() -> None:
            if original is _MISSING:
                delattr(cls, name)
            else:
                setattr(cls, name, original)

        self._undo.append(undo)

    def loader(self, loader: type[TenantLoader[Any, Any]], error: Exception) -> None:
        """Every batch of `loader` fails with `error`."""
        original = loader.__dict__["batch_load_fn"]

        async def failing(self: Any, keys: Sequence[Any]) -> list[Any]:
            raise error

        loader.batch_load_fn = failing  # type: ignore[method-assign]

        def undo() -> None:
            loader.batch_load_fn = original  # type: ignore[method-assign]

        self._undo.append(undo)


def _python_class(type_: GraphQLObjectType) -> type[Any]:
    """The class of a type's objects: a generic type's are instances of the generic class (Connection)."""
    definition = type_.extensions["strawberry-definition"]
    cls: type[Any] = (definition.concrete_of or definition).origin
    return cls


def _parent_getter(resolver: Any) -> Callable[[tuple[Any, ...], dict[str, Any]], Any]:
    """How to find the parent object among a resolver's arguments."""
    if resolver.self_parameter is not None:
        return lambda args, kwargs: args[0] if args else None
    names = [p.name for p in (resolver.parent_parameter, resolver.root_parameter) if p is not None]
    return lambda args, kwargs: next((kwargs[n] for n in names if n in kwargs), None)


def faults_installed() -> Iterator[Faults]:
    faults = Faults()
    try:
        yield faults
    finally:
        faults.restore()
