"""The examples of the Markdown documentation, and how an answer is compared with the one shown.

An example is a ```sh block that calls the function with `curl` (or runs the `badges` command)
followed directly by a ```json or ```text block: the answer, as the commands print it. The
conventions (docs/development.md, "The documentation's examples"):

- `<!-- examples: v1 -->`, `<!-- examples: devspace -->`: the examples that follow in this file
  run against the server with that catalog (one server per catalog for the whole run, on a
  fresh database; the documents run in the order of test_examples.documents(), so each
  continues where the one before left that server). Every `$URL` a curl uses must be that
  server's.
- `<!-- examples: append to FILE -->` just before a ```toml block: an example's
  `cp CATALOG FILE` writes CATALOG to FILE and then appends that block, as its comment says.
- `<!-- not-run: REASON -->` just before a ```sh block: it (and its answer) is not run; the
  test lists it with the reason.
- A ```sh block without an answer is run when it sets variables (and perhaps says which
  `make run` they are for), else it is not an example (make, gcloud, supabase, psql, …). A block
  calling curl must be run or marked.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.docs.shell import ShellError, Simple, parse

FENCE = re.compile(r"^(\s*)```(\S*)\s*$")
MARKER = re.compile(r"^\s*<!--\s*(examples|not-run):\s*(.*?)\s*-->\s*$")
APPEND = re.compile(r"append to (\S+)")
ANSWER_LANGUAGES = ("json", "text")


class DocError(Exception):
    """A document breaks the conventions above."""


@dataclass(frozen=True)
class Block:
    doc: str
    line: int  # of the opening fence, 1-based
    language: str
    text: str


@dataclass(frozen=True)
class UseServer:
    doc: str
    line: int
    server: str


@dataclass(frozen=True)
class AppendTo:
    file: str
    block: Block


@dataclass(frozen=True)
class Setup:
    block: Block


@dataclass(frozen=True)
class Example:
    block: Block
    answer: Block


@dataclass(frozen=True)
class NotRun:
    block: Block
    reason: str


Item = UseServer | AppendTo | Setup | Example | NotRun


def read_blocks(path: Path, name: str) -> list[tuple[list[tuple[int, str, str]], Block, bool]]:
    """The fenced blocks of a document, each with the markers since the block before it and
    whether only blank lines separate it from the block before."""
    lines = path.read_text(encoding="utf-8").splitlines()
    found: list[tuple[list[tuple[int, str, str]], Block, bool]] = []
    markers: list[tuple[int, str, str]] = []
    adjacent = False
    i = 0
    while i < len(lines):
        fence = FENCE.match(lines[i])
        if fence is None:
            if marker := MARKER.match(lines[i]):
                markers.append((i + 1, marker[1], marker[2]))
            if lines[i].strip():
                adjacent = False
            i += 1
            continue
        indent, language = fence[1], fence[2]
        start, i = i, i + 1
        body: list[str] = []
        while i < len(lines) and lines[i].strip() != "```":
            body.append(lines[i][len(indent) :] if lines[i].startswith(indent) else lines[i])
            i += 1
        if i == len(lines):
            raise DocError(f"{name}:{start + 1}: the block is not closed")
        found.append((markers, Block(name, start + 1, language, "\n".join(body) + "\n"), adjacent))
        markers, adjacent = [], True
        i += 1
    if markers:
        raise DocError(f"{name}:{markers[0][0]}: a marker after the last block")
    return found


def calls_curl(block: Block) -> bool:
    return block.language == "sh" and re.search(r"(^|[\s;|(])curl\s", block.text) is not None


def only_sets_variables(block: Block) -> bool:
    """A setup block: its commands are variable assignments, and perhaps a `make run`."""
    try:
        commands = [c for p in parse(block.text) for c in p.commands]
    except ShellError:  # not for this shell (placeholders like <ref>, redirections): no setup
        return False
    return any(isinstance(c, Simple) and not c.words for c in commands)


def items(path: Path, name: str) -> list[Item]:
    """A document's examples and markers, in order."""
    blocks = read_blocks(path, name)
    found: list[Item] = []
    k = 0
    while k < len(blocks):
        markers, block, _ = blocks[k]
        after = blocks[k + 1] if k + 1 < len(blocks) else None
        answer = (
            after[1]
            if after and after[2] and not after[0] and after[1].language in ANSWER_LANGUAGES
            else None
        )
        not_run = None
        for line, kind, argument in markers:
            if kind == "not-run":
                if not argument:
                    raise DocError(f"{name}:{line}: not-run needs a reason")
                not_run = argument
            elif append := APPEND.fullmatch(argument):
                if block.language != "toml":
                    raise DocError(f"{name}:{line}: `append to` must stand before a toml block")
                found.append(AppendTo(append[1], block))
            elif re.fullmatch(r"[a-z0-9_-]+", argument):
                found.append(UseServer(name, line, argument))
            else:
                raise DocError(f"{name}:{line}: unknown marker `examples: {argument}`")
        if not_run is not None:
            if block.language != "sh":
                raise DocError(f"{name}:{block.line}: not-run stands before a sh block")
            found.append(NotRun(block, not_run))
        elif block.language == "sh" and answer is not None:
            found.append(Example(block, answer))
        elif calls_curl(block):
            raise DocError(
                f"{name}:{block.line}: a curl example without its answer (a ```json or ```text "
                "block right after it); mark it <!-- not-run: reason --> if it cannot run"
            )
        elif block.language == "sh" and only_sets_variables(block):
            found.append(Setup(block))
        k += 2 if answer is not None else 1
    return found


