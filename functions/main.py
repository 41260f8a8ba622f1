"""Cloud Functions entry points (functions-framework targets). Deploy with --source functions."""

import flask
import functions_framework

from badges.app import LazyEndpoint
from badges.endpoint import JobsEndpoint

endpoint = LazyEndpoint()
jobs_endpoint = LazyEndpoint(JobsEndpoint)


@functions_framework.http
def badges(request: flask.Request) -> flask.Response:
    """The badges HTTP function: POST {"action": …}; GET /health; OPTIONS for CORS."""
    return endpoint(request)


@functions_framework.http
def badges_jobs(request: flask.Request) -> flask.Response:
    """The scheduler's target (deploy it private): POST {"action": "deliver_notifications"} and
    the other batch jobs; GET /health."""
    return jobs_endpoint(request)
