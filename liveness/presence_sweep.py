"""The sweep behind the 3-D check's thresholds, through the login's own path.

    python -m liveness.presence_sweep [--models models] [--shared ../shared] [--json FILE] [--video mp4|h264]

Genuine side: every 4-s window, one every half second, of every real clip (``../shared/data/videos``
and the project's ``data/videos``), sent as the camera page sends a clip (JPEG frames, quality
88, longer side <= 640) and decoded, tracked and judged exactly as a login's clip is
(``decode_burst``, the YuNet track at ``clip_det_side``, ``presence.assess``); with ``--video``
every clip is sent as a recording instead, as a mini-program sends one: ``mp4`` (OpenCV's
MPEG-4 Part 2) or ``h264`` (x264 through the ``ffmpeg`` command).  Windows whose
landmark turn reaches ``turn_min`` are the ones that count: a person who did not turn is
refused by the movement checks, rightly.  Attack side: every variation of
``liveness.attacks`` made from four stills (one of them a photographed print), the same way.

Prints the share of turning windows that pass, per person; the attack clips that pass (the
random thin-plate warps apart); the ``depth`` statistic's margin: its 10th/25th/50th
percentile over genuine windows with enough counted frames against its largest value over
attack clips; and the lowest ``shape`` (relief share) of the genuine windows that pass.
~3 minutes on one core.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import cv2
import numpy as np

from . import attacks
from .clip import ClipError, decode_video
from .evaluate import burst, encode_timed, read_frames, shared_dir
from .presence import PresenceSettings, assess, nose_offset
from .presence_eval import GENUINE, Engine, fit_side, report, video_path
from .track import follow

WINDOW_S, STEP_S = 4.0, 0.5
TURN_LABEL = 0.1     # IOD (~12 degrees): ``liveness eval`` counts a window in which the head turned this much
STILLS = ("live_T1", "obama_1", "biden_1", "spoof_print_F1")
JPEG_QUALITY = 88


VIDEO_KINDS = {"mp4": "video/mp4", "h264": "video/mp4;h264"}


def judge(pipeline, frames, settings: PresenceSettings | None = None, video: str | None = None) -> dict:
    """``frames`` ((t_ms, BGR), ...) judged as a login's clip is; the 3-D check's scores.
    ``video``: sent as a recording of that kind (``VIDEO_KINDS``), not as a JPEG burst."""
    try:
        clip = (decode_video(encode_timed(frames, VIDEO_KINDS[video])) if video
                else burst(frames, JPEG_QUALITY))
    except ClipError as exc:     # refused before any check, as a login's clip would be
        return {"passed": False, "reason": exc.reason}
    track = follow(pipeline.detector, clip, side=pipeline.settings.clip_det_side)
    result = assess([f.image for f in clip.frames], track.faces, [f.t_ms for f in clip.frames],
                    pipeline.mesh, settings)
    return {"passed": result.passed, "reason": result.reason, **result.scores}


def genuine_windows(videos: Path, step_s: float = STEP_S):
    """(clip name, start s, frames) for every window of every real clip."""
    for name, _, _ in GENUINE:
        frames = [(t, fit_side(image)) for t, image in read_frames(video_path(videos, name))]
        start = 0.0
        while frames and start + WINDOW_S <= frames[-1][0] / 1000.0 + 0.05:
            sel = [(t - start * 1000.0, f) for t, f in frames
                   if start * 1000.0 <= t < (start + WINDOW_S) * 1000.0]
            yield name, start, sel
            start += step_s


def head_turn(pipeline, frames) -> float:
    """How far the head turned or nodded in ``frames`` ((t_ms, BGR), ...): the 95th percentile
    of the nose's offset from the eyes (refined landmarks, IOD units) against its median."""
    faces = Engine(pipeline.detector, pipeline.mesh).faces([image for _, image in frames])
    offsets = [nose_offset(np.asarray(f.landmarks, np.float64)) for f in faces if f is not None]
    if len(offsets) < 5:
        return 0.0
    offsets = np.array(offsets)
    return float(np.quantile(np.linalg.norm(offsets - np.median(offsets, axis=0), axis=1), 0.95))


