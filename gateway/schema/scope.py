"""What a live question or a widget measures: the whole tenant, a team, an agent or a campaign."""

from __future__ import annotations

from uuid import UUID

import strawberry

from gateway.errors import BadUserInput
from gateway.ids import decode_id, encode_id
from gateway.metrics import Scope

ScopeKind = strawberry.enum(Scope, name="ScopeKind", description="What figures describe.")

# The global-id type of each scope's entity.
ENTITY_TYPES: dict[Scope, str] = {Scope.TEAM: "Team", Scope.AGENT: "Agent", Scope.CAMPAIGN: "Campaign"}


@strawberry.input(description="A scope: `kind` TENANT alone, or TEAM / AGENT / CAMPAIGN with the entity's `id`.")
class ScopeInput:
    kind: ScopeKind = strawberry.field(description="What is measured.")  # type: ignore[valid-type]
    id: strawberry.ID | None = strawberry.field(default=None, description="The team's, agent's or campaign's id; "
                                                "none for TENANT.")


@strawberry.type(description="A scope, as it was asked for.")
class ScopeRef:
    kind: ScopeKind = strawberry.field(description="What is measured.")  # type: ignore[valid-type]
    id: strawberry.ID | None = strawberry.field(description="The team's, agent's or campaign's id; null for TENANT.")


def scope_key(scope: ScopeInput, argument: str = "scope") -> tuple[Scope, UUID | None]:
    """The scope and its entity's key (None for the tenant); BAD_USER_INPUT naming `argument` when malformed."""
    kind = Scope(scope.kind.value) if not isinstance(scope.kind, Scope) else scope.kind
    if kind is Scope.TENANT:
        if scope.id is not None:
            raise BadUserInput("a TENANT scope takes no id", argument=argument)
        return kind, None
    if scope.id is None:
        raise BadUserInput(f"a {kind.name} scope needs the {ENTITY_TYPES[kind].lower()}'s id", argument=argument)
    try:
        return kind, decode_id(scope.id, ENTITY_TYPES[kind])[1]
    except BadUserInput as e:
        raise BadUserInput(e.message, argument=argument) from e


def scope_ref(kind: Scope, entity: UUID | None) -> ScopeRef:
    return ScopeRef(kind=kind, id=strawberry.ID(encode_id(ENTITY_TYPES[kind], entity)) if entity else None)
