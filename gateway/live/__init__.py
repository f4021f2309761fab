"""Live subscriptions: one refresh per question per change, pushed to every subscriber asking it.

    ingest / mutation ──COMMIT──▶ NOTIFY callpulse_changes {tenant, scopes, span} | {tenant, config}
        │ (every gateway process LISTENs on its own connection: listener.py, reconnects and resyncs)
        ▼
    LiveHub.on_change ──▶ groups whose Interest the change touches (tenant, scope, time span, widget)
        │ debounce, at most one refresh in flight per group (hub.py)
        ▼
    Group refresh (questions.py): a short tenant transaction of its own ─▶ the field's source (the resolvers
        queries use) ─▶ the subscription's selection set executed once ─▶ serialised once ─▶ if it changed,
        offered to each subscriber's mailbox (latest state only; a feed keeps a bounded queue)
        ▼
    each websocket operation's task sends its mailbox's payload as it is (websocket.py); a slow socket
        only delays its own task

Groups are keyed by (field, tenant, document, operation, variables, role scope): subscribers asking the same
question under the same rules share one. Nothing is held between refreshes (no connection, no loader cache);
the last subscriber out removes the group. Relative ranges roll over at the tenant's local midnight through
gateway/clock.py. liveCalls (feed.py) is a feed, not a state: batches of calls in commit order, resumable
from snapshot cursors.
"""

from gateway.live.hub import LiveHub
from gateway.live.listener import ChangeListener

__all__ = ["ChangeListener", "LiveHub"]
