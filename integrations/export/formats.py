"""CSV and NDJSON encoders for streamed records (dicts with the same keys, in order).

CSV cells are text a spreadsheet may evaluate: a cell starting with `=`, `+`, `-`, `@`, a tab or
a carriage return is prefixed with `'` (OWASP's advice against formula injection), so it shows
as text. Nested values (tags, metadata) are written as JSON text.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from datetime import datetime
from enum import Enum
from typing import Any, Literal

import orjson

Format = Literal["csv", "ndjson"]
MEDIA_TYPES: dict[str, str] = {
    "csv": "text/csv; charset=utf-8",
    "ndjson": "application/x-ndjson",
}
FORMULA_PREFIXES = frozenset({"=", "+", "-", "@", "\t", "\r"})


def neutralize(cell: str) -> str:
    return "'" + cell if cell[:1] in FORMULA_PREFIXES else cell


def _csv_cell(value: Any) -> str:
    kind = type(value)
    if kind is str:  # most cells: checked first
        return "'" + value if value[:1] in FORMULA_PREFIXES else value  # type: ignore[no-any-return]
    if value is None:
        return ""
    if kind is float:
        return repr(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, dict | list):
        return neutralize(orjson.dumps(value).decode())
    return neutralize(str(value))


def _json_default(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    raise TypeError(type(value).__name__)


class CsvEncoder:
    def __init__(self, columns: Sequence[str]) -> None:
        self.columns = list(columns)
        self._buffer = io.StringIO()
        # CRLF line ends, as RFC 4180 and spreadsheet imports expect.
        self._writer = csv.writer(self._buffer, lineterminator="\r\n")

    def header(self) -> bytes:
        self._writer.writerow(self.columns)
        return self._take()

    def rows(self, records: Iterable[dict[str, Any]]) -> bytes:
        columns, cell = self.columns, _csv_cell
        self._writer.writerows([cell(record[c]) for c in columns] for record in records)
        return self._take()

    def _take(self) -> bytes:
        text = self._buffer.getvalue()
        self._buffer.seek(0)
        self._buffer.truncate()
        return text.encode()


class NdjsonEncoder:
    def __init__(self, columns: Sequence[str]) -> None:
        self.columns = list(columns)

    def header(self) -> bytes:
        return b""

    def rows(self, records: Iterable[dict[str, Any]]) -> bytes:
        dumps = orjson.dumps
        return b"".join(
            dumps(record, default=_json_default, option=orjson.OPT_APPEND_NEWLINE)
            for record in records
        )


def encoder(fmt: Format, columns: Sequence[str]) -> CsvEncoder | NdjsonEncoder:
    return CsvEncoder(columns) if fmt == "csv" else NdjsonEncoder(columns)
