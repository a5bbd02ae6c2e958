"""Shared normalization: price lookups, status mapping, tags and JSON-safe metadata.

Every cloud module turns its native shapes into `ResourceRecord`s with these helpers, so the
inventory speaks one vocabulary whatever the cloud.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from db.enums import ResourceStatus

HOURS_PER_MONTH = 730  # the convention every cloud price page uses
MAX_TAG_KEY = 128
MAX_TAG_VALUE = 256


@lru_cache(maxsize=1)
def price_table() -> dict[str, dict[str, float]]:
    """The shipped price table (providers/prices.json), without its `_about` block."""
    raw = json.loads((Path(__file__).with_name("prices.json")).read_text())
    return {name: dict(prices) for name, prices in raw.items() if not name.startswith("_")}


def hourly_price(table: str, size: str | None) -> float | None:
    """Hourly list price of `size`, or None when the size is unknown (never a made-up 0)."""
    if not size:
        return None
    return price_table().get(table, {}).get(size)


def ebs_hourly_price(volume_type: str | None, size_gib: int | None) -> float | None:
    per_gb_month = hourly_price("aws_ebs_gb_month", volume_type)
    if per_gb_month is None or size_gib is None:
        return None
    return round(per_gb_month * size_gib / HOURS_PER_MONTH, 6)


def running_cost(price: float | None, status: ResourceStatus) -> float | None:
    """A VM bills compute only while it runs: stopped or terminated costs 0 per hour."""
    if price is None:
        return None
    if status in (ResourceStatus.STOPPED, ResourceStatus.TERMINATED):
        return 0.0
    return price


def map_status(
    value: str | None,
    mapping: Mapping[str, ResourceStatus],
    default: ResourceStatus = ResourceStatus.UNKNOWN,
) -> ResourceStatus:
    """Case-insensitive lookup of a native state in a per-kind table."""
    if not value:
        return default
    return mapping.get(value.lower(), ResourceStatus.UNKNOWN)


def clean_tags(tags: Mapping[str, Any] | None) -> dict[str, str]:
    """Tags/labels as a flat str → str map, bounded in size."""
    if not tags:
        return {}
    return {
        str(key)[:MAX_TAG_KEY]: ("" if value is None else str(value))[:MAX_TAG_VALUE]
        for key, value in tags.items()
    }


def aws_tags(tags: Iterable[Mapping[str, Any]] | None) -> dict[str, str]:
    """AWS `[{"Key": k, "Value": v}]` lists as a map."""
    return clean_tags({tag["Key"]: tag.get("Value") for tag in tags or () if "Key" in tag})


def jsonable(value: Any) -> Any:
    """Metadata safe for a JSON column: datetimes as ISO strings; None and empty values dropped."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Mapping):
        cleaned = {str(k): jsonable(v) for k, v in value.items()}
        return {k: v for k, v in cleaned.items() if v not in (None, "", [], {})}
    if isinstance(value, list | tuple | set | frozenset):
        return [jsonable(item) for item in value if item is not None]
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)


def metadata(**values: Any) -> dict[str, Any]:
    result: dict[str, Any] = jsonable(values)
    return result


def configuration(**values: Any) -> dict[str, Any]:
    """A configuration shape: every key kept (null, false and [] are answers), values JSON-safe."""
    return {key: plain(value) for key, value in values.items()}


def plain(value: Any) -> Any:
    """JSON-safe without dropping anything: datetimes as ISO strings, tuples and sets as lists."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [plain(item) for item in value]
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)
