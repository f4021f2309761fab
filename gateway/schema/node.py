"""The Relay Node interface: every type with a global id, fetchable through `node(id:)`."""

from __future__ import annotations

import strawberry


@strawberry.interface(description="An object with a global id.")
class Node:
    @strawberry.field(description="Global id, accepted by `node(id:)`.")
    def id(self) -> strawberry.ID:
        raise NotImplementedError
