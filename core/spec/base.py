"""Shared pieces of the spec models: the strict base class, cross-field errors, defaults."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

Fraction = Annotated[float, Field(gt=0, le=1, allow_inf_nan=False)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


def _default(model: type[BaseModel], name: str) -> object:
    return model.model_fields[name].default


class _FieldError(ValueError):
    """A cross-field problem; ``field`` is the dotted path reported in :class:`SpecError`."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.reason = message
