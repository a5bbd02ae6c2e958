"""Logging setup: readable lines in development, one JSON object per line in production."""

from __future__ import annotations

import logging
import sys
from datetime import UTC, datetime

import orjson
from opentelemetry import trace

from core.log_redaction import floor_library_loggers, redact
from core.request_context import RequestContextFilter

# `color_message`: uvicorn's copy of the message with terminal colour codes.
_STANDARD_ATTRS = frozenset(vars(logging.makeLogRecord({})).keys()) | {
    "message",
    "asctime",
    "color_message",
}


class TraceContextFilter(logging.Filter):
    """Adds `trace_id` and `span_id` (hex, as tracing backends show them) inside a span."""

    def filter(self, record: logging.LogRecord) -> bool:
        context = trace.get_current_span().get_span_context()
        if context.is_valid:
            record.trace_id = format(context.trace_id, "032x")
            record.span_id = format(context.span_id, "016x")
        return True


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
    """Development lines; the request and trace ids are appended when the line has them."""

    def format(self, record: logging.LogRecord) -> str:
        line = redact(super().format(record))
        request_id = getattr(record, "request_id", None)
        trace_id = getattr(record, "trace_id", None)
        if request_id:
            line = f"{line} [request {request_id}]"
        return f"{line} [trace {trace_id}]" if trace_id else line


def configure_logging(level: str, *, json_output: bool) -> None:
    """One handler on the root logger; uvicorn's loggers propagate to it (`log_config=None`)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(RequestContextFilter())
    handler.addFilter(TraceContextFilter())
    if json_output:
        handler.setFormatter(JSONFormatter())
    else:
        handler.setFormatter(TextFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    floor_library_loggers(root.level)
