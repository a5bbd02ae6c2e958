"""The export datasets, shared by `GET /export/{dataset}` and `stratograph export`: how each
reads its query parameters, its scoped statement, its columns and its records."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select
from starlette.datastructures import QueryParams

from db.scoping import OwnerScope
from graph.export.findings import COLUMNS as FINDING_COLUMNS
from graph.export.findings import (
    finding_export_request,
    finding_record,
    finding_statement,
)
from graph.export.params import resource_export_request
from graph.export.resources import COLUMNS as RESOURCE_COLUMNS
from graph.export.resources import resource_record, resource_statement


@dataclass(frozen=True, slots=True)
class Dataset:
    # Parses the query parameters (BadRequest when malformed) into a request with a `format`.
    parse: Callable[[QueryParams], Any]
    statement: Callable[[OwnerScope, Any], Select[Any]]
    columns: tuple[str, ...]
    record: Callable[[Any], dict[str, Any]]


DATASETS: dict[str, Dataset] = {
    "resources": Dataset(
        resource_export_request, resource_statement, RESOURCE_COLUMNS, resource_record
    ),
    "findings": Dataset(finding_export_request, finding_statement, FINDING_COLUMNS, finding_record),
}
