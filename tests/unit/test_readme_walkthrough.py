"""The README's chat walkthrough is one numbered list: steps 1, 2, 3, ... with no repeats or gaps."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"


def _walkthrough() -> str:
    text = README.read_text(encoding="utf-8")
    start = text.index("## A chat walkthrough")
    return text[start:text.index("\n## ", start + 1)]


def test_walkthrough_steps_are_numbered_in_order() -> None:
    steps = [int(n) for n in re.findall(r"^(\d+)\. \*\*", _walkthrough(), flags=re.MULTILINE)]
    assert len(steps) >= 9  # onboarding ... statement and bounty
    assert steps == list(range(1, len(steps) + 1))
