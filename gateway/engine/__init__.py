"""Planned, level-by-level execution of validated operations under the Strawberry schema.

    (query text, operation name, @skip/@include variables) ──compile once──▶ Plan   (plan.py, cached)
        Plan: per (object type, selection set) the fields to run, each with how to get its value —
        a plain attribute, a Strawberry resolver, or __typename — and its return type
    execute (execute.py), one level at a time, for all parent objects of that level together:
        resolve the field for every parent (attributes read in a loop; resolvers called with their arguments
        converted once per level, awaited together so loaders see every key of the level in one batch)
        ─▶ complete, a field's values as one column: how is decided per return type when the plan is made (a
           Shape); a plain column — no null where none may be, no failure — is coerced in one pass or run as the
           next level at once, anything else value by value; objects collected across parents
        ─▶ errors located at their path, null propagated to the nearest nullable parent, errors of subtrees
           that were nulled dropped (graphql-core's rule, made deterministic)
    extension.py: a Strawberry SchemaExtension that answers `on_execute` with the engine's result, so parsing,
        validation, limits, the operation's transaction and error codes stay exactly as they are.

What the engine does not cover falls back to graphql-core, per operation: introspection (`__schema`,
`__type`), subscriptions, `@defer`/`@stream`. `CALLPULSE_EXECUTOR=graphql-core` selects graphql-core for every
operation (the reference); `CALLPULSE_EXECUTOR_SHADOW=true` (the test suite) runs both and fails on any difference.
"""

from gateway.engine.execute import prepare, run_prepared
from gateway.engine.plan import Fallback

__all__ = ["Fallback", "prepare", "run_prepared"]
