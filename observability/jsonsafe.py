"""Turn any Python value into strict JSON data (the shape every alert sink writes).

Strings lose lone surrogates and NUL (PostgreSQL rejects both); NaN and infinities
become strings; datetimes, Decimals, UUIDs, bytes, sets and arbitrary objects become
text; non-string keys become strings; depth, length and item counts are capped with
a visible marker. Nothing here raises for a strange input.
"""

import datetime
import decimal
import enum
import json
import math
import uuid
from collections import deque
from collections.abc import Callable, Mapping
from pathlib import PurePath
from typing import Any

MARKER = "…"
MAX_DEPTH = 8
MAX_ITEMS = 100
MAX_STRING = 4_000
_BIG_INT = 2**63
_UNSAFE = str.maketrans({"\x00": "\ufffd"})

Scrub = Callable[[str], str]


def _keep(text: str) -> str:
    return text


def clean_text(text: str, *, limit: int | None = None, scrub: Scrub = _keep) -> str:
    """A storable string: no lone surrogates or NUL, secrets scrubbed, then cut to ``limit``."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = text.encode("utf-8", "replace").decode("utf-8")
    text = scrub(text.translate(_UNSAFE))
    return truncate(text, limit) if limit is not None else text


def truncate(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` characters, ending in the marker when cut."""
    if len(text) <= limit:
        return text
    return text[: max(limit - len(MARKER), 0)] + MARKER if limit > 0 else ""


def safe_text(value: Any, *, limit: int | None = None, scrub: Scrub = _keep) -> str:
    """``str(value)`` that never raises; None is the empty string."""
    if value is None:
        return ""
    if isinstance(value, str):
        return clean_text(str.__str__(value), limit=limit, scrub=scrub)
    if isinstance(value, bytes | bytearray | memoryview):
        return clean_text(bytes(value).decode("utf-8", "backslashreplace"), limit=limit, scrub=scrub)
    try:
        text = str(value)
        if not isinstance(text, str):
            raise TypeError("__str__ returned a non-string")
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException:
        return safe_repr(value, limit=limit, scrub=scrub)
    return clean_text(text, limit=limit, scrub=scrub)


def safe_repr(value: Any, *, limit: int | None = MAX_STRING, scrub: Scrub = _keep) -> str:
    """``repr(value)`` that never raises."""
    try:
        text = repr(value)
        if not isinstance(text, str):
            raise TypeError("__repr__ returned a non-string")
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException:
        try:
            name = type(value).__qualname__
        except BaseException:  # noqa: BLE001 - a hostile metaclass
            name = "object"
        text = f"<unrepresentable {name}>"
    return clean_text(text, limit=limit, scrub=scrub)


def to_jsonable(value: Any, *, scrub: Scrub = _keep) -> Any:
    """Strict JSON data for ``value``: dict/list/str/int/float/bool/None only."""
    return _convert(value, scrub, 0, set())


def _convert(value: Any, scrub: Scrub, depth: int, path: set[int]) -> Any:
    try:
        return _convert_unguarded(value, scrub, depth, path)
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException:  # a hostile __eq__, __iter__, items() ...
        return safe_repr(value, scrub=scrub)


def _convert_unguarded(value: Any, scrub: Scrub, depth: int, path: set[int]) -> Any:
    if value is None or isinstance(value, bool):
        return bool(value) if value is not None else None
    if isinstance(value, int):
        number = int.__int__(value)
        return (
            number
            if -_BIG_INT < number < _BIG_INT
            else str(number)
            if number.bit_length() < 10_000
            else "big int"
        )
    if isinstance(value, float):
        number = float.__float__(value)
        return number if math.isfinite(number) else _non_finite(number)
    if isinstance(value, str | bytes | bytearray | memoryview):
        return safe_text(value, limit=MAX_STRING, scrub=scrub)
    if isinstance(value, enum.Enum):
        return _convert(value.value, scrub, depth + 1, path)
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal | uuid.UUID | PurePath | datetime.timedelta):
        return safe_text(value, limit=MAX_STRING, scrub=scrub)
    if not isinstance(value, Mapping | list | tuple | set | frozenset | deque):
        return safe_repr(value, scrub=scrub)
    if depth >= MAX_DEPTH:
        return MARKER + " nested too deep"
    if id(value) in path:
        return "<cycle>"
    path.add(id(value))
    try:
        if isinstance(value, Mapping):
            return _convert_mapping(value, scrub, depth, path)
        items = value
        if isinstance(value, set | frozenset):
            items = sorted(value, key=lambda item: safe_repr(item))
        out = []
        for index, item in enumerate(items):
            if index == MAX_ITEMS:
                out.append(f"{MARKER} {len(value) - MAX_ITEMS} more items")
                break
            out.append(_convert(item, scrub, depth + 1, path))
        return out
    finally:
        path.discard(id(value))


def _convert_mapping(value: Mapping, scrub: Scrub, depth: int, path: set[int]) -> dict:
    out: dict[str, Any] = {}
    for index, (key, item) in enumerate(value.items()):
        if index == MAX_ITEMS:
            out[MARKER] = f"{len(value) - MAX_ITEMS} more keys"
            break
        out[_key(key, scrub)] = _convert(item, scrub, depth + 1, path)
    return out


def _key(key: Any, scrub: Scrub) -> str:
    if isinstance(key, str):
        return clean_text(str.__str__(key), limit=256, scrub=scrub)
    if key is None or isinstance(key, bool | int | float):
        # The names json.dumps would give them.
        return json.dumps(_convert(key, scrub, 0, set()))
    return safe_text(key, limit=256, scrub=scrub)


def _non_finite(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    return "Infinity" if value > 0 else "-Infinity"


def dumps(data: Any, **kwargs) -> str:
    """Strict JSON text (NaN and infinities refused) of data from to_jsonable."""
    return json.dumps(data, allow_nan=False, **kwargs)


def cap(data: Any, *, max_chars: int) -> Any:
    """``data``, or a marked preview of it when its JSON is longer than ``max_chars``."""
    text = dumps(data, ensure_ascii=False)
    if len(text) <= max_chars:
        return data
    return {MARKER: f"truncated: {len(text)} characters of JSON", "preview": truncate(text, max_chars // 2)}
