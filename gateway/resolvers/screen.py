"""Screen tokens: issuing, listing and revoking them (admin), and a screen renewing its own.

The credential rules (minting, admission, read-only, revocation of open sockets) are gateway/screens.py's; these
are the GraphQL operations on the grants. Another tenant's grant, like one that does not exist, is NOT_FOUND.
"""

from __future__ import annotations

from typing import Final
from uuid import UUID

from gateway.auth import Principal, Role
from gateway.context import Context
from gateway.errors import BadUserInput, Forbidden, NotFound, Unauthenticated
from gateway.ids import decode_id
from gateway.loaders import screen as screen_sql
from gateway.loaders.screen import MAX_DAYS, ScreenTokenRow
from gateway.schema.screen import IssuedScreenToken, ScreenToken
from gateway.screens import ScreenSigner, cannot_sign, refusal, require_manager, signal_revoked

MAX_LABEL: Final = 200


def _admin(context: Context) -> Principal:
    return require_manager(context.require(Role.ADMIN))


def _signer(context: Context) -> ScreenSigner:
    screens = context.screens
    if screens is None or screens.signer.secret is None:
        raise cannot_sign()
    return screens.signer


def _key(global_id: str, type_name: str, argument: str) -> UUID:
    try:
        return decode_id(global_id, type_name)[1]
    except BadUserInput as e:
        raise BadUserInput(e.message, argument=argument) from e


def _issued(context: Context, signer: ScreenSigner, row: ScreenTokenRow) -> IssuedScreenToken:
    minted = signer.mint(context.require().tenant_id, row)
    return IssuedScreenToken(screen_token=ScreenToken(row=row), token=minted.token,
                             token_expires_at=minted.expires_at)


async def issue(context: Context, user_id: str, label: str, days: int) -> IssuedScreenToken:
    """A new grant for `user_id`'s dashboard, `days` long, and its first token."""
    principal = _admin(context)
    signer = _signer(context)
    owner = _key(user_id, "User", "userId")
    if not label.strip() or len(label) > MAX_LABEL:
        raise BadUserInput(f"the label must be 1 to {MAX_LABEL} characters, not only spaces", argument="label")
    if not 1 <= days <= MAX_DAYS:
        raise BadUserInput(f"days must be between 1 and {MAX_DAYS}", argument="days")
    row = await screen_sql.insert(context.db, owner, label, principal.user_id, days)
    if row is None:
        raise NotFound("no user with this id", argument="userId")
    return _issued(context, signer, row)


async def renew(context: Context) -> IssuedScreenToken:
    """A fresh token for the screen asking, while its grant holds."""
    principal = context.require()
    if principal.screen_id is None:
        raise Forbidden("renewScreenToken renews a screen token: call it with the screen's own token",
                        reason="not_a_screen")
    signer = _signer(context)
    row = await screen_sql.renew(context.db, principal.screen_id)
    if row is None:
        # Revoked or ended since the socket was admitted (over HTTP the view refuses it before this runs).
        refused = refusal(await screen_sql.grant_state(context.db, principal.screen_id))
        raise refused or Unauthenticated("the screen token has been revoked", reason="revoked_token")
    return _issued(context, signer, row)


async def revoke(context: Context, screen_token_id: str) -> ScreenToken:
    """Ends the grant now (revoking it again changes nothing); its open sockets close within a second."""
    _admin(context)
    row = await screen_sql.revoke(context.db, _key(screen_token_id, "ScreenToken", "id"))
    if row is None:
        raise NotFound("no such screen token", argument="id")
    await signal_revoked(context.db, row.id)
    return ScreenToken(row=row)


async def screen_tokens(context: Context, include_inactive: bool) -> list[ScreenToken]:
    """The tenant's grants, newest first: those that hold, or all of them."""
    _admin(context)
    return [ScreenToken(row=r) for r in await screen_sql.screen_tokens(context.db, include_inactive)]
