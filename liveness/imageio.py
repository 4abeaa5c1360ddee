"""Bounded image decoding: JPEG, PNG and WebP bytes to an upright BGR array.

The header is read first (Pillow parses only the header on ``open``) so byte and pixel
limits are enforced before any pixel is decoded (decompression bombs); then OpenCV decodes,
honouring the EXIF orientation (phone cameras) for all three formats, converting grayscale,
16-bit and palette images to 8-bit BGR and dropping alpha.  JPEGs larger than needed are
decoded at 1/2, 1/4 or 1/8 scale by libjpeg's DCT scaling, which costs a fraction of a full
decode.  Every failure is an ``ImageError`` whose ``reason`` is a result code.
"""
from __future__ import annotations

import io
from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image, UnidentifiedImageError

from .errors import ImageError

ACCEPTED = ("JPEG", "PNG", "WEBP")
_OTHER_MAGIC = (b"GIF87a", b"GIF89a", b"BM", b"II*\x00", b"MM\x00*", b"\x00\x00\x01\x00")
_REDUCED = {2: cv2.IMREAD_REDUCED_COLOR_2, 4: cv2.IMREAD_REDUCED_COLOR_4,
            8: cv2.IMREAD_REDUCED_COLOR_8}


@dataclass(frozen=True)
class ImageLimits:
    max_bytes: int = 10 * 1024 * 1024
    max_pixels: int = 40_000_000


@dataclass(frozen=True)
class Header:
    format: str      # JPEG | PNG | WEBP
    width: int       # as stored (before EXIF orientation)
    height: int


@dataclass(frozen=True)
class Decoded:
    image: np.ndarray   # BGR uint8, upright, full size divided by `reduction`
    format: str
    width: int          # upright full-resolution size
    height: int
    reduction: int      # 1, 2, 4 or 8


def read_header(data: bytes, limits: ImageLimits = ImageLimits()) -> Header:
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise ImageError("bad_image", "expected bytes")
    if len(data) == 0:
        raise ImageError("bad_image", "empty input")
    if len(data) > limits.max_bytes:
        raise ImageError("image_too_large", f"{len(data)} bytes > {limits.max_bytes}")
    try:
        with Image.open(io.BytesIO(data), formats=ACCEPTED) as im:
            header = Header(im.format, *im.size)
    except Image.DecompressionBombError as exc:
        raise ImageError("image_too_large", str(exc)) from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError) as exc:
        if bytes(data[:12]).startswith(_OTHER_MAGIC) or bytes(data[4:8]) == b"ftyp":
            raise ImageError("unsupported_format", "only JPEG, PNG and WebP are accepted") from None
        raise ImageError("bad_image", f"not a readable image ({type(exc).__name__})") from None
    if header.width <= 0 or header.height <= 0:
        raise ImageError("bad_image", "zero-sized image")
    if header.width * header.height > limits.max_pixels:
        raise ImageError("image_too_large",
                         f"{header.width}x{header.height} > {limits.max_pixels} pixels")
    return header


def reduction_for(header: Header, min_side: int | None) -> int:
    """Largest DCT scale-down (JPEG only) that keeps the longest side >= ``min_side``."""
    if min_side is None or header.format != "JPEG":
        return 1
    longest = max(header.width, header.height)
    for factor in (8, 4, 2):
        if longest / factor >= min_side:
            return factor
    return 1


def decode(data: bytes, limits: ImageLimits = ImageLimits(), min_side: int | None = None) -> Decoded:
    """Decode ``data``; with ``min_side`` a large JPEG is decoded reduced (see module doc)."""
    header = read_header(data, limits)
    factor = reduction_for(header, min_side)
    flag = _REDUCED[factor] if factor > 1 else cv2.IMREAD_COLOR
    try:
        image = cv2.imdecode(np.frombuffer(data, np.uint8), flag)
    except cv2.error as exc:
        raise ImageError("bad_image", f"decoder error: {exc.err}") from None
    if image is None or image.ndim != 3 or image.shape[2] != 3:
        raise ImageError("bad_image", "corrupt or truncated image data")
    h, w = image.shape[:2]
    expect = (-(-header.width // factor), -(-header.height // factor))
    if sorted((w, h)) != sorted(expect):
        raise ImageError("bad_image", "decoded size disagrees with the header")
    # EXIF orientations 5-8 swap the axes; the upright full size follows the decoded one.
    upright = (header.width, header.height) if (w, h) == expect else (header.height, header.width)
    return Decoded(image=image, format=header.format, width=upright[0], height=upright[1],
                   reduction=factor)
