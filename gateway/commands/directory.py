"""`callpulse tenants create | list` and `callpulse users create | list`: provisioning from the command line."""

from __future__ import annotations

import argparse
import shlex
from uuid import UUID

import asyncpg

from gateway import provisioning
from gateway.auth import Role
from gateway.commands.common import announced_signing_secret, mint, prepared_admin_dsn
from gateway.settings import Settings


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The `tenants` and `users` subcommands."""
    tenants = sub.add_parser("tenants", help="create and list tenants").add_subparsers(dest="action", required=True)
    tc = tenants.add_parser("create", help="create a tenant; prints its id")
    tc.add_argument("--name", required=True)
    tc.add_argument("--timezone", required=True, help="IANA name, e.g. Europe/Berlin: local days follow it")
    tc.add_argument("--id", type=UUID, default=None, metavar="UUID",
                    help="the tenant's id, when the platform already has one")
    tenants.add_parser("list", help="every tenant: id, timezone, users, name")
    users = sub.add_parser("users", help="create and list directory users")
    actions = users.add_subparsers(dest="action", required=True)
    uc = actions.add_parser("create", help="create a user; prints its id and how to mint its token")
    uc.add_argument("--tenant", type=UUID, required=True, metavar="TENANT_ID")
    uc.add_argument("--email", required=True)
    uc.add_argument("--name", required=True, help="name to show")
    uc.add_argument("--role", required=True, choices=[r.value for r in provisioning.USER_ROLES])
    uc.add_argument("--agent", type=UUID, default=None, metavar="AGENT_ID",
                    help="the agent this user works as (required for agent)")
    uc.add_argument("--manages", type=UUID, nargs="+", action="extend", default=[], metavar="TEAM_ID",
                    help="teams a manager manages")
    uc.add_argument("--external-subject", default=None, metavar="SUB",
                    help="the identity provider's `sub` for this user")
    uc.add_argument("--token", action="store_true", help="print a token for the user instead of the command")
    ul = actions.add_parser("list", help="a tenant's users")
    ul.add_argument("--tenant", type=UUID, required=True, metavar="TENANT_ID")


async def tenants(settings: Settings, args: argparse.Namespace) -> None:
    """`callpulse tenants …`."""
    conn = await asyncpg.connect(await prepared_admin_dsn(settings))
    try:
        if args.action == "create":
            tenant = await provisioning.create_tenant(conn, name=args.name, timezone=args.timezone,
                                                      tenant_id=args.id)
            print(tenant.id)
            print(f"# tenant {tenant.name!r} ({tenant.timezone}); next, its first admin:\n"
                  f"callpulse users create --tenant {tenant.id} --email EMAIL --name NAME --role admin")
            return
        for t in await provisioning.list_tenants(conn):
            print(f"{t.id}  {t.timezone:<24} {t.users:>5} users  {t.name}")
    finally:
        await conn.close()


async def users(settings: Settings, args: argparse.Namespace) -> None:
    """`callpulse users …`."""
    # The secret first: a refused --token must not leave a user behind.
    secret = announced_signing_secret(settings) if args.action == "create" and args.token else None
    conn = await asyncpg.connect(await prepared_admin_dsn(settings))
    try:
        if args.action == "create":
            new = provisioning.NewUser(tenant_id=args.tenant, email=args.email, display_name=args.name,
                                       role=Role(args.role), agent_id=args.agent, manages=tuple(args.manages),
                                       external_subject=args.external_subject)
            user = await provisioning.create_user(conn, new)
            print(user.id)
            if secret is not None:
                print(mint(settings, secret, user.tenant_id, str(user.id), [user.role.value]))
            else:
                print(shlex.join(["callpulse", "token", "--tenant", str(user.tenant_id), "--user", str(user.id),
                                  "--role", user.role.value]))
            return
        for u in await provisioning.list_users(conn, args.tenant):
            extras = [f"agent={u.agent_id}"] if u.agent_id else []
            extras += [f"manages={','.join(map(str, u.manages))}"] if u.manages else []
            extras += [f"subject={u.external_subject}"] if u.external_subject else []
            print(f"{u.id}  {u.role:<8} {u.email:<32} {u.display_name}  {' '.join(extras)}".rstrip())
    finally:
        await conn.close()
