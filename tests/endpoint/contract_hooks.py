"""What schemathesis loads beside docs/openapi.yaml for test_contract.py (SCHEMATHESIS_HOOKS):

- a check: a 200 answers with the schema of the action asked for. schemathesis' own
  response_schema_conformance holds a 200 to the operation's answer, which for the one operation
  of every action is any action's answer (JSON Schema cannot tie an answer to the request); the
  document names each action's answers in x-badges-actions, and this holds every 200 to those;
- a hook: ids the served catalog has, and the run's user as user_id, in about half the bodies
  that carry such a field: random ids only ever reach the 404s, and a service call without a
  user_id only the 400, so the awards, scores, shares and reads behind them would go untested.
"""

from __future__ import annotations

import os
import re
from typing import Any

import jsonschema_rs
import schemathesis
from hypothesis import strategies as st

from badges.catalog import load_catalog

Document = dict[str, Any]

ID = re.compile(r"[A-Za-z0-9_.:-]{1,64}")
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
# The user of the run (test_contract.py sets it): the user token's, and whom a service names.
USER = os.environ.get("BADGES_CONTRACT_USER")


def answer_problems(doc: Document, action: object, answer: object) -> list[str]:
    """Why `answer` is not an answer of `action` under `doc` (nothing when it is one)."""
    actions = doc["paths"]["/"]["post"]["x-badges-actions"]
    if not isinstance(action, str) or action not in actions:
        return [f"answered 200 to an unknown action {action!r}"]
    refs = actions[action]["answers"]
    schema = {"anyOf": [{"$ref": ref} for ref in refs], "components": doc["components"]}
    if jsonschema_rs.validator_for(schema).is_valid(answer):
        return []
    # Each answer's own errors: "not valid under any of anyOf" alone would say nothing.
    return [
        f"{ref.rsplit('/', 1)[-1]}: {error.message} at /{'/'.join(map(str, error.instance_path))}"
        for ref in refs
        for error in jsonschema_rs.validator_for(
            {"$ref": ref, "components": doc["components"]}
        ).iter_errors(answer)
    ]


@schemathesis.check
def answer_of_the_action_asked(ctx: Any, response: Any, case: Any) -> bool | None:
    if case.method.upper() != "POST" or response.status_code != 200:
        return None
    action = case.body.get("action") if isinstance(case.body, dict) else None
    # The document of this run (a test may hand schemathesis a broken one on purpose).
    problems = answer_problems(case.operation.schema.raw_schema, action, response.json())
    if problems:
        raise AssertionError(f"not an answer of {action!r}:\n" + "\n".join(problems))
    return True


def _known_ids() -> dict[str, list[str]]:
    catalog = load_catalog(os.environ.get("BADGES_CATALOG"))  # what `badges serve` syncs
    return {
        "badge_id": [badge.id for badge in catalog.badges],
        "provider_id": [provider.id for provider in catalog.providers],
        "metric": [metric.id for metric in catalog.metrics],
        "level": [level.id for level in catalog.levels],
    }


KNOWN = _known_ids()


@schemathesis.hook
def flatmap_body(ctx: Any, body: Any) -> st.SearchStrategy[Any]:
    if not isinstance(body, dict):
        return st.just(body)
    # Only a value that is already a valid id (or user id) is swapped, for another valid one: a
    # case schemathesis generated as invalid stays invalid, and a valid one valid.
    swaps = {
        field: st.sampled_from([body[field], *known])
        for field, known in KNOWN.items()
        if known and isinstance(body.get(field), str) and ID.fullmatch(body[field])
    }
    user_id = body.get("user_id")
    if USER and (user_id is None or (isinstance(user_id, str) and UUID.fullmatch(user_id))):
        swaps["user_id"] = st.sampled_from([user_id, USER])
    if not swaps:
        return st.just(body)
    return st.fixed_dictionaries(swaps).map(lambda picked: {**body, **picked})
