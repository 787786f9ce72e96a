"""The rule-expression language of a :class:`~core.spec.model.StrategySpec`.

A rule is a small boolean expression written in Python syntax, e.g.::

    sma(close, 50) > sma(close, 200)
    rsi(close, 14) < 30 and close > lowest(low, 20)
    crosses_above(ratio("ETH", "BTC"), bb_upper(ratio("ETH", "BTC"), 20, 2))

It is parsed with :mod:`ast` and validated node by node against an allow-list; it is **never
evaluated**. The result is a small typed tree (:class:`Node` subclasses) that the backtest codegen
compiles into Backtrader indicators. Anything not listed below is rejected with a
:class:`RuleError` that says what was found and where.

Grammar (everything else is an error):

* numbers: finite int/float literals, ``abs(x) <= 1e9``
* series: ``close open high low volume`` (the asset being traded) or ``close("ETH")`` etc. for a
  named asset of the spec's universe; asset literals (upper-case tickers) are the only strings
* arithmetic on numeric terms: ``+ - * /`` and unary ``-``
* comparisons ``< <= > >=`` (chains allowed: ``30 < rsi(close, 14) < 70``); no ``==``/``!=``
  (float equality is meaningless on prices)
* boolean ``and or not``; the top level must be boolean
* functions (windows are integer literals in ``[1, MAX_WINDOW]`` days):

  ========================  ==================================================================
  ``sma(x, n)``             simple moving average of x over n bars
  ``ema(x, n)``             exponential moving average (alpha = 2 / (n + 1))
  ``rsi(x, n=14)``          Wilder's relative strength index, 0..100
  ``macd(x, f=12, s=26, g=9)``  MACD line (EMA f - EMA s); ``macd_signal`` (EMA g of it) and
                            ``macd_hist`` (line - signal) take the same arguments
  ``bb_upper(x, n, k=2)``   Bollinger band: SMA n + k standard deviations; ``bb_lower``,
                            ``bb_mid(x, n)`` likewise
  ``atr(n=14)``             average true range of the traded asset; ``atr("ETH", n)`` for another
  ``highest(x, n)``         max of x over the n bars **before** the current one (so
                            ``close > highest(high, 20)`` is a breakout); ``lowest`` likewise
  ``roc(x, n)``             rate of change, a fraction: x / x[n bars ago] - 1
  ``momentum(x, n)``        difference: x - x[n bars ago]
  ``ratio("A", "B")``       close of A divided by close of B (a numeric series)
  ``crosses_above(a, b)``   boolean: a was <= b on the previous bar and is > b now;
                            ``crosses_below`` mirrors it
  ========================  ==================================================================

Limits: at most ``MAX_RULE_CHARS`` characters, ``MAX_NODES`` AST nodes and ``MAX_DEPTH`` nesting.
"""

from __future__ import annotations

import ast
import math
import re
from dataclasses import dataclass, field
from functools import lru_cache

from core.errors import ValidationError
from core.spec.rule_nodes import (  # noqa: F401 - re-exported: the tree is part of this API
    Arith,
    BoolOp,
    Compare,
    Cross,
    Indicator,
    Neg,
    Node,
    Not,
    Num,
    Ratio,
    Series,
    children,
    lookback,
    referenced_assets,
    render,
    walk,
)

MAX_RULE_CHARS = 500
MAX_NODES = 200
MAX_DEPTH = 12
MAX_WINDOW = 365
MAX_ABS_NUMBER = 1e9
TICKER_RE = re.compile(r"^[A-Z][A-Z0-9]{1,9}$")

SERIES_FIELDS = ("close", "open", "high", "low", "volume")


class RuleError(ValidationError):
    """A rule string is not in the language. ``column`` is the 0-based offset of the problem."""

    code = "invalid_rule"

    def __init__(self, message: str, column: int | None = None) -> None:
        if column is not None:
            message = f"{message} (at character {column + 1})"
        super().__init__(message)
        self.column = column


@dataclass(frozen=True)
class _Param:
    name: str
    kind: str  # "series" | "window" | "factor"
    default: float | None = None
    low: float = 1
    high: float = MAX_WINDOW


