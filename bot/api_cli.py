"""``arena api`` (serve the REST API) and ``arena apikey create|list|revoke`` (registered by
``bot.cli``). Errors are one line on stderr with exit 2 (``bot.cli.main``)."""

from __future__ import annotations

import json
import os
import signal
from typing import Annotated

import typer

from core import formatting

USER_HELP = ("The key's user as PLATFORM:ID with the platform's numeric user id (telegram:12345); "
             "a console user by name (console:alice).")


def _stopped(signum: int, frame: object) -> None:
    """SIGTERM after uvicorn's graceful shutdown: nothing left to do."""


def register(app: typer.Typer) -> None:
    """Add the API commands to the ``arena`` CLI."""
    keys = typer.Typer(help="Per-user REST API keys (shown once, stored hashed).", no_args_is_help=True)
    app.add_typer(keys, name="apikey")

    @keys.command("create")
    def create(user: Annotated[str, typer.Option("--user", help=USER_HELP)],
               label: Annotated[str, typer.Option("--label", help="A name to recognise the key by.")] = "",
               json_output: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
        """Create an API key for a user; the key is printed once and never stored."""
        from bot.cli_support import open_db
        from core import access

        platform, user_id = access.parse_user_ref(user)
        db = open_db()
        with db.uow() as uow:
            created = access.create_in(uow.session, db.clock, platform, user_id, label)
            uow.commit()
        if json_output:
            typer.echo(json.dumps({"key_id": created.key_id, "prefix": created.prefix, "key": created.key}))
        else:
            typer.echo(f"API key #{created.key_id} for {platform}:{user_id} (shown only now):\n{created.key}")

    @keys.command("list")
    def list_keys(user: Annotated[str, typer.Option("--user", help=USER_HELP)],
                  json_output: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
        """A user's keys with their last use (never the keys themselves)."""
        from bot.cli_support import open_db
        from core import access

        platform, user_id = access.parse_user_ref(user)
        db = open_db()
        with db.uow(read_only=True) as uow:
            rows = access.list_in(uow.session, platform, user_id)
        if json_output:
            typer.echo(json.dumps([{"key_id": k.key_id, "prefix": k.prefix, "label": k.label,
                                    "created_at": k.created_at.isoformat(),
                                    "last_used_at": k.last_used_at.isoformat() if k.last_used_at else None,
                                    "revoked_at": k.revoked_at.isoformat() if k.revoked_at else None}
                                   for k in rows]))
            return
        if not rows:
            typer.echo(f"{platform}:{user_id} has no API keys.")
        for k in rows:
            used = formatting.datetime_text(k.last_used_at) if k.last_used_at else "never used"
            state = f"revoked {formatting.datetime_text(k.revoked_at)}" if k.revoked_at else used
            typer.echo(f"#{k.key_id} ta_{k.prefix}_... {k.label or '-'}: created "
                       f"{formatting.datetime_text(k.created_at)}, {state}")

    @keys.command("revoke")
    def revoke(key_id: Annotated[int, typer.Argument(help="The key's number (see `arena apikey list`).")],
               user: Annotated[str, typer.Option("--user", help=USER_HELP)]) -> None:
        """Revoke one of a user's keys (at once, for every API worker)."""
        from bot.cli_support import open_db
        from core import access

        platform, user_id = access.parse_user_ref(user)
        db = open_db()
        with db.uow() as uow:
            done = access.revoke_in(uow.session, db.clock, platform, user_id, key_id)
            uow.commit()
        typer.echo(f"API key #{key_id} revoked." if done else f"API key #{key_id} was already revoked.")

    @app.command("api")
    def api(service: Annotated[str, typer.Option(
                "--service", help="exchange | optimizer | importer | compliance | dashboard | all")] = "all",
            host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
            port: Annotated[int | None, typer.Option(
                "--port", help="Port (default: exchange 8800, optimizer 8801, importer 8802, "
                "compliance 8803, dashboard 8804, all 8800).", min=1, max=65535)] = None,
            workers: Annotated[int, typer.Option("--workers", min=1, max=32,
                                                 help="Worker processes.")] = 1) -> None:
        """Serve the REST API: one service's routers on its port, or `all` on one port. OpenAPI at
        /openapi.json, docs at /docs, health at /healthz. SIGTERM stops it cleanly."""
        import uvicorn

        from bot.cli_support import database_url, open_db
        from bot.web.app import PORTS, service_names
        from bot.web.server import SERVICES_ENV
        from core.config import get_settings
        from core.errors import ValidationError

        try:
            names = service_names({service})
        except ValueError as error:
            raise ValidationError(str(error)) from None
        from bot.demo.clock import continue_demo_clock

        checked = open_db()  # the usual database checks, before any worker starts
        note = continue_demo_clock(checked, "the API")  # each worker does the same
        checked.dispose()
        if note:
            typer.echo(note, err=True)
        os.environ[SERVICES_ENV] = service
        os.environ["ARENA_DB_URL"] = database_url(get_settings().db_url)
        chosen = port or PORTS.get(service, PORTS["exchange"])
        typer.echo(f"Serving {', '.join(names)} on http://{host}:{chosen} (docs at /docs)", err=True)
        # uvicorn drains on SIGTERM and then re-raises the signal to the handler it found; a quiet
        # handler here makes a clean stop exit 0 (as `arena serve` does).
        signal.signal(signal.SIGTERM, _stopped)
        uvicorn.run("bot.web.server:app_from_env", factory=True, host=host, port=chosen, workers=workers,
                    log_level="warning", access_log=False)
