"""Clip decoding and every clip limit (liveness.clip)."""
from __future__ import annotations

import glob
import tempfile

import cv2
import numpy as np
import pytest

from liveness.clip import ClipError, ClipLimits, decode_burst, decode_video

from .clips import VIDEOS, encode, moving_frames
from .conftest import jpeg, png


def _reason(fn, *args) -> str:
    with pytest.raises(ClipError) as info:
        fn(*args)
    return info.value.reason


@pytest.mark.parametrize("kind", ["video/mp4", "video/webm", "video/webm;vp9"])
def test_encoded_clips_decode_with_their_timestamps(kind):
    clip = decode_video(encode(moving_frames(90), 30, kind))
    assert clip.source == kind.split(";")[0]
    assert clip.decoded == clip.distinct == 90
    assert clip.duration_ms == pytest.approx(89 * 1000 / 30, abs=2)
    assert clip.fps == pytest.approx(30, abs=0.5)
    times = [f.t_ms for f in clip.frames]
    assert times[0] == 0 and all(b - a >= 60 for a, b in zip(times, times[1:]))
    assert clip.frames[0].image.shape == (240, 320, 3)


def test_the_temporary_file_is_gone():
    before = set(glob.glob(f"{tempfile.gettempdir()}/liveness-clip-*"))
    decode_video(encode(moving_frames(90)))
    with pytest.raises(ClipError):
        decode_video(b"\x00\x00\x00\x18ftypisom" + b"\x00" * 100)
    assert set(glob.glob(f"{tempfile.gettempdir()}/liveness-clip-*")) == before


@pytest.mark.skipif(not (VIDEOS / "lp_d12.mp4").is_file(), reason=f"shared videos not found in {VIDEOS}")
def test_real_h264_clip_decodes_and_is_downscaled_for_analysis():
    clip = decode_video((VIDEOS / "lp_d12.mp4").read_bytes(), ClipLimits(max_duration_ms=8000))
    # 25 fps declared; the source was rate-converted and repeats about one frame in five
    assert (clip.width, clip.height) == (512, 512) and 18 < clip.fps < 23
    assert max(clip.frames[0].image.shape[:2]) == 480


def test_clip_too_large_before_decoding():
    data = encode(moving_frames(90))
    assert _reason(decode_video, data, ClipLimits(max_bytes=len(data) - 1)) == "clip_too_large"


@pytest.mark.parametrize("data, reason", [
    (b"", "bad_clip"),
    (b"GIF89a" + b"\x00" * 64, "unsupported_format"),
    (b"\x1a\x45\xdf\xa3" + b"\x00" * 60, "unsupported_format"),
    (b"\x00\x00\x00\x18ftypisom" + b"\x00" * 100, "bad_clip"),            # box overruns the file
    (b"\x00\x00\x00\x10ftypisom\x00\x00\x00\x00", "bad_clip"),            # no moov
])
def test_container_sanity(data, reason):
    assert _reason(decode_video, data) == reason


