"""``arena chat`` (registered by ``bot.cli`` through :func:`register`); serve: ``bot.serve_cli``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from core.config import get_settings


def register(app: typer.Typer) -> None:
    """Add the chat commands to the ``arena`` CLI."""

    @app.command()
    def chat(
        user: Annotated[
            str, typer.Option("--user", help="Your console user name (identity: a numeric id from it).")
        ],
        script: Annotated[
            Path | None,
            typer.Option("--script", help="Run one command per line from FILE and print the replies."),
        ] = None,
        admin: Annotated[
            list[str] | None,
            typer.Option(
                "--admin", help="Console user NAME that is a platform admin (repeatable; local only)."
            ),
        ] = None,
        files: Annotated[Path, typer.Option("--files", help="Folder for charts.")] = Path("arena-chat-files"),
    ) -> None:
        """Talk to the platform in the terminal: buttons are numbered, `press N` presses one."""
        from bot.cli_support import open_db
        from bot.console_chat import ConsoleChat, console_user_id
        from bot.wiring import command_hooks, install_safety
        from core.commands.dispatcher import CommandLayer

        settings = get_settings()
        if admin:
            extra = ",".join(f"console:{console_user_id(name)}" for name in admin)
            settings = settings.model_copy(
                update={"platform_admins": ",".join(filter(None, [settings.platform_admins, extra]))}
            )
        install_safety()
        db = open_db(ensure_schema=True)
        layer = CommandLayer(db, settings, hooks=command_hooks(db, settings))
        console = ConsoleChat(layer, user, write=typer.echo, files_dir=files)
        layer.notifier = console  # pushes (exchange fills, co-owner notices) print in the terminal
        try:
            if script is not None:
                console.run_script(script.read_text().splitlines())
                return
            typer.echo(
                f"Console chat as {user} (id {console_user_id(user)}). /help lists commands; quit to leave."
            )
            for line in sys.stdin:
                if line.strip().lower() in ("quit", "exit"):
                    break
                console.handle(line)
        finally:
            db.dispose()
