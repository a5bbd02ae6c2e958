"""GraphQL over HTTP: `application/graphql-response+json` for clients that accept it.

With that media type the status code tells what happened: 4xx when the request never reached
execution (no `data` entry), 2xx otherwise. Clients that only accept `application/json` keep
the traditional 200 for every well-formed request. Statuses set on purpose (429 rate limit)
are kept for both.
"""

from __future__ import annotations

from graphql import GraphQLError
from starlette.requests import Request
from starlette.responses import Response
from strawberry.types import ExecutionResult

GRAPHQL_RESPONSE_JSON = "application/graphql-response+json"


def is_request_error(result: ExecutionResult) -> bool:
    """True when the operation failed before execution: parse, validation, limits."""
    errors: list[GraphQLError] = list(result.errors or [])
    return result.data is None and bool(errors) and all(e.path is None for e in errors)


def accepts_graphql_response(accept: str) -> bool:
    for part in accept.split(","):
        media_type, *params = (piece.strip() for piece in part.split(";"))
        if media_type.lower() != GRAPHQL_RESPONSE_JSON:
            continue
        quality = next((p.split("=", 1)[1] for p in params if p.lower().startswith("q=")), "1")
        try:
            return float(quality) > 0
        except ValueError:
            return False
    return False


def negotiate_media_type(request: Request, response: Response) -> None:
    if response.media_type != "application/json":
        return  # GraphiQL's HTML page or a stream
    if not accepts_graphql_response(request.headers.get("accept", "")):
        return
    response.headers["content-type"] = f"{GRAPHQL_RESPONSE_JSON}; charset=utf-8"
    if response.status_code == 200 and getattr(request.state, "graphql_request_error", False):
        response.status_code = 400
