"""A clip login: is this a living person, the same one throughout, moving as asked, in a
capture never seen before?  (``LivenessPipeline.check_clip``.)

Stages, cheapest first; the result's ``reason`` is the first that fails:
1. ``replay``: the upload's exact bytes (or, for a burst, one frame's) were seen before;
2. the face track (``liveness.track``): ``no_face``, ``multiple_faces``, ``face_lost``;
3. the most frontal frame's quality gates (``face_too_small``, ``too_dark``, ``overexposed``,
   ``blurred``; ``bad_pose`` when no frame is frontal enough);
4. ``challenge_failed``: the asked actions were not seen in order on the landmark trajectory
   (yaw, pitch and face size, smoothed over three frames, against the median of the first
   ``clip_baseline_frames``);
5. the 3-D check (``liveness.presence.assess``, FaceMesh on key frames): ``planar``,
   ``no_depth_motion``, ...;
6. ``face_changed``: embeddings at the frontal frame, the action frames, the 3-D check's
   frames, the most abrupt appearance change and one random frame do not all match each
   other (``liveness.identity``);
7. ``spoof``: MiniFASNet's mean live probability on ``clip_spoof_frames`` key frames is below
   ``live`` (one signal among several: it is weak on phone screens and prints of good
   quality, which the stages above are for);
8. ``replay``: the capture matches an earlier session's frame for frame
   (``liveness.clipreplay``; recorded for every clip with a face track, passing or not);
9. ``face_mismatch``: with a reference, the *smallest* similarity of the embedded frames to
   it is below ``match`` (``live`` stays True, as for sessions).
"""
from __future__ import annotations

import re
import secrets
import time
from dataclasses import replace
from statistics import median
from typing import Callable, Sequence

import numpy as np

from . import clipreplay, identity, quality
from .challenge import Observation, validate_actions, verify_actions
from .clip import Clip
from .replay import FRAME_PREFIX, SeenFrames
from .results import ClipResult
from .track import follow, pose

_SESSION_ID = re.compile(r"^[A-Za-z0-9_.-]{1,128}$")


def _observations(track, clip: Clip) -> list[Observation]:
    """Per tracked frame, yaw/pitch/size smoothed by a running median of three (one noisy
    low-resolution frame must not complete an action)."""
    raw = []
    for i in track.tracked:
        face = track.faces[i]
        yaw, pitch = pose(face)
        raw.append((yaw, pitch, float(face.box[2]) / clip.scale))
    out = []
    for k in range(len(raw)):
        window = raw[max(0, k - 1):k + 2]
        out.append(Observation(*(median(v[d] for v in window) for d in range(3))))
    return out


def _best_frame(track, obs: list[Observation]) -> int:
    """The most frontal tracked frame (smallest |yaw| + |pitch| from the baseline pose)."""
    base_yaw = median(o.yaw for o in obs[:3])
    base_pitch = median(o.pitch for o in obs[:3])
    k = min(range(len(obs)), key=lambda j: abs(obs[j].yaw - base_yaw) + abs(obs[j].pitch - base_pitch))
    return track.tracked[k]


def _exact_replay(clip: Clip, seen: SeenFrames | None, ttl: int) -> bool:
    if seen is None or not clip.sha256:
        return False
    keys = [clipreplay.CLIP_PREFIX + clip.sha256] + [FRAME_PREFIX + h for h in clip.frame_sha256]
    fresh = [seen.add_if_absent(k, ttl) for k in keys]  # every key recorded, even after a hit
    return not all(fresh)


