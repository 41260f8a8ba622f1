"""Where a new award's write cost goes: write-ahead log bytes per award, by relation, beside the
raw insert's.

At 8 clients with synchronous commit both the award and the raw insert are bound by WAL writes,
so their TPS ratio follows the ratio of WAL bytes per transaction. Most of those bytes are full
page images: the first change of a page after a checkpoint logs the whole 8 kB page, and an
index keyed by a random uuid touches a different page on nearly every insert. The figure is
taken right after a CHECKPOINT, where every page is first touched (the worst case of the cycle;
at 8 clients a cycle is seconds long, since max_wal_size fills quickly).

Totals come from pg_current_wal_insert_lsn() and work on any server; the breakdown by relation
needs pg_waldump and read access to the server's pg_wal (the embedded server: yes).

    .venv/bin/python -m bench.wal [--awards 2000] [--url URL] [--out bench/results/award-wal.md]
    (without --url: a fresh database, with the data set, on the embedded server or DATABASE_URL)
"""

from __future__ import annotations

import argparse
import collections
import re
import subprocess
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg

from badges import devdb
from bench import benchdb

AWARD = (
    "select count(badges.award_badge(gen_random_uuid(), 'social_sharer', false))"
    " from generate_series(1, %s)"
)
RAW = (
    "do $$ begin for i in 1..{n} loop"
    " insert into bench.raw_awards (user_id, badge_id) values (gen_random_uuid(), 'social_sharer')"
    " on conflict do nothing; end loop; end $$"
)
RECORD = re.compile(r"len \(rec/tot\):\s*\d+/\s*(\d+)")
RELATION = re.compile(r"rel \d+/\d+/(\d+)")


@dataclass
class WalProfile:
    """WAL bytes per call: in total and by relation (with full page images per call)."""

    calls: int
    total: float
    relations: dict[str, float] = field(default_factory=dict)
    page_images: dict[str, float] = field(default_factory=dict)


def profile(url: str, statement: str, calls: int) -> WalProfile:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("checkpoint")
        start = _lsn(conn)
        conn.execute(statement)  # type: ignore[arg-type]
        end = _lsn(conn)
        row = conn.execute("select pg_wal_lsn_diff(%s, %s)", (end, start)).fetchone()
        data_dir = conn.execute("select current_setting('data_directory')").fetchone()
    assert row is not None
    assert data_dir is not None
    result = WalProfile(calls, float(row[0]) / calls)
    dump = _waldump(Path(str(data_dir[0])) / "pg_wal", start, end)
    if dump is not None:
        _by_relation(url, dump, result)
    return result


def _lsn(conn: psycopg.Connection[Any]) -> str:
    row = conn.execute("select pg_current_wal_insert_lsn()::text").fetchone()
    assert row is not None
    return str(row[0])


def _waldump(wal: Path, start: str, end: str) -> str | None:
    """pg_waldump's records between two LSNs, or None where it or the files are out of reach."""
    tool = devdb.tool("pg_waldump")
    if tool is None or not wal.is_dir():
        return None
    done = subprocess.run(
        [tool, "-p", str(wal), "-s", start, "-e", end],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    return done.stdout or None


def _by_relation(url: str, dump: str, result: WalProfile) -> None:
    sizes: collections.Counter[str] = collections.Counter()
    images: collections.Counter[str] = collections.Counter()
    for line in dump.splitlines():
        record = RECORD.search(line)
        if record is None:
            continue
        relation = RELATION.search(line)
        key = relation.group(1) if relation else "other (commit, sequence, ...)"
        sizes[key] += int(record.group(1))
        images[key] += line.count("FPW")
    names = _relation_names(url, [k for k in sizes if k.isdigit()])
    for key, size in sizes.most_common():
        name = names.get(key, key)
        result.relations[name] = size / result.calls
        result.page_images[name] = images[key] / result.calls


def _relation_names(url: str, filenodes: list[str]) -> dict[str, str]:
    if not filenodes:
        return {}
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "select relfilenode::text, relname from pg_class where relfilenode = any(%s::oid[])",
            (filenodes,),
        ).fetchall()
    return {str(node): str(name) for node, name in rows}


def award_and_raw(url: str, calls: int) -> tuple[WalProfile, WalProfile]:
    """WAL per new award (a new user each) and per raw insert, each right after a checkpoint.
    Runs in transactions that commit: the rows stay, as the pgbench figures' do."""
    award = profile(url, AWARD % int(calls), calls)
    raw = profile(url, RAW.format(n=int(calls)), calls)
    return award, raw


def markdown(award: WalProfile, raw: WalProfile, top: int = 12) -> str:
    lines = [
        f"WAL per call right after a checkpoint: new award {award.total:,.0f} B,"
        f" raw insert {raw.total:,.0f} B ({award.total / raw.total:.1f}×).",
    ]
    if award.relations:
        lines += ["", "| relation | award: B per call | full page images per call |"]
        lines.append("|---|---|---|")
        for name, size in list(award.relations.items())[:top]:
            lines.append(f"| {name} | {size:,.0f} | {award.page_images[name]:.2f} |")
        raw_top = ", ".join(f"{n} {s:,.0f} B" for n, s in list(raw.relations.items())[:3])
        lines += ["", f"Raw insert, largest: {raw_top}."]
    return "\n".join(lines)


def dataset_rows(url: str) -> tuple[int, int]:
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "select (select count(*) from badges.users), (select count(*) from badges.awards)"
        ).fetchone()
    assert row is not None
    return int(row[0]), int(row[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--awards", type=int, default=2000)
    parser.add_argument("--users", type=int, default=1_000_000, help="data set size (fresh db)")
    parser.add_argument("--url", help="a database already loaded by bench.dataset")
    parser.add_argument("--out", type=Path, help="also write the table to this Markdown file")
    args = parser.parse_args()
    if args.url:
        url = args.url
        text = markdown(*award_and_raw(url, args.awards))
    else:
        from bench import dataset

        with benchdb.server() as admin:
            url = benchdb.fresh_database(admin, "badges_bench_wal")
            dataset.load(url, users=args.users, active=0, quizzers=0)
            dataset.finish(url)
            text = markdown(*award_and_raw(url, args.awards))
    print(text)
    if args.out:
        rows = dataset_rows(url)
        taken = (
            f"Taken {datetime.now(UTC):%Y-%m-%d %H:%M} UTC by `python -m bench.wal` on PostgreSQL"
            f" {benchdb.server_version(url)}, {rows[0]:,} users and {rows[1]:,} awards loaded."
        )
        args.out.write_text(f"# WAL per new award\n\n{taken}\n\n{text}\n")


if __name__ == "__main__":
    main()
