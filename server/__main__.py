"""Command line: `python -m server [serve]`, `migrate`, `create-user`, `add-credits`, `set-default-limits`,
`admin-token`, `run` (server + Envoy), `catalog check` (compare the catalog with the providers' own model lists)."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys

import uvloop

from server.app import serve
from server.catalog import drift
from server.catalog.catalog import CatalogError
from server.config import get_settings
from server.db.migrate import upgrade
from server.domain import users
from server.domain.money import nanos_to_usd
from server.errors import HubError, ValidationFailed
from server.hub import Hub
from server.runner import run_all
from server.services.admin import default_limit_fields


def _setup_logging() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)


def _loop_policy() -> None:
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())


async def _with_hub(fn):

    hub = Hub.create(get_settings())
    try:
        return await fn(hub)
    finally:
        await hub.close()


def cmd_serve(args: argparse.Namespace) -> None:

    if not getattr(args, "no_migrate", False):
        upgrade()
    _loop_policy()
    asyncio.run(serve(get_settings()))


def cmd_migrate(_args: argparse.Namespace) -> None:

    upgrade()
    print("database migrated to head")


def cmd_create_user(args: argparse.Namespace) -> None:

    upgrade()
    try:
        user, key = asyncio.run(_with_hub(lambda hub: users.create_user(hub, args.email, args.credits)))
    except HubError as exc:
        sys.exit(f"error: {exc.detail}")
    result = {
        "user_id": user.id,
        "email": user.email,
        "api_key": key.plaintext,
        "api_key_id": key.row.id,
        "credits": nanos_to_usd(user.balance_nanos),
    }
    if args.json:
        print(json.dumps(result))
    else:
        print(f"Created user {user.email} (id {user.id}) with ${result['credits']:.2f} credits.")
        print("API key (shown once, store it now):")
        print(key.plaintext)


def cmd_add_credits(args: argparse.Namespace) -> None:

    upgrade()
    try:
        user, txn = asyncio.run(_with_hub(lambda hub: users.add_credits(hub, args.email, args.amount)))
    except HubError as exc:
        sys.exit(f"error: {exc.detail}")
    print(f"Added ${args.amount:.2f} to {user.email}: balance ${nanos_to_usd(user.balance_nanos):.2f} ({txn})")


def cmd_set_default_limits(args: argparse.Namespace) -> None:

    upgrade()
    given = {
        "requests_per_minute": args.requests_per_minute,
        "tokens_per_minute": args.tokens_per_minute,
        "max_concurrent_requests": args.max_concurrent_requests,
        "budget_usd": args.budget_usd,
        "budget_period": args.budget_period,
    }
    try:
        user = asyncio.run(_with_hub(lambda hub: users.set_default_limits(hub, args.email, given)))
    except ValidationFailed as exc:
        sys.exit("error: " + "; ".join(e["msg"] for e in exc.errors))
    except HubError as exc:
        sys.exit(f"error: {exc.detail}")
    print(f"Default limits of {user.email} for new keys: {json.dumps(default_limit_fields(user)) or 'none'}")


def cmd_admin_token(_args: argparse.Namespace) -> None:
    """Prints the AdminService token (generating it into the data directory when HUB_ADMIN_TOKEN is unset)."""
    print(get_settings().resolved_admin_token())


def cmd_run(_args: argparse.Namespace) -> None:

    sys.exit(run_all(get_settings()))


def cmd_catalog_check(args: argparse.Namespace) -> None:
    """Exit status: 0 no drift, 1 drift found, 2 a provider could not be checked (or a bad argument)."""

    logging.getLogger("httpx").setLevel(logging.WARNING)  # the table is the output, not one line per request
    try:
        code = asyncio.run(drift.run(get_settings().catalog_dir, args.provider, args.write, sys.stdout))
    except CatalogError as exc:
        sys.exit(f"error: {exc}")
    sys.exit(code)


def main(argv: list[str] | None = None) -> None:
    _setup_logging()
    parser = argparse.ArgumentParser(prog="python -m server", description=__doc__)
    sub = parser.add_subparsers(dest="command")
    serve_cmd = sub.add_parser("serve", help="run the gRPC server (default)")
    serve_cmd.add_argument("--no-migrate", action="store_true", help="skip migrations (another process ran them)")
    serve_cmd.set_defaults(fn=cmd_serve)
    sub.add_parser("run", help="run the gRPC server and Envoy together until Ctrl-C").set_defaults(fn=cmd_run)
    sub.add_parser("migrate", help="apply database migrations").set_defaults(fn=cmd_migrate)
    create = sub.add_parser("create-user", help="create a user and print a new API key")
    create.add_argument("--email", required=True)
    create.add_argument("--credits", type=float, default=0.0, help="starting credits in USD")
    create.add_argument("--json", action="store_true", help="print one JSON object on the last line")
    create.set_defaults(fn=cmd_create_user)
    credit = sub.add_parser("add-credits", help="add credits to a user (recorded in the ledger)")
    credit.add_argument("--email", required=True)
    credit.add_argument("--amount", type=float, required=True, help="USD to add")
    credit.set_defaults(fn=cmd_add_credits)
    catalog = sub.add_parser("catalog", help="catalog tools").add_subparsers(dest="catalog_command", required=True)
    check = catalog.add_parser(
        "check",
        help="list each configured provider's models with the operator's key and print, as a table, the ids "
        "the catalog lacks and the catalog ids the provider no longer lists (exit 1 on drift, 2 on errors)",
    )
    check.add_argument("--provider", help="check only this provider (default: every configured one)")
    check.add_argument(
        "--write", metavar="DIR", help="add the missing models to DIR/<provider>.json as disabled, unpriced entries"
    )
    check.set_defaults(fn=cmd_catalog_check)
    defaults = sub.add_parser(
        "set-default-limits", help="set (replace) the limits a user's new API keys get; omitted: no such limit"
    )
    defaults.add_argument("--email", required=True)
    defaults.add_argument("--requests-per-minute", type=int)
    defaults.add_argument("--tokens-per-minute", type=int)
    defaults.add_argument("--max-concurrent-requests", type=int)
    defaults.add_argument("--budget-usd", type=float)
    defaults.add_argument("--budget-period", choices=("day", "week", "month", "total"))
    defaults.set_defaults(fn=cmd_set_default_limits)
    token = sub.add_parser("admin-token", help="print the AdminService token (authorization: Bearer <token>)")
    token.set_defaults(fn=cmd_admin_token)
    args = parser.parse_args(argv)
    getattr(args, "fn", cmd_serve)(args)


if __name__ == "__main__":
    main()
