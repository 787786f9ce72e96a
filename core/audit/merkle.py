"""Merkle sum tree for proofs of liabilities — self-contained (Python standard library only), so an
auditor can read this one file, copy it and run it against a published root.

Construction (Maxwell's Merkle sum tree, with the published fixes):

* Assets are a fixed, ordered list per publication: ``USD`` (in micro-dollars, 6 decimals) then
  each token symbol (in 1e-18 units, 18 decimals). Every amount is a non-negative integer below
  2**128, written as 16 bytes big-endian (``u128``). The ledger never lets a holder's balance go
  negative, and the verifier refuses a negative or oversized amount anywhere on the path.
* ``context = SHA-256("TA-POL-CTX-v1" 0x00 || "<as_of>|<asset1>,<asset2>,...")`` binds a leaf to
  its publication day and asset list: a proof never verifies against another day's root.
* ``leaf = SHA-256("TA-POL-LEAF-v1" 0x00 || context || u64(wallet_id) || salt(32 bytes) ||
  u128(amount_1) || ... )`` — the per-wallet secret salt keeps a leaf hash from revealing balances.
* ``node = SHA-256("TA-POL-NODE-v1" 0x00 || left.hash || sums(left) || right.hash || sums(right))``
  with ``sums(parent) = sums(left) + sums(right)`` per asset. Both children's sums are committed
  separately (the fix for the original scheme, where only their total was, letting a prover shift
  value between siblings); the root's sums are the totals.
* A level with an odd number of nodes is padded with ``EMPTY`` (hash ``SHA-256("TA-POL-EMPTY-v1")``,
  all sums zero). Leaves are ordered by their hash, which hides wallet ids' order.

A proof (JSON) carries the publication day, the asset list and decimals, the wallet id, its salt
(hex), its balances (decimal text) and the path from its leaf to the root: per level the sibling's
side (``"left"``/``"right"``), hash (hex) and sums (integer text). :func:`verify` recomputes the root.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from decimal import Context, Decimal, InvalidOperation
from typing import Any

FORMAT = "treasury-arena/liabilities-proof/v1"
LIMIT = 2**128
_WIDE = Context(prec=100)  # exact scaling of 18-decimal amounts (the default 28 digits would round)
_CTX, _LEAF, _NODE = b"TA-POL-CTX-v1\x00", b"TA-POL-LEAF-v1\x00", b"TA-POL-NODE-v1\x00"
EMPTY_HASH = hashlib.sha256(b"TA-POL-EMPTY-v1").digest()


@dataclass(frozen=True, slots=True)
class Node:
    hash: bytes
    sums: tuple[int, ...]


def _u128(value: int) -> bytes:
    if not 0 <= value < LIMIT:
        raise ValueError(f"amount {value} is negative or does not fit in 128 bits")
    return value.to_bytes(16, "big")


def context_hash(as_of: str, assets: list[str]) -> bytes:
    return hashlib.sha256(_CTX + f"{as_of}|{','.join(assets)}".encode()).digest()


def leaf(context: bytes, wallet_id: int, salt: bytes, amounts: list[int]) -> Node:
    if len(salt) != 32:
        raise ValueError("a salt is 32 bytes")
    data = _LEAF + context + wallet_id.to_bytes(8, "big") + salt + b"".join(_u128(a) for a in amounts)
    return Node(hashlib.sha256(data).digest(), tuple(amounts))


def parent(left: Node, right: Node) -> Node:
    sums = tuple(a + b for a, b in zip(left.sums, right.sums, strict=True))
    data = (
        _NODE
        + left.hash
        + b"".join(_u128(s) for s in left.sums)
        + right.hash
        + b"".join(_u128(s) for s in right.sums)
    )
    for total in sums:
        _u128(total)  # a parent's sum must fit too (no overflow)
    return Node(hashlib.sha256(data).digest(), sums)


def empty(width: int) -> Node:
    return Node(EMPTY_HASH, (0,) * width)


def build(leaves: list[Node], width: int) -> list[list[Node]]:
    """Every level of the tree, leaves first, the root alone last."""
    levels = [list(leaves) or [empty(width)]]
    while len(levels[-1]) > 1:
        level = levels[-1]
        if len(level) % 2:
            level = [*level, empty(width)]
            levels[-1] = level
        levels.append([parent(level[i], level[i + 1]) for i in range(0, len(level), 2)])
    return levels


def path(levels: list[list[Node]], index: int) -> list[dict[str, Any]]:
    """The siblings from leaf ``index`` up to the root."""
    steps = []
    for level in levels[:-1]:
        sibling = index ^ 1
        node = level[sibling]
        steps.append(
            {
                "side": "left" if sibling < index else "right",
                "hash": node.hash.hex(),
                "sums": [str(s) for s in node.sums],
            }
        )
        index //= 2
    return steps


# --- verification ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Verdict:
    ok: bool
    reason: str
    totals: dict[str, str]  # root sums as decimal text per asset (when the proof was well formed)


def _units(text: str, decimals: int, asset: str) -> int:
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ValueError(f"balance of {asset} is not a number: {text!r}") from None
    scaled = value.scaleb(decimals, context=_WIDE)
    if not value.is_finite() or scaled != scaled.to_integral_value():
        raise ValueError(f"balance of {asset} has more than {decimals} decimals")
    return int(scaled)


def _decimal_text(units: int, decimals: int) -> str:
    return format(Decimal(units).scaleb(-decimals, context=_WIDE), "f")


def _int(text: object) -> int:
    if not isinstance(text, str) or not text.isdigit():
        raise ValueError(f"a sum must be non-negative integer text, got {text!r}")
    return int(text)


def recompute(proof: dict[str, Any]) -> Node:
    """The root a proof leads to (raises ValueError when the proof is malformed)."""
    if proof.get("format") != FORMAT:
        raise ValueError(f"not a {FORMAT} proof")
    assets, decimals = list(proof["assets"]), dict(proof["decimals"])
    balances = dict(proof["balances"])
    if set(balances) - set(assets):
        raise ValueError(
            f"balances name assets outside the publication: {sorted(set(balances) - set(assets))}"
        )
    amounts = [_units(str(balances.get(a, "0")), int(decimals[a]), a) for a in assets]
    node = leaf(
        context_hash(str(proof["as_of"]), assets),
        int(proof["wallet_id"]),
        bytes.fromhex(proof["salt"]),
        amounts,
    )
    for step in proof["path"]:
        sibling = Node(bytes.fromhex(step["hash"]), tuple(_int(s) for s in step["sums"]))
        if len(sibling.hash) != 32 or len(sibling.sums) != len(assets):
            raise ValueError("a path step has a malformed hash or the wrong number of sums")
        node = parent(sibling, node) if step["side"] == "left" else parent(node, sibling)
    return node


def verify(proof: dict[str, Any], root_hex: str) -> Verdict:
    """Does ``proof`` lead to the published root ``root_hex``?"""
    try:
        node = recompute(proof)
    except (KeyError, TypeError, ValueError) as error:
        return Verdict(False, f"the proof is malformed: {error}", {})
    assets, decimals = list(proof["assets"]), dict(proof["decimals"])
    totals = {a: _decimal_text(s, int(decimals[a])) for a, s in zip(assets, node.sums, strict=True)}
    if node.hash.hex() != root_hex.strip().lower():
        return Verdict(
            False, f"the proof leads to root {node.hash.hex()}, not the published {root_hex.strip()}", totals
        )
    return Verdict(
        True, f"wallet {proof['wallet_id']} is included in root {node.hash.hex()} of {proof['as_of']}", totals
    )