@dataclass(frozen=True)
class _Signature:
    params: tuple[_Param, ...]
    doc: str = ""
    extra: dict[str, str] = field(default_factory=dict)


_X = _Param("x", "series")


def _w(name: str = "n", default: float | None = None, low: float = 1) -> _Param:
    return _Param(name, "window", default, low, MAX_WINDOW)


_K = _Param("k", "factor", 2.0, 0.1, 10.0)

#: Numeric indicator functions: name -> signature. Order of params is the call order.
INDICATORS: dict[str, _Signature] = {
    "sma": _Signature((_X, _w())),
    "ema": _Signature((_X, _w())),
    "rsi": _Signature((_X, _w(default=14, low=2))),
    "macd": _Signature((_X, _w("fast", 12, 2), _w("slow", 26, 2), _w("signal", 9))),
    "macd_signal": _Signature((_X, _w("fast", 12, 2), _w("slow", 26, 2), _w("signal", 9))),
    "macd_hist": _Signature((_X, _w("fast", 12, 2), _w("slow", 26, 2), _w("signal", 9))),
    "bb_upper": _Signature((_X, _w(low=2), _K)),
    "bb_lower": _Signature((_X, _w(low=2), _K)),
    "bb_mid": _Signature((_X, _w(low=2))),
    "highest": _Signature((_X, _w())),
    "lowest": _Signature((_X, _w())),
    "roc": _Signature((_X, _w())),
    "momentum": _Signature((_X, _w())),
}
#: Every callable name of the language (for docs, prompts and error messages).
FUNCTIONS: tuple[str, ...] = (
    *INDICATORS,
    "atr",
    "ratio",
    "crosses_above",
    "crosses_below",
    *SERIES_FIELDS,
)

_CMP = {ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">="}
_ARITH = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/"}


@dataclass(frozen=True)
class Rule:
    """A validated rule: the canonical text and its tree."""

    text: str
    tree: Node

    @property
    def assets(self) -> frozenset[str]:
        return referenced_assets(self.tree)

    @property
    def lookback(self) -> int:
        return lookback(self.tree)


def parse_rule(text: str) -> Rule:
    """Parse and validate ``text``; raise :class:`RuleError` on anything outside the language.

    Results are cached (a :class:`Rule` is immutable): screening thousands of variants reads the
    same rules many times."""
    if not isinstance(text, str):
        raise RuleError(f"a rule must be text, not {type(text).__name__}")
    return _parse_cached(text)


@lru_cache(maxsize=8192)
def _parse_cached(text: str) -> Rule:
    if not text.strip():
        raise RuleError("a rule must not be empty")
    if len(text) > MAX_RULE_CHARS:
        raise RuleError(f"a rule may have at most {MAX_RULE_CHARS} characters, got {len(text)}")
    try:
        module = ast.parse(text.strip(), mode="eval")
    except SyntaxError as exc:
        col = (exc.offset - 1) if exc.offset else None
        raise RuleError(f"rule is not a valid expression: {exc.msg}", col) from None
    except (ValueError, MemoryError, RecursionError):  # e.g. NUL bytes, absurd nesting
        raise RuleError("rule is not a valid expression") from None
    n_nodes = sum(1 for _ in ast.walk(module))
    if n_nodes > MAX_NODES:
        raise RuleError(f"rule is too complex ({n_nodes} nodes, at most {MAX_NODES})")
    tree = _Validator().boolean(module.body, 0)
    return Rule(text=render(tree), tree=tree)


