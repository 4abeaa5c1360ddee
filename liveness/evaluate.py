"""``liveness eval``: attack presentation classification error rates (ISO/IEC 30107-3).

- APCER per attack kind: the share of attack clips of that kind that were *accepted*
  (``live``; for the identity attacks, ``live`` and matched to the victim).
- BPCER: the share of genuine clips (real people performing what they were asked) that
  were refused.
Real people who do not move (lp_d0, lp_d13) are reported apart: they must be refused by the
movement check, and a refusal there is correct, not a BPCER error.
- ``guided_turn_windows`` (not with ``--quick``): every 4-s window, one a second, of every
  real clip (``presence_sweep.genuine_windows``: the shared ones and the project's
  ``data/videos``) in which the head turns by ``TURN_LABEL`` or more, labelled with the
  refined landmarks (not with the clip's own track), sent as an MP4 with the guided turn:
  BPCER over every window in which someone turns rather than over 7 chosen ones.

Genuine clips are windows of the real videos in ``../shared/data/videos`` (``WINDOWS``: which
seconds, and the actions the person performs in them).  Attacks are built here from the
stills in ``../shared/data/faces`` and from those windows:
- the planar kinds of ``liveness.attacks.variations`` (perspective/cylinder/thin-plate
  turns, nods, squeezes, zooms, a print moved over a room, a still repeated), each sent
  with the guided movement and with the action it imitates;
- ``planned_turn``: the warps the old tests planned so that the 5 landmarks turn by more
  than the challenge threshold (a plane turned 30-40 degrees seen with a focal length of
  1.5-2 inter-ocular distances), sent with the guided turn: only the 3-D check stands
  between these and a login;
- ``replay_reencoded``: a genuine window checked once, then sent again as VP8 WebM, brightened
  or slowed down; ``one_byte_changed``: the same MP4 with one byte of its coded frames flipped;
- ``splice_two_people``: half a window of one person, then another person's lined up on the
  first one's face box;
- ``other_challenge``: a genuine window sent for a challenge its person did not perform;
- ``victim_frame_appended``: a genuine window with the victim's frontal photo appended
  (lined up), checked against the victim's template from another photo.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import cv2
import numpy as np

from . import attacks
from .challenge import GUIDED_ACTIONS
from .clip import ClipError, decode_burst, decode_video
from .replay import MemorySeenFrames

# (video, start s, seconds, fps, the actions the person performs in that window, in order)
WINDOWS = {
    "d12": ("lp_d12.mp4", 0.5, 4.0, 25, ["turn_left", "turn_right"]),
    "d12b": ("lp_d12.mp4", 3.0, 4.0, 25, ["turn_right"]),
    "d3": ("lp_d3.mp4", 7.6, 4.0, 30, ["turn_left"]),
    "d3b": ("lp_d3.mp4", 0.0, 3.5, 30, ["turn_right"]),
    "d9": ("lp_d9.mp4", 6.0, 4.0, 30, ["turn_right"]),
    "d9b": ("lp_d9.mp4", 14.0, 4.0, 30, ["turn_right"]),
    "d6": ("lp_d6.mp4", 27.0, 4.0, 30, ["turn_left"]),
    "d0": ("lp_d0.mp4", 0.0, 3.1, 25, []),        # a real person who does not move
    "d13": ("lp_d13.mp4", 2.0, 4.0, 30, []),      # a phone selfie, too little motion
}
GENUINE = ("d12", "d12b", "d3", "d3b", "d9", "d9b", "d6")
STILL_PEOPLE = ("d0", "d13")
VICTIMS = ("obama_1", "biden_1", "live_T1")
FOURCC = {"video/mp4": ("mp4v", ".mp4"), "video/webm": ("VP80", ".webm"),
          "video/webm;vp9": ("VP90", ".webm")}


def shared_dir() -> Path:
    root = Path(__file__).resolve().parent.parent
    return Path(os.environ.get("IDP_SHARED_DIR", root.parent / "shared"))


def encode(frames, fps: float = 30.0, kind: str = "video/mp4") -> bytes:
    """BGR ``frames`` (one size) encoded at a constant ``fps`` with OpenCV's FFmpeg."""
    fourcc, ext = FOURCC[kind]
    h, w = frames[0].shape[:2]
    fd, path = tempfile.mkstemp(suffix=ext)
    os.close(fd)
    try:
        writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*fourcc), fps, (w, h))
        if not writer.isOpened():
            raise RuntimeError(f"no {fourcc} encoder in this OpenCV")
        for f in frames:
            writer.write(np.ascontiguousarray(f))
        writer.release()
        return Path(path).read_bytes()
    finally:
        os.unlink(path)


