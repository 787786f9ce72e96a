"""The validated rule tree of :mod:`core.spec.rules` and the queries over it.

Frozen dataclasses: hashable, comparable, deterministic ``repr``. :func:`render` prints a tree back
in canonical rule syntax (what a spec stores); :func:`lookback` is the warm-up a rule needs in bars.
"""

from __future__ import annotations

from dataclasses import dataclass

# ---------------------------------------------------------------------------------------------
# The validated tree. Frozen dataclasses: hashable, comparable, deterministic repr.


@dataclass(frozen=True)
class Node:
    """Base class of validated rule nodes."""


@dataclass(frozen=True)
class Num(Node):
    value: float


@dataclass(frozen=True)
class Series(Node):
    """A price/volume series. ``asset`` None means the asset being traded."""

    field: str
    asset: str | None = None


@dataclass(frozen=True)
class Ratio(Node):
    numerator: str
    denominator: str


@dataclass(frozen=True)
class Indicator(Node):
    """An indicator over ``source`` (None for atr, which reads high/low/close of ``asset``)."""

    name: str
    source: Node | None
    params: tuple[float, ...]
    asset: str | None = None


@dataclass(frozen=True)
class Arith(Node):
    op: str  # one of + - * /
    left: Node
    right: Node


@dataclass(frozen=True)
class Neg(Node):
    operand: Node


@dataclass(frozen=True)
class Compare(Node):
    op: str  # one of < <= > >=
    left: Node
    right: Node


@dataclass(frozen=True)
class Cross(Node):
    direction: str  # "above" or "below"
    left: Node
    right: Node


@dataclass(frozen=True)
class BoolOp(Node):
    op: str  # "and" or "or"
    values: tuple[Node, ...]


@dataclass(frozen=True)
class Not(Node):
    operand: Node


# ---------------------------------------------------------------------------------------------
# Queries over the validated tree.


def children(node: Node) -> tuple[Node, ...]:
    if isinstance(node, Indicator):
        return (node.source,) if node.source is not None else ()
    if isinstance(node, Arith | Compare | Cross):
        return (node.left, node.right)
    if isinstance(node, Neg | Not):
        return (node.operand,)
    if isinstance(node, BoolOp):
        return node.values
    return ()


def walk(node: Node) -> list[Node]:
    """All nodes, parents before children, in a deterministic order."""
    out = [node]
    for child in children(node):
        out.extend(walk(child))
    return out


def referenced_assets(node: Node) -> frozenset[str]:
    assets: set[str] = set()
    for n in walk(node):
        if isinstance(n, Series | Indicator) and n.asset:
            assets.add(n.asset)
        elif isinstance(n, Ratio):
            assets.update((n.numerator, n.denominator))
    return frozenset(assets)


def lookback(node: Node) -> int:
    """Bars of history a rule needs before its first meaningful value (a conservative bound)."""
    if isinstance(node, Indicator):
        own = int(sum(node.params)) if node.name.startswith("macd") else int(node.params[0])
        own += 1  # highest/lowest/roc/momentum look one bar further back; harmless elsewhere
        return own + (lookback(node.source) if node.source is not None else 0)
    if isinstance(node, Cross):
        return 1 + max(lookback(node.left), lookback(node.right))
    return max((lookback(c) for c in children(node)), default=0)


_PREC = {"or": 1, "and": 2, "not": 3, "cmp": 4, "+": 5, "-": 5, "*": 6, "/": 6, "neg": 7}


def render(node: Node, parent: int = 0) -> str:
    """Canonical text of a node (stable spacing, minimal parentheses)."""
    text, prec = _render(node)
    return f"({text})" if prec < parent else text


def _render(node: Node) -> tuple[str, int]:
    if isinstance(node, Num):
        return (repr(int(node.value)) if node.value.is_integer() else repr(node.value)), 9
    if isinstance(node, Series):
        return (node.field if node.asset is None else f'{node.field}("{node.asset}")'), 9
    if isinstance(node, Ratio):
        return f'ratio("{node.numerator}", "{node.denominator}")', 9
    if isinstance(node, Indicator):
        args = [render(node.source)] if node.source is not None else []
        if node.asset is not None:
            args.insert(0, f'"{node.asset}"')
        args += [repr(int(p)) if p.is_integer() else repr(p) for p in node.params]
        return f"{node.name}({', '.join(args)})", 9
    if isinstance(node, Cross):
        return f"crosses_{node.direction}({render(node.left)}, {render(node.right)})", 9
    if isinstance(node, Neg):
        return f"-{render(node.operand, _PREC['neg'])}", _PREC["neg"]
    if isinstance(node, Arith):
        p = _PREC[node.op]
        # Right operand of - and / binds tighter to keep a - (b - c) distinct from a - b - c.
        right_p = p + 1 if node.op in "-/" else p
        return f"{render(node.left, p)} {node.op} {render(node.right, right_p)}", p
    if isinstance(node, Compare):
        p = _PREC["cmp"]
        return f"{render(node.left, p + 1)} {node.op} {render(node.right, p + 1)}", p
    if isinstance(node, Not):
        return f"not {render(node.operand, _PREC['not'])}", _PREC["not"]
    if isinstance(node, BoolOp):
        p = _PREC[node.op]
        return f" {node.op} ".join(render(v, p + 1) for v in node.values), p
    raise TypeError(f"unknown node {node!r}")  # pragma: no cover - the tree is closed
