"""docs/openapi.yaml: generated from the code that enforces the contract, and committed as
generated (test_contract.py holds the served function to it)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema_rs
import pytest
import yaml
from pydantic import ValidationError

from badges import errors, openapi
from badges import responses as r
from badges.actions import ACTIONS, Action, Call, Context
from badges.endpoint import internal
from tests.conftest import PROJECT_DIR

Document = dict[str, Any]


@pytest.fixture(scope="module")
def document() -> Document:
    loaded: Document = yaml.safe_load(openapi.DOCUMENT.read_text())
    return loaded


def valid(document: Document, name: str, value: object) -> bool:
    schema = {"$ref": f"#/components/schemas/{name}", "components": document["components"]}
    return jsonschema_rs.validator_for(schema).is_valid(value)


def test_the_committed_document_is_the_generated_one():
    assert openapi.DOCUMENT.read_text() == openapi.render(), (
        "docs/openapi.yaml is stale: run .venv/bin/python -m badges.openapi"
    )


def test_the_command_writes_the_document_and_check_fails_on_a_stale_one(tmp_path: Path):
    target = tmp_path / "openapi.yaml"

    def run(*args: str) -> int:
        command = [sys.executable, "-m", "badges.openapi", "--output", str(target), *args]
        return subprocess.run(command, cwd=PROJECT_DIR, check=False).returncode  # noqa: S603

    assert run("--check") == 1  # no file yet
    assert run() == 0
    written = target.read_text()
    assert run("--check") == 0
    target.write_text(written.replace("unknown_badge", "no_such_badge"))
    assert run("--check") == 1
    assert target.read_text() != written  # --check writes nothing
    assert written == openapi.render()


def test_the_request_is_a_union_of_one_schema_per_action_discriminated_on_action(
    document: Document,
):
    union = document["components"]["schemas"]["ActionRequest"]
    mapping = union["discriminator"]["mapping"]

    assert union["discriminator"]["propertyName"] == "action"
    assert set(mapping) == set(ACTIONS)
    assert [branch["$ref"] for branch in union["oneOf"]] == list(mapping.values())
    for name, ref in mapping.items():
        branch = document["components"]["schemas"][ref.rsplit("/", 1)[-1]]
        assert branch["properties"]["action"] == {"const": name}
        assert "action" in branch["required"]
        assert set(branch["properties"]) == set(ACTIONS[name].request.model_fields)


def test_each_action_names_the_answers_its_handler_returns(document: Document):
    table = document["paths"]["/"]["post"]["x-badges-actions"]

    assert table["award"]["answers"] == ["#/components/schemas/AwardResponse"]
    assert table["check_streaks"]["answers"] == [
        "#/components/schemas/StreakResponse",
        "#/components/schemas/StreakBatchResponse",
    ]
    assert table["revoke"]["callers"] == ["service"]
    assert table["track"]["rate_limited_for_users"] is True
    for entry in table.values():
        for ref in entry["answers"]:
            answer = document["components"]["schemas"][ref.rsplit("/", 1)[-1]]
            assert answer["properties"]["success"] == {"const": True}
            assert answer["additionalProperties"] is False


def test_a_handler_must_be_annotated_with_its_answer_models():
    def vague(ctx: Context, call: Call[Any]) -> r.Response:
        raise NotImplementedError

    with pytest.raises(TypeError, match="annotated with the answer models"):
        openapi.answer_types(Action(ACTIONS["list"].request, vague))


def test_every_error_code_is_documented_under_its_status(document: Document):
    classes = [
        cls
        for cls in vars(errors).values()
        if isinstance(cls, type) and issubclass(cls, errors.BadgesError)
        if cls is not errors.BadgesError
    ]
    schemas = document["components"]["schemas"]

    assert (
        len(classes) == 21
    )  # 18, unknown_user and badge_not_earned (profiles), unknown_leaderboard
    for cls in classes:
        response = document["components"]["responses"][f"Error{cls.status}"]
        error = schemas[f"Error{cls.status}"]["properties"]["error"]
        assert cls.code in error["properties"]["code"]["enum"]
        assert f"| {cls.status} | `{cls.code}` |" in document["info"]["description"]
        body = cls("a sentence").body()
        assert valid(document, f"Error{cls.status}", body), body
        if cls in (errors.RateLimited, errors.Unavailable):
            assert response["headers"]["Retry-After"]["required"] is True
    assert not valid(document, "Error404", errors.Forbidden("no").body())  # 403's code


def test_error_details_are_documented_as_the_function_sends_them(document: Document):
    with pytest.raises(ValidationError) as caught:
        ACTIONS["award"].request.model_validate({"action": "award", "badge_id": 7})
    issues = caught.value.errors(include_url=False, include_input=False, include_context=False)
    invalid = errors.InvalidRequest("Invalid badge_id.", details=issues).body()
    unknown = errors.UnknownAction("Unknown action.", details={"known": sorted(ACTIONS)}).body()

    assert valid(document, "Error400", invalid)
    assert valid(document, "Error400", unknown)
    assert valid(document, "Error500", internal("0123456789abcdef").body())
    assert not valid(document, "Error500", internal("not hex").body())


@pytest.mark.parametrize(
    ("body", "schema_says", "why"),
    [
        ({"metric": "steps", "amount": 0}, False, "amount must not be zero"),
        ({"metric": "steps", "item": "a\x00b"}, False, "no NUL in a string"),
        ({"metric": "steps", "idempotency_key": "k\x00"}, False, "no NUL in a string"),
        ({"metric": "steps", "amount": -3, "item": "é"}, True, "a valid track"),
    ],
)
def test_what_validators_check_the_schema_says_too(
    document: Document, body: dict[str, Any], schema_says: bool, why: str
):
    request = {"action": "track", **body}
    model_says = True
    try:
        ACTIONS["track"].request.model_validate(request)
    except ValidationError:
        model_says = False

    assert model_says == schema_says, why
    assert valid(document, "TrackRequest", request) == schema_says, why
