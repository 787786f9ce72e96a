"""The one error type a bad strategy spec raises, naming the offending field."""

from __future__ import annotations

from core.errors import ValidationError


class SpecError(ValidationError):
    """A strategy spec is invalid. ``field`` is a dotted path such as ``risk.stop_loss``."""

    code = "invalid_spec"

    def __init__(self, field: str, reason: str) -> None:
        self.field = field or "spec"
        self.reason = reason
        super().__init__(f"strategy spec field '{self.field}': {reason}")
