"""Reading a bounded JSON request body (DESIGN section 13: every input is bounded)."""
from __future__ import annotations

import json

from flask import request

from ..errors import InvalidRequest, UnsupportedMediaType

MAX_DEPTH = 10


def _depth(value, level: int = 1) -> int:
    if level > MAX_DEPTH:
        return level
    if isinstance(value, dict):
        return max([_depth(v, level + 1) for v in value.values()] or [level])
    if isinstance(value, list):
        return max([_depth(v, level + 1) for v in value] or [level])
    return level


def json_body(*, optional: bool = False, error=InvalidRequest) -> dict:
    """The request's JSON object; ``optional`` allows an empty body (returns {})."""
    raw = request.get_data(cache=True)
    if not raw.strip() and optional:
        return {}
    if request.mimetype != "application/json":
        raise UnsupportedMediaType("send the body as application/json")
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError):
        raise error("the body is not valid JSON") from None
    if not isinstance(body, dict):
        raise error("the body must be a JSON object")
    if _depth(body) > MAX_DEPTH:
        raise error(f"the JSON body is nested deeper than {MAX_DEPTH} levels")
    return body
