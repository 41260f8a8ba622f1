"""Cloud Functions entry points (functions-framework targets). Deploy with --source functions."""

import flask
import functions_framework

from badges.app import LazyEndpoint

endpoint = LazyEndpoint()


@functions_framework.http
def badges(request: flask.Request) -> flask.Response:
    """The badges HTTP function: POST {"action": …}; GET /health; OPTIONS for CORS."""
    return endpoint(request)
