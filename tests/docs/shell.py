"""The little of POSIX sh the documentation's examples are written in, run in Python.

CI may have no curl, and the examples must run exactly as written, so this reads them as a
shell would: words with '…' and "…" quoting, backslash escapes and line continuations, `$VAR`,
`${VAR:-default}` and `$(…)` expansions (unquoted ones split into fields), `#` comments, `;`,
newlines and `|`, assignments (alone: a variable of the session; before a command: its
environment) and `for NAME in WORDS; do …; done`. The commands themselves (curl, echo, tail,
seq, cp, make, badges) are callbacks of the caller. Anything else fails loudly, so that an
example cannot silently mean something else here than in a terminal.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Literal

NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
OPERATORS = frozenset({";", "|", "\n"})


class ShellError(Exception):
    """The example uses shell syntax or a command this interpreter does not support."""


@dataclass(frozen=True)
class Part:
    """A piece of a word: literal text, a variable or a command substitution."""

    kind: Literal["text", "var", "command"]
    value: str  # the text, the variable's name or the command's source
    quoted: bool = False  # inside "…" or '…': not split into fields
    default: str | None = None  # ${VAR:-default}


Word = tuple[Part, ...]
Token = Word | str  # a word, or one of OPERATORS


def tokenize(source: str) -> list[Token]:
    tokens: list[Token] = []
    parts: list[Part] = []
    started = False  # a word is open (even an empty one: '' is a word)
    i, n = 0, len(source)

    def end_word() -> None:
        nonlocal parts, started
        if started:
            tokens.append(tuple(parts))
        parts, started = [], False

    while i < n:
        c = source[i]
        if c == "\\" and source.startswith("\\\n", i):  # line continuation
            i += 2
        elif c in " \t":
            end_word()
            i += 1
        elif c in OPERATORS:
            end_word()
            tokens.append(c)
            i += 1
        elif c in "&<>`" or (c in "(){}" and not started):
            raise ShellError(f"unsupported shell syntax {c!r} in: {_line_at(source, i)}")
        elif c == "#" and not started:
            while i < n and source[i] != "\n":
                i += 1
        elif c == "'":
            end = source.find("'", i + 1)
            if end < 0:
                raise ShellError(f"unterminated '…' in: {_line_at(source, i)}")
            parts.append(Part("text", source[i + 1 : end], quoted=True))
            started, i = True, end + 1
        elif c == '"':
            i = _double_quoted(source, i + 1, parts)
            started = True
        elif c == "\\":
            if i + 1 >= n:
                raise ShellError("a backslash at the end of the example")
            parts.append(Part("text", source[i + 1]))
            started, i = True, i + 2
        elif c == "$":
            i = _dollar(source, i, parts, quoted=False)
            started = True
        else:
            parts.append(Part("text", c))
            started, i = True, i + 1
    end_word()
    return tokens


def _double_quoted(source: str, i: int, parts: list[Part]) -> int:
    """Reads "…" from just after the opening quote; returns the index after the closing one."""
    parts.append(Part("text", "", quoted=True))  # "" is a word too
    while True:
        if i >= len(source):
            raise ShellError('unterminated "…"')
        c = source[i]
        if c == '"':
            return i + 1
        if c == "\\" and i + 1 < len(source) and source[i + 1] in '"\\$`\n':
            if source[i + 1] != "\n":
                parts.append(Part("text", source[i + 1], quoted=True))
            i += 2
        elif c == "$":
            i = _dollar(source, i, parts, quoted=True)
        elif c == "`":
            raise ShellError(f"unsupported `…` in: {_line_at(source, i)}")
        else:
            parts.append(Part("text", c, quoted=True))
            i += 1


def _dollar(source: str, i: int, parts: list[Part], *, quoted: bool) -> int:
    """Reads $NAME, ${NAME}, ${NAME:-default} or $(…) at i; returns the index after it."""
    rest = source[i + 1 :]
    if rest.startswith("("):
        depth, j = 0, i + 1
        while j < len(source):
            if source[j] == "(":
                depth += 1
            elif source[j] == ")":
                depth -= 1
                if depth == 0:
                    parts.append(Part("command", source[i + 2 : j], quoted=quoted))
                    return j + 1
            j += 1
        raise ShellError(f"unterminated $(…) in: {_line_at(source, i)}")
    if rest.startswith("{"):
        m = re.match(r"\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}", rest)
        if not m:
            raise ShellError(f"unsupported ${{…}} in: {_line_at(source, i)}")
        parts.append(Part("var", m[1], quoted=quoted, default=m[2]))
        return i + 1 + m.end()
    m = NAME.match(rest)
    if not m:
        raise ShellError(f"unsupported $ in: {_line_at(source, i)}")
    parts.append(Part("var", m[0], quoted=quoted))
    return i + 1 + m.end()


def _line_at(source: str, i: int) -> str:
    start = source.rfind("\n", 0, i) + 1
    end = source.find("\n", i)
    return source[start : end if end >= 0 else len(source)].strip()


# The syntax tree: a script is a list of pipelines; a pipeline, commands joined by |.


@dataclass
class Simple:
    assignments: list[tuple[str, Word]]
    words: list[Word]


@dataclass
class ForLoop:
    variable: str
    items: list[Word]
    body: list[Pipeline]


@dataclass
class Pipeline:
    commands: list[Simple | ForLoop]


def parse(source: str) -> list[Pipeline]:
    tokens = tokenize(source)
    script, rest = _parse_script(tokens, 0, until=None)
    assert rest == len(tokens)
    return script


def _literal(word: Word) -> str | None:
    """The word's text when it is plain unquoted text (a keyword, an operator's neighbour)."""
    if all(p.kind == "text" and not p.quoted for p in word):
        return "".join(p.value for p in word)
    return None


def _parse_script(tokens: list[Token], i: int, until: str | None) -> tuple[list[Pipeline], int]:
    script: list[Pipeline] = []
    while i < len(tokens):
        token = tokens[i]
        if token in (";", "\n"):
            i += 1
            continue
        if until is not None and not isinstance(token, str) and _literal(token) == until:
            return script, i
        pipeline, i = _parse_pipeline(tokens, i)
        script.append(pipeline)
    if until is not None:
        raise ShellError(f"missing {until!r}")
    return script, i


def _parse_pipeline(tokens: list[Token], i: int) -> tuple[Pipeline, int]:
    commands: list[Simple | ForLoop] = []
    while True:
        command, i = _parse_command(tokens, i)
        commands.append(command)
        if i < len(tokens) and tokens[i] == "|":
            i += 1
            while i < len(tokens) and tokens[i] == "\n":
                i += 1
            continue
        return Pipeline(commands), i


def _parse_command(tokens: list[Token], i: int) -> tuple[Simple | ForLoop, int]:
    first = tokens[i]
    if not isinstance(first, str) and _literal(first) == "for":
        return _parse_for(tokens, i + 1)
    assignments: list[tuple[str, Word]] = []
    words: list[Word] = []
    while i < len(tokens) and not isinstance(tokens[i], str):
        word = tokens[i]
        assert not isinstance(word, str)
        assignment = _assignment(word) if not words else None
        if assignment:
            assignments.append(assignment)
        else:
            words.append(word)
        i += 1
    if not assignments and not words:
        raise ShellError(f"a command expected before {tokens[i]!r}")
    if words and _literal(words[0]) in ("do", "done", "in", "then", "if", "while"):
        raise ShellError(f"unsupported or misplaced keyword {_literal(words[0])!r}")
    return Simple(assignments, words), i


def _assignment(word: Word) -> tuple[str, Word] | None:
    head = word[0] if word else None
    if head is None or head.kind != "text" or head.quoted:
        return None
    text = ""
    for k, part in enumerate(word):
        if part.kind != "text" or part.quoted:
            return None
        text += part.value
        if "=" in text:
            name, value = text.split("=", 1)
            if not NAME.fullmatch(name):
                return None
            rest = (Part("text", value),) if value else ()
            return name, (*rest, *word[k + 1 :])
    return None


def _keyword(tokens: list[Token], i: int) -> str | None:
    """The plain word at i, if there is one."""
    token = tokens[i] if i < len(tokens) else None
    return _literal(token) if token is not None and not isinstance(token, str) else None


def _parse_for(tokens: list[Token], i: int) -> tuple[ForLoop, int]:
    variable = _keyword(tokens, i)
    if variable is None or not NAME.fullmatch(variable):
        raise ShellError("for: a variable name expected")
    if _keyword(tokens, i + 1) != "in":
        raise ShellError("for: only `for NAME in WORDS; do …; done` is supported")
    i += 2
    items: list[Word] = []
    while i < len(tokens) and not isinstance(word := tokens[i], str):
        items.append(word)
        i += 1
    while i < len(tokens) and tokens[i] in (";", "\n"):
        i += 1
    if _keyword(tokens, i) != "do":
        raise ShellError("for: `do` expected")
    body, i = _parse_script(tokens, i + 1, until="done")
    return ForLoop(variable, items, body), i + 1


# Running it.

Command = Callable[[list[str], dict[str, str], str | None], str]


@dataclass
class Shell:
    """A shell session: its variables persist from one example to the next.

    commands maps a command name to a callback (args, environment assignments, stdin) -> stdout;
    echo, tail and seq are built in. A variable that was never set is an error (as `set -u`),
    except where a ${VAR:-default} supplies one.
    """

    commands: Mapping[str, Command]
    variables: dict[str, str] = field(default_factory=dict)

    def run(self, source: str) -> str:
        return "".join(self._pipeline(p) for p in parse(source))

    def _pipeline(self, pipeline: Pipeline) -> str:
        output: str | None = None
        for k, command in enumerate(pipeline.commands):
            output = self._command(command, output if k else None)
        return output or ""

    def _command(self, command: Simple | ForLoop, stdin: str | None) -> str:
        if isinstance(command, ForLoop):
            if stdin is not None:
                raise ShellError("a for loop cannot read a pipe")
            out: list[str] = []
            for item in [f for w in command.items for f in self.expand(w)]:
                self.variables[command.variable] = item
                out.extend(self._pipeline(p) for p in command.body)
            return "".join(out)
        values = [
            (name, " ".join(self.expand(value, split=False))) for name, value in command.assignments
        ]
        if not command.words:
            self.variables.update(values)
            return ""
        args = [f for w in command.words for f in self.expand(w)]
        name, args = args[0], args[1:]
        env = dict(values)
        if name == "echo":
            if env or (args and args[0].startswith("-")):
                raise ShellError(f"unsupported echo: {args}")
            return " ".join(args) + "\n"
        if name == "tail":
            if stdin is None or len(args) != 2 or args[0] != "-n" or not args[1].isdigit():
                raise ShellError(f"only `… | tail -n N` is supported, not tail {args}")
            lines = stdin.splitlines(keepends=True)
            return "".join(lines[-int(args[1]) :]) if int(args[1]) else ""
        if name == "seq":
            if len(args) != 1 or not args[0].isdigit():
                raise ShellError(f"only `seq N` is supported, not seq {args}")
            return "".join(f"{k}\n" for k in range(1, int(args[0]) + 1))
        if name not in self.commands:
            raise ShellError(f"the examples cannot run {name!r} (known: {sorted(self.commands)})")
        return self.commands[name](args, env, stdin)

    def expand(self, word: Word, *, split: bool = True) -> list[str]:
        """A word's fields: unquoted expansions split at whitespace (when split)."""
        fields = [""]
        for part in word:
            if part.kind == "text":
                fields[-1] += part.value
                continue
            if part.kind == "var":
                value = self.variables.get(part.value)
                if not value and part.default is not None:
                    value = part.default
                if value is None:
                    raise ShellError(f"${part.value} is not set")
            else:
                value = self.run(part.value).rstrip("\n")
            if part.quoted or not split:
                fields[-1] += value
            else:
                pieces = value.split()
                if pieces:
                    fields[-1] += pieces[0]
                    fields.extend(pieces[1:])
        if fields == [""] and not any(p.quoted for p in word):
            return []
        return fields
