"""Token lifecycle (proving -> active -> retired); see :mod:`core.tokens.lifecycle`; stale tokens
(data stopped) are wound down by :mod:`core.tokens.stale`."""

from core.tokens.lifecycle import (
    PaperVerdict,
    WindDown,
    paper_verdict,
    promote_ready_tokens,
    retire_in,
)
from core.tokens.stale import retire_stale_in, stale_reason

__all__ = [
    "PaperVerdict",
    "WindDown",
    "paper_verdict",
    "promote_ready_tokens",
    "retire_in",
    "retire_stale_in",
    "stale_reason",
]
