"""Bounded clip decoding: a video file (MP4 H.264/MPEG-4, WebM VP8/VP9) or a timestamped
burst of JPEG/PNG frames, to a list of timestamped BGR frames.

Limits are checked as early as they can be: the byte size and the container's magic and
top-level structure before anything is decoded, the frame size from the stream header before
the first frame, and frame count, duration and timestamps while decoding (stopping at the
first violation, so a hostile file never costs more than the limits allow).

Timing is taken from each frame's own presentation time (``CAP_PROP_POS_MSEC``), never from
a declared frame rate: a browser's MediaRecorder writes variable-rate WebM, and headless
capture delivers fewer frames than the camera's nominal rate.  A frame that repeats the
previous distinct one (an encoder keeping its rate: a mean absolute difference of at most
``REPEAT_MEAN`` grey levels; measured 0-0.13 for MPEG-4, VP8 and VP9 repeats, key frames
included, while consecutive frames of the shared real clips, even of a still head, differ by
0.30 or more; lp_d12 and lp_d6 were rate-converted and repeat about one frame in five)
is not counted: ``min_fps`` is about distinct frames, and ``max_gap_ms`` is measured between them.

Frames are kept at most every ``keep_interval_ms`` (the analysis rate; every distinct frame
still counts for the rate and gap checks) and downscaled so their longest side is at most
``analysis_side``: what the engine analyses, and what the memory of a request is bounded by.

OpenCV's FFmpeg backend reads from a path, so a video is written to a private temporary
file (mode 0600, created by ``mkstemp``) that is unlinked as soon as the decoder has opened
it; the frames never touch the disk again.
"""
from __future__ import annotations

import hashlib
import math
import os
import struct
import tempfile
from dataclasses import dataclass, field
from typing import Sequence

import cv2
import numpy as np

from . import imageio
from .errors import ImageError, LivenessError

REPEAT_MEAN = 0.2


@dataclass(frozen=True)
class ClipLimits:
    max_bytes: int = 8 * 1024 * 1024
    min_duration_ms: float = 2500
    max_duration_ms: float = 12000
    min_fps: float = 10.0            # distinct frames per second over the clip
    max_gap_ms: float = 400          # no hole longer than this between distinct frames
    max_frames: int = 400            # decoded frames (a 30 fps phone clip of 12 s is 360)
    max_side: int = 1280             # width/height of a frame
    max_pixels: int = 1280 * 1280
    analysis_side: int = 480         # kept frames are downscaled to this longest side
    keep_interval_ms: float = 60.0   # frames closer than this to the last kept one are not kept

    def __post_init__(self):
        if self.min_duration_ms > self.max_duration_ms or self.min_fps <= 0 or self.max_frames < 2:
            raise ValueError("inconsistent clip limits")


@dataclass
class ClipFrame:
    t_ms: float            # capture time, ms from the clip's first frame
    image: np.ndarray      # BGR uint8, longest side <= limits.analysis_side


@dataclass
class Clip:
    frames: list[ClipFrame]
    source: str            # "video/mp4", "video/webm", "burst"
    duration_ms: float     # last distinct frame's time minus the first's
    width: int = 0         # frame size as captured (before the analysis downscale)
    height: int = 0
    decoded: int = 0       # frames decoded
    distinct: int = 0      # of which not an exact repeat of the previous one
    max_gap_ms: float = 0.0
    scale: float = 1.0     # analysis image size / captured size
    sha256: str = ""       # of the uploaded bytes (video) or of the frames' bytes in order
    frame_sha256: list[str] = field(default_factory=list)   # burst only: one per frame

    @property
    def fps(self) -> float:
        return (self.distinct - 1) * 1000.0 / self.duration_ms if self.duration_ms > 0 else 0.0


class ClipError(LivenessError):
    """The clip breaks a limit or cannot be decoded; ``reason`` is a machine-readable code:
    clip_too_large, clip_too_short, clip_too_long, frame_rate_too_low, frame_gap,
    too_many_frames, frame_too_large, bad_timestamps, bad_clip, unsupported_format."""

    def __init__(self, reason: str, detail: str = ""):
        self.reason = reason
        self.detail = detail
        super().__init__(f"{reason}: {detail}" if detail else reason)


def container(data: bytes) -> str:
    """The clip's media type from its magic and top-level structure, or ``ClipError``."""
    if len(data) >= 12 and data[4:8] == b"ftyp":
        _check_mp4_boxes(data)
        return "video/mp4"
    if data[:4] == b"\x1a\x45\xdf\xa3":
        # EBML header; the DocType must say webm (or matroska, which MediaRecorder never writes
        # but the same demuxer reads).  The header is small: look in its first 64 bytes.
        if b"webm" not in data[:64] and b"matroska" not in data[:64]:
            raise ClipError("unsupported_format", "EBML file that is not WebM")
        return "video/webm"
    raise ClipError("unsupported_format", "only MP4 (H.264, MPEG-4) and WebM (VP8, VP9) clips are accepted")


