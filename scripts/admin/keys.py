"""Admin keys, straight to storage through the composition root: never through the API, so that a stolen key
cannot mint another."""

from __future__ import annotations

import argparse
import getpass
from collections.abc import Mapping
from typing import Any

from scripts.admin.api import ApiError
from scripts.admin.output import Output, when

KEY_WARNING = (
    "Store this key now, in a password manager or the deployment's secret store: it is shown once, only its hash is "
    "kept, and it cannot be recovered. Give it to this command as ADMIN_API_KEY in the environment, never as an "
    "argument."
)
KEY_COLUMNS = ("key_id", "name", "role", "created (UTC+8)", "revoked (UTC+8)")


def cmd_keys(args: argparse.Namespace, env: dict[str, str], output: Output) -> int:
    from scripts.ops import local_env
    from shared import bootstrap, errors, log

    if args.local or not env.get("SERVER_SECRET"):
        if not args.local:
            output.error("note: SERVER_SECRET is not set: using the running `make dev` system (--local)")
        try:
            env = {**env, **local_env(env)}
        except SystemExit as exc:
            raise ApiError(0, "NO_LOCAL_SYSTEM", str(exc)) from None
    bootstrap.reset(env)
    log.configure(stream=output.err)  # the services' log lines (the audit's too) must not mix with the answer
    try:
        keys = bootstrap.container().admin.keys
        if args.action == "create":
            created = keys.create(user(), args.name, args.role)
            output.show(
                created, lambda: output.fields("New admin key", [*_key_fields(created), ("key", created["key"])])
            )
            output.error(KEY_WARNING)
        elif args.action == "list":
            listed = keys.list()
            output.show(listed, lambda: output.table("Admin keys", KEY_COLUMNS, [_key_row(k) for k in listed]))
        else:
            revoked = keys.revoke(user(), args.key_id)
            output.show(revoked, lambda: output.fields("Revoked admin key", _key_fields(revoked)))
        return 0
    except errors.AppError as exc:
        raise ApiError(exc.status, exc.code, exc.message, exc.details) from None
    finally:
        log.configure(stream=None)
        bootstrap.reset()


def user() -> str:
    """Who runs the command: the audit's actor is `cli:<user>`."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # a container without a passwd entry nor USER
        return "unknown"


def _key_row(key: Mapping[str, Any]) -> list[Any]:
    return [key["key_id"], key["name"], key["role"], when(key["created_at"]), when(key.get("revoked_at"))]


def _key_fields(key: Mapping[str, Any]) -> list[tuple[str, Any]]:
    return list(zip(KEY_COLUMNS, _key_row(key), strict=True))
