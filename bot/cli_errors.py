"""The one place where the ``arena`` CLI turns errors into what a person reads.

:func:`run_cli` runs the Typer app (every command, including those other modules register from
``bot/cli.py``) and maps the errors that are the user's, not the program's, to **one line on stderr
and exit code 2**, never a traceback:

* :class:`core.errors.ArenaError` (bad input, missing files, reversed dates, empty ranges, ...);
* Click's usage errors (unknown option, missing or invalid argument), with a pointer to ``--help``;
* an unreachable or locked database (the URL shown with its password hidden);
* a file the user named that cannot be read or written (``OSError`` carrying a file name).

Anything else is a bug and keeps its traceback. Commands raise :class:`ArenaError` subclasses for
user errors; they never print errors or choose exit codes themselves.
"""

from __future__ import annotations

import logging
import sys
from typing import Any, NoReturn

import click
import typer

from core.errors import ArenaError

log = logging.getLogger(__name__)

USER_ERROR = 2


def fail(message: str, code: int = USER_ERROR) -> NoReturn:
    """Print ``error: message`` as one line on stderr and exit."""
    line = " ".join(message.split())  # one line, whatever the message contained
    print(f"error: {line}", file=sys.stderr)
    sys.exit(code)


def _usage(error: click.UsageError) -> str:
    ctx = error.ctx
    where = f"arena {ctx.command_path.split(' ', 1)[1]}" if ctx and " " in ctx.command_path else "arena"
    return f"{error.format_message()} (see `{where} --help`)"


def _database(error: Exception) -> str:
    from sqlalchemy.engine import make_url

    from bot.cli_support import database_url
    from core.config import get_settings

    try:
        where = make_url(database_url(get_settings().db_url)).render_as_string(hide_password=True)
    except Exception:  # the URL itself is unreadable: do not echo it (it may hold a password)
        log.debug("database URL not renderable", exc_info=True)
        where = "the configured database"
    orig = getattr(error, "orig", None)
    reason = str(orig).splitlines()[0] if orig else type(error).__name__
    return f"cannot use the database {where}: {reason}"


def run_cli(app: typer.Typer, args: list[str] | None = None) -> NoReturn:
    """Run ``app`` and exit with its code; user errors become one line and exit code 2."""
    from sqlalchemy.exc import OperationalError

    try:
        result: Any = app(args=args, standalone_mode=False)
    except click.exceptions.NoArgsIsHelpError as error:
        click.echo(error.ctx.get_help() if error.ctx else "", err=True)
        sys.exit(USER_ERROR)
    except click.UsageError as error:
        fail(_usage(error))
    except click.exceptions.Abort:
        fail("aborted", 130)
    except ArenaError as error:
        fail(error.message)
    except OperationalError as error:
        fail(_database(error))
    except OSError as error:
        if error.filename is None:
            raise
        fail(f"{error.strerror or 'cannot use'}: {error.filename}")
    sys.exit(result if isinstance(result, int) else 0)
