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
from core.formatting import sentence

try:  # Typer 0.2x vendors its own copy of Click; its exceptions are not click's
    from typer._click import exceptions as typer_click
except ImportError:  # pragma: no cover - older Typer uses click itself
    from click import exceptions as typer_click  # type: ignore[no-redef]

USAGE_ERRORS: tuple[type[Exception], ...] = (click.UsageError, typer_click.UsageError)
HELP_ERRORS: tuple[type[Exception], ...] = (click.exceptions.NoArgsIsHelpError, typer_click.NoArgsIsHelpError)
CLICK_ERRORS: tuple[type[Exception], ...] = (click.ClickException, typer_click.ClickException)
ABORTS: tuple[type[BaseException], ...] = (click.exceptions.Abort, typer.Abort, KeyboardInterrupt)

log = logging.getLogger(__name__)

USER_ERROR = 2


def fail(message: str, code: int = USER_ERROR) -> NoReturn:
    """Print ``error: message`` as one line on stderr and exit."""
    line = sentence(" ".join(message.split()))  # one line, whatever the message contained
    print(f"error: {line}", file=sys.stderr)
    sys.exit(code)


def _usage(error: Exception) -> str:
    ctx = getattr(error, "ctx", None)
    path = str(getattr(ctx, "command_path", "") or "")
    where = f"arena {path.split(' ', 1)[1]}" if " " in path else "arena"
    return f"{_message(error)} (see `{where} --help`)"


def _message(error: Exception) -> str:
    format_message = getattr(error, "format_message", None)
    return str(format_message()) if callable(format_message) else str(error)


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

    from bot.cli_support import report_created_database

    try:
        result: Any = app(args=args, standalone_mode=False)
    except HELP_ERRORS as error:
        ctx = getattr(error, "ctx", None)
        print(ctx.get_help() if ctx is not None else "", file=sys.stderr)
        sys.exit(USER_ERROR)
    except USAGE_ERRORS as error:
        fail(_usage(error))
    except CLICK_ERRORS as error:
        fail(_message(error))
    except ABORTS:
        fail("aborted", 130)
    except ArenaError as error:
        fail(error.cli_message)  # a hint names an arena command, not a chat one
    except OperationalError as error:
        fail(_database(error))
    except OSError as error:
        if error.filename is None:
            raise
        fail(f"{error.strerror or 'cannot use'}: {error.filename}")
    finally:
        report_created_database()
    sys.exit(result if isinstance(result, int) else 0)
