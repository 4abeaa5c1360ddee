"""Reading capture frames from a request: multipart ``frames`` files or JSON base64.

Bounds (DESIGN section 13): at most ``max_frames`` frames of at most ``max_bytes`` each,
JPEG or PNG by their magic bytes (a declared content type proves nothing), the whole body
within the upload limit.  Multipart parts are kept in memory, never spooled to a temporary
file: face images are processed in memory and discarded.
"""
from __future__ import annotations

import base64
import binascii
import io
from dataclasses import dataclass

from flask import request

from ..errors import InvalidRequest, PayloadTooLarge, UnsupportedMediaType
from ..jsonbody import json_body

JPEG = b"\xff\xd8\xff"
PNG = b"\x89PNG\r\n\x1a\n"


@dataclass(frozen=True)
class FrameLimits:
    max_frames: int = 12
    max_bytes: int = 2 * 1024 * 1024


def _memory_stream(*args, **kwargs):
    return io.BytesIO()


def keep_uploads_in_memory() -> None:
    """Call before anything reads ``request.form``/``request.files`` of an upload request."""
    request._get_file_stream = _memory_stream


def read_frames(limits: FrameLimits, fields=("session", "nonce")) -> tuple[dict, list[bytes]]:
    """The named text fields and the frames of this request; 4xx errors for bad input."""
    if request.mimetype == "multipart/form-data":
        values = {name: request.form.get(name) for name in fields}
        parts = request.files.getlist("frames")
        _check_count(len(parts), limits)
        frames = [_bounded(part.stream.read(limits.max_bytes + 1), i, limits)
                  for i, part in enumerate(parts)]
    elif request.mimetype == "application/json":
        body = json_body()
        values = {name: body.get(name) if isinstance(body.get(name), str) else None
                  for name in fields}
        encoded = body.get("frames")
        if not isinstance(encoded, list):
            raise InvalidRequest("frames must be a list of base64 strings")
        _check_count(len(encoded), limits)
        frames = [_bounded(_b64(item, i, limits), i, limits) for i, item in enumerate(encoded)]
    else:
        raise UnsupportedMediaType("send the frames as multipart/form-data (field frames) "
                                   "or as JSON with base64 frames")
    for i, data in enumerate(frames):
        if not (data.startswith(JPEG) or data.startswith(PNG)):
            raise UnsupportedMediaType(f"frame {i} is not a JPEG or PNG image")
    return values, frames


def _check_count(count: int, limits: FrameLimits) -> None:
    if count == 0:
        raise InvalidRequest("no frames were sent (field frames)")
    if count > limits.max_frames:
        raise PayloadTooLarge(f"at most {limits.max_frames} frames per session")


def _bounded(data: bytes, index: int, limits: FrameLimits) -> bytes:
    if len(data) > limits.max_bytes:
        raise PayloadTooLarge(f"frame {index} is larger than {limits.max_bytes} bytes")
    return data


def _b64(item, index: int, limits: FrameLimits) -> bytes:
    if not isinstance(item, str):
        raise InvalidRequest(f"frame {index} must be a base64 string")
    if item.startswith("data:"):  # a canvas data URL: data:image/jpeg;base64,....
        item = item.partition(",")[2]
    if len(item) > limits.max_bytes * 4 // 3 + 4:
        raise PayloadTooLarge(f"frame {index} is larger than {limits.max_bytes} bytes")
    try:
        return base64.b64decode(item, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidRequest(f"frame {index} is not valid base64") from None