def attack_clips(pipeline, faces: Path):
    background = attacks.textured_background(seed=1)
    for still in STILLS:
        image = cv2.imread(str(faces / f"{still}.jpg"), cv2.IMREAD_COLOR)
        found = pipeline.detector.detect(image, side=2 * pipeline.settings.det_side)
        image, box = attacks.fit(image, found[0].box if found else None)
        for kind, params, make in attacks.variations(image, box, background):
            yield still, kind, params, make()


def run(pipeline, shared: Path, settings: PresenceSettings | None = None, log=print,
        video: str | None = None) -> dict:
    cfg = settings or PresenceSettings()
    rows = []
    for name, start, frames in genuine_windows(shared / "data" / "videos"):
        rows.append({"side": "genuine", "case": f"{name}@{start:.1f}s", "person": name,
                     **judge(pipeline, frames, cfg, video)})
    for still, kind, params, frames in attack_clips(pipeline, shared / "data" / "faces"):
        row = {"side": "attack", "case": f"{still} {kind} {params}", "kind": kind,
               **judge(pipeline, frames, cfg, video)}
        rows.append(row)
        if row["passed"]:
            log(f"attack passed the 3-D check: {row['case']}")
    return {"rows": rows, "summary": summary(rows, cfg)}


def _stat(rows, cfg):
    return [r["depth"] for r in rows if r.get("depth_frames", 0) >= cfg.depth_frames]


def summary(rows, cfg: PresenceSettings) -> dict:
    turned = [r for r in rows if r["side"] == "genuine" and r.get("turn", 0.0) >= cfg.turn_min]
    per_person: dict[str, list[int]] = {}
    for r in turned:
        per_person.setdefault(r["person"], [0, 0])
        per_person[r["person"]][0] += bool(r["passed"])
        per_person[r["person"]][1] += 1
    warps = [r for r in rows if r["side"] == "attack" and r["kind"] == "smooth_warp"]
    other = [r for r in rows if r["side"] == "attack" and r["kind"] != "smooth_warp"]
    g, a = _stat(turned, cfg), _stat(other, cfg)
    gs = [r["shape"] for r in turned if r["passed"]]
    return {
        "genuine_windows": sum(r["side"] == "genuine" for r in rows),
        "turning_windows": len(turned), "turning_passed": sum(bool(r["passed"]) for r in turned),
        "per_person": {k: f"{v[0]}/{v[1]}" for k, v in sorted(per_person.items())},
        "attack_clips": len(other), "attacks_passed": [r["case"] for r in other if r["passed"]],
        "random_warps": len(warps), "random_warps_passed": sum(bool(r["passed"]) for r in warps),
        "depth_genuine_p10_p25_p50": [round(float(v), 3) for v in np.quantile(g, [0.1, 0.25, 0.5])] if g else None,
        "depth_attack_max": round(max(a), 3) if a else None,
        "depth_ratio": cfg.depth_ratio,
        "shape_passing_genuine_min_p5": ([round(float(v), 3) for v in np.quantile(gs, [0.0, 0.05])] if gs else None),
        "shape_min": cfg.shape_min,
    }


def main(argv=None) -> int:
    from .pipeline import LivenessPipeline
    ap = argparse.ArgumentParser(prog="python -m liveness.presence_sweep", description=__doc__.split("\n")[0])
    ap.add_argument("--models", default="models")
    ap.add_argument("--shared", default=str(shared_dir()))
    ap.add_argument("--json", help="also write every row to this file")
    ap.add_argument("--video", choices=sorted(VIDEO_KINDS),
                    help="send every clip as a recording of this kind instead of a JPEG burst")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    pipeline = LivenessPipeline.from_dir(args.models, threads=1)
    report(run(pipeline, Path(args.shared), video=args.video), "summary", args.json, t0)
    return 0


if __name__ == "__main__":
    sys.exit(main())
