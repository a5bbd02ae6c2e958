"""Normalizing every value a cloud returns before it is stored.

A cloud listing is untrusted input: anyone allowed to tag a resource in a customer's account can
write its tags, and SDKs hand over whatever the API answered. Every `ResourceRecord` passes through
`normalize_record` on its way into the inventory (`sync/ingest.py`), whatever its
provider and whatever fields it carries, so the rules live here once:

- Control characters (C0, DEL, C1) become visible escapes: C0 and DEL their Unicode "control
  picture" (NUL → U+2400 ␀), C1 U+FFFD. Identifiers (ids, names, keys, regions) escape all of
  them; free text (tag and metadata values) keeps tab, line feed and carriage return.
- Lone surrogates and Unicode noncharacters (what invalid UTF-8 becomes on the way in) become
  U+FFFD.
- Bidirectional formatting characters (U+202A–U+202E, U+2066–U+2069, e.g. the RTL override) are
  kept, so a name still matches the cloud's console, and flagged: clients render names isolated.
- Strings longer than their cap are cut (ending in "…"); ids are never cut (two resources would
  merge): a record whose id is empty or too long is rejected.
- Tag maps: at most MAX_TAGS entries, keys and values strings (other values are coerced);
  metadata: at most MAX_DEPTH levels and MAX_ITEMS entries per list or object, finite numbers.
- A record whose normalized form is larger than MAX_RECORD_CHARS is rejected.

Every change is reported as a code (never the value): the engine counts them per scope on the
job, so nothing is silent and nothing hostile reaches a log.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import date, datetime
from itertools import islice
from typing import Any

from db.enums import RelationType, ResourceStatus, ResourceType
from providers.base import Relation, ResourceRecord

# Caps. Column sizes bound the first group (PostgreSQL refuses longer values).
MAX_ID = 512
MAX_NAME = 512
MAX_ACCOUNT = 128
MAX_REGION = 64
MAX_NATIVE_TYPE = 128
MAX_TAGS = 100  # AWS allows 50 per resource, Azure 50, GCP 64
MAX_TAG_KEY = 512  # Azure's limit (AWS 128, GCP 63)
MAX_TAG_VALUE = 256  # AWS's and Azure's limit
MAX_TEXT = 32_768  # any other string: metadata and configuration values, their keys
MAX_DEPTH = 16  # levels of nested lists/objects in metadata
MAX_ITEMS = 1_000  # entries of one list or object in metadata
MAX_RECORD_CHARS = 262_144  # the whole normalized record, strings and keys counted
MAX_NUMBER = 2**63  # larger integers are kept as strings

# Codes of what normalization changed (SyncJob.warnings) and why a record was rejected.
CONTROL_CHARACTER = "CONTROL_CHARACTER"
INVALID_UNICODE = "INVALID_UNICODE"
BIDI_CONTROL = "BIDI_CONTROL"
TRUNCATED = "TRUNCATED"
TOO_MANY_TAGS = "TOO_MANY_TAGS"
TOO_MANY_ITEMS = "TOO_MANY_ITEMS"
TOO_DEEP = "TOO_DEEP"
NOT_A_STRING = "NOT_A_STRING"
INVALID_SHAPE = "INVALID_SHAPE"
INVALID_NUMBER = "INVALID_NUMBER"
DUPLICATE_ID = "DUPLICATE_ID"
INVALID_RECORD = "INVALID_RECORD"

# Stand-ins that transport repairs (providers/wire.py) write for what a wire format cannot carry:
# XML 1.0 has no NUL, protobuf strings no lone surrogates. They are Unicode noncharacters,
# "permanently reserved for internal use", so no cloud sends them legitimately.
WIRE_CONTROL_BASE = 0xFDD0  # U+FDD0 + n stands for the C0 control n
WIRE_INVALID = "\U0010fffe"  # stands for bytes that were not UTF-8

_CONTROL_ID = re.compile("[\x00-\x1f\x7f-\x9f\ufdd0-\ufdef]")
_CONTROL_TEXT = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufdd0-\ufdef]")
_BROKEN = re.compile("[\ud800-\udfff\ufffe\uffff\U0010fffe]")
_BIDI = re.compile("[\u202a-\u202e\u2066-\u2069]")
_SUSPECT_ID = re.compile(
    "[\x00-\x1f\x7f-\x9f\ufdd0-\ufdef\ud800-\udfff\ufffe\uffff\U0010fffe\u202a-\u202e\u2066-\u2069]"
)
_SUSPECT_TEXT = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufdd0-\ufdef\ud800-\udfff\ufffe\uffff\U0010fffe"
    "\u202a-\u202e\u2066-\u2069]"
)
_BROKEN_TABLE: dict[int, int] = {c: 0xFFFD for c in range(0xD800, 0xE000)}
_BROKEN_TABLE.update({0xFFFE: 0xFFFD, 0xFFFF: 0xFFFD, ord(WIRE_INVALID): 0xFFFD})
_PICTURES = {c: 0x2400 + c for c in range(0x20)} | {0x7F: 0x2421}
_PICTURES |= {WIRE_CONTROL_BASE + c: 0x2400 + c for c in range(0x20)}
_PICTURES |= {c: 0xFFFD for c in range(0x80, 0xA0)}
_ID_TABLE = {**_BROKEN_TABLE, **_PICTURES}
_TEXT_TABLE = {k: v for k, v in _ID_TABLE.items() if k not in (0x09, 0x0A, 0x0D)}


@dataclass(frozen=True, slots=True)
class Normalized:
    record: ResourceRecord
    changes: frozenset[str]  # codes of what was changed; empty when the record was clean


@dataclass(frozen=True, slots=True)
class Rejected:
    resource_id: str | None  # the normalized id (cut for display) when the record had one
    reason: str  # our words, never a value from the record


class _TooLarge(Exception):
    pass


class _Walk:
    """Normalizes the values of one record, collecting change codes and a size budget."""

    def __init__(self) -> None:
        self.changes: set[str] = set()
        self.budget = MAX_RECORD_CHARS

    def _spend(self, amount: int) -> None:
        self.budget -= amount
        if self.budget < 0:
            raise _TooLarge

    def string(self, value: object, cap: int, *, text: bool = False) -> str:
        result = value if type(value) is str or isinstance(value, str) else self._coerce(value)
        # Every character the rules touch is unprintable, and most strings are printable:
        # one fast C loop decides whether the regular expressions need to run at all.
        if not result.isprintable():
            result = self._repaired(result, text)
        if len(result) > cap:
            self.changes.add(TRUNCATED)
            result = result[: cap - 1] + "…"
        self.budget -= len(result)
        if self.budget < 0:
            raise _TooLarge
        return result

    def _repaired(self, value: str, text: bool) -> str:
        if (_SUSPECT_TEXT if text else _SUSPECT_ID).search(value) is None:
            return value  # unprintable for another reason (a no-break space, a tab in text)
        if (_CONTROL_TEXT if text else _CONTROL_ID).search(value) is not None:
            self.changes.add(CONTROL_CHARACTER)
        if _BROKEN.search(value) is not None:
            self.changes.add(INVALID_UNICODE)
        if _BIDI.search(value) is not None:
            self.changes.add(BIDI_CONTROL)
        return value.translate(_TEXT_TABLE if text else _ID_TABLE)

    def _coerce(self, value: object) -> str:
        if value is None:
            return ""
        self.changes.add(NOT_A_STRING)
        if isinstance(value, bytes | bytearray):
            return bytes(value[: MAX_TEXT * 4]).decode("utf-8", errors="replace")
        if isinstance(value, bool | int | float):
            return json.dumps(self.json(value, 0))
        if isinstance(value, Mapping | list | tuple):
            return json.dumps(self.json(value, 0), ensure_ascii=False)[: MAX_TEXT + 1]
        return type(value).__name__

    def json(self, value: object, depth: int) -> Any:
        """A JSON-safe copy of metadata: finite numbers, clean strings, bounded size."""
        # Exact built-in types first: listings are made of them, and `isinstance` against the
        # `Mapping` ABC costs a registry lookup per value.
        kind = type(value)
        if kind is str:
            return self.string(value, MAX_TEXT, text=True)
        if kind is dict or kind is list:
            if depth >= MAX_DEPTH:
                self.changes.add(TOO_DEEP)
                return None
            self._spend(2)
            if kind is dict:
                return self._object(value, depth)  # type: ignore[arg-type]
            return self._list(value, depth)
        if value is None or isinstance(value, bool):
            self._spend(1)
            return value
        if isinstance(value, str):
            return self.string(value, MAX_TEXT, text=True)
        if isinstance(value, int):
            self._spend(8)
            if -MAX_NUMBER < value < MAX_NUMBER:
                return value
            self.changes.add(INVALID_NUMBER)
            return None
        if isinstance(value, float):
            self._spend(8)
            if math.isfinite(value):
                return value
            self.changes.add(INVALID_NUMBER)
            return None
        if isinstance(value, datetime | date):
            return self.string(value.isoformat(), MAX_TEXT)
        if isinstance(value, Mapping | list | tuple | set | frozenset):
            if depth >= MAX_DEPTH:
                self.changes.add(TOO_DEEP)
                return None
            self._spend(2)
            if isinstance(value, Mapping):
                return self._object(value, depth)
            return self._list(value, depth)
        return self.string(value, MAX_TEXT, text=True)

    def _object(self, value: Mapping[Any, Any], depth: int) -> dict[str, Any]:
        items: Any = value.items()
        if len(value) > MAX_ITEMS:
            self.changes.add(TOO_MANY_ITEMS)
            items = islice(items, MAX_ITEMS)
        deeper = depth + 1
        result: dict[str, Any] = {}
        for key, item in items:
            # What `string` and `json` would do to a clean printable string, a small integer,
            # a boolean or null, done here: listings are made of them, and the calls were
            # most of a record's normalization. Anything else goes the long way.
            if type(key) is str and len(key) <= MAX_TEXT and key.isprintable():
                self.budget -= len(key)
            else:
                key = self.string(key, MAX_TEXT)
            result[key] = self._value(item, deeper)
            if self.budget < 0:
                raise _TooLarge
        return result

    def _list(self, value: Any, depth: int) -> list[Any]:
        items: Any = value
        if len(value) > MAX_ITEMS:
            self.changes.add(TOO_MANY_ITEMS)
            items = islice(items, MAX_ITEMS)
        deeper = depth + 1
        result = [self._value(item, deeper) for item in items]
        if self.budget < 0:
            raise _TooLarge
        return result

    def _value(self, item: object, depth: int) -> Any:
        """`json(item, depth)`, with the common clean values handled inline."""
        if type(item) is str:
            if len(item) <= MAX_TEXT and item.isprintable():
                self.budget -= len(item)
                return item
        elif item is None or type(item) is bool:
            self.budget -= 1
            return item
        elif type(item) is int and -MAX_NUMBER < item < MAX_NUMBER:
            self.budget -= 8
            return item
        return self.json(item, depth)

    def tags(self, value: object) -> dict[str, str]:
        if value is None:
            return {}
        if not isinstance(value, Mapping):
            self.changes.add(INVALID_SHAPE)
            return {}
        result: dict[str, str] = {}
        for index, (key, item) in enumerate(value.items()):
            if index >= MAX_TAGS:
                self.changes.add(TOO_MANY_TAGS)
                break
            tag_value = item if item is None or isinstance(item, str) else self._coerce(item)
            clean = self.string(tag_value, MAX_TAG_VALUE, text=True)
            result[self.string(key, MAX_TAG_KEY)] = clean
        return result

    def metadata(self, value: object) -> dict[str, Any]:
        if value is None:
            return {}
        if not isinstance(value, Mapping):
            self.changes.add(INVALID_SHAPE)
            return {}
        return self._object(value, 0)

    def cost(self, value: object) -> float | None:
        if value is None:
            return None
        number = isinstance(value, int | float) and not isinstance(value, bool)
        if number and math.isfinite(value) and 0 <= value < 1e9:  # type: ignore[arg-type,operator]
            return float(value)  # type: ignore[arg-type]
        self.changes.add(INVALID_NUMBER)
        return None


# Fields normalized one by one below; any other field a record gains (a `configuration`
# document, say) is normalized by its shape: strings as text, lists and objects as metadata.
_NAMED_FIELDS = frozenset(
    {
        "provider",
        "account",
        "region",
        "type",
        "native_type",
        "resource_id",
        "name",
        "status",
        "tags",
        "metadata",
        "cost_per_hour",
        "relations",
        "rejected",
    }
)
_OTHER_FIELDS = tuple(f.name for f in fields(ResourceRecord) if f.name not in _NAMED_FIELDS)


def _other_fields(record: ResourceRecord, walk: _Walk) -> dict[str, Any]:
    """Every field not named above: strings, lists and objects normalized, the rest as is."""
    result: dict[str, Any] = {}
    for name in _OTHER_FIELDS:
        value = getattr(record, name)
        if isinstance(value, str | Mapping | list | tuple) or (
            isinstance(value, float) and not math.isfinite(value)
        ):
            value = walk.json(value, 0)
        result[name] = value
    return result


def _relations(relations: object, walk: _Walk) -> tuple[Relation, ...]:
    """Relations with a known type and a target id that fits a resource id; others dropped."""
    if not isinstance(relations, list | tuple):
        return ()
    kept: list[Relation] = []
    for relation in relations[:MAX_ITEMS]:
        if not isinstance(relation, Relation) or not isinstance(relation.type, RelationType):
            walk.changes.add(INVALID_SHAPE)
            continue
        target = walk.string(relation.target, MAX_ID + 1) if relation.target else ""
        if not target or len(target) > MAX_ID:
            walk.changes.add(INVALID_SHAPE)
            continue
        clean = type(relation) is Relation and target is relation.target
        kept.append(relation if clean else Relation(relation.type, target))
    if len(relations) > MAX_ITEMS:
        walk.changes.add(TOO_MANY_ITEMS)
    return tuple(kept)


def display_id(value: object) -> str | None:
    """A resource id as a job may show it: normalized, cut to 200 characters."""
    if value is None or value == "":
        return None
    walk = _Walk()
    try:
        shown = walk.string(value, MAX_ID)
    except _TooLarge:  # pragma: no cover - an id alone never exceeds the record budget
        return None
    return shown if len(shown) <= 200 else shown[:199] + "…"


def normalize_record(record: ResourceRecord) -> Normalized | Rejected:
    """The record with every value normalized, and what changed; or why it cannot be stored.

    Fields are treated as untrusted whatever their annotations say: providers build records from
    JSON, where any value can have any type."""
    if record.rejected is not None:
        return Rejected(display_id(record.resource_id), record.rejected)
    walk = _Walk()
    raw_id: object = record.resource_id
    if raw_id is None or raw_id == "":
        return Rejected(None, "The cloud listed a resource without an id.")
    try:
        resource_id = walk.string(raw_id, MAX_ID + 1)
        if len(resource_id) > MAX_ID:
            return Rejected(
                display_id(raw_id), f"The resource's id is longer than {MAX_ID} characters."
            )
        status = record.status if isinstance(record.status, ResourceStatus) else None
        resource_type = record.type if isinstance(record.type, ResourceType) else None
        if status is None or resource_type is None:
            walk.changes.add(INVALID_SHAPE)
        # Built whole rather than by `dataclasses.replace`, which cost as much as normalizing.
        clean = ResourceRecord(
            **_other_fields(record, walk),
            provider=record.provider,
            rejected=None,
            resource_id=resource_id,
            account=walk.string(record.account, MAX_ACCOUNT),
            region=walk.string(record.region, MAX_REGION),
            native_type=walk.string(record.native_type, MAX_NATIVE_TYPE),
            name=walk.string(record.name, MAX_NAME),
            status=status or ResourceStatus.UNKNOWN,
            type=resource_type or ResourceType.OTHER,
            tags=walk.tags(record.tags),
            metadata=walk.metadata(record.metadata),
            cost_per_hour=walk.cost(record.cost_per_hour),
            relations=_relations(record.relations, walk),
        )
    except _TooLarge:
        return Rejected(
            display_id(raw_id),
            f"The resource is larger than {MAX_RECORD_CHARS // 1024} KiB once normalized.",
        )
    return Normalized(clean, frozenset(walk.changes))
