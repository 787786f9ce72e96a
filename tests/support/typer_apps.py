"""Typer apps with one area's commands registered, for CliRunner tests."""

from __future__ import annotations

from collections.abc import Callable

import typer


def app_with(register: Callable[[typer.Typer], None]) -> typer.Typer:
    """A Typer app with ``register``'s commands and a second command (so Typer keeps sub-command names)."""
    app = typer.Typer()
    register(app)

    @app.command()
    def version() -> None:
        pass

    return app
