"""Token lifecycle (proving -> active -> retired); see :mod:`core.tokens.lifecycle`."""

from core.tokens.lifecycle import (
    PaperVerdict,
    WindDown,
    paper_verdict,
    promote_ready_tokens,
    retire_in,
)

__all__ = ["PaperVerdict", "WindDown", "paper_verdict", "promote_ready_tokens", "retire_in"]
