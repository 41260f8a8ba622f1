"""The HTTP benchmark scripts run end to end (`--quick --json`): each starts `badges serve` on a
database of its own, drives it and writes its figures. Only what holds on any machine is
asserted (every key there, no error, the database agreeing with the answers, rates above zero),
never a timing."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parents[2] / "bench"


def run_script(name: str, tmp_path: Path) -> dict[str, Any]:
    out = tmp_path / f"{name}.json"
    done = subprocess.run(  # noqa: S603 - our own scripts, a fixed command
        [sys.executable, str(BENCH / name), "--quick", "--json", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    figures: dict[str, Any] = json.loads(out.read_text())
    return figures


def test_http_award_reports_both_phases_without_errors_and_matches_the_database(tmp_path: Path):
    figures = run_script("http_award.py", tmp_path)

    assert {
        "options_rps",
        "award_rps",
        "ratio",
        "options_p50_ms",
        "options_p99_ms",
        "award_p50_ms",
        "award_p99_ms",
        "errors",
        "awards_in_db",
        "awarded_answers",
        "workers",
        "threads",
        "client",
    } <= figures.keys()
    assert figures["errors"] == 0
    assert figures["awarded_answers"] > 0
    assert figures["awards_in_db"] == figures["awarded_answers"]
    assert figures["options_rps"] > 0
    assert figures["award_rps"] > 0
    assert figures["ratio"] > 0
    assert figures["workers"] >= 1
    assert figures["threads"] >= 1
    assert "process" in figures["client"]
    # Where the CPU went: the server works in both phases, the database only for awards.
    for phase in ("options", "award"):
        assert figures["cpu"][phase]["server_ms"] > 0
        assert figures["cpu"][phase]["clients_ms"] > 0
        assert figures["cpu"][phase]["cores_busy"] > 0
    assert figures["cpu"]["award"]["database_ms"] > 0


def test_coldstart_reports_the_start_and_the_worker_memory(tmp_path: Path):
    figures = run_script("coldstart.py", tmp_path)

    assert {"cold_start_s", "worker_rss_mib", "errors", "workers"} <= figures.keys()
    assert figures["errors"] == 0
    assert figures["cold_start_s"] > 0
    assert figures["worker_rss_mib"] > 0
    assert figures["workers"] >= 1