def encode_h264(frames, fps: float, crf: int = 23) -> bytes:
    """BGR ``frames`` as an H.264 MP4 (High profile, B-frames: what phones record) made by the
    ``ffmpeg`` command with libx264, which OpenCV's wheel cannot write; evaluation only."""
    if shutil.which("ffmpeg") is None:
        raise RuntimeError("H.264 clips need the ffmpeg command (apt-get install ffmpeg)")
    h, w = frames[0].shape[:2]
    fd, path = tempfile.mkstemp(suffix=".mp4")
    os.close(fd)
    try:
        subprocess.run(["ffmpeg", "-y", "-loglevel", "error", "-f", "rawvideo", "-pix_fmt", "bgr24",
                        "-s", f"{w}x{h}", "-r", f"{fps:.3f}", "-i", "-", "-c:v", "libx264",
                        "-crf", str(crf), "-pix_fmt", "yuv420p", path],
                       input=b"".join(np.ascontiguousarray(f).tobytes() for f in frames), check=True)
        return Path(path).read_bytes()
    finally:
        os.unlink(path)


def encode_timed(frames, kind: str = "video/mp4") -> bytes:
    """``(t_ms, BGR)`` frames encoded at their mean rate (``encode``; ``video/mp4;h264``:
    ``encode_h264``)."""
    fps = 1000.0 * (len(frames) - 1) / max(frames[-1][0] - frames[0][0], 1.0)
    images = [f for _, f in frames]
    return encode_h264(images, fps) if kind == "video/mp4;h264" else encode(images, fps, kind)


def read_frames(path: Path, start_s: float = 0.0, seconds: float | None = None) -> list:
    """(t_ms from ``start_s``, BGR) of a video's frames in [start_s, start_s + seconds)."""
    cap = cv2.VideoCapture(str(path))
    out = []
    try:
        while True:
            ok, image = cap.read()
            if not ok:
                break
            t = cap.get(cv2.CAP_PROP_POS_MSEC) / 1000.0
            if t < start_s:
                continue
            if seconds is not None and t >= start_s + seconds:
                break
            out.append(((t - start_s) * 1000.0, image))
    finally:
        cap.release()
    return out


def window(name: str, videos: Path) -> tuple[list, float, list]:
    video, start, seconds, fps, actions = WINDOWS[name]
    return [f for _, f in read_frames(videos / video, start, seconds)], fps, list(actions)


def place_like(image: np.ndarray, box_from, box_to, size) -> np.ndarray:
    """``image`` scaled and moved so its face box ``box_from`` lands on ``box_to``."""
    s = float(box_to[2]) / float(box_from[2])
    cx_f, cy_f = box_from[0] + box_from[2] / 2, box_from[1] + box_from[3] / 2
    cx_t, cy_t = box_to[0] + box_to[2] / 2, box_to[1] + box_to[3] / 2
    m = np.float32([[s, 0, cx_t - s * cx_f], [0, s, cy_t - s * cy_f]])
    return cv2.warpAffine(image, m, size, borderMode=cv2.BORDER_REPLICATE)


@dataclass
class Trial:
    group: str        # "genuine", "still_person" or "attack"
    kind: str         # the attack kind, or the genuine window
    name: str
    accepted: bool
    reason: str | None
    cpu_ms: float