def _check_mp4_boxes(data: bytes) -> None:
    """ISO/IEC 14496-12 section 4.2: top-level boxes must tile the file (size 0 = to the end,
    size 1 = a 64-bit size follows); a moov box must be present."""
    offset, seen, n = 0, set(), len(data)
    while offset < n:
        if n - offset < 8:
            raise ClipError("bad_clip", "truncated MP4 box header")
        size, kind = struct.unpack(">I4s", data[offset:offset + 8])
        if size == 1:
            if n - offset < 16:
                raise ClipError("bad_clip", "truncated MP4 box header")
            size = struct.unpack(">Q", data[offset + 8:offset + 16])[0]
        elif size == 0:
            size = n - offset
        if size < 8 or offset + size > n:
            raise ClipError("bad_clip", f"MP4 box {kind!r} overruns the file")
        seen.add(kind)
        offset += size
    if b"moov" not in seen:
        raise ClipError("bad_clip", "MP4 without a moov box (not a finished recording)")


def _analysis_scale(width: int, height: int, limits: ClipLimits) -> float:
    return min(1.0, limits.analysis_side / max(width, height))


def _check_size(width: int, height: int, limits: ClipLimits) -> None:
    if width <= 0 or height <= 0:
        raise ClipError("bad_clip", "no video stream")
    if max(width, height) > limits.max_side or width * height > limits.max_pixels:
        raise ClipError("frame_too_large", f"{width}x{height} > {limits.max_side} px a side "
                                           f"or {limits.max_pixels} pixels")


class _Collector:
    """Applies the running limits frame by frame and keeps the analysis frames."""

    def __init__(self, limits: ClipLimits):
        self.limits = limits
        self.frames: list[ClipFrame] = []
        self.t0: float | None = None
        self.last_t: float | None = None
        self.last_distinct_t: float | None = None
        self.prev: np.ndarray | None = None
        self.decoded = self.distinct = 0
        self.max_gap = 0.0
        self.scale = 1.0

    def add(self, t_ms: float, image: np.ndarray) -> None:
        lim = self.limits
        self.decoded += 1
        if self.decoded > lim.max_frames:
            raise ClipError("too_many_frames", f"more than {lim.max_frames} frames")
        if not math.isfinite(t_ms):
            raise ClipError("bad_timestamps", "a frame has no valid timestamp")
        if self.t0 is None:
            self.t0 = t_ms
            h, w = image.shape[:2]
            self.scale = _analysis_scale(w, h, lim)
        elif t_ms <= self.last_t:
            raise ClipError("bad_timestamps", f"timestamps not increasing at frame {self.decoded - 1}")
        elif image.shape != self.prev.shape:
            raise ClipError("bad_clip", "frame size changes within the clip")
        t = t_ms - self.t0
        if t > lim.max_duration_ms:
            raise ClipError("clip_too_long", f"longer than {lim.max_duration_ms:.0f} ms")
        self.last_t = t_ms
        if self.prev is not None and cv2.norm(image, self.prev, cv2.NORM_L1) <= REPEAT_MEAN * image.size:
            return  # a repeat: not a new frame of the scene
        if self.last_distinct_t is not None:
            gap = t - self.last_distinct_t
            self.max_gap = max(self.max_gap, gap)
            if gap > lim.max_gap_ms:
                raise ClipError("frame_gap", f"{gap:.0f} ms without a new frame at {t:.0f} ms")
        self.prev = image
        self.distinct += 1
        self.last_distinct_t = t
        if self.frames and t - self.frames[-1].t_ms < lim.keep_interval_ms:
            return
        small = image if self.scale >= 1.0 else cv2.resize(
            image, None, fx=self.scale, fy=self.scale,
            # bilinear is 5x cheaper than area averaging and alias-free down to half size
            interpolation=cv2.INTER_LINEAR if self.scale >= 0.5 else cv2.INTER_AREA)
        self.frames.append(ClipFrame(t, small))

    def finish(self, source: str, width: int, height: int) -> Clip:
        lim = self.limits
        if self.distinct < 2:
            raise ClipError("clip_too_short", f"{self.distinct} distinct frame(s)")
        clip = Clip(self.frames, source, duration_ms=self.last_distinct_t, width=width,
                    height=height, decoded=self.decoded, distinct=self.distinct,
                    max_gap_ms=self.max_gap, scale=self.scale)
        if clip.duration_ms < lim.min_duration_ms:
            raise ClipError("clip_too_short", f"{clip.duration_ms:.0f} ms < {lim.min_duration_ms:.0f} ms")
        if clip.fps < lim.min_fps - 1e-6:  # a clip at exactly min_fps passes
            raise ClipError("frame_rate_too_low",
                            f"{clip.fps:.1f} distinct frames/s < {lim.min_fps:g}")
        return clip


