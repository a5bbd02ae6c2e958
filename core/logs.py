"""Logging setup: readable lines in development, one JSON object per line in production."""

from __future__ import annotations

import logging
import sys
from datetime import UTC, datetime

import orjson

from core.log_redaction import floor_library_loggers, redact
from core.request_context import RequestContextFilter

# `color_message`: uvicorn's copy of the message with terminal colour codes.
_STANDARD_ATTRS = frozenset(vars(logging.makeLogRecord({})).keys()) | {
    "message",
    "asctime",
    "color_message",
}


class JSONFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": redact(record.getMessage()),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD_ATTRS and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exception"] = redact(self.formatException(record.exc_info))
        return orjson.dumps(entry, default=str).decode()


class TextFormatter(logging.Formatter):
    """Development lines; the request id is appended when the line belongs to a request."""

    def format(self, record: logging.LogRecord) -> str:
        line = redact(super().format(record))
        request_id = getattr(record, "request_id", None)
        return f"{line} [request {request_id}]" if request_id else line


def configure_logging(level: str, *, json_output: bool) -> None:
    """One handler on the root logger; uvicorn's loggers propagate to it (`log_config=None`)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(RequestContextFilter())
    if json_output:
        handler.setFormatter(JSONFormatter())
    else:
        handler.setFormatter(TextFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    floor_library_loggers(root.level)