@dataclass
class Report:
    trials: list[Trial] = field(default_factory=list)

    def rows(self) -> list[dict]:
        groups: dict[tuple[str, str], list[Trial]] = {}
        for t in self.trials:
            groups.setdefault((t.group, t.kind), []).append(t)
        out = []
        for (group, kind), trials in groups.items():
            accepted = sum(t.accepted for t in trials)
            reasons: dict[str, int] = {}
            for t in trials:
                if not t.accepted:
                    reasons[t.reason or "?"] = reasons.get(t.reason or "?", 0) + 1
            # APCER: attacks accepted; BPCER: genuine refused; still people: share refused
            rate = accepted / len(trials) if group == "attack" else 1 - accepted / len(trials)
            metric = {"attack": "APCER", "genuine": "BPCER", "still_person": "refused"}[group]
            out.append({"group": group, "kind": kind, "n": len(trials), "accepted": accepted,
                        "metric": metric, "rate": rate, "refused_by": reasons})
        return out


def _decide(pipeline, data_or_clip, actions, reference=None, seen=None, session=None):
    t = time.process_time()
    try:
        clip = decode_video(data_or_clip) if isinstance(data_or_clip, bytes) else data_or_clip
        r = pipeline.check_clip(clip, actions, reference=reference, seen=seen, session_id=session)
        live, same, reason = r.live, (r.match or {}).get("same", True), r.reason
    except ClipError as exc:
        live, same, reason = False, False, exc.reason
    return live and (reference is None or same), reason, (time.process_time() - t) * 1000


def burst(frames, quality: int = 90):
    """``(t_ms, BGR)`` frames sent as a JPEG burst (the page's and the mini-program's
    raw-frames upload) and decoded as the server decodes one."""
    return decode_burst([(t, cv2.imencode(".jpg", f, [cv2.IMWRITE_JPEG_QUALITY, quality])[1].tobytes())
                         for t, f in frames])


