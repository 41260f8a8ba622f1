"""Every example of the documentation, run as written and compared with the answer it shows.

The documents run in the order of documents(), each example in the order shown, against real
`badges serve` processes (what `make run` runs), one per catalog the documents name, each on a
fresh embedded PostgreSQL of its own; one shell session (tests/docs/shell.py) carries the
variables from one example to the next, as a reader's terminal would. curl is emulated over
real HTTP (CI may not have curl); the `badges` command is run for real. The conventions of the
documents are in tests/docs/examples.py and docs/development.md.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.conftest import PROJECT_DIR
from tests.docs.examples import (
    AppendTo,
    Example,
    Item,
    NotRun,
    Setup,
    UseServer,
    compare,
    items,
    pieces,
)
from tests.docs.shell import Shell, ShellError


def documents() -> list[str]:
    """README first, then the action reference (which continues the README's v1 server), then
    the other documents."""
    first = ["README.md", "docs/actions.md"]
    rest = sorted(str(p.relative_to(PROJECT_DIR)) for p in (PROJECT_DIR / "docs").glob("*.md"))
    return first + [d for d in rest if d not in first]


# At least this many examples of each document must run: an example cannot drop out unseen.
MIN_EXAMPLES = {"README.md": 2, "docs/actions.md": 70, "docs/catalog.md": 4}


@dataclass(frozen=True)
class ServerSpec:
    """A server the documents name, as they start it (`make run`)."""

    catalog: str  # BADGES_CATALOG
    port: int  # the PORT the documents give it (the test serves on a free one)
    data_dir: str  # BADGES_DATA_DIR


SERVERS = {
    "v1": ServerSpec("supabase/catalogs/default.toml", 8080, ".data/postgres"),
    "devspace": ServerSpec("supabase/catalogs/devspace.toml", 8081, ".data/devspace"),
}


# The `badges` commands an example may run (not `serve`: the test serves).
BADGES_COMMANDS = frozenset(
    {"token", "sync-catalog", "backfill", "check-badges", "check-streaks", "deliver-notifications"}
)


def clean_env(**env: str) -> dict[str, str]:
    """The environment of `badges`: none of the developer's settings, only these."""
    kept = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("BADGES_", "SUPABASE_"))
        and k not in ("DATABASE_URL", "PORT", "WORKERS", "THREADS")
    }
    return {**kept, **env}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    name: str
    spec: ServerSpec
    data_dir: Path
    port: int
    process: subprocess.Popen[bytes]
    log: Path
    healthy: bool = False

    def wait_healthy(self) -> None:
        deadline = time.monotonic() + 120
        while not self.healthy:
            try:
                connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
                connection.request("GET", "/health")
                self.healthy = connection.getresponse().status == 200
                connection.close()
            except OSError:
                pass
            assert self.process.poll() is None, self.log.read_text()
            assert time.monotonic() < deadline, f"{self.name} did not become healthy"
            time.sleep(0.1)


