"""No silent failure: every broad ``except`` in the product's packages logs.

A broad handler is a bare ``except:``, or one that catches ``Exception`` / ``BaseException`` (alone
or in a tuple), or ``contextlib.suppress`` of either. Its body must call a logger method
(``log.warning(...)``, ``logger.exception(...)``, ``logging.getLogger(...).error(...)`` ...), so the
failure reaches the JSON log; a handler whose body ends in ``raise`` propagates and is left to its
caller, and one that calls a function of the same module whose own body logs (``_report_retry``,
``on_error``) logs through it. :data:`EXEMPT` lists, with the reason, the handlers that cannot log.
The outcome (job-run item, health registry, a refusal) is each handler's own business and is
tested where it happens; this scan makes the log line impossible to forget.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("core", "bot", "parser", "backtest", "scheduler")
BROAD = {"Exception", "BaseException"}
LOG_METHODS = {"debug", "info", "warning", "error", "exception", "critical", "log"}


def _names(node: ast.expr | None) -> set[str]:
    if node is None:
        return {"<bare>"}
    items = node.elts if isinstance(node, ast.Tuple) else [node]
    found = set()
    for item in items:
        if isinstance(item, ast.Name):
            found.add(item.id)
        elif isinstance(item, ast.Attribute):
            found.add(item.attr)
    return found


def _is_logger(node: ast.expr) -> bool:
    """``log``, ``logger``, ``_log``, ``self.log``, ``logging``, ``logging.getLogger(...)``."""
    if isinstance(node, ast.Call):
        return isinstance(node.func, ast.Attribute) and node.func.attr == "getLogger"
    name = node.attr if isinstance(node, ast.Attribute) else getattr(node, "id", "")
    return "log" in name.lower()


def _logs(body: list[ast.stmt]) -> bool:
    for stmt in body:
        for node in ast.walk(stmt):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr in LOG_METHODS and _is_logger(node.func.value)):
                return True
    return False


#: (file, enclosing function) -> why that function's broad handler cannot log.
EXEMPT = {
    ("bot/redaction.py", "filter"): "it runs inside logging (a record's filter): logging there would "
                                    "recurse; the record is still emitted, with its unformatted message",
}


def _logging_helpers(tree: ast.Module) -> set[str]:
    """Names of the module's functions and methods whose own body calls a logger."""
    return {node.name for node in ast.walk(tree)
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and _logs(node.body)}


def _calls_helper(body: list[ast.stmt], helpers: set[str]) -> bool:
    for stmt in body:
        for node in ast.walk(stmt):
            if isinstance(node, ast.Call) and _names(node.func) & helpers:
                return True
    return False


def _handlers(tree: ast.Module) -> list[tuple[str, ast.AST]]:
    """Every except handler and ``with`` statement, with the name of the function around it."""
    out: list[tuple[str, ast.AST]] = []

    def visit(node: ast.AST, function: str) -> None:
        for child in ast.iter_child_nodes(node):
            name = child.name if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef) else function
            if isinstance(child, ast.ExceptHandler | ast.With | ast.AsyncWith):
                out.append((function, child))
            visit(child, name)

    visit(tree, "<module>")
    return out


def silent_handlers(source: str, filename: str) -> list[str]:
    """``file:line`` of every broad handler in ``source`` that neither logs nor re-raises."""
    tree = ast.parse(source, filename)
    helpers = _logging_helpers(tree)
    found = []
    for function, node in _handlers(tree):
        if (filename, function) in EXEMPT:
            continue
        if isinstance(node, ast.ExceptHandler):
            broad = node.type is None or bool(_names(node.type) & BROAD)
            if broad and not _logs(node.body) and not isinstance(node.body[-1], ast.Raise) \
                    and not _calls_helper(node.body, helpers):
                found.append(f"{filename}:{node.lineno}")
        elif isinstance(node, ast.With | ast.AsyncWith):
            for item in node.items:
                call = item.context_expr
                if (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute | ast.Name)
                        and _names(call.func) & {"suppress"}
                        and any(_names(arg) & BROAD for arg in call.args)):
                    found.append(f"{filename}:{node.lineno} (suppress)")
    return sorted(found, key=lambda f: int(f.split(":")[1].split()[0]))


def test_every_broad_except_in_the_product_logs() -> None:
    silent = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            silent += silent_handlers(path.read_text(), str(path.relative_to(ROOT)))
    assert silent == [], "broad except without a log line: " + ", ".join(silent)


def test_the_scan_finds_what_it_must() -> None:
    """The scanner itself: silent forms are found, logged or re-raised ones pass."""
    silent = '''
try:
    f()
except Exception:
    pass
try:
    f()
except:
    x = 1
try:
    f()
except (ValueError, BaseException) as e:
    record(e)
with contextlib.suppress(Exception):
    f()
'''
    assert [s.split(":")[1] for s in silent_handlers(silent, "m.py")] == ["4", "8", "12", "14 (suppress)"]
    fine = '''
try:
    f()
except Exception as exc:
    log.warning("f failed: %s", exc)
try:
    f()
except Exception:
    self._log.exception("f failed")
try:
    f()
except Exception as exc:
    raise Wrapped("f failed") from exc
try:
    f()
except ValueError:
    pass
with contextlib.suppress(TimeoutError):
    f()
def report(e):
    log.warning("retrying after %s", e)
try:
    f()
except Exception as exc:
    report(exc)
'''
    assert silent_handlers(fine, "m.py") == []
