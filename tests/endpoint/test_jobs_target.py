"""badges_jobs, the scheduler's private target: the batch jobs, run as the service, and nothing
else. Built as the platform builds it (functions_framework.create_app(target="badges_jobs")),
over a database of this module's own so the batches see only what these tests made."""

from __future__ import annotations

import sys
import uuid
from collections.abc import Callable, Iterator

import functions_framework
import pytest
from flask.testing import FlaskClient

from badges.app import LazyEndpoint
from tests.endpoint.conftest import BASE_ENV, MAIN, Api, MakeClient, Tokens
from tests.endpoint.test_api_keys import PUBLISHABLE_KEY, SECRET_KEY
from tests.endpoint.test_errors import assert_error

JOB_ACTIONS = ("deliver_notifications", "check_badges", "check_streaks")


@pytest.fixture(scope="module")
def jobs_url(make_database: Callable[[], str]) -> str:
    return make_database()


@pytest.fixture(scope="module")
def make_jobs_client(jobs_url: str) -> Iterator[MakeClient]:
    """Factory: a test client of the real badges_jobs target, configured by env overrides."""
    endpoints: list[LazyEndpoint] = []

    def make(**env: str) -> FlaskClient:
        with pytest.MonkeyPatch.context() as patch:
            for name, value in {**BASE_ENV, "DATABASE_URL": jobs_url, **env}.items():
                patch.setenv(name, value)
            app = functions_framework.create_app(target="badges_jobs", source=str(MAIN))
            endpoint: LazyEndpoint = sys.modules["main"].jobs_endpoint
            endpoint.get()  # built now, from this environment
        endpoints.append(endpoint)
        return app.test_client()

    yield make
    for endpoint in endpoints:
        endpoint.close()


@pytest.fixture(scope="module")
def jobs(make_jobs_client: MakeClient, tokens: Tokens) -> Api:
    return Api(make_jobs_client(), tokens)


@pytest.fixture(scope="module")
def iam_jobs(make_jobs_client: MakeClient, tokens: Tokens) -> Api:
    return Api(make_jobs_client(BADGES_JOBS_AUTH="iam"), tokens)


def test_a_service_token_runs_deliver_notifications(
    jobs: Api, make_client: MakeClient, jobs_url: str, tokens: Tokens
):
    """Pinned: a row the main target wrote (no channel: in-app only) is delivered by the job."""
    user = uuid.uuid4()
    main = Api(make_client(DATABASE_URL=jobs_url, BADGES_DB_POOL_SIZE="1"), tokens)
    main.ok("award", as_user=user, badge_id="social_sharer")

    first = jobs.ok("deliver_notifications", service=True)
    again = jobs.ok("deliver_notifications", service=True)

    assert first == {"success": True, "delivered": 1, "failed": 0, "dead": 0}
    assert again == {"success": True, "delivered": 0, "failed": 0, "dead": 0}


def test_a_service_token_runs_the_batch_checks(jobs: Api):
    badges = jobs.ok("check_badges", service=True, all=True)
    streaks = jobs.ok("check_streaks", service=True, all=True)

    assert set(badges) == {"success", "awarded_count", "revoked_count", "archived_periods"}
    assert set(streaks) == {"success", "users_checked", "awarded_count", "freezes_used"}


def test_a_secret_key_runs_the_jobs_and_a_publishable_key_does_not(make_jobs_client: MakeClient):
    """A scheduler on Supabase's new keys: the secret key in `apikey`, no JWT at all."""
    client = make_jobs_client(SUPABASE_SECRET_KEYS=SECRET_KEY)
    body = {"action": "check_streaks", "all": True}

    ran = client.post("/", json=body, headers={"apikey": SECRET_KEY})
    refused = client.post(
        "/",
        json=body,
        headers={"apikey": PUBLISHABLE_KEY, "Authorization": f"Bearer {PUBLISHABLE_KEY}"},
    )

    assert ran.status_code == 200, ran.get_json()
    assert set(ran.get_json()) == {"success", "users_checked", "awarded_count", "freezes_used"}
    assert refused.status_code == 401
    assert refused.get_json()["error"]["code"] == "unauthorized"


@pytest.mark.parametrize("action", JOB_ACTIONS)
def test_a_user_token_may_run_no_job(jobs: Api, action: str):
    assert_error(jobs.call(action, as_user=uuid.uuid4(), all=True), 403, "forbidden")


@pytest.mark.parametrize("action", JOB_ACTIONS)
def test_a_job_without_a_token_is_unauthorized(jobs: Api, action: str):
    assert_error(jobs.post({"action": action, "all": True}), 401, "unauthorized")


@pytest.mark.parametrize("action", ["award", "list", "notifications", "outbox", "nope"])
def test_an_action_that_is_not_a_job_is_forbidden_even_to_a_service(jobs: Api, action: str):
    """Pinned: also an unknown action is forbidden here (not unknown_action)."""
    answer = jobs.call(action, service=True, user_id=str(uuid.uuid4()), badge_id="social_sharer")

    assert_error(answer, 403, "forbidden")


def test_with_iam_auth_the_platform_is_trusted_and_no_token_is_needed(iam_jobs: Api):
    answer = iam_jobs.post({"action": "deliver_notifications"})
    not_a_job = iam_jobs.post({"action": "award", "user_id": str(uuid.uuid4())})

    assert answer.status == 200, answer.body
    assert set(answer.body) == {"success", "delivered", "failed", "dead"}
    assert_error(not_a_job, 403, "forbidden")


@pytest.mark.parametrize("api_fixture", ["jobs", "iam_jobs"])
def test_health_answers_on_the_jobs_target(request: pytest.FixtureRequest, api_fixture: str):
    api: Api = request.getfixturevalue(api_fixture)

    response = api.client.get("/health")

    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}