def decode_video(data: bytes, limits: ClipLimits = ClipLimits()) -> Clip:
    """Decode an MP4 or WebM clip within ``limits``; ``ClipError`` on any violation."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise ClipError("bad_clip", "expected bytes")
    data = bytes(data)
    if not data:
        raise ClipError("bad_clip", "empty clip")
    if len(data) > limits.max_bytes:
        raise ClipError("clip_too_large", f"{len(data)} bytes > {limits.max_bytes}")
    source = container(data)
    cap = _open(data, ".mp4" if source == "video/mp4" else ".webm")
    try:
        width = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH))
        height = int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
        _check_size(width, height, limits)
        collector = _Collector(limits)
        while True:
            ok, image = cap.read()
            if not ok:
                break
            if image is None or image.ndim != 3 or image.shape[:2] != (height, width):
                raise ClipError("bad_clip", "decoded frame disagrees with the stream header")
            collector.add(float(cap.get(cv2.CAP_PROP_POS_MSEC)), image)
    finally:
        cap.release()
    clip = collector.finish(source, width, height)
    clip.sha256 = _sha256(data)
    return clip


def _open(data: bytes, suffix: str) -> cv2.VideoCapture:
    fd, path = tempfile.mkstemp(prefix="liveness-clip-", suffix=suffix)  # mode 0600
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        # One decoding thread: a request's cost stays on one core, as the speed goal counts it.
        cap = cv2.VideoCapture(path, cv2.CAP_FFMPEG, [cv2.CAP_PROP_N_THREADS, 1])
    finally:
        os.unlink(path)  # the decoder holds its own descriptor; nothing stays on disk
    if not cap.isOpened():
        cap.release()
        raise ClipError("bad_clip", "the video cannot be decoded")
    return cap


def decode_burst(items: Sequence[tuple[float, bytes]], limits: ClipLimits = ClipLimits()) -> Clip:
    """Timestamped JPEG/PNG frames (capture time in ms from the client's clock, e.g.
    ``performance.now()``; only differences matter), in capture order."""
    items = list(items)
    if len(items) > limits.max_frames:
        raise ClipError("too_many_frames", f"{len(items)} > {limits.max_frames}")
    if len(items) < 2:
        raise ClipError("clip_too_short", f"{len(items)} frame(s)")
    total = 0
    for t, data in items:
        if not isinstance(data, (bytes, bytearray)):
            raise ClipError("bad_clip", "every frame must be bytes")
        if isinstance(t, bool) or not isinstance(t, (int, float)) or not math.isfinite(t):
            raise ClipError("bad_timestamps", "every frame needs a finite numeric timestamp")
        total += len(data)
    if total > limits.max_bytes:
        raise ClipError("clip_too_large", f"{total} bytes > {limits.max_bytes}")
    times = [float(t) for t, _ in items]
    if any(b <= a for a, b in zip(times, times[1:])):
        raise ClipError("bad_timestamps", "timestamps must increase strictly")
    if times[-1] - times[0] > limits.max_duration_ms:
        raise ClipError("clip_too_long", f"{times[-1] - times[0]:.0f} ms > {limits.max_duration_ms:.0f} ms")
    image_limits = imageio.ImageLimits(max_bytes=limits.max_bytes, max_pixels=limits.max_pixels)
    collector, size, hashes = _Collector(limits), None, []
    for i, (t, data) in enumerate(items):
        try:
            header = imageio.read_header(data, image_limits)
            if header.format not in ("JPEG", "PNG"):
                raise ClipError("unsupported_format", f"frame {i}: only JPEG and PNG frames")
            _check_size(header.width, header.height, limits)
            image = imageio.decode(data, image_limits).image
        except ImageError as exc:
            reason = {"image_too_large": "frame_too_large"}.get(exc.reason, exc.reason)
            reason = reason if reason in ("frame_too_large", "unsupported_format") else "bad_clip"
            raise ClipError(reason, f"frame {i}: {exc.detail or exc.reason}") from None
        if size is None:
            size = image.shape[1], image.shape[0]
        collector.add(float(t), image)
        hashes.append(_sha256(data))
    clip = collector.finish("burst", *size)
    clip.frame_sha256 = hashes
    clip.sha256 = _sha256("".join(hashes).encode())
    return clip


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
