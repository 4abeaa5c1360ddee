"""Decoding with limits, on synthetic images: runs without the shared data or models."""
from __future__ import annotations

import io
import struct
import zlib

import cv2
import numpy as np
import pytest
from PIL import Image

from liveness.errors import ImageError
from liveness.imageio import ImageLimits, decode, read_header

from .conftest import jpeg, png


def _pattern(w=64, h=48) -> np.ndarray:
    """An asymmetric BGR test card: a red block in the top-left corner."""
    img = np.full((h, w, 3), 200, np.uint8)
    img[: h // 4, : w // 4] = (0, 0, 255)
    return img


def _pil_bytes(img_rgb_or_l: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    img_rgb_or_l.save(buf, fmt, **kw)
    return buf.getvalue()


def _reason(data, **limits) -> str:
    with pytest.raises(ImageError) as info:
        decode(data, ImageLimits(**limits) if limits else ImageLimits())
    return info.value.reason


@pytest.mark.parametrize("encode", [jpeg, png])
def test_decodes_to_bgr(encode):
    d = decode(encode(_pattern()))
    assert d.image.shape == (48, 64, 3) and d.image.dtype == np.uint8
    assert (d.width, d.height, d.reduction) == (64, 48, 1)
    b, g, r = d.image[2, 2].astype(int)
    assert r > 200 and b < 60 and g < 60  # red stays red: channels are BGR


def test_webp():
    rgb = Image.fromarray(cv2.cvtColor(_pattern(), cv2.COLOR_BGR2RGB))
    d = decode(_pil_bytes(rgb, "WEBP", quality=95))
    assert d.format == "WEBP" and d.image.shape == (48, 64, 3)
    assert d.image[2, 2, 2] > 200


def test_grayscale_and_alpha_become_three_channels():
    gray = Image.fromarray(np.full((20, 30), 90, np.uint8), "L")
    d = decode(_pil_bytes(gray, "PNG"))
    assert d.image.shape == (20, 30, 3) and int(d.image[0, 0, 0]) == 90
    rgba = np.zeros((20, 30, 4), np.uint8)
    rgba[..., :3] = (10, 200, 30)
    rgba[..., 3] = 128
    d = decode(_pil_bytes(Image.fromarray(rgba, "RGBA"), "PNG"))
    assert d.image.shape == (20, 30, 3)
    assert tuple(int(v) for v in d.image[0, 0]) == (30, 200, 10)  # BGR of the colour, alpha dropped
    d = decode(_pil_bytes(Image.fromarray(np.full((20, 30), 1000, np.uint16)), "PNG"))
    assert d.image.shape == (20, 30, 3) and d.image.dtype == np.uint8


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
@pytest.mark.parametrize("orientation,shape,corner", [
    (1, (48, 64), (0, 0)),      # as stored: red block top-left
    (3, (48, 64), (47, 63)),    # rotated 180: bottom-right
    (6, (64, 48), (0, 47)),     # rotate 90 clockwise to display: top-right
    (8, (64, 48), (63, 0)),     # rotate 90 counter-clockwise: bottom-left
])
def test_exif_orientation_is_applied(fmt, orientation, shape, corner):
    rgb = Image.fromarray(cv2.cvtColor(_pattern(), cv2.COLOR_BGR2RGB))
    exif = Image.Exif()
    exif[0x0112] = orientation
    d = decode(_pil_bytes(rgb, fmt, exif=exif.tobytes(), quality=95))
    assert d.image.shape[:2] == shape
    assert (d.height, d.width) == shape
    assert d.image[corner][2] > 180 and d.image[corner][0] < 90


def test_reduced_decode_for_large_jpeg():
    img = cv2.resize(_pattern(), (1600, 1200), interpolation=cv2.INTER_NEAREST)
    data = jpeg(img)
    full = decode(data)
    assert full.reduction == 1 and full.image.shape == (1200, 1600, 3)
    d = decode(data, min_side=640)
    assert d.reduction == 2 and d.image.shape == (600, 800, 3)
    assert (d.width, d.height) == (1600, 1200)
    assert decode(data, min_side=200).reduction == 8
    assert decode(png(img), min_side=200).reduction == 1  # only JPEG has cheap DCT scaling


@pytest.mark.parametrize("data,reason", [
    (b"", "bad_image"),
    (b"\x00" * 100, "bad_image"),
    (np.random.default_rng(0).bytes(5000), "bad_image"),
    (b"GIF89a" + b"\x00" * 100, "unsupported_format"),
    (b"BM" + b"\x00" * 100, "unsupported_format"),
    ("not bytes", "bad_image"),
])
def test_garbage_gives_a_reason(data, reason):
    assert _reason(data) == reason


def test_real_gif_is_unsupported():
    gif = _pil_bytes(Image.new("RGB", (10, 10)), "GIF")
    assert _reason(gif) == "unsupported_format"


def test_truncated_jpeg_is_bad_image():
    data = jpeg(np.random.default_rng(1).integers(0, 255, (120, 160, 3), dtype=np.uint8))
    for cut in (0.3, 0.6, 0.95):
        assert _reason(data[: int(len(data) * cut)]) == "bad_image"
    assert _reason(data[:20]) == "bad_image"  # not even a full header


def test_corrupt_png_body_is_bad_image():
    data = bytearray(png(_pattern()))
    idat = data.index(b"IDAT")
    data[idat + 8: idat + 40] = b"\xff" * 32
    assert _reason(bytes(data)) == "bad_image"


def _png_declaring(width: int, height: int) -> bytes:
    """A tiny PNG whose header declares a huge size (a decompression bomb's shape)."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) +
            chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b""))


@pytest.mark.parametrize("w,h", [(100_000, 100_000), (10_000, 5_000), (1, 50_000_000)])
def test_huge_declared_dimensions_rejected_before_decoding(w, h):
    assert _reason(_png_declaring(w, h)) == "image_too_large"


def test_zlib_bomb_png_rejected_by_pixel_limit():
    # A real bomb: 6000x6000 black pixels compress to ~100 KB but decode to 108 MB.
    img = Image.new("RGB", (6000, 6000))
    data = _pil_bytes(img, "PNG", optimize=False)
    assert len(data) < 1_000_000
    assert _reason(data, max_pixels=30_000_000) == "image_too_large"


def test_byte_limit():
    data = jpeg(_pattern())
    assert _reason(data, max_bytes=len(data) - 1) == "image_too_large"
    assert decode(data, ImageLimits(max_bytes=len(data))).image.shape == (48, 64, 3)


def test_header_only_read():
    h = read_header(_png_declaring(10_000, 8_000), ImageLimits(max_pixels=10 ** 9))
    assert (h.format, h.width, h.height) == ("PNG", 10_000, 8_000)