def run(pipeline, shared: Path | None = None, quick: bool = False,
        progress: Callable[[str], None] | None = None) -> Report:
    shared = shared or shared_dir()
    videos, faces = shared / "data" / "videos", shared / "data" / "faces"
    report = Report()

    def add(group, kind, name, result):
        accepted, reason, cpu = result
        report.trials.append(Trial(group, kind, name, accepted, reason, cpu))
        if progress:
            progress(f"{group:<12} {kind:<24} {name:<34} {'ACCEPTED' if accepted else 'refused'} {reason or ''}")

    genuine = GENUINE[:3] if quick else GENUINE
    wins = {n: window(n, videos) for n in set(genuine) | set(STILL_PEOPLE) | {"d12", "d9", "d3"}}
    for n in genuine:
        frames, fps, actions = wins[n]
        data = encode(frames, fps)
        add("genuine", "asked_actions", f"{n} {','.join(actions)}", _decide(pipeline, data, actions))
        add("genuine", "guided_turn", f"{n} guided", _decide(pipeline, data, GUIDED_ACTIONS))
    for n in STILL_PEOPLE:
        frames, fps, _ = wins[n]
        add("still_person", "guided_turn", f"{n} guided", _decide(pipeline, encode(frames, fps), GUIDED_ACTIONS))
    if not quick:
        from .presence_sweep import TURN_LABEL, genuine_windows, head_turn
        for name, start, frames in genuine_windows(videos, step_s=1.0):
            if head_turn(pipeline, frames) < TURN_LABEL:
                continue
            add("genuine", "guided_turn_windows", f"{name}@{start:.0f}s guided",
                _decide(pipeline, encode_timed(frames), GUIDED_ACTIONS))

    for victim in (VICTIMS[:1] if quick else VICTIMS):
        still = cv2.imread(str(faces / f"{victim}.jpg"), cv2.IMREAD_COLOR)
        found = pipeline.detector.detect(still, side=2 * pipeline.settings.det_side)
        image, box = attacks.fit(still, found[0].box if found else None)
        for kind, params, make in attacks.variations(image, box, quick=quick):
            clip = burst(make())
            add("attack", kind, f"{victim} {params} guided", _decide(pipeline, clip, GUIDED_ACTIONS))
            imitated = ["look_down"] if "nod" in kind else ["move_closer"] if kind == "zoom" else ["turn_left"]
            add("attack", kind, f"{victim} {params} {imitated[0]}", _decide(pipeline, clip, imitated))

        lm = found[0].landmarks * (image.shape[1] / still.shape[1]) if found else None
        if lm is not None:
            centre = lm[[0, 1, 3, 4]].mean(axis=0)
            iod = float(np.linalg.norm(lm[1] - lm[0]))
            for yaw, focal in ((35, 1.5), (-35, 1.5), (40, 2.0), (-30, 1.2))[: 2 if quick else 4]:
                clip = burst(attacks.render(
                    image, lambda p, y=yaw, f=focal: attacks.plane_homography(centre, f * iod, p * y),
                    box, swing="out_back", hold_ms=800, duration_ms=3000))
                add("attack", "planned_turn", f"{victim} yaw {yaw} focal {focal} iod",
                    _decide(pipeline, clip, GUIDED_ACTIONS))

    for n in genuine:
        frames, fps, actions = wins[n]
        seen = MemorySeenFrames()
        original = encode(frames, fps)
        _decide(pipeline, original, actions, seen=seen, session="genuine")
        copies = {"vp8": encode(frames, fps, "video/webm"), "slowed": encode(frames, fps * 0.8),
                  "brightened": encode([cv2.convertScaleAbs(f, alpha=1.08, beta=6) for f in frames], fps),
                  "same_bytes": original}
        for label, data in copies.items():
            add("attack", "replay_reencoded" if label != "same_bytes" else "replay_exact",
                f"{n} {label}", _decide(pipeline, data, actions, seen=seen, session=f"r{label}"))
        edited = bytearray(original)
        edited[len(edited) // 2] ^= 0x01
        add("attack", "one_byte_changed", n, _decide(pipeline, bytes(edited), actions, seen=seen, session="edit"))
        other = ["turn_right", "turn_left"] if actions[:1] == ["turn_left"] else ["turn_left", "look_up"]
        add("attack", "other_challenge", f"{n} asked {','.join(other)}", _decide(pipeline, original, other))

    pairs = [("d12", "d9"), ("d9", "d3"), ("d3", "d12")]
    for a, b in (pairs[:1] if quick else pairs):
        fa, fps, actions = wins[a]
        fb = [cv2.resize(f, fa[0].shape[1::-1]) for f in wins[b][0]]
        half = len(fa) // 2
        box_a = pipeline.detector.detect(fa[half - 1])[0].box
        tail = []
        for f in fb[half:len(fa)]:
            found = pipeline.detector.detect(f)
            tail.append(place_like(f, found[0].box, box_a, fa[0].shape[1::-1]) if found else f)
        add("attack", "splice_two_people", f"{a}+{b}", _decide(pipeline, encode(fa[:half] + tail, fps), actions))

    victim = cv2.imread(str(faces / "obama_1.jpg"), cv2.IMREAD_COLOR)
    box_v = pipeline.detector.detect(victim, side=2 * pipeline.settings.det_side)[0].box
    template = pipeline.make_template((faces / "obama_2.jpg").read_bytes())
    for n in genuine:
        frames, fps, actions = wins[n]
        box_a = pipeline.detector.detect(frames[-1])[0].box
        appended = place_like(victim, box_v, box_a, frames[0].shape[1::-1])
        for label, seq in (("end", frames + [appended]), ("start", [appended] * 3 + frames)):
            add("attack", "victim_frame_appended", f"{n} {label}",
                _decide(pipeline, encode(seq, fps), actions, reference=template))
    return report


def format_table(report: Report) -> str:
    lines = [f"{'group':<13}{'kind':<24}{'n':>4}{'accepted':>9}  {'metric':<8}{'rate':>7}  refused by",
             "-" * 96]
    for r in report.rows():
        refused = ", ".join(f"{k} {v}" for k, v in sorted(r["refused_by"].items(), key=lambda kv: -kv[1]))
        lines.append(f"{r['group']:<13}{r['kind']:<24}{r['n']:>4}{r['accepted']:>9}  {r['metric']:<8}"
                     f"{100 * r['rate']:>6.1f}%  {refused}")
    attacks_ = [t for t in report.trials if t.group == "attack"]
    genuine = [t for t in report.trials if t.group == "genuine"]
    if attacks_ and genuine:
        lines.append("-" * 96)
        lines.append(f"all attacks: {sum(t.accepted for t in attacks_)} of {len(attacks_)} accepted; "
                     f"genuine: {sum(not t.accepted for t in genuine)} of {len(genuine)} refused; "
                     f"median CPU per genuine clip {np.median([t.cpu_ms for t in genuine]):.0f} ms")
    return "\n".join(lines)
