"""``arena backup FILE`` and ``arena restore FILE [--force]`` (registered by ``bot.cli``).

The database is the global ``--db`` / ``ARENA_DB_URL``. See :mod:`core.backup` for how each dialect
is copied. Errors are one line on stderr with exit 2 (``bot.cli.main``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from core.config import get_settings


def register(app: typer.Typer) -> None:
    """Add the backup commands to the ``arena`` CLI."""

    @app.command("backup")
    def backup_command(
        target: Annotated[Path, typer.Argument(metavar="FILE", help="Where to write the backup.")],
        json_output: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    ) -> None:
        """Write a consistent backup of the database while it runs (SQLite online backup API;
        pg_dump for PostgreSQL)."""
        from core.backup import backup

        result = backup(get_settings().db_url, target)
        if json_output:
            typer.echo(json.dumps({"ok": True, "path": result.path, "dialect": result.dialect,
                                   "bytes": result.bytes}))
        else:
            typer.echo(f"Backup of the {result.dialect} database written to {result.path} "
                       f"({result.bytes:,} bytes).")

    @app.command("restore")
    def restore_command(
        source: Annotated[Path, typer.Argument(metavar="FILE", help="A backup written by `arena backup`.")],
        force: Annotated[bool, typer.Option("--force", help="Replace a database that holds data.")] = False,
        json_output: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    ) -> None:
        """Restore a backup into the database; refuses one that holds data unless --force.
        Run `arena ledger check` afterwards."""
        from core.backup import restore

        result = restore(get_settings().db_url, source, force=force)
        if json_output:
            typer.echo(json.dumps({"ok": True, "path": result.path, "dialect": result.dialect}))
        else:
            typer.echo(f"Restored the {result.dialect} database from {result.path}. "
                       "Check it with: arena ledger check")
