"""Reading a file a person named: the content, or one line that says what is wrong with it.

``[Errno 2] No such file or directory: 'x.json'`` is Python's wording, not a reader's; every command
that reads a user's file (a spec, a script, a risk-free series, a strategy text) says it the same
way: ``spec file x.json does not exist``, ``... is a folder, not a file``, ``... is not UTF-8 text``.
"""

from __future__ import annotations

from pathlib import Path

from core.errors import ValidationError


def unreadable(path: str | Path, error: Exception, what: str = "file") -> str:
    """The one line for ``error`` raised while reading ``path`` (``what`` names the kind of file)."""
    if isinstance(error, FileNotFoundError):
        return f"{what} {path} does not exist"
    if isinstance(error, IsADirectoryError):
        return f"{what} {path} is a folder, not a file"
    if isinstance(error, UnicodeDecodeError):
        return f"{what} {path} is not UTF-8 text"
    if isinstance(error, OSError) and error.strerror:
        return f"cannot read {what} {path}: {error.strerror[0].lower()}{error.strerror[1:]}"
    lines = str(error).strip().splitlines()
    return f"cannot read {what} {path}: {lines[0] if lines else type(error).__name__}"


def read_text(path: str | Path, what: str = "file") -> str:
    """``path``'s text (UTF-8), or :class:`ValidationError` with :func:`unreadable`'s line."""
    try:
        return Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ValidationError(unreadable(path, error, what)) from None
