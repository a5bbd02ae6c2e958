"""Telling "the database is away" apart from every other database error.

While PostgreSQL restarts (or the network to it fails), statements fail with connection errors:
refused connects, connections closed under a query, "the database system is starting up". Those
are a temporary condition of the service, answered 503 with a code clients can retry on, not a
bug to mask as INTERNAL_SERVER_ERROR. The pool drops such connections and the next request
connects afresh, so the same process serves again as soon as the server is back.
"""

from __future__ import annotations

import asyncpg.exceptions as pg
from sqlalchemy import exc as sa

_CONNECTIVITY = (
    OSError,  # refused, reset, unreachable (ConnectionError and TimeoutError included)
    pg.PostgresConnectionError,  # cannot connect now, connection does not exist, failures
    pg.OperatorInterventionError,  # admin or crash shutdown, cancelled by the operator
    pg.TooManyConnectionsError,
    sa.TimeoutError,  # no pooled connection came free in time
)


def is_database_unavailable(error: BaseException | None) -> bool:
    """True when `error` (or what caused it) means the database could not be reached."""
    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        if isinstance(error, sa.DBAPIError) and error.connection_invalidated:
            return True
        if isinstance(error, _CONNECTIVITY):
            return True
        if (
            isinstance(error, sa.DBAPIError)
            and error.orig is not None
            and is_database_unavailable(error.orig)
        ):
            return True
        error = error.__cause__ or error.__context__
    return False
