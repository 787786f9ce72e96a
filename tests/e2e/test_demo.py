"""`arena demo` end to end on a fresh SQLite file: every step runs and the ledger checks out."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path


def test_arena_demo_runs_the_whole_product_offline(tmp_path: Path) -> None:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("ARENA_", "OPENAI", "TELEGRAM", "DISCORD"))
    }
    db = tmp_path / "demo.db"
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "from bot.cli import main; main()",
            "--db",
            f"sqlite:///{db}",
            "demo",
            "--json",
        ],
        cwd=tmp_path,
        env={**env, "COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    summary = json.loads(done.stdout)  # --json: nothing but the JSON summary on stdout
    out = done.stderr  # the human report went to stderr
    assert summary["ledger_ok"] is True
    assert summary["import"]["tokenized"] >= 1
    assert set(summary["wallets"]) == {"Building fund", "Mission fund", "Benevolence fund"}
    assert summary["wallets"]["Building fund"]["positions"], "the full-AI wallet should hold tokens"
    assert summary["live"]["approved"] >= 1
    assert summary["approval_traded"] is True  # the treasurer's Approve executed real trades
    assert "pressed Approve on proposal #" in out and "- bought " in out
    assert Path(summary["digest_chart"]).read_bytes().startswith(b"\x89PNG")
    assert Path(summary["agreement_pdf"]).read_bytes().startswith(b"%PDF")  # the generated PMA agreement
    assert "pressed Agree" in out and "verified by a platform admin from the queue" in out
    # Two AI wallets moved to Basic and were billed (prorated at once, then monthly in advance).
    assert float(summary["plan_revenue"]["Basic"]["charged"]) >= 2 * 50 * 1 / 31
    plans = summary["plan_revenue"]
    assert plans["Basic"]["wallets"] == 2 and plans["Free"]["wallets"] == 1
    assert Path(summary["statement"]["pdf"]).read_bytes().startswith(b"%PDF")
    assert Path(summary["statement"]["csv"]).read_text().startswith("section,item,")
    assert float(summary["bounty"]["paid"]) > 0 and summary["bounty"]["paid"] == summary["bounty"]["earned"]
    assert "Daily digest" in out and "not investment advice" in out

    check = subprocess.run(
        [
            sys.executable,
            "-c",
            "from bot.cli import main; main()",
            "--db",
            f"sqlite:///{db}",
            "ledger",
            "check",
            "--json",
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert check.returncode == 0 and json.loads(check.stdout) == {"ok": True, "violations": []}

    # A second demo on the same database would stack onto the first: refused, one line, exit 2.
    again = subprocess.run(
        [sys.executable, "-c", "from bot.cli import main; main()", "--db", f"sqlite:///{db}", "demo"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
    )
    assert again.returncode == 2 and again.stdout == ""
    assert again.stderr.count("\n") == 1 and "--fresh" in again.stderr and "Traceback" not in again.stderr
