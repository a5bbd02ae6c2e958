"""Secret-free logs at every level, DEBUG included.

Two lines of defence. First, the libraries that log payloads at DEBUG — WebSocket frames
(websockets, through uvicorn's `uvicorn.error` logger), SQL statements with their parameters
(aiosqlite, SQLAlchemy, asyncpg), HTTP bodies and headers of the cloud SDKs (botocore, urllib3,
azure, google, msal, httpx) — are held at INFO or WARNING whatever LOG_LEVEL says. Second, every
formatted line goes through `redact`, which blanks what looks like a bearer token, a JWT, a
password hash or a `password=`/`secretAccessKey: …` pair, in case a message still carries one.
"""

from __future__ import annotations

import logging
import re

REDACTED = "<redacted>"

# Logger name -> the lowest level it may log at.
LIBRARY_FLOORS: dict[str, int] = {
    "uvicorn.error": logging.INFO,  # websockets logs every frame here at DEBUG
    "uvicorn.protocols": logging.INFO,
    "websockets": logging.INFO,
    "aiosqlite": logging.WARNING,
    "sqlalchemy": logging.WARNING,
    "asyncpg": logging.WARNING,
    "botocore": logging.WARNING,
    "boto3": logging.WARNING,
    "s3transfer": logging.WARNING,
    "urllib3": logging.WARNING,
    "azure": logging.WARNING,
    "msal": logging.WARNING,
    "google": logging.WARNING,
    "httpx": logging.WARNING,
    "httpcore": logging.WARNING,
    "hpack": logging.WARNING,
    "multipart": logging.INFO,
    "alembic.runtime.plugins": logging.WARNING,
}

_SENSITIVE_NAMES = (
    r"password|new_?password|current_?password|secret_?access_?key|client_?secret|"
    r"session_?token|refresh_?token|access_?token|private_?key|service_?account_?json|"
    r"authorization|api_?key|secret"
)
_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]+"), rf"\1{REDACTED}"),
    (re.compile(r"eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*"), REDACTED),
    (re.compile(r"\$argon2(?:id|i|d)\$[^\s'\",)]+"), REDACTED),
    (re.compile(r"\$2[abxy]\$\d{2}\$[./A-Za-z0-9]{53}"), REDACTED),
    (
        re.compile(
            rf"(?i)([\"']?\b(?:{_SENSITIVE_NAMES})\b[\"']?\s*[:=]\s*)"
            r"(\"(?:[^\"\\]|\\.)*\"|'(?:[^'\\]|\\.)*'|[^\s,;}&]+)"
        ),
        rf"\1{REDACTED}",
    ),
)


def redact(text: str) -> str:
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def floor_library_loggers(level: int) -> None:
    """Hold each payload-logging library at its floor (or `level`, when that is higher)."""
    for name, floor in LIBRARY_FLOORS.items():
        logging.getLogger(name).setLevel(max(floor, level))


def uvicorn_level(level: str) -> str:
    """The level to hand uvicorn, which sets `uvicorn.error` itself: never below INFO."""
    numeric = logging.getLevelName(level.upper())
    if isinstance(numeric, int) and numeric < logging.INFO:
        return "info"
    return level.lower()
