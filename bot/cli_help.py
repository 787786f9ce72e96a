"""How ``arena ... --help`` shows options: a flag is shown without a type label.

Typer (0.29) labels every option with its type, flags included, so ``--json <bool>`` and
``--help <bool>`` read as if they took a value. :class:`ArenaGroup` is the ``arena`` app's group
class: before a command's help is shown (or its arguments parsed) it gives every flag of that command
and of the commands under it an empty metavar, which Typer shows as no label. Options that take a
value keep theirs (``--wallet <int>``).
"""

from __future__ import annotations

from typing import Any

from typer.core import TyperGroup


def quiet_flags(command: Any, ctx: Any, *, recurse: bool = True) -> None:
    """Give every flag of ``command`` (its help option too), and with ``recurse`` of the commands
    under it, an empty metavar."""
    for param in command.params:
        if getattr(param, "is_flag", False):
            param.metavar = ""
    help_option = command.get_help_option(ctx)
    if help_option is not None:
        help_option.metavar = ""
    if recurse:
        for sub in getattr(command, "commands", {}).values():
            quiet_flags(sub, ctx)


class ArenaGroup(TyperGroup):
    """The ``arena`` group: its own flags and every command it hands out are shown without ``<bool>``."""

    def get_params(self, ctx: Any) -> list[Any]:
        quiet_flags(self, ctx, recurse=False)  # its subcommands: when get_command hands them out
        return list(super().get_params(ctx))

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        command = super().get_command(ctx, cmd_name)
        if command is not None:
            quiet_flags(command, ctx)
        return command
