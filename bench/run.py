"""`make bench`: every performance figure beside its reference, measured in one run on this
machine, printed as a Markdown table and written to bench/results/latest.md.

  1. the data set (bench/dataset.py): 1,000,000 users, ≈ 5M awards, 60 days of activity for
     100,000 users, quiz answers for 100,000 users, loaded by set-based SQL;
  2. the hot calls on that database as loaded (never ANALYZEd), then after VACUUM ANALYZE;
  3. pgbench figures with their raw references (bench/pgbench_suite.py), and the WAL a new award
     writes beside the raw insert's, by relation (bench/wal.py);
  4. the streak batch against a per-user loop (bench/sql_figures.py);
  5. HTTP: award against OPTIONS on the same server (bench/http_award.py), cold start and worker
     RSS (bench/coldstart.py), the award load through PgBouncer in transaction mode
     (bench/pooler.py), each script in its own process with its own server.

The embedded PostgreSQL unless DATABASE_URL is set. --quick runs everything on a small data set
in seconds (what `make test` does, so the scripts cannot rot; its figures mean nothing).

    .venv/bin/python -m bench.run [--quick] [--out bench/results/latest.md]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import benchdb, dataset, pgbench_suite, sql_figures, wal

BENCH = Path(__file__).resolve().parent
RESULTS = BENCH / "results" / "latest.md"


@dataclass(frozen=True)
class Size:
    users: int
    active: int
    quizzers: int
    seconds: float  # per pgbench run
    rounds: int
    calls: int  # per hot call, for the plan figures
    loop_sample: int


FULL = Size(1_000_000, 100_000, 100_000, 20, 3, 200, 2_000)
QUICK = Size(5_000, 1_000, 1_000, 1, 1, 5, 50)


@dataclass
class Report:
    rows: list[tuple[str, str, str, str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(
        self, what: str, figure: str, reference: str = "", ratio: str = "", target: str = ""
    ) -> None:
        self.rows.append((what, figure, reference, ratio, target))
        print(f"{what}: {figure}  | {reference} | {ratio}", flush=True)

    def markdown(self) -> str:
        lines = [
            "| what | figure | reference (same run) | ratio | target |",
            "|---|---|---|---|---|",
        ]
        lines += ["| " + " | ".join(row) + " |" for row in self.rows]
        return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a small data set, seconds per figure")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--skip-http", action="store_true", help="only the SQL figures")
    parser.add_argument("--skip-sql", action="store_true", help="only the HTTP figures")
    parser.add_argument(
        "--plans-only",
        action="store_true",
        help="of the SQL figures, only the never-analysed plans (e.g. on a server with JIT)",
    )
    args = parser.parse_args()
    size = QUICK if args.quick else FULL
    sections = {}
    if not args.skip_sql:
        sections["SQL"] = sql_section(size, plans_only=args.plans_only)
    if not args.skip_http:
        sections["HTTP"] = http_section(args.quick)
    write(args.out, sections, quick=args.quick)


def sql_section(size: Size, *, plans_only: bool = False) -> str:
    report = Report()
    started = time.perf_counter()
    with benchdb.server() as admin:
        url = benchdb.fresh_database(admin, "badges_bench")
        version = benchdb.server_version(url)
        load_data(url, size, report)
        plan_figures(url, size, report)
        if not plans_only:
            archive_figure(url, size, report)
            pgbench_figures(url, size, report)
            wal_figures(url, size, report)
            client_figures(url, size, report)
            batch_figures(url, size, report)
    took = time.perf_counter() - started
    return "\n".join(
        [
            f"Taken {datetime.now(UTC):%Y-%m-%d %H:%M} UTC in {took / 60:.1f} min on"
            f" PostgreSQL {version}"
            f" ({'DATABASE_URL' if os.environ.get('DATABASE_URL') else 'embedded, pgserver'}).",
            f"Data set: {size.users:,} users, {size.active:,} with 60 days of activity,"
            f" {size.quizzers:,} with quiz answers."
            + (
                ""
                if plans_only
                else f" pgbench: -M prepared, synchronous commit on, {size.rounds} alternating"
                f" rounds of {size.seconds:g} s (latency: {size.seconds / 4:g} s), medians;"
                " the reads (1 client) measured before the writes (8 clients)."
            ),
            "",
            report.markdown(),
            *[f"- {note}" for note in report.notes],
        ]
    )


def http_section(quick: bool) -> str:
    report = Report()
    started = time.perf_counter()
    http_figures(quick, report)
    took = time.perf_counter() - started
    return "\n".join(
        [
            f"Taken {datetime.now(UTC):%Y-%m-%d %H:%M} UTC in {took / 60:.1f} min; each script"
            " starts its own `badges serve` on its own embedded database; the load comes from"
            " separate processes (Python http.client, keep-alive) with real development JWTs.",
            "",
            report.markdown(),
            *[f"- {note}" for note in report.notes],
        ]
    )


def load_data(url: str, size: Size, report: Report) -> None:
    steps = dataset.load(url, users=size.users, active=size.active, quizzers=size.quizzers)
    rows = dataset.sizes(url)
    report.add(
        "data set load (set-based SQL)",
        f"{sum(steps.values()):.0f} s",
        ", ".join(f"{k.split('.')[-1]} {v:,}" for k, v in rows.items()),
    )


def plan_figures(url: str, size: Size, report: Report) -> None:
    """Each hot call on the database as loaded (never analysed), then after VACUUM ANALYZE."""
    sql_figures.time_calls(url, size.users, size.calls)  # warm-up: the same pages, cached
    raw = sql_figures.time_calls(url, size.users, size.calls)
    dataset.finish(url)
    sql_figures.time_calls(url, size.users, size.calls)
    analysed = sql_figures.time_calls(url, size.users, size.calls)
    jit = _setting(url, "jit") if _jit_available(url) else "not available"
    for before, after in zip(raw, analysed, strict=True):
        report.add(
            f"{before.name}, never ANALYZEd (jit={jit})",
            f"{before.median_ms:.2f} ms (p99 {before.p99_ms:.2f})",
            f"after ANALYZE: {after.median_ms:.2f} ms (p99 {after.p99_ms:.2f})",
            f"{before.median_ms / after.median_ms:.2f}×",
            "≤ 2×",
        )


def archive_figure(url: str, size: Size, report: Report) -> None:
    """Archiving last week of the weekly catalog board (every user on it), as the daily batch
    or the first read does it once."""
    seconds, archived = sql_figures.archive_boards(url)
    report.add(
        f"archive a finished weekly period of {size.users:,} entries (once)",
        f"{seconds:.2f} s",
        f"{archived} period(s) archived",
    )


def pgbench_figures(url: str, size: Size, report: Report) -> None:
    if benchdb.pgbench_path() is None:
        report.notes.append("pgbench not found: the pgbench figures were not taken.")
        return
    pairs = pgbench_suite.write_scripts(size.users, size.quizzers, size.active)
    variables = {
        **pgbench_suite.keyset_variables(url, size.users),
        **pgbench_suite.holder_variables(url, size.users),
    }
    figures = pgbench_suite.measure(url, pairs, size.seconds, size.rounds, variables)
    targets = {"new award": "≥ 0.5×", "repeated award": "≥ 0.6×"}
    for f in figures:
        if f.runs[0].tps > 50 and f.name in targets:  # throughput figures (8 clients)
            tps, ref = f.median(f.runs, "tps"), f.median(f.reference_runs, "tps")
            report.add(
                f"{f.name} (8 clients)",
                f"{tps:,.0f} TPS (p99 {f.median(f.runs, 'p99_ms'):.2f} ms)",
                f"{f.reference}: {ref:,.0f} TPS",
                f"{tps / ref:.3f}",
                targets[f.name],
            )
        else:  # latency figures (1 client)
            mine, ref = f.median(f.runs, "p50_ms"), f.median(f.reference_runs, "p50_ms")
            report.add(
                f"{f.name} (1 client)",
                f"{mine:.2f} ms (p99 {f.median(f.runs, 'p99_ms'):.2f})",
                f"{f.reference}: {ref:.2f} ms",
                f"{mine / max(ref, 0.001):.1f}×",
                _latency_target(f.name),
            )


def wal_figures(url: str, size: Size, report: Report) -> None:
    """Why the new award's ratio is what it is: its WAL against the raw insert's (bench/wal.py)."""
    award, raw = wal.award_and_raw(url, min(2000, size.users // 2))
    report.add(
        "WAL per new award, right after a checkpoint",
        f"{award.total:,.0f} B",
        f"raw insert: {raw.total:,.0f} B",
        f"{award.total / raw.total:.1f}×",
    )
    if award.relations:
        largest = ", ".join(
            f"{name} {bytes_:,.0f} B ({award.page_images[name]:.2f} page images)"
            for name, bytes_ in list(award.relations.items())[:8]
        )
        report.notes.append(f"WAL per new award by relation, largest first: {largest}.")


def _latency_target(name: str) -> str:
    if name.startswith("profile"):  # one user's rows by key: no scan to be a multiple of
        return "≤ 1 ms"
    if name.startswith("around_me") or name.startswith("catalog board"):
        return "≤ 3× the scan"
    if "me)" in name or ": me" in name:
        return "≤ 1 ms" if ": me" in name else "≤ 3× the scan"
    if "keyset" in name or "500" in name:
        return "≤ 50 ms, or keyset constant"
    return "≤ 3× the scan"


def client_figures(url: str, size: Size, report: Report) -> None:
    mine, bare = sql_figures.client_board(url, size.users, size.calls)
    report.add(
        "leaderboard(me, 100, 0) from a Python client (psycopg, JSON parsed)",
        f"{mine.median_ms:.2f} ms (p99 {mine.p99_ms:.2f})",
        f"bare top-100 scan of the narrow board, 100 rows fetched: {bare.median_ms:.2f} ms",
        f"{mine.median_ms / bare.median_ms:.1f}×",
        "≤ 3× the scan",
    )


def batch_figures(url: str, size: Size, report: Report) -> None:
    batch = sql_figures.streak_batch(url, size.active, size.loop_sample)
    report.add(
        f"streak batch, {size.active:,} active users, first run",
        f"{batch['first_s']:.2f} s, {batch['first_awarded']:,.0f} awards announced",
    )
    report.add(
        f"streak batch, {size.active:,} active users, warm (nothing due)",
        f"{batch['warm_s']:.2f} s",
        f"per-user check_streaks loop: {batch['loop_s']:.1f} s (from {size.loop_sample:,} users)",
        f"{batch['ratio']:.0f}× faster",
        "≤ 1 s, ≥ 20×",
    )


def http_figures(quick: bool, report: Report) -> None:
    """The HTTP scripts, each in its own process with its own server and database."""
    award = _script("http_award.py", quick, report)
    if award:
        report.add(
            f"HTTP award ({award['workers']} workers × {award['threads']} threads, 16 clients)",
            f"{award['award_rps']:,.0f} req/s (p99 {award['award_p99_ms']:.1f} ms),"
            f" {award['errors']} errors",
            f"OPTIONS: {award['options_rps']:,.0f} req/s (p99 {award['options_p99_ms']:.1f} ms)",
            f"{award['ratio']:.2f}",
            "≥ 0.5×, 0 errors",
        )
        report.add(
            "HTTP awards in the database = `awarded: true` answers",
            f"{award['awards_in_db']:,} = {award['awarded_answers']:,}",
        )
        report.add(
            "HTTP CPU per request: server / database / clients",
            _cpu_use(award["cpu"]["award"], award["cpus"]),
            f"OPTIONS: {_cpu_use(award['cpu']['options'], award['cpus'])}",
        )
    cold = _script("coldstart.py", quick, report)
    if cold:
        report.add(
            "cold start to the first answer", f"{cold['cold_start_s']:.2f} s", "", "", "≤ 1.5 s"
        )
        report.add(
            "worker RSS after warm-up", f"{cold['worker_rss_mib']:.0f} MiB", "", "", "≤ 80 MiB"
        )
    pooled = _script("pooler.py", quick, report)
    if pooled:
        report.add(
            f"HTTP award through PgBouncer (transaction mode, pool {pooled['default_pool_size']},"
            f" {pooled['workers']} workers × {pooled['threads']} threads)",
            f"{pooled['award_rps']:,.0f} req/s (p99 {pooled['p99_ms']:.1f} ms),"
            f" {pooled['errors']} errors",
            f"awards in the database {pooled['awards_in_db']:,}"
            f" = answers {pooled['awarded_answers']:,}",
            "",
            "0 errors",
        )


def _cpu_use(use: dict[str, float], cpus: int) -> str:
    return (
        f"{use['server_ms']:.2f} / {use['database_ms']:.2f} / {use['clients_ms']:.2f} ms,"
        f" {use['cores_busy']:.2f} of {cpus} cores busy"
    )


def _script(name: str, quick: bool, report: Report) -> dict[str, Any] | None:
    """A benchmark script's figures (its --json), or None with a note saying why there are
    none: exit status 2 means a component it needs could not be had (pgbouncer), any other
    failure is reported with the end of its output."""
    with tempfile.TemporaryDirectory(prefix="badges-bench-") as folder:
        out = Path(folder) / "figures.json"
        command = [sys.executable, str(BENCH / name), "--json", str(out)]
        done = subprocess.run(
            [*command, *(["--quick"] if quick else [])],
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )
        print(done.stdout, end="", flush=True)
        if done.returncode != 0 or not out.exists():
            tail = " ".join((done.stdout + done.stderr).strip().splitlines()[-3:])
            verb = "not run" if done.returncode == 2 else f"FAILED (exit {done.returncode})"
            report.notes.append(f"{name} {verb}: {tail}{_server_log(out)}")
            return None
        figures: dict[str, Any] = json.loads(out.read_text())
    return figures


def _server_log(figures: Path) -> str:
    """What the server logged when a script failed (its --json keeps the end of it), for the
    diagnosis: the last lines, quoted."""
    if not figures.exists():
        return ""
    log = json.loads(figures.read_text()).get("server_log_tail") or ""
    lines = [line.strip() for line in log.strip().splitlines()[-5:]]
    return "; server log: " + " / ".join(f"`{line}`" for line in lines) if lines else ""


def _jit_available(url: str) -> bool:
    import psycopg

    with psycopg.connect(url) as conn:
        row = conn.execute("select pg_jit_available()").fetchone()
    return bool(row and row[0])


def _setting(url: str, name: str) -> str:
    import psycopg

    with psycopg.connect(url) as conn:
        row = conn.execute("select current_setting(%s, true)", (name,)).fetchone()
    return str(row[0]) if row and row[0] is not None else "n/a"


def write(out: Path, sections: dict[str, str], *, quick: bool) -> None:
    """The results file: a header with the machine, then one section per part; a part not run
    this time keeps the section it had."""
    kept = _sections(out.read_text()) if out.exists() else {}
    kept.update(sections)
    machine = (
        f"{os.cpu_count()} cores ({platform.processor() or platform.machine()}),"
        f" {_memory_gib():.0f} GiB, {platform.system()} {platform.release()};"
        f" Python {platform.python_version()}"
    )
    lines = [
        f"# Benchmark results{' (quick: small data, figures meaningless)' if quick else ''}",
        "",
        f"`make bench` on this machine: {machine}. Every figure is measured beside its reference"
        " in the same run; ratios are what compare across machines.",
    ]
    for name in ("SQL", "HTTP"):
        if name in kept:
            lines += ["", f"## {name}", "", kept[name].strip()]
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines) + "\n")
    print(f"\nwritten to {out}")


def _sections(text: str) -> dict[str, str]:
    parts = text.split("\n## ")[1:]
    return {part.split("\n", 1)[0]: part.split("\n", 1)[1] for part in parts if "\n" in part}


def _memory_gib() -> float:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    except (ValueError, OSError):
        return 0.0


if __name__ == "__main__":
    main()