class _Validator:
    """Walks the Python AST, accepting only allow-listed nodes, and builds the typed tree."""

    def boolean(self, node: ast.expr, depth: int) -> Node:
        self._depth(node, depth)
        if isinstance(node, ast.BoolOp):
            op = "and" if isinstance(node.op, ast.And) else "or"
            return BoolOp(op, tuple(self.boolean(v, depth + 1) for v in node.values))
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            return Not(self.boolean(node.operand, depth + 1))
        if isinstance(node, ast.Compare):
            return self._compare(node, depth)
        if isinstance(node, ast.Call) and _call_name(node) in ("crosses_above", "crosses_below"):
            name = _call_name(node)
            args = self._plain_args(node, name, 2)
            return Cross(
                name.removeprefix("crosses_"),
                self.numeric(args[0], depth + 1),
                self.numeric(args[1], depth + 1),
            )
        if isinstance(node, ast.Constant) and isinstance(node.value, bool):
            raise _err(node, "constant True/False rules are not allowed; write a condition")
        self._reject_foreign(node)
        raise _err(node, "expected a condition (a comparison, crosses_above/below, and/or/not)")

    def _compare(self, node: ast.Compare, depth: int) -> Node:
        parts: list[Node] = []
        left = self.numeric(node.left, depth + 1)
        for op, comparator in zip(node.ops, node.comparators, strict=True):
            sym = _CMP.get(type(op))
            if sym is None:
                raise _err(node, f"comparison {type(op).__name__} is not allowed; use < <= > >=")
            right = self.numeric(comparator, depth + 1)
            parts.append(Compare(sym, left, right))
            left = right
        if all(isinstance(p, Compare) and _is_const(p.left) and _is_const(p.right) for p in parts):
            raise _err(node, "a comparison of two constants is always true or always false")
        return parts[0] if len(parts) == 1 else BoolOp("and", tuple(parts))

    def numeric(self, node: ast.expr, depth: int) -> Node:
        self._depth(node, depth)
        if isinstance(node, ast.Constant):
            return Num(_number(node))
        if isinstance(node, ast.Name):
            if node.id in SERIES_FIELDS:
                return Series(node.id)
            if node.id in FUNCTIONS:
                raise _err(node, f"{node.id} is a function; call it, e.g. {node.id}(...)")
            raise _err(node, f"unknown name {node.id!r}; series are {', '.join(SERIES_FIELDS)}")
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            operand = self.numeric(node.operand, depth + 1)
            return Num(-operand.value) if isinstance(operand, Num) else Neg(operand)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.UAdd):
            return self.numeric(node.operand, depth + 1)
        if isinstance(node, ast.BinOp):
            sym = _ARITH.get(type(node.op))
            if sym is None:
                raise _err(node, f"operator {type(node.op).__name__} is not allowed; use + - * /")
            return Arith(sym, self.numeric(node.left, depth + 1), self.numeric(node.right, depth + 1))
        if isinstance(node, ast.Call):
            return self._call(node, depth)
        self._reject_foreign(node)
        raise _err(node, "expected a number, a series or an indicator here")

    def _call(self, node: ast.Call, depth: int) -> Node:
        name = _call_name(node)
        if name in SERIES_FIELDS:
            (arg,) = self._plain_args(node, name, 1)
            return Series(name, _asset(arg))
        if name == "ratio":
            a, b = self._plain_args(node, name, 2)
            num, den = _asset(a), _asset(b)
            if num == den:
                raise _err(node, "ratio needs two different assets")
            return Ratio(num, den)
        if name == "atr":
            args = self._plain_args(node, name, None)
            asset = None
            if args and isinstance(args[0], ast.Constant) and isinstance(args[0].value, str):
                asset = _asset(args[0])
                args = args[1:]
            if len(args) > 1:
                raise _err(node, 'atr takes an optional asset and a window: atr(14), atr("ETH", 14)')
            window = _window(args[0], 1, MAX_WINDOW) if args else 14
            return Indicator("atr", None, (float(window),), asset)
        if name in ("crosses_above", "crosses_below"):
            raise _err(node, f"{name}(...) is a condition, not a number")
        sig = INDICATORS.get(name)
        if sig is None:
            raise _err(node, f"function {name!r} is not allowed; allowed: {', '.join(FUNCTIONS)}")
        args = self._plain_args(node, name, None)
        if len(args) > len(sig.params):
            raise _err(node, f"{name} takes at most {len(sig.params)} arguments, got {len(args)}")
        source = self.numeric(args[0], depth + 1) if args else None
        if source is None or not any(isinstance(n, Series | Ratio | Indicator) for n in walk(source)):
            raise _err(node, f"{name} needs a series as its first argument, e.g. {name}(close, 20)")
        params: list[float] = []
        for i, p in enumerate(sig.params[1:], start=1):
            if i < len(args):
                if p.kind == "window":
                    params.append(float(_window(args[i], int(p.low), int(p.high))))
                else:
                    params.append(_factor(args[i], p.low, p.high))
            elif p.default is not None:
                params.append(float(p.default))
            else:
                raise _err(node, f"{name} needs a window {p.name!r}, e.g. {name}(close, 20)")
        if name.startswith("macd") and params[0] >= params[1]:
            raise _err(node, f"{name}: the fast window must be shorter than the slow window")
        return Indicator(name, source, tuple(params))

    @staticmethod
    def _plain_args(node: ast.Call, name: str, count: int | None) -> list[ast.expr]:
        if node.keywords:
            raise _err(node, f"{name}: keyword arguments are not allowed; pass values in order")
        if any(isinstance(a, ast.Starred) for a in node.args):
            raise _err(node, f"{name}: *arguments are not allowed")
        if count is not None and len(node.args) != count:
            raise _err(node, f"{name} takes {count} argument(s), got {len(node.args)}")
        return list(node.args)

    @staticmethod
    def _depth(node: ast.expr, depth: int) -> None:
        if depth > MAX_DEPTH:
            raise _err(node, f"rule is nested too deeply (at most {MAX_DEPTH} levels)")

    @staticmethod
    def _reject_foreign(node: ast.expr) -> None:
        kinds = {
            ast.Attribute: "attribute access",
            ast.Subscript: "subscripts",
            ast.Lambda: "lambdas",
            ast.Constant: "this constant",
            ast.IfExp: "if-expressions",
            ast.NamedExpr: "assignments",
            ast.ListComp: "comprehensions",
            ast.GeneratorExp: "comprehensions",
            ast.JoinedStr: "f-strings",
        }
        for kind, label in kinds.items():
            if isinstance(node, kind):
                raise _err(node, f"{label}: not allowed in rules")


