"""Split long replies below a platform's message limit.

Telegram allows 4,096 characters counted in UTF-16 code units; Discord 2,000 characters. Splits
prefer a paragraph break, then a line break, then a space, and only then cut mid-word; no chunk is
empty and joining the chunks (with the separators that were cut) gives the text back.
"""

from __future__ import annotations

from collections.abc import Callable

TELEGRAM_LIMIT = 4096
DISCORD_LIMIT = 2000


def utf16_len(text: str) -> int:
    """Length as Telegram counts it (UTF-16 code units: astral characters count twice)."""
    return len(text.encode("utf-16-le")) // 2


def _fits(text: str, limit: int, measure: Callable[[str], int]) -> int:
    """The longest prefix length (in str indices) of ``text`` whose measure is <= ``limit``."""
    if measure(text) <= limit:
        return len(text)
    lo, hi = 0, min(len(text), limit)
    while lo < hi:  # binary search; measure is monotone in prefix length
        mid = (lo + hi + 1) // 2
        if measure(text[:mid]) <= limit:
            lo = mid
        else:
            hi = mid - 1
    return lo


def split_text(text: str, limit: int, measure: Callable[[str], int] = len) -> list[str]:
    """Chunks of ``text`` each with ``measure(chunk) <= limit``."""
    if limit < 2:
        raise ValueError("limit must be at least 2")
    chunks: list[str] = []
    rest = text
    while rest:
        cut = _fits(rest, limit, measure)
        if cut == len(rest):
            chunks.append(rest)
            break
        window = rest[:cut]
        for sep in ("\n\n", "\n", " "):
            pos = window.rfind(sep)
            if pos > 0:
                chunks.append(rest[:pos])
                rest = rest[pos + len(sep) :]
                break
        else:
            cut = max(cut, 1)
            chunks.append(rest[:cut])
            rest = rest[cut:]
    return chunks or [""]


def split_telegram(text: str) -> list[str]:
    """Chunks below Telegram's 4,096 UTF-16 unit limit."""
    return split_text(text, TELEGRAM_LIMIT, utf16_len)


def split_discord(text: str) -> list[str]:
    """Chunks below Discord's 2,000 character limit."""
    return split_text(text, DISCORD_LIMIT)
