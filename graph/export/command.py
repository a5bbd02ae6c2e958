"""`stratograph export`: what `GET /export/<dataset>` serves, for operators, by user e-mail.

The rows are read as that user (owner scope, and row-level security on PostgreSQL), with the
same parameters as the HTTP endpoint (`--where type=VM --where region=eu-west-1`).
"""

from __future__ import annotations

import os
import sys
from typing import BinaryIO

from starlette.datastructures import QueryParams

from core.settings import Settings
from db.engine import Database, create_engine
from db.scoping import OwnerScope, ScopedDatabase
from graph.errors import BadRequest
from graph.export.datasets import DATASETS
from integrations.export.formats import encoder
from integrations.export.stream import encoded, stream_rows
from security.password_policy import PolicyError
from security.registration import find_user_by_email


class ExportError(Exception):
    """The export cannot run; the message says why."""


def _open_output(path: str | None) -> BinaryIO:
    if path is None:
        return sys.stdout.buffer
    # Inventory is private: the file is readable by its owner only.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    return os.fdopen(fd, "wb")


async def run_export(
    settings: Settings,
    *,
    email: str,
    fmt: str,
    where: list[str],
    output: str | None,
    dataset: str = "resources",
) -> int:
    """Write the export; returns the number of bytes written."""
    chosen = DATASETS.get(dataset)
    if chosen is None:
        raise ExportError(f"no dataset {dataset!r}; available: " + ", ".join(DATASETS))
    pairs = [("format", fmt)]
    for condition in where:
        name, sep, value = condition.partition("=")
        if not sep:
            raise ExportError(f"--where takes NAME=VALUE, got {condition!r}")
        pairs.append((name, value))
    try:
        request = chosen.parse(QueryParams(pairs))
    except BadRequest as refused:
        raise ExportError(refused.message) from refused
    database = Database(create_engine(settings.database_url))
    try:
        try:
            user = await find_user_by_email(database, email)
        except PolicyError as invalid:
            raise ExportError(f"{email!r} is not an e-mail address") from invalid
        if user is None:
            raise ExportError(f"no user {email!r}")
        db = ScopedDatabase(database, OwnerScope(user.id))
        try:
            statement = chosen.statement(db.scope, request)
        except BadRequest as refused:
            raise ExportError(refused.message) from refused
        chunks = encoded(
            stream_rows(db, statement), encoder(request.format, chosen.columns), chosen.record
        )
        written = 0
        out = _open_output(output)
        try:
            async for chunk in chunks:
                out.write(chunk)
                written += len(chunk)
        finally:
            out.flush()
            if output is not None:
                out.close()
        return written
    finally:
        await database.dispose()
