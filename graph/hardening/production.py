"""Production's error hygiene: no suggestions that map the schema for an attacker."""

from __future__ import annotations

import re
from typing import Any

from graph.context import Context

SUGGESTION = re.compile(r"\s*Did you mean [^?]*\?")


def is_production(context: Any) -> bool:
    return isinstance(context, Context) and context.runtime.settings.is_production


def strip_suggestions(message: str) -> str:
    return SUGGESTION.sub("", message).strip()
