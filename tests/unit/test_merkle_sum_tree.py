"""The Merkle sum tree (core/audit/merkle.py) against a construction written out by hand here with
hashlib, plus the attacks its fixes exist for: shifted sibling sums, negative and oversized sums."""

from __future__ import annotations

import copy
import hashlib
from decimal import Decimal
from typing import Any

from core.audit import merkle

SALTS = [bytes([i]) * 32 for i in range(1, 4)]
ASSETS = ["USD", "STRAT-A-1"]


def _u(value: int) -> bytes:
    return value.to_bytes(16, "big")


def _by_hand() -> tuple[bytes, list[tuple[bytes, tuple[int, int]]]]:
    ctx = hashlib.sha256(b"TA-POL-CTX-v1\x00" + b"2025-01-02|USD,STRAT-A-1").digest()
    amounts = [(5_000_000, 10**18), (0, 2 * 10**18), (1_250_000, 0)]  # $5, $0, $1.25
    leaves = []
    for wallet_id, (salt, (usd, units)) in enumerate(zip(SALTS, amounts, strict=True), start=1):
        data = b"TA-POL-LEAF-v1\x00" + ctx + wallet_id.to_bytes(8, "big") + salt + _u(usd) + _u(units)
        leaves.append((hashlib.sha256(data).digest(), (usd, units)))

    def node(
        a: tuple[bytes, tuple[int, int]], b: tuple[bytes, tuple[int, int]]
    ) -> tuple[bytes, tuple[int, int]]:
        data = b"TA-POL-NODE-v1\x00" + a[0] + _u(a[1][0]) + _u(a[1][1]) + b[0] + _u(b[1][0]) + _u(b[1][1])
        return hashlib.sha256(data).digest(), (a[1][0] + b[1][0], a[1][1] + b[1][1])

    empty = (hashlib.sha256(b"TA-POL-EMPTY-v1").digest(), (0, 0))
    root = node(node(leaves[0], leaves[1]), node(leaves[2], empty))
    assert root[1] == (6_250_000, 3 * 10**18)
    return root[0], leaves


def _proof(index: int) -> tuple[dict[str, Any], str]:
    ctx = merkle.context_hash("2025-01-02", ASSETS)
    amounts = [[5_000_000, 10**18], [0, 2 * 10**18], [1_250_000, 0]]
    nodes = [merkle.leaf(ctx, i + 1, SALTS[i], amounts[i]) for i in range(3)]
    levels = merkle.build(nodes, 2)
    balances = {
        "USD": str(Decimal(amounts[index][0]).scaleb(-6)),
        "STRAT-A-1": str(amounts[index][1] // 10**18),
    }
    proof = {
        "format": merkle.FORMAT,
        "as_of": "2025-01-02",
        "assets": ASSETS,
        "decimals": {"USD": 6, "STRAT-A-1": 18},
        "wallet_id": index + 1,
        "salt": SALTS[index].hex(),
        "balances": balances,
        "path": merkle.path(levels, index),
    }
    return proof, levels[-1][0].hash.hex()


def test_root_and_sums_match_the_construction_written_out_by_hand() -> None:
    root, _ = _by_hand()
    for index in range(3):
        proof, built = _proof(index)
        assert built == root.hex()
        verdict = merkle.verify(proof, root.hex())
        assert verdict.ok, verdict.reason
        assert verdict.totals == {"USD": "6.250000", "STRAT-A-1": "3.000000000000000000"}


def test_a_changed_balance_or_salt_or_day_does_not_verify() -> None:
    proof, root = _proof(0)
    for field, value in (
        ("balances", {"USD": "5.000001", "STRAT-A-1": "1"}),
        ("salt", SALTS[1].hex()),
        ("as_of", "2025-01-03"),
        ("wallet_id", 2),
    ):
        forged = {**copy.deepcopy(proof), field: value}
        verdict = merkle.verify(forged, root)
        assert not verdict.ok and "not the published" in verdict.reason


def test_shifting_value_between_siblings_is_caught() -> None:
    """Maxwell's original tree hashed only the children's total; here both sums are committed, so
    moving $1 from the sibling's sum into this wallet's path (total unchanged) changes the root."""
    proof, root = _proof(0)
    forged = copy.deepcopy(proof)
    sums = forged["path"][0]["sums"]
    forged["path"][0]["sums"] = [str(int(sums[0]) + 1_000_000), sums[1]]
    forged["balances"]["USD"] = "4.000000"
    assert not merkle.verify(forged, root).ok


def test_negative_or_oversized_sums_are_refused_with_a_reason() -> None:
    proof, root = _proof(1)
    for bad in ("-1", str(2**128)):
        forged = copy.deepcopy(proof)
        forged["path"][0]["sums"] = [bad, "0"]
        verdict = merkle.verify(forged, root)
        assert not verdict.ok and "malformed" in verdict.reason
    assert not merkle.verify({"format": "something else"}, root).ok
