"""Reading a face clip from a request, with every limit that can be checked before decoding.

A face check is decided on one continuous capture (DESIGN section 6, step 4), sent as one of:

- multipart ``clip``: one video file, MP4 (H.264 or MPEG-4, what a WeChat mini-program's
  ``CameraContext.startRecord`` writes) or WebM (VP8/VP9, a browser's ``MediaRecorder``);
- multipart ``frames`` (JPEG/PNG files in capture order) with ``times``, a JSON array of their
  capture timestamps in milliseconds (any clock, e.g. ``performance.now()``; only the
  differences matter), one per frame;
- JSON ``{"frames": [{"t": ms, "data": base64}, ...]}`` (a mini-program's ``onCameraFrame``
  frames encoded to JPEG), or JSON ``{"clip": base64}``;

plus the text fields ``session`` and ``nonce``.  Before anything is decoded this module checks
the container or image magic bytes (a declared content type proves nothing), the byte size
of the clip or of all frames together, the frame count, and for frames their timestamps
(finite, strictly increasing, spanning no more than the longest clip).  The decoder checks the
rest (resolution from the stream header, duration, frame rate, gaps).  Multipart parts stay in
memory, never spooled to a temporary file.  Every refusal is an ``InvalidClip`` with a
machine-readable ``reason``.
"""
from __future__ import annotations

import base64
import binascii
import json
import math
from dataclasses import dataclass, field

from flask import request

from ..errors import InvalidRequest
from ..jsonbody import json_body
from .frames import JPEG, PNG

# Reason -> HTTP status; everything else is 400.
_STATUS = {"clip_too_large": 413, "too_many_frames": 413, "frame_too_large": 413,
           "unsupported_format": 415, "unsupported_media_type": 415}


class InvalidClip(InvalidRequest):
    """The face clip is missing, malformed or outside the limits."""

    def __init__(self, reason: str, description: str):
        super().__init__(description, status=_STATUS.get(reason, 400))
        self.reason = reason

    def to_dict(self) -> dict:
        return {**super().to_dict(), "reason": self.reason}


@dataclass(frozen=True)
class UploadLimits:
    """What a clip may be (``IDP_CLIP_*``); the decoder gets the same numbers."""
    max_bytes: int = 8 * 1024 * 1024      # the video, or all frames together
    max_frames: int = 180                 # frames of a burst (12 s at 15 frames/s)
    min_duration_ms: float = 2500
    max_duration_ms: float = 12000


@dataclass
class ClipUpload:
    kind: str                                   # "video" or "burst"
    video: bytes = b""
    frames: list[tuple[float, bytes]] = field(default_factory=list)

    @property
    def size(self) -> int:
        return len(self.video) + sum(len(data) for _, data in self.frames)

    @property
    def duration_ms(self) -> float | None:
        """Known before decoding for a burst only (a video's comes from its stream)."""
        if self.kind != "burst":
            return None
        return self.frames[-1][0] - self.frames[0][0]

    def describe(self) -> dict:
        """For the audit trail: sizes, never content."""
        out = {"upload": self.kind, "bytes": self.size}
        if self.kind == "burst":
            out["frames_sent"] = len(self.frames)
        return out


def read_clip(limits: UploadLimits, fields=("session", "nonce")) -> tuple[dict, ClipUpload]:
    """The named text fields and the clip of this request; ``InvalidClip`` for bad input."""
    if request.mimetype == "multipart/form-data":
        values = {name: request.form.get(name) for name in fields}
        return values, _multipart(limits)
    if request.mimetype == "application/json":
        body = json_body()  # bounded depth, strict JSON (idp.jsonbody)
        values = {name: body.get(name) if isinstance(body.get(name), str) else None
                  for name in fields}
        return values, _json(body, limits)
    raise InvalidClip("unsupported_media_type",
                      "send the clip as multipart/form-data (clip, or frames with times) "
                      "or as JSON (frames: [{t, data}] or clip, base64)")


def _multipart(limits: UploadLimits) -> ClipUpload:
    clips, frames = request.files.getlist("clip"), request.files.getlist("frames")
    if clips and frames:
        raise InvalidClip("bad_clip", "send either clip or frames, not both")
    if clips:
        if len(clips) > 1:
            raise InvalidClip("bad_clip", "send one clip")
        return _video(clips[0].stream.read(limits.max_bytes + 1), limits)
    if not frames:
        raise InvalidClip("no_clip", "no clip was sent: send a video (field clip) or "
                                     "timestamped frames (fields frames and times)")
    _check_count(len(frames), limits)
    times = _times(request.form.get("times"), len(frames))
    budget, items = limits.max_bytes, []
    for t, part in zip(times, frames):
        data = part.stream.read(budget + 1)
        budget -= len(data)
        if budget < 0:
            raise InvalidClip("clip_too_large", f"the frames are larger than {limits.max_bytes} "
                                                "bytes together")
        items.append((t, data))
    return _burst(items, limits)


