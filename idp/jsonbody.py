"""Reading JSON, bounded in size and depth (DESIGN section 13: every input is bounded).

Python's ``json`` parser recurses once per nesting level, so 30,000 ``[`` raise
``RecursionError`` (a 500 if it escapes).  ``loads`` measures the nesting first with one
linear scan (strings skipped, so brackets inside them do not count) and refuses deep
documents before parsing.  Every JSON request body goes through ``json_body`` and every
JSON-valued parameter through ``loads``: one reader, one set of limits, 400 with a reason.
"""
from __future__ import annotations

import json
import math
import re

from flask import request

from .errors import InvalidRequest, PayloadTooLarge, UnsupportedMediaType

MAX_DEPTH = 16
# A JSON string (RFC 8259 section 7: escapes are a backslash and one more character), or one
# bracket.  Unrolled, so a long string is matched in one linear pass.
_TOKEN = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"|[\[{]|[\]}]', re.DOTALL)
_SURROGATE = re.compile(rb"\\u[dD][89a-fA-F]")


class JsonError(ValueError):
    """The text is not JSON this server accepts; the message says why."""


def depth(raw: bytes, limit: int | None = None) -> int:
    """The deepest nesting of arrays and objects in ``raw`` (0 for a scalar); a body with
    at most ``limit`` brackets in all (base64 frames: a few) is not scanned further."""
    brackets = raw.count(b"[") + raw.count(b"{")
    if limit is not None and brackets <= limit:
        return brackets
    level = deepest = 0
    for match in _TOKEN.finditer(raw):
        char = match.group()[:1]
        if char in (b"[", b"{"):
            level += 1
            deepest = max(deepest, level)
        elif char in (b"]", b"}"):
            level -= 1
    return deepest


def _constant(name):
    raise JsonError(f"{name} is not a JSON value (RFC 8259)")


def _float(text):
    value = float(text)
    if math.isinf(value):
        raise JsonError(f"the number {text[:20]} is out of range")
    return value


def _check_surrogates(raw: bytes, value) -> None:
    """A lone surrogate escape (``"\\ud800"``) parses into a string no UTF-8 encoder takes:
    refuse it here rather than fail later while storing or logging it (RFC 8259 section 8.2)."""
    if _SURROGATE.search(raw) is None:
        return
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        raise JsonError("a string holds an unpaired UTF-16 surrogate") from None


def loads(raw: bytes | str, *, max_depth: int = MAX_DEPTH, max_bytes: int | None = None,
          what: str = "the JSON"):
    """Parse ``raw``; ``JsonError`` (a ValueError) when too large, too deep or not JSON."""
    data = raw.encode() if isinstance(raw, str) else bytes(raw)
    if max_bytes is not None and len(data) > max_bytes:
        raise JsonError(f"{what} is larger than {max_bytes} bytes")
    if depth(data, max_depth) > max_depth:
        raise JsonError(f"{what} is nested deeper than {max_depth} levels")
    try:
        value = json.loads(data, parse_constant=_constant, parse_float=_float)
    except JsonError:
        raise
    except (ValueError, RecursionError):  # RecursionError: a last line the scan should make moot
        raise JsonError(f"{what} is not valid JSON") from None
    _check_surrogates(data, value)
    return value


def json_body(*, optional: bool = False, max_depth: int = MAX_DEPTH, max_bytes: int | None = None,
              error=InvalidRequest) -> dict:
    """The request's JSON object (``application/json``); ``optional`` allows an empty body.

    415 for another media type, 413 beyond ``max_bytes`` (the app-wide body limit applies
    anyway), ``error`` (400 by default) when the body is not a JSON object within the limits.
    """
    if max_bytes is not None and (request.content_length or 0) > max_bytes:
        raise PayloadTooLarge(f"the body is larger than {max_bytes} bytes")
    raw = request.get_data(cache=True)
    if optional and not raw.strip():
        return {}
    if not request.is_json:
        raise UnsupportedMediaType("send the body as application/json")
    if max_bytes is not None and len(raw) > max_bytes:
        raise PayloadTooLarge(f"the body is larger than {max_bytes} bytes")
    try:
        body = loads(raw, max_depth=max_depth, what="the body")
    except JsonError as exc:
        raise error(str(exc)) from None
    if not isinstance(body, dict):
        raise error("the body must be a JSON object")
    return body
