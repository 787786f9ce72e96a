"""``arena dashboard`` (serve the dashboard alone) and ``arena dashboard-link --user PLATFORM:ID``
(a one-time sign-in link from the terminal, like ``/dashboard`` in chat). Registered by ``bot.cli``."""

from __future__ import annotations

import signal
from typing import Annotated

import typer

from core.errors import NotFound, ValidationError

DEFAULT_PORT = 8804


def issue_link_for(user_text: str) -> str:
    """Issue a link for an existing user (or a configured platform admin); returns the URL."""
    from bot.cli_support import open_db
    from core.access import parse_user_ref
    from core.compliance import dashboard_login
    from core.compliance.identity import admin_ids, find_user, get_or_create_user
    from core.config import get_settings

    platform, user_id = parse_user_ref(user_text)
    settings = get_settings()
    from bot.demo.clock import continue_demo_clock

    db = open_db()
    continue_demo_clock(db)  # the link's 10 minutes in the time the dashboard reads
    try:
        with db.uow() as uow:
            user = find_user(uow.session, platform, user_id)
            if user is None and (platform, user_id) in admin_ids(settings):
                user = get_or_create_user(uow.session, platform, user_id, "", db.clock)
            if user is None:
                raise NotFound(f"No user {platform}:{user_id}; they must write to the bot first.")
            url = dashboard_login.issue_link(uow.session, settings, user, db.clock.now())
            uow.commit()
    finally:
        db.dispose()
    return url


def _exit_cleanly(signum: int, frame: object) -> None:
    raise SystemExit(0)


def register(app: typer.Typer) -> None:
    """Add the dashboard commands to the ``arena`` CLI."""

    @app.command("dashboard-link")
    def dashboard_link(
        user: Annotated[str, typer.Option("--user", help="Who signs in: PLATFORM:ID, e.g. telegram:12345 "
                                                    "(a console user by name: console:alice).")],
    ) -> None:
        """Print a one-time dashboard sign-in link (valid 10 minutes) for an organisation admin or a
        platform admin."""
        typer.echo(issue_link_for(user))

    @app.command("dashboard")
    def dashboard(
        host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
        port: Annotated[int, typer.Option("--port", help="Port to listen on.")] = DEFAULT_PORT,
    ) -> None:
        """Serve the admin dashboard and the public performance pages (default 127.0.0.1:8804).
        Links from /dashboard point at ARENA_DASHBOARD_URL."""
        import uvicorn

        from bot.cli_support import open_db
        from bot.web.dashboard.standalone import create_dashboard_app
        from core.config import get_settings

        if not 0 < port < 65536:
            raise ValidationError("--port must be between 1 and 65535")
        from bot.demo.clock import continue_demo_clock

        db = open_db()
        note = continue_demo_clock(db, "the dashboard")
        if note:
            typer.echo(note, err=True)
        # uvicorn shuts down gracefully on SIGTERM, then re-raises the signal to the handler that
        # was there before it: make that one exit 0, as `arena serve` does.
        signal.signal(signal.SIGTERM, _exit_cleanly)
        try:
            uvicorn.run(create_dashboard_app(db, get_settings()), host=host, port=port, log_level="info")
        finally:
            db.dispose()
