"""Per-stage latency of the pipeline, and how much of it is spent outside onnxruntime."""
from __future__ import annotations

import os
import statistics
import time
from pathlib import Path

import cv2


class _TimedSession:
    """Wraps an InferenceSession and adds up the time spent in ``run``."""

    def __init__(self, session):
        self._session = session
        self.ms = 0.0

    def run(self, *args, **kwargs):
        t = time.perf_counter()
        try:
            return self._session.run(*args, **kwargs)
        finally:
            self.ms += (time.perf_counter() - t) * 1000

    def __getattr__(self, name):
        return getattr(self._session, name)


def shared_faces_dir() -> Path:
    root = Path(__file__).resolve().parent.parent
    return Path(os.environ.get("IDP_SHARED_DIR", root.parent / "shared")) / "data" / "faces"


def default_frame() -> bytes:
    """A 640x480 JPEG (quality 90) camera-like frame built from the shared live sample."""
    path = shared_faces_dir() / "live_T1.jpg"
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise FileNotFoundError(f"{path} is absent; pass --image")
    square = image[:480, :480]   # the upright sample is 480x640; its face is in the top half
    frame = cv2.copyMakeBorder(square, 0, 0, 80, 80, cv2.BORDER_REFLECT)
    return cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, 90])[1].tobytes()


def _stats(values: list[float]) -> dict:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]
    return {"median": statistics.median(ordered), "p95": p95}


def run(pipeline, data: bytes, runs: int = 200, warmup: int = 10) -> dict:
    """Median and p95 per stage (ms) of ``check_frame(data, reference=...)`` over ``runs``:
    the frame stages, the embedding, and the time spent inside ``InferenceSession.run``."""
    detector = _TimedSession(pipeline.detector.session)
    pipeline.detector.session = detector
    spoofers = []
    for model in pipeline.antispoof.models:
        model.session = _TimedSession(model.session)
        spoofers.append(model.session)
    embedder = _TimedSession(pipeline.embedder.session)
    pipeline.embedder.session = embedder
    reference = pipeline.make_template(data)
    stages: dict[str, list[float]] = {}
    for i in range(warmup + runs):
        frame_before, embed_before = detector.ms + sum(s.ms for s in spoofers), embedder.ms
        result = pipeline.check_frame(data, reference=reference)
        if result.match is None:
            raise ValueError(f"the benchmark image gives no usable face ({result.reason})")
        if i < warmup:
            continue
        timings = dict(result.timings_ms)
        embed = timings.pop("embed")
        timings["total"] -= embed
        for key, value in timings.items():
            stages.setdefault(f"frame.{key}", []).append(value)
        frame_infer = detector.ms + sum(s.ms for s in spoofers) - frame_before
        stages.setdefault("frame.inference", []).append(frame_infer)
        stages.setdefault("frame.overhead", []).append(timings["total"] - frame_infer)
        stages.setdefault("embed.total", []).append(embed)
        stages.setdefault("embed.inference", []).append(embedder.ms - embed_before)
    out = {k: _stats(v) for k, v in stages.items()}
    total = sum(stages["frame.total"]) + sum(stages["embed.total"])
    inference = sum(stages["frame.inference"]) + sum(stages["embed.inference"])
    out["overhead_percent"] = {
        "frame": 100.0 * sum(stages["frame.overhead"]) / sum(stages["frame.total"]),
        "frame+embed": 100.0 * (total - inference) / total,
    }
    out["runs"] = runs
    return out


def format_report(report: dict, threads: int) -> str:
    lines = [f"liveness bench: {report['runs']} runs, onnxruntime intra-op threads={threads}",
             f"{'stage':<20}{'median ms':>12}{'p95 ms':>10}"]
    for key, value in report.items():
        if isinstance(value, dict) and "median" in value:
            lines.append(f"{key:<20}{value['median']:>12.2f}{value['p95']:>10.2f}")
    o = report["overhead_percent"]
    lines.append(f"overhead outside InferenceSession.run: frame {o['frame']:.1f}%, "
                 f"frame+embed {o['frame+embed']:.1f}%")
    return "\n".join(lines)



def default_clip() -> tuple[bytes, list[str]]:
    """A 4 s MP4 (mp4v, 480x480 at 25 frames/s) of a real person turning left then right,
    cut from the shared lp_d12 video, and the actions it performs."""
    from .evaluate import WINDOWS, encode, window
    videos = shared_faces_dir().parent / "videos"
    if not (videos / WINDOWS["d12"][0]).is_file():
        raise FileNotFoundError(f"{videos / WINDOWS['d12'][0]} is absent; pass --clip")
    frames, fps, actions = window("d12", videos)
    return encode(frames, fps), actions


def run_clip(pipeline, data: bytes, actions: list[str], runs: int = 20, warmup: int = 2) -> dict:
    """Median and p95 (ms) of each stage of decode + ``check_clip``, wall time and the
    process's CPU time (``time.process_time``: every thread of this process) per clip."""
    from .clip import decode_video
    stages: dict[str, list[float]] = {}
    result = None
    for i in range(warmup + runs):
        cpu0, t0 = time.process_time(), time.perf_counter()
        clip = decode_video(data)
        decode_ms = (time.perf_counter() - t0) * 1000
        result = pipeline.check_clip(clip, actions)
        wall = (time.perf_counter() - t0) * 1000
        cpu = (time.process_time() - cpu0) * 1000
        if i < warmup:
            continue
        stages.setdefault("clip.decode", []).append(decode_ms)
        for key, value in result.timings_ms.items():
            stages.setdefault(f"clip.{key}", []).append(value)
        stages.setdefault("clip.wall", []).append(wall)
        stages.setdefault("clip.cpu", []).append(cpu)
    out = {k: _stats(v) for k, v in stages.items()}
    out["runs"] = runs
    out["frames"] = {"decoded": clip.decoded, "analysed": len(clip.frames)}
    out["live"], out["reason"] = result.live, result.reason
    return out


def format_clip_report(report: dict) -> str:
    lines = [f"liveness bench (clip): {report['runs']} runs, {report['frames']['decoded']} frames "
             f"decoded, {report['frames']['analysed']} analysed; result live={report['live']} "
             f"reason={report['reason']}",
             f"{'stage':<20}{'median ms':>12}{'p95 ms':>10}"]
    for key, value in report.items():
        if isinstance(value, dict) and "median" in value:
            lines.append(f"{key:<20}{value['median']:>12.2f}{value['p95']:>10.2f}")
    return "\n".join(lines)
