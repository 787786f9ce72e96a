"""Loading, dumping and hashing specs.

:func:`load_spec` is the only supported way to build a spec from untrusted input (parser output,
JSON files, chat): every failure becomes a :class:`SpecError` whose ``field`` names the first bad
field. :func:`spec_hash` is the sha256 of the canonical JSON (sorted keys, no whitespace, defaults
included), so equal specs hash equal however they were written.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pydantic

from core.files import read_text
from core.spec.errors import SpecError
from core.spec.model import StrategySpec, _FieldError
from core.spec.rules import FUNCTIONS, MAX_WINDOW, SERIES_FIELDS

MAX_SPEC_BYTES = 100_000


def load_spec(data: StrategySpec | dict[str, Any] | str | bytes) -> StrategySpec:
    """Validate a mapping or JSON text into a :class:`StrategySpec`, or raise :class:`SpecError`."""
    if isinstance(data, StrategySpec):
        return data
    if isinstance(data, str | bytes):
        if len(data) > MAX_SPEC_BYTES:
            raise SpecError("spec", f"spec JSON is larger than {MAX_SPEC_BYTES} bytes")
        try:
            data = json.loads(data)
        except (ValueError, RecursionError) as exc:
            raise SpecError("spec", f"not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise SpecError("spec", f"a spec must be a JSON object, not {type(data).__name__}")
    try:
        return StrategySpec.model_validate(data)
    except pydantic.ValidationError as exc:
        raise _to_spec_error(exc) from None
    except RecursionError:
        raise SpecError("spec", "spec is nested too deeply") from None


def load_spec_file(path: str | Path) -> StrategySpec:
    """A spec from a JSON file; a file that cannot be read is one line naming it (not a spec field)."""
    return load_spec(read_text(path, "spec file"))


def _to_spec_error(exc: pydantic.ValidationError) -> SpecError:
    err = exc.errors(include_url=False)[0]
    field = ".".join(str(p) for p in err["loc"])
    original = (err.get("ctx") or {}).get("error")
    if isinstance(original, _FieldError):
        return SpecError(original.field, original.reason)
    message = err["msg"].removeprefix("Value error, ")
    if err["type"] == "extra_forbidden":
        message = "unknown field (not part of the spec)"
    others = [_problem(e) for e in exc.errors(include_url=False)[1:]]
    if others:  # every problem, on the same line, so one run shows all that needs fixing
        message += "; also " + "; ".join(others[:8]) + ("; ..." if len(others) > 8 else "")
    return SpecError(field, message)


def _problem(err: Any) -> str:
    where = ".".join(str(p) for p in err["loc"]) or "spec"
    what = (
        "unknown field" if err["type"] == "extra_forbidden" else str(err["msg"]).removeprefix("Value error, ")
    )
    return f"{where}: {what}"


#: Fields added after spec 1.0 was first hashed (issue 15's risk tools). At their default they are
#: left out of the canonical JSON, so every spec written before them keeps its hash (tokens and
#: stored trials refer to specs by hash); set to anything else they are hashed like every field.
_LATER_FIELDS: dict[str, tuple[str, ...]] = {
    "sizing": ("target_vol", "lookback_days", "max_leverage", "rebalance_band"),
    "risk": ("max_drawdown_stop", "reentry"),
}


def canonical_json(spec: StrategySpec) -> str:
    """Deterministic JSON of the full spec (defaults included, keys sorted; see ``_LATER_FIELDS``)."""
    data = spec.model_dump(mode="json")
    for part, names in _LATER_FIELDS.items():
        model = getattr(spec, part)
        for name in names:
            if getattr(model, name) == type(model).model_fields[name].default:
                data[part].pop(name)
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def spec_hash(spec: StrategySpec) -> str:
    """sha256 hex digest of :func:`canonical_json`."""
    return hashlib.sha256(canonical_json(spec).encode("utf-8")).hexdigest()


def dump_spec(spec: StrategySpec) -> str:
    """Human-friendly JSON (indented, defaults left out) that :func:`load_spec` reads back."""
    return json.dumps(spec.model_dump(mode="json", exclude_defaults=True), indent=2) + "\n"


def spec_json_schema() -> dict[str, Any]:
    schema = StrategySpec.model_json_schema(mode="validation")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["description"] = (
        "Treasury Arena strategy spec. Rules (entry_rule/exit_rule) are expressions over series "
        f"{', '.join(SERIES_FIELDS)} with functions {', '.join(FUNCTIONS)}; windows are whole "
        f"days in [1, {MAX_WINDOW}]; see core/spec/rules.py."
    )
    return schema