def _json(body: dict, limits: UploadLimits) -> ClipUpload:
    if "clip" in body and "frames" in body:
        raise InvalidClip("bad_clip", "send either clip or frames, not both")
    if "clip" in body:
        return _video(_b64(body["clip"], "clip", limits.max_bytes), limits)
    frames = body.get("frames")
    if frames is None:
        raise InvalidClip("no_clip", "no clip was sent: frames [{t, data}] or clip (base64)")
    if not isinstance(frames, list):
        raise InvalidClip("bad_clip", "frames must be a list of {t, data} objects")
    _check_count(len(frames), limits)
    if not all(isinstance(item, dict) and set(item) >= {"t", "data"} for item in frames):
        raise InvalidClip("times_required", "every frame must be an object {t: capture time in "
                                            "ms, data: base64 JPEG or PNG}")
    times = [_number(item["t"], i) for i, item in enumerate(frames)]
    budget, items = limits.max_bytes, []
    for i, (t, item) in enumerate(zip(times, frames)):
        data = _b64(item["data"], f"frame {i}", budget)
        budget -= len(data)
        items.append((t, data))
    return _burst(items, limits)


def _video(data: bytes, limits: UploadLimits) -> ClipUpload:
    if not data:
        raise InvalidClip("bad_clip", "the clip is empty")
    if len(data) > limits.max_bytes:
        raise InvalidClip("clip_too_large", f"the clip is larger than {limits.max_bytes} bytes")
    mp4 = len(data) >= 12 and data[4:8] == b"ftyp"
    webm = data[:4] == b"\x1a\x45\xdf\xa3"
    if not (mp4 or webm):
        raise InvalidClip("unsupported_format", "the clip must be an MP4 (H.264 or MPEG-4) or "
                                                "WebM (VP8 or VP9) video")
    return ClipUpload("video", video=data)


def _burst(items: list[tuple[float, bytes]], limits: UploadLimits) -> ClipUpload:
    for i, (_, data) in enumerate(items):
        if not (data.startswith(JPEG) or data.startswith(PNG)):
            raise InvalidClip("unsupported_format", f"frame {i} is not a JPEG or PNG image")
    times = [t for t, _ in items]
    if any(b <= a for a, b in zip(times, times[1:])):
        raise InvalidClip("bad_timestamps", "the frame times must increase strictly")
    span = times[-1] - times[0]
    if span > limits.max_duration_ms:
        raise InvalidClip("clip_too_long", f"the frames span {span:.0f} ms; at most "
                                           f"{limits.max_duration_ms:.0f} ms")
    if span < limits.min_duration_ms:
        raise InvalidClip("clip_too_short", f"the frames span {span:.0f} ms; at least "
                                            f"{limits.min_duration_ms:.0f} ms")
    return ClipUpload("burst", frames=items)


def _check_count(count: int, limits: UploadLimits) -> None:
    if count > limits.max_frames:
        raise InvalidClip("too_many_frames", f"at most {limits.max_frames} frames per clip")
    if count < 2:
        raise InvalidClip("clip_too_short", "a single still is not accepted: send a continuous "
                                            "clip (a video, or timestamped frames)")


def _times(text, count: int) -> list[float]:
    if text is None:
        raise InvalidClip("times_required", "frames need the field times: a JSON array of "
                                            "capture times in ms, one per frame")
    try:
        values = json.loads(text)
    except ValueError:
        raise InvalidClip("bad_timestamps", "times must be a JSON array of numbers") from None
    if not isinstance(values, list) or len(values) != count:
        raise InvalidClip("bad_timestamps", f"times must be a JSON array of {count} numbers, "
                                            "one per frame")
    return [_number(value, i) for i, value in enumerate(values)]


def _number(value, index: int) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise InvalidClip("bad_timestamps", f"time {index} is not a finite number of ms")
    return float(value)


def _b64(item, label: str, max_bytes: int) -> bytes:
    if not isinstance(item, str):
        raise InvalidClip("bad_clip", f"{label} must be a base64 string")
    if item.startswith("data:"):  # a data URL: data:image/jpeg;base64,....
        item = item.partition(",")[2]
    if len(item) > max_bytes * 4 // 3 + 4:
        raise InvalidClip("clip_too_large", f"the clip is larger than its byte limit at {label}")
    try:
        data = base64.b64decode(item, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidClip("bad_clip", f"{label} is not valid base64") from None
    if len(data) > max_bytes:
        raise InvalidClip("clip_too_large", f"the clip is larger than its byte limit at {label}")
    return data