def _call_name(node: ast.Call) -> str:
    if not isinstance(node.func, ast.Name):
        raise _err(node, "only direct calls of allowed functions are permitted (no attributes)")
    return node.func.id


def _err(node: ast.AST, message: str) -> RuleError:
    return RuleError(message, getattr(node, "col_offset", None))


def _is_const(node: Node) -> bool:
    return isinstance(node, Num)


def _number(node: ast.Constant) -> float:
    value = node.value
    if isinstance(value, bool) or not isinstance(value, int | float):
        if isinstance(value, str):
            raise _err(node, f'string {value!r} is only allowed as an asset, e.g. close("ETH")')
        raise _err(node, f"constant {value!r} is not allowed; use a number")
    number = float(value) if isinstance(value, float) or abs(value) <= MAX_ABS_NUMBER else math.inf
    if not math.isfinite(number) or abs(number) > MAX_ABS_NUMBER:
        raise _err(node, f"numbers must be finite and at most {MAX_ABS_NUMBER:g} in size")
    return number


def _asset(node: ast.expr) -> str:
    if not (isinstance(node, ast.Constant) and isinstance(node.value, str)):
        raise _err(node, 'expected an asset ticker in quotes, e.g. "ETH"')
    if not TICKER_RE.match(node.value):
        raise _err(node, f'{node.value!r} is not an upper-case ticker like "BTC"')
    return node.value


def _window(node: ast.expr, low: int, high: int) -> int:
    if not (isinstance(node, ast.Constant) and type(node.value) is int):
        raise _err(node, "a window must be a whole number of bars, e.g. 20")
    if not low <= node.value <= high:
        raise _err(node, f"window {node.value} is out of range [{low}, {high}]")
    return int(node.value)


def _factor(node: ast.expr, low: float, high: float) -> float:
    if isinstance(node, ast.UnaryOp) or not isinstance(node, ast.Constant):
        raise _err(node, "expected a positive number literal")
    value = _number(node)
    if not low <= value <= high:
        raise _err(node, f"factor {value:g} is out of range [{low:g}, {high:g}]")
    return value
