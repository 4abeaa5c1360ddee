"""Face templates (SFace embeddings) as bytes for storage, and back.

Layout: b"LVT" + version (1 byte, 1) + dimension (uint16, little endian) + float32 values
(little endian).  Only the template is stored, never the photo (DESIGN section 13); the
server encrypts the bytes at rest.
"""
from __future__ import annotations

import struct

import numpy as np

from .errors import TemplateError

_MAGIC = b"LVT"
_VERSION = 1
_HEADER = struct.Struct("<3sBH")


def template_to_bytes(template: np.ndarray) -> bytes:
    t = _check(np.asarray(template))
    return _HEADER.pack(_MAGIC, _VERSION, t.size) + t.astype("<f4").tobytes()


def template_from_bytes(data: bytes) -> np.ndarray:
    if len(data) < _HEADER.size:
        raise TemplateError("bad_template", "too short")
    magic, version, dim = _HEADER.unpack_from(data)
    if magic != _MAGIC or version != _VERSION:
        raise TemplateError("bad_template", "not a liveness template (magic/version)")
    if len(data) != _HEADER.size + 4 * dim:
        raise TemplateError("bad_template", "length does not match the dimension")
    return _check(np.frombuffer(data, "<f4", offset=_HEADER.size).astype(np.float32))


def _check(t: np.ndarray) -> np.ndarray:
    if t.ndim != 1 or t.size == 0 or t.size > 4096:
        raise TemplateError("bad_template", "a template is a non-empty 1-d vector")
    if not np.all(np.isfinite(t)):
        raise TemplateError("bad_template", "non-finite values")
    norm = float(np.linalg.norm(t))
    if not 0.99 < norm < 1.01:
        raise TemplateError("bad_template", f"not unit length (norm {norm:.3f})")
    return t.astype(np.float32)
