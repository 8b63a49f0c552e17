"""The terminal channel, scripted through a pipe exactly as the README shows."""

from __future__ import annotations

import subprocess
import sys


def run_chat(script: str, db: str) -> str:
    proc = subprocess.run(
        [sys.executable, "-m", "bot", "chat", "--db", db],
        input=script,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_scripted_start_then_first_item(tmp_path):
    out = run_chat("/start\n1\n", str(tmp_path / "c.db"))
    assert "[1] 问政策" in out
    assert "> 1" in out
    after = out.split("> 1", 1)[1]
    assert after.strip()  # the chosen item answered
    assert "<b>" not in out  # markup is turned into plain text


def test_picking_by_label_and_out_of_range(tmp_path):
    out = run_chat("/start\n9\n找渠道\n", str(tmp_path / "c.db"))
    assert "没有这个选项" in out
    assert out.count("> ") == 3