def test_truncated_and_corrupt_clips_are_bad_clips():
    data = encode(moving_frames(90), kind="video/webm")
    assert _reason(decode_video, data[: len(data) // 3]) in ("bad_clip", "clip_too_short")
    mp4 = bytearray(encode(moving_frames(90)))
    moov = mp4.find(b"moov")
    mp4[moov:moov + 4] = b"junk"
    assert _reason(decode_video, bytes(mp4)) == "bad_clip"


@pytest.mark.parametrize("limits", [ClipLimits(max_side=300), ClipLimits(max_pixels=320 * 200)])
def test_frame_too_large(limits):
    assert _reason(decode_video, encode(moving_frames(90)), limits) == "frame_too_large"
    burst = [(i * 33.0, jpeg(f)) for i, f in enumerate(moving_frames(90))]
    assert _reason(decode_burst, burst, limits) == "frame_too_large"


def test_too_many_frames():
    assert _reason(decode_video, encode(moving_frames(90)), ClipLimits(max_frames=80)) == "too_many_frames"
    burst = [(i * 33.0, jpeg(f)) for i, f in enumerate(moving_frames(90))]
    assert _reason(decode_burst, burst, ClipLimits(max_frames=80)) == "too_many_frames"


def test_too_short_and_too_long():
    assert _reason(decode_video, encode(moving_frames(60))) == "clip_too_short"   # 2.0 s
    assert _reason(decode_video, encode(moving_frames(90)), ClipLimits(min_duration_ms=1000, max_duration_ms=2000)) == "clip_too_long"
    assert _reason(decode_burst, [(0.0, jpeg(moving_frames(1)[0]))]) == "clip_too_short"


def test_frame_rate_counts_distinct_frames_only():
    frames = moving_frames(30)
    assert decode_video(encode(frames, 10)).fps == pytest.approx(10, abs=0.3)
    # 30 fps declared, each picture repeated three times: 10 distinct frames/s, still fine
    tripled = [f for f in frames for _ in range(3)]
    clip = decode_video(encode(tripled, 30))
    assert clip.decoded == 90 and clip.distinct == 30
    assert clip.fps == pytest.approx(10, abs=0.5)
    # repeated four times: 7.5 distinct frames/s
    quad = [f for f in moving_frames(23) for _ in range(4)]
    assert _reason(decode_video, encode(quad, 30)) == "frame_rate_too_low"
    assert _reason(decode_video, encode(moving_frames(24), 8)) == "frame_rate_too_low"


def test_a_still_repeated_is_one_frame():
    still = moving_frames(1)[0]
    assert _reason(decode_video, encode([still] * 90, 30)) == "clip_too_short"
    burst = [(i * 33.0, png(still)) for i in range(90)]
    assert _reason(decode_burst, burst) == "clip_too_short"


def test_frame_gap():
    frames = moving_frames(100)
    burst = [(i * 33.0 + (500 if i >= 50 else 0), jpeg(f)) for i, f in enumerate(frames)]
    assert _reason(decode_burst, burst) == "frame_gap"
    # a frozen picture for half a second is a gap too, even with frames arriving
    frozen = frames[:40] + [frames[40]] * 16 + frames[56:]
    assert _reason(decode_video, encode(frozen, 30)) == "frame_gap"


def test_burst_decodes_jpeg_and_png_with_client_timestamps():
    frames = moving_frames(45)
    burst = [(1000.0 + i * 66.7, (jpeg if i % 2 else png)(f)) for i, f in enumerate(frames)]
    clip = decode_burst(burst)
    assert clip.source == "burst" and clip.distinct == 45
    assert clip.duration_ms == pytest.approx(44 * 66.7)
    assert clip.frames[0].t_ms == 0.0 and len(clip.frame_sha256) == 45


@pytest.mark.parametrize("mangle, reason", [
    (lambda b: [b[1], b[0]] + b[2:], "bad_timestamps"),
    (lambda b: [(b[0][0], b[0][1])] * 2 + b[2:], "bad_timestamps"),
    (lambda b: [(float("nan"), b[0][1])] + b[1:], "bad_timestamps"),
    (lambda b: [("12", b[0][1])] + b[1:], "bad_timestamps"),
    (lambda b: [(b[0][0], "not bytes")] + b[1:], "bad_clip"),
    (lambda b: [(b[0][0], b"\xff\xd8garbage")] + b[1:], "bad_clip"),
    (lambda b: [(b[0][0], cv2.imencode(".webp", moving_frames(1)[0])[1].tobytes())] + b[1:], "unsupported_format"),
    (lambda b: [(b[0][0], jpeg(np.zeros((100, 100, 3), np.uint8)))] + b[1:], "bad_clip"),  # size change
    (lambda b: [(t + 20000.0 * (i == len(b) - 1), d) for i, (t, d) in enumerate(b)], "clip_too_long"),
])
def test_burst_bad_inputs(mangle, reason):
    burst = [(i * 50.0, jpeg(f)) for i, f in enumerate(moving_frames(60))]
    assert _reason(decode_burst, mangle(burst)) == reason


def test_burst_too_large_before_decoding():
    burst = [(i * 50.0, jpeg(f)) for i, f in enumerate(moving_frames(60))]
    total = sum(len(d) for _, d in burst)
    assert _reason(decode_burst, burst, ClipLimits(max_bytes=total - 1)) == "clip_too_large"