# Comparing answers.

TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}(:?\d{2})?)?)?")
HTTP_DATE = re.compile(r"^(Date:\s*).*$", re.IGNORECASE)
# Values the server generates that differ from run to run: the doc's value stands for the real
# one, and a later example quoting the doc's value is sent the real one.
GENERATED_KEYS = frozenset({"share_id", "next_before", "next_after"})


def pieces(text: str) -> list[Any]:
    """An output as a list of JSON values and lines of text: a JSON object or array wherever
    one starts, a scalar when it fills the rest of its line (an HTTP status), else the line."""
    found: list[Any] = []
    decoder = json.JSONDecoder()
    i = 0
    while i < len(text):
        if text[i].isspace():
            i += 1
            continue
        end_of_line = text.find("\n", i)
        end_of_line = len(text) if end_of_line < 0 else end_of_line
        try:
            value, end = decoder.raw_decode(text, i)
        except json.JSONDecodeError:
            value, end = None, -1
        if end > 0 and (isinstance(value, dict | list) or not text[end:end_of_line].strip()):
            found.append(value)
            i = end
        else:
            found.append(Line(HTTP_DATE.sub(r"\1<date>", text[i:end_of_line].rstrip())))
            i = end_of_line
    return found


@dataclass(frozen=True)
class Line:
    text: str


def compare(expected: Any, actual: Any, where: str, bindings: dict[str, str]) -> list[str]:
    """The differences between a documented answer and the real one (empty: the same).

    Exactly equal, JSON type included, except: a string that is an ISO 8601 time or date (a
    leaderboard period's first day) matches any such string; a string under GENERATED_KEYS
    matches any string, and is bound to it.
    """
    if isinstance(expected, dict) and isinstance(actual, dict):
        problems = []
        for key in expected.keys() | actual.keys():
            if key not in actual:
                problems.append(f"{where}.{key}: missing")
            elif key not in expected:
                problems.append(f"{where}.{key}: not documented ({actual[key]!r})")
            elif key in GENERATED_KEYS and isinstance(expected[key], str):
                if not isinstance(actual[key], str):
                    problems.append(f"{where}.{key}: {actual[key]!r}, not a string")
                else:
                    bindings[expected[key]] = actual[key]
            else:
                problems += compare(expected[key], actual[key], f"{where}.{key}", bindings)
        return problems
    if isinstance(expected, list) and isinstance(actual, list):
        if len(expected) != len(actual):
            return [f"{where}: {len(actual)} items, not {len(expected)}"]
        return [
            p
            for k, (e, a) in enumerate(zip(expected, actual, strict=True))
            for p in compare(e, a, f"{where}[{k}]", bindings)
        ]
    if (
        isinstance(expected, str)
        and isinstance(actual, str)
        and TIMESTAMP.fullmatch(expected)
        and TIMESTAMP.fullmatch(actual)
    ):
        return []
    if type(expected) is not type(actual) or expected != actual:
        return [f"{where}: {actual!r}, not {expected!r}"]
    return []
