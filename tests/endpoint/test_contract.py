"""schemathesis against the function as it is served (`badges serve`: gunicorn on a real port)
over a database of its own, with docs/openapi.yaml as the contract: no 5xx; every status, header,
content type and body as documented (bad input included: a 4xx with the documented error body);
every 200 the answer of the action asked for (contract_hooks.py); an undeclared method 405
with Allow; a request without a token 401.

Once as a user and once as the service, with real development tokens (badges.devtokens). Rate
limiting is off: with it, most of one user's writes would be the (documented) 429 and test
nothing else. `make test` runs a quick profile over the v1 catalog, QUICK: 25 cases per
operation, a fixed seed (the same cases every run); `make soak` the long one over the v1 and the
Dev-Space catalogs, BADGES_SCHEMATHESIS_EXAMPLES per operation (default 1000), new cases each run.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from flask.testing import FlaskClient

from badges import devtokens
from badges.catalog import DEFAULT_CATALOG
from badges.openapi import DOCUMENT
from tests.conftest import DEVSPACE
from tests.endpoint.conftest import SECRET, Api
from tests.endpoint.contract_hooks import answer_problems
from tests.endpoint.test_serve import serving

HERE = Path(__file__).resolve().parent
CONFIG = HERE / "schemathesis.toml"
HOOKS = HERE / "contract_hooks.py"
QUICK = ("--max-examples", "25", "--seed", "20261202", "--continue-on-failure")
SOAK_EXAMPLES = int(os.environ.get("BADGES_SCHEMATHESIS_EXAMPLES", "1000"))
USER = uuid.UUID("5c0a9e1d-2b3f-4a5c-8d7e-9f0a1b2c3d4e")
TOKENS = {
    "user": lambda: devtokens.user_token(USER, SECRET),
    "service": lambda: devtokens.service_token(SECRET),
}


@dataclass(frozen=True)
class Served:
    port: int
    catalog: Path


@pytest.fixture(scope="module")
def serve(
    make_catalog_database: Callable[[Path], str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Callable[[Path], Served]]:
    """Factory: the function served with a catalog, over a database of its own (one server per
    catalog for the module)."""
    with ExitStack() as servers:
        found: dict[Path, Served] = {}

        def served(catalog: Path) -> Served:
            if catalog not in found:
                started = servers.enter_context(
                    serving(
                        tmp_path_factory.mktemp("contract") / "pg",
                        DATABASE_URL=make_catalog_database(catalog),
                        BADGES_CATALOG=str(catalog),
                        SUPABASE_JWT_SECRET=SECRET,
                        BADGES_RATE_LIMIT_PER_MINUTE="0",
                    )
                )
                found[catalog] = Served(started[0], catalog)  # the port (then the process, …)
            return found[catalog]

        yield served


@pytest.fixture(scope="module")
def v1(serve: Callable[[Path], Served]) -> Served:
    return serve(DEFAULT_CATALOG)


def schemathesis(
    served: Served, caller: str, workdir: Path, *options: str, document: Path = DOCUMENT
) -> tuple[int, str]:
    """Run the schemathesis CLI (in workdir, where it may leave files); its exit code and
    output."""
    command = [
        sys.executable,
        "-m",
        "schemathesis.cli",
        "--config-file",
        str(CONFIG),
        "--no-color",
        "run",
        str(document),
        "--url",
        f"http://127.0.0.1:{served.port}",
        "--header",
        f"Authorization: Bearer {TOKENS[caller]()}",
        "--workers",
        "1",
        *options,
    ]
    done = subprocess.run(  # noqa: S603 - our own interpreter running schemathesis
        command,
        cwd=workdir,
        env={
            **os.environ,
            "SCHEMATHESIS_HOOKS": str(HOOKS),
            # What the hooks draw ids from (contract_hooks.py).
            "BADGES_CATALOG": str(served.catalog),
            "BADGES_CONTRACT_USER": str(USER),
        },
        capture_output=True,
        text=True,
        timeout=3600,
        check=False,
    )
    return done.returncode, done.stdout + done.stderr


def cases_run(output: str) -> int:
    found = re.search(r"(\d+) generated", output)
    assert found, output
    return int(found.group(1))


@pytest.mark.parametrize("caller", sorted(TOKENS))
def test_the_served_function_keeps_its_documented_contract(v1: Served, caller: str, tmp_path: Path):
    code, output = schemathesis(v1, caller, tmp_path, *QUICK)

    assert code == 0, output
    assert cases_run(output) >= 100, output


def test_an_answer_to_another_action_is_caught(v1: Served, tmp_path: Path):
    """The harness itself: with every action's answer named as the next action's, the
    answers of the function must fail the run (our check), and say which action they belong to."""
    document = yaml.safe_load(DOCUMENT.read_text())
    actions = document["paths"]["/"]["post"]["x-badges-actions"]
    names = list(actions)
    answers = [actions[name]["answers"] for name in names]
    for name, shifted in zip(names, answers[1:] + answers[:1], strict=True):
        actions[name]["answers"] = shifted
    wrong = tmp_path / "openapi.yaml"
    wrong.write_text(yaml.safe_dump(document, sort_keys=False))

    code, output = schemathesis(
        v1, "user", tmp_path, *QUICK, "--phases", "fuzzing", "--no-shrink", document=wrong
    )

    assert code != 0, output
    assert "not an answer of" in output, output


@pytest.mark.soak
@pytest.mark.parametrize("caller", sorted(TOKENS))
@pytest.mark.parametrize("catalog", [DEFAULT_CATALOG, DEVSPACE], ids=["v1", "devspace"])
def test_the_contract_holds_over_many_more_random_cases(
    serve: Callable[[Path], Served], catalog: Path, caller: str, tmp_path: Path
):
    """make soak: new cases each run, and the Dev-Space catalog too (metrics, levels)."""
    code, output = schemathesis(
        serve(catalog),
        caller,
        tmp_path,
        "--max-examples",
        str(SOAK_EXAMPLES),
        "--continue-on-failure",
    )

    assert code == 0, output


def test_an_answer_is_held_to_the_schemas_of_its_own_action(api: Api):
    document = yaml.safe_load(DOCUMENT.read_text())
    catalog = api.ok("catalog")
    listed = api.ok("list")

    assert answer_problems(document, "catalog", catalog) == []
    assert answer_problems(document, "list", listed) == []
    assert answer_problems(document, "list", catalog)  # another action's answer
    assert answer_problems(document, "catalog", {**catalog, "surprise": 1})
    assert answer_problems(document, "nope", catalog) == [
        "answered 200 to an unknown action 'nope'"
    ]


# What schemathesis found, pinned.


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("PUT", "/", "POST, OPTIONS"),
        ("GET", "/functions/v1/badges", "POST, OPTIONS"),
        ("DELETE", "/health", "GET, POST, OPTIONS"),
        ("PATCH", "/functions/v1/badges/health/", "GET, POST, OPTIONS"),
    ],
)
def test_a_405_names_the_methods_the_path_has(
    client: FlaskClient, method: str, path: str, allowed: str
):
    """RFC 9110 (15.5.6): a 405 carries Allow. The function answered without it."""
    response = client.open(path, method=method)

    assert response.status_code == 405
    assert response.headers["Allow"] == allowed
    assert response.get_json()["error"]["code"] == "method_not_allowed"