@contextmanager
def servers(names: set[str]) -> Iterator[dict[str, Server]]:
    """`badges serve` for each named catalog, each on a fresh embedded database; all start at
    once (their initdb and migrations overlap) and stop as Ctrl-C stops `make run`."""
    started: dict[str, Server] = {}
    try:
        for name in sorted(names):
            spec = SERVERS[name]
            data_dir = Path(tempfile.mkdtemp(prefix=f"badges-docs-{name}-")) / "pg"
            port = free_port()
            log = data_dir.parent / "serve.log"
            with log.open("wb") as out:
                process = subprocess.Popen(
                    [sys.executable, "-m", "badges.cli", "serve"],
                    env=clean_env(
                        BADGES_DATA_DIR=str(data_dir),
                        BADGES_CATALOG=str(PROJECT_DIR / spec.catalog),
                        PORT=str(port),
                    ),
                    cwd=PROJECT_DIR,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            started[name] = Server(name, spec, data_dir, port, process, log)
        yield started
    finally:
        for server in started.values():
            if server.process.poll() is None:
                os.killpg(server.process.pid, signal.SIGINT)
        for server in started.values():
            server.process.wait(timeout=60)


@dataclass
class Report:
    ran: dict[str, int] = field(default_factory=dict)
    not_run: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    def summary(self) -> str:
        ran = ", ".join(f"{doc}: {n}" for doc, n in self.ran.items() if n)
        skipped = "".join(f"\n  not run: {line}" for line in self.not_run)
        return f"examples run: {ran}{skipped}"


class Runner:
    """Runs the documents' items in order: the markers choose the server, the examples run in
    one shell session, and each answer is compared with the documented one."""

    def __init__(self, started: dict[str, Server], workdir: Path) -> None:
        self.servers = started
        self.workdir = workdir
        self.current: Server | None = None
        self.appends: dict[str, list[str]] = {}
        self.files: dict[str, Path] = {}
        self.bindings: dict[str, str] = {}  # a generated value as documented -> as it came
        self.report = Report()
        self.shell = Shell(
            {
                "curl": self.curl,
                ".venv/bin/badges": self.badges,
                "cp": self.cp,
                "make": self.make,
            }
        )

    def document(self, doc: str) -> None:
        self.current = None
        self.report.ran.setdefault(doc, 0)
        for item in items(PROJECT_DIR / doc, doc):
            self.item(doc, item)

    def item(self, doc: str, item: Item) -> None:
        if isinstance(item, UseServer):
            self.current = self.servers[item.server]
            self.current.wait_healthy()
        elif isinstance(item, AppendTo):
            self.appends.setdefault(item.file, []).append(item.block.text)
        elif isinstance(item, NotRun):
            self.report.not_run.append(f"{doc}:{item.block.line}: {item.reason}")
        elif isinstance(item, Setup):
            try:
                output = self.shell.run(item.block.text)
            except (ShellError, OSError, subprocess.SubprocessError) as exc:
                self.fail(doc, item.block.line, item.block.text, f"{type(exc).__name__}: {exc}")
                return
            if output:
                self.fail(doc, item.block.line, item.block.text, f"printed {output!r}")
        elif isinstance(item, Example):
            self.report.ran[doc] += 1
            self.example(item)

    def example(self, example: Example) -> None:
        source = example.block.text
        for documented, real in self.bindings.items():
            source = source.replace(documented, real)
        try:
            output = self.shell.run(source)
        except (ShellError, OSError, subprocess.SubprocessError) as exc:
            self.fail(example.block.doc, example.block.line, source, f"{type(exc).__name__}: {exc}")
            return
        expected, actual = pieces(example.answer.text), pieces(output)
        problems = compare(expected, actual, "answer", self.bindings)
        if problems:
            shown = "\n".join(
                json.dumps(p, ensure_ascii=False) if not hasattr(p, "text") else p.text
                for p in actual
            )
            self.fail(
                example.block.doc,
                example.block.line,
                source,
                "\n".join(problems[:20]) + f"\n--- the real answer:\n{shown}",
            )

    def fail(self, doc: str, line: int, source: str, problem: str) -> None:
        first = source.strip().splitlines()[0] if source.strip() else ""
        self.report.failures.append(f"{doc}:{line}: {first}\n{problem}")

    def server_for(self, what: str, server: Server | None) -> Server:
        if server is None:
            raise ShellError(f"{what}: no server of the documents (SERVERS) is there")
        if self.current is None:
            raise ShellError(f"{what}: no `<!-- examples: SERVER -->` marker precedes it")
        if server is not self.current:
            raise ShellError(
                f"{what} reaches the {server.name} server, but the marker says {self.current.name}"
            )
        return server

    # The commands the examples run.

    def curl(self, args: list[str], env: dict[str, str], stdin: str | None) -> str:
        if env or stdin is not None:
            raise ShellError("curl with an environment or a pipe in is not supported")
        include, write_out, data, method, url = False, "", None, None, None
        headers: dict[str, str] = {}
        rest = iter(args)
        for arg in rest:
            if arg == "-s":
                continue
            if arg == "-i":
                include = True
            elif arg in ("-w", "-H", "-d", "-X"):
                value = next(rest, None)
                if value is None:
                    raise ShellError(f"curl {arg} without its value")
                if arg == "-w":
                    write_out = value
                elif arg == "-H":
                    name, _, header = value.partition(":")
                    headers[name.strip()] = header.strip()
                elif arg == "-d":
                    if data is not None:
                        raise ShellError("curl with more than one -d is not supported")
                    data = value
                else:
                    method = value
            elif arg.startswith("-"):
                raise ShellError(f"curl {arg}: a flag the examples' curl does not know")
            elif url is None:
                url = arg
            else:
                raise ShellError(f"curl with two URLs: {url} and {arg}")
        if url is None:
            raise ShellError("curl without a URL")
        parts = urllib.parse.urlsplit(url)
        if parts.scheme != "http" or parts.hostname != "127.0.0.1":
            raise ShellError(f"curl {url}: the examples call http://127.0.0.1:PORT only")
        by_port = {s.spec.port: s for s in self.servers.values()}
        server = self.server_for(f"curl {url}", by_port.get(parts.port or 80))
        if data is not None and not any(h.lower() == "content-type" for h in headers):
            headers["Content-Type"] = "application/x-www-form-urlencoded"  # as curl does
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
        try:
            connection.request(
                method or ("POST" if data is not None else "GET"),
                urllib.parse.urlunsplit(("", "", parts.path or "/", parts.query, "")),
                body=data.encode() if data is not None else None,
                headers={"User-Agent": "curl/8.5.0", "Accept": "*/*", **headers},
            )
            response = connection.getresponse()
            body = response.read().decode()
        finally:
            connection.close()
        out = ""
        if include:
            out += f"HTTP/1.1 {response.status} {response.reason}\r\n"
            out += "".join(f"{k}: {v}\r\n" for k, v in response.getheaders()) + "\r\n"
        out += body
        if write_out:
            if "%{" in write_out.replace("%{http_code}", ""):
                raise ShellError(f"curl -w {write_out!r}: only %{{http_code}} is supported")
            out += write_out.replace("%{http_code}", str(response.status)).replace("\\n", "\n")
        return out

    def badges(self, args: list[str], env: dict[str, str], stdin: str | None) -> str:
        """The `badges` command, run for real; a database command acts on the current server's
        database, which the command must name as the documents start it."""
        unknown = set(env) - {"BADGES_DATA_DIR", "BADGES_CATALOG"}
        if unknown or stdin is not None:
            raise ShellError(f"badges with {sorted(unknown)} or a pipe in is not supported")
        if not args or args[0] not in BADGES_COMMANDS:
            raise ShellError(f"badges {args}: an example may run only {sorted(BADGES_COMMANDS)}")
        command = [sys.executable, "-m", "badges.cli", *args]
        if args[0] == "token":  # no database: what $(…) captures is standard output
            done = subprocess.run(  # noqa: S603 (the project's own command, checked above)
                command, env=clean_env(), capture_output=True, text=True, check=False, timeout=60
            )
            if done.returncode:
                raise ShellError(f"badges {' '.join(args)} failed: {done.stderr}")
            return done.stdout
        data_dir = env.get("BADGES_DATA_DIR", ".data/postgres").rstrip("/")
        by_data_dir = {s.spec.data_dir: s for s in self.servers.values()}
        server = self.server_for(f"badges {args[0]}", by_data_dir.get(data_dir))
        settings = {"BADGES_DATA_DIR": str(server.data_dir)}
        if "BADGES_CATALOG" in env:
            settings["BADGES_CATALOG"] = str(self.path(env["BADGES_CATALOG"]))
        done = subprocess.run(  # noqa: S603 (the project's own command, checked above)
            command,
            env=clean_env(**settings),
            cwd=PROJECT_DIR,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            check=False,
            timeout=120,
        )
        return done.stdout.replace(str(server.data_dir), f"<repository>/{data_dir}")

    def path(self, name: str) -> Path:
        """A file an example names: one an example wrote (cp), else one of the repository."""
        if name in self.files:
            return self.files[name]
        path = (PROJECT_DIR / name).resolve()
        if not path.is_file() or PROJECT_DIR not in path.parents:
            raise ShellError(f"{name}: no such file in the repository")
        return path

    def cp(self, args: list[str], env: dict[str, str], stdin: str | None) -> str:
        """`cp FILE NAME`: NAME (in the test's folder) gets FILE, then the ```toml blocks
        marked `<!-- examples: append to NAME -->` before it."""
        if len(args) != 2 or env or stdin is not None or "/" in args[1]:
            raise ShellError(f"only `cp FILE NAME` (NAME in the current folder), not cp {args}")
        source, name = self.path(args[0]), args[1]
        appended = "".join(f"\n{text}" for text in self.appends.pop(name, []))
        self.files[name] = self.workdir / name
        self.files[name].write_text(source.read_text(encoding="utf-8") + appended)
        return ""

    def make(self, args: list[str], env: dict[str, str], stdin: str | None) -> str:
        """`make run` is not run (the test started the server): it must be the current one."""
        if args != ["run"] or stdin is not None:
            raise ShellError(f"only `make run` can be part of an example, not make {args}")
        unknown = set(env) - {"BADGES_DATA_DIR", "BADGES_CATALOG", "PORT"}
        if unknown:
            raise ShellError(f"make run with {sorted(unknown)} is not supported")
        spec = ServerSpec(
            env.get("BADGES_CATALOG", "supabase/catalogs/default.toml"),
            int(env.get("PORT", "8080")),
            env.get("BADGES_DATA_DIR", ".data/postgres").rstrip("/"),
        )
        named = next((s for s in self.servers.values() if s.spec == spec), None)
        self.server_for(f"make run ({spec})", named)
        return ""


def all_items() -> dict[str, list[Item]]:
    return {doc: items(PROJECT_DIR / doc, doc) for doc in documents()}


def test_the_documents_follow_the_conventions_of_examples() -> None:
    """Without a server: every document parses, every marker names a known server and comes
    before the first example of its document, and no curl example lacks its answer."""
    problems = []
    for doc, found in all_items().items():
        server = None
        for item in found:
            if isinstance(item, UseServer):
                if item.server not in SERVERS:
                    problems.append(f"{doc}:{item.line}: unknown server {item.server!r}")
                server = item.server
            elif isinstance(item, Example) and server is None:
                problems.append(f"{doc}:{item.block.line}: no `<!-- examples: … -->` before it")
    assert not problems, "\n".join(problems)


def test_every_example_of_the_documentation_gives_the_answer_it_shows(scratch: Path) -> None:
    found = all_items()
    named = {
        i.server for doc_items in found.values() for i in doc_items if isinstance(i, UseServer)
    }
    with servers(named) as started:
        runner = Runner(started, Path(tempfile.mkdtemp(prefix="badges-docs-files-")))
        for doc in found:
            runner.document(doc)
        for server in started.values():
            if server.process.poll() is not None:
                runner.report.failures.append(
                    f"{server.name} server died:\n{server.log.read_text()}"
                )
    report = runner.report
    print(report.summary())
    assert not report.failures, (
        f"{len(report.failures)} examples gave another answer than documented:\n\n"
        + "\n\n".join(report.failures)
        + "\n\n"
        + report.summary()
    )
    short = {
        doc: report.ran.get(doc, 0) for doc, n in MIN_EXAMPLES.items() if report.ran.get(doc, 0) < n
    }
    assert not short, f"fewer examples ran than expected: {short}\n{report.summary()}"
    leftover = {name for name in runner.appends}
    assert not leftover, f"blocks marked `append to` that no cp used: {leftover}"


def test_the_shell_runs_the_loops_and_quoting_of_the_examples() -> None:
    calls: list[list[str]] = []

    def curl(args: list[str], env: dict[str, str], stdin: str | None) -> str:
        calls.append(args)
        return json.dumps({"n": len(calls)})

    shell = Shell({"curl": curl})
    out = shell.run(
        "URL=http://127.0.0.1:${PORT:-8080}\n"
        "for p in a b; do\n"
        "  curl -s \"$URL/\" -H 'X: y' \\\n"
        '    -d "{\\"p\\": \\"$p\\"}"   # a comment\n'
        "  echo\n"
        "done | tail -n 1\n"
        "for i in $(seq 3); do echo $i; done\n"
    )
    assert out == '{"n": 2}\n1\n2\n3\n'
    assert calls == [
        ["-s", "http://127.0.0.1:8080/", "-H", "X: y", "-d", '{"p": "a"}'],
        ["-s", "http://127.0.0.1:8080/", "-H", "X: y", "-d", '{"p": "b"}'],
    ]
    with pytest.raises(ShellError, match="not set"):
        shell.run('curl "$NOPE"')
    with pytest.raises(ShellError, match="cannot run 'wget'"):
        shell.run("wget http://127.0.0.1:8080/")
    with pytest.raises(ShellError, match="unsupported"):
        shell.run("curl http://127.0.0.1:8080/ > out.json")


def test_answers_match_exactly_but_for_times_and_generated_values() -> None:
    bindings: dict[str, str] = {}
    documented = pieces(
        '{"earned_at": "2026-11-23T09:31:14.821979+00:00", "share_id": "aa", "n": 1}\n400\n'
    )
    real = pieces('{"earned_at": "2031-01-02T03:04:05Z", "share_id": "bb", "n": 1}\n400\n')
    assert compare(documented, real, "answer", bindings) == []
    assert bindings == {"aa": "bb"}
    assert compare(pieces('{"n": 1}'), pieces('{"n": 1.0}'), "answer", {}) != []
    assert compare(pieces('{"id": 2}'), pieces('{"id": 3}'), "answer", {}) != []
    assert compare(pieces("400"), pieces("404"), "answer", {}) != []