def run_clip(parts, clip: Clip, actions: Sequence[str] = (), reference: np.ndarray | None = None,
             seen: SeenFrames | None = None, session_id: str | None = None,
             presence: Callable | None = None, rng=secrets) -> ClipResult:
    """``parts`` is the pipeline (detector, embedder, antispoof, mesh, settings)."""
    s = parts.settings
    t0 = time.perf_counter()
    actions = validate_actions(actions)
    if session_id is None:
        session_id = secrets.token_hex(8)
    elif not _SESSION_ID.match(session_id):
        raise ValueError("session_id must be 1-128 characters of [A-Za-z0-9_.-]")
    out = ClipResult(live=False, reason=None, actions=actions, session_id=session_id,
                     actions_passed=None if not actions else False, frames=len(clip.frames),
                     duration_ms=clip.duration_ms, fps=clip.fps)
    timings = out.timings_ms
    images = [f.image for f in clip.frames]
    times = [f.t_ms for f in clip.frames]

    def lap(name: str, since: float) -> float:
        now = time.perf_counter()
        timings[name] = (now - since) * 1000
        return now

    def finish(reason: str | None, detail: str | None = None) -> ClipResult:
        out.reason, out.detail = reason, detail
        out.live = reason is None
        if out.live and out.match is not None and not out.match["same"]:
            out.reason = "face_mismatch"
        timings["total"] = (time.perf_counter() - t0) * 1000
        return out

    if _exact_replay(clip, seen, s.replay_ttl):
        return finish("replay", "these bytes were submitted before")
    t = time.perf_counter()
    track = follow(parts.detector, clip, side=s.clip_det_side)
    out.track = {"faces": track.counts, "tracked": len(track.tracked), "steps": track.steps}
    t = lap("track", t)
    if track.reason == "no_face" or not track.tracked:
        return finish(track.reason or "no_face", track.detail)
    found_replay = None
    if seen is not None:
        sig = clipreplay.signature(images, track.faces, times)
        min_run = max(3, int(np.ceil(s.clip_replay_fraction * len(sig))))
        found_replay = clipreplay.check_and_record(seen, sig, session_id, s.clip_replay_bits,
                                                   s.clip_replay_shape, min_run, s.replay_ttl)
        out.replay = found_replay
        t = lap("replay", t)
    if track.reason is not None:
        return finish(track.reason, track.detail)

    obs = _observations(track, clip)
    best = out.best_frame = _best_frame(track, obs)
    face = track.faces[best]
    if s.refine_face_px:
        face = parts.detector.refine(images[best], face, face_px=s.refine_face_px)
    q = quality.measure(parts.embedder.align(images[best], face.landmarks), face.landmarks,
                        face_px=float(face.box[2]) / clip.scale)
    t = lap("quality", t)
    bad = quality.gate(q, s.quality(), check_pose=True)
    if bad is not None:
        return finish(bad, f"most frontal frame {best}: {bad}")

    challenge = s.challenge()
    if actions:
        k = min(s.clip_baseline_frames, len(obs))
        check = verify_actions(obs, actions, replace(challenge, baseline_frames=k))
        out.actions_passed = check.passed
        out.action_frames = [None if j is None else track.tracked[j] for j in check.frames]
        t = lap("challenge", t)
        if not check.passed:
            return finish("challenge_failed", check.detail)

    if presence is None:
        return finish("no_depth_motion", "no 3-D check is configured (fail closed)")
    result = presence(images, track.faces, times, parts.mesh)
    out.presence = {"passed": result.passed, "reason": result.reason,
                    "scores": dict(result.scores), "frames_used": list(result.frames_used),
                    "timings_ms": dict(result.timings_ms)}
    t = lap("presence", t)
    if not result.passed:
        return finish(result.reason or "planar", "the movement is not that of a 3-D head")

    tracked = track.tracked
    used = [i for i in result.frames_used if i in tracked]
    chosen = ([best] + [i for i in out.action_frames if i is not None]
              + [identity.abrupt_frame(images, track.faces, tracked)] + used[:2])
    keys = identity.key_frames(tracked, chosen, s.clip_identity_frames, rng)
    ident = identity.embed(parts.detector, parts.embedder, images, track.faces, keys, s.refine_face_px)
    out.identity = ident.to_dict()
    if reference is not None:
        out.match = identity.match(reference, ident, s.match)
    t = lap("identity", t)
    if ident.min_pair is not None and ident.min_pair < s.clip_consistency:
        return finish("face_changed", f"frames {ident.frames} are not all one person "
                                      f"(lowest similarity {ident.min_pair:.2f})")

    spoof_frames = ([best] + [i for i in keys if i != best])[: s.clip_spoof_frames]
    scores = [float(np.mean(list(parts.antispoof.scores(images[i], track.faces[i].box).values())))
              for i in spoof_frames]
    out.score = float(np.mean(scores))
    t = lap("antispoof", t)
    if out.score < s.live:
        return finish("spoof", f"passive live probability {out.score:.2f} on frames {spoof_frames}")
    if found_replay is not None:
        return finish("replay", f"{found_replay['run']} of {found_replay['of']} frames match "
                                "an earlier capture")
    return finish(None)
