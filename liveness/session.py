"""A capture session: every frame analysed, replays, active challenge, best frame, match.

Decision (``SessionResult.reason``, first that applies):
1. ``replay``: a frame's exact bytes were seen before (earlier session or earlier in this one);
2. the first failing frame's reason (decode, face count, quality, ``spoof``).  With actions
   the pose gate applies to the baseline frame only, since the other frames are turned on
   purpose;
3. ``spoof``: the mean live probability is below the threshold;
4. ``challenge_failed``: the actions were not seen in order (``live`` then needs them: no
   single frame's score can pass a session that asked for actions);
5. ``face_mismatch``: with a reference, the best frame's cosine similarity is below the
   threshold (``live`` stays True: liveness and identity are reported apart).
Near duplicates of earlier sessions' frames are reported, not rejected.
"""
from __future__ import annotations

import re
import secrets
import time
from typing import Sequence

import numpy as np

from .challenge import Observation, validate_actions, verify_actions
from .embedder import cosine_similarity
from .frame import FrameAnalyzer
from .geometry import face_scale
from .replay import FRAME_PREFIX, SeenFrames, record_and_find
from .results import FrameResult, SessionResult

_SESSION_ID = re.compile(r"^[A-Za-z0-9_.-]{1,128}$")


def match_dict(reference: np.ndarray, embedding: np.ndarray, threshold: float) -> dict:
    similarity = cosine_similarity(reference, embedding)
    return {"similarity": similarity, "same": similarity >= threshold}


def _observation(fr: FrameResult) -> Observation | None:
    if fr.quality is None or fr.faces != 1:
        return None
    return Observation(fr.quality["yaw"], fr.quality["pitch"], face_scale(fr.box))


def _rank(frame: FrameResult) -> tuple | None:
    """Sort key of the best frame (smallest first): one face, passing frames first, then the
    most frontal, then the largest face; None when the frame cannot be matched at all."""
    if frame.quality is None or frame.faces != 1:
        return None
    q = frame.quality
    return frame.reason is not None, abs(q["yaw"]) + abs(q["pitch"]), -q["face_px"]


def _replays(results: list[FrameResult], seen: SeenFrames | None, ttl: int) -> list[int]:
    local, replayed = set(), []
    for i, fr in enumerate(results):
        if not fr.sha256:  # not bytes at all: already a bad_image frame
            continue
        fresh = fr.sha256 not in local
        local.add(fr.sha256)
        if seen is not None and not seen.add_if_absent(FRAME_PREFIX + fr.sha256, ttl):
            fresh = False
        if not fresh:
            replayed.append(i)
    return replayed


def run_session(analyzer: FrameAnalyzer, frames: Sequence[bytes], actions=None,
                reference: np.ndarray | None = None, seen: SeenFrames | None = None,
                session_id: str | None = None) -> SessionResult:
    s = analyzer.settings
    t0 = time.perf_counter()
    actions = validate_actions(actions or [])
    if session_id is None:
        session_id = secrets.token_hex(8)
    elif not _SESSION_ID.match(session_id):
        raise ValueError("session_id must be 1-128 characters of [A-Za-z0-9_.-]")
    out = SessionResult(live=False, reason=None, actions=actions, session_id=session_id,
                        actions_passed=None if not actions else False)
    if not frames:
        out.reason = "no_frames"
        return out
    if len(frames) > s.max_frames:
        out.reason, out.detail = "too_many_frames", f"{len(frames)} > {s.max_frames}"
        return out
    hashes = []
    best = best_rank = None  # the best frame so far: the only decoded image kept
    for i, data in enumerate(frames):
        a = analyzer.analyse(data, pose_gate=not actions or i < s.baseline_frames,
                             want_phash=seen is not None)
        out.frames.append(a.result)
        hashes.append(a.phash)
        rank = _rank(a.result)
        if rank is not None and (best_rank is None or rank < best_rank):
            best, best_rank = (i, a), rank  # ties keep the earlier frame
    t1 = time.perf_counter()
    replayed = _replays(out.frames, seen, s.replay_ttl)
    for i in replayed:
        out.frames[i].live, out.frames[i].reason = False, "replay"
    if seen is not None:
        for i, ph in enumerate(hashes):
            if ph is not None:
                out.near_duplicates += [dict(frame=i, **hit) for hit in record_and_find(
                    seen, ph, session_id, s.near_duplicate_bits, s.replay_ttl)]
    t2 = time.perf_counter()
    scores = [f.score for f in out.frames if f.score is not None]
    out.score = float(np.mean(scores)) if scores else None
    if actions:
        check = verify_actions([_observation(f) for f in out.frames], actions, s.challenge())
        out.actions_passed, out.action_frames, challenge_detail = check.passed, check.frames, check.detail
    t3 = time.perf_counter()
    ranked = [(r, i) for i, r in enumerate(map(_rank, out.frames)) if r is not None]
    out.best_frame = min(ranked)[1] if ranked else None  # after replays were marked
    if reference is not None and out.best_frame is not None:
        # The kept analysis image is reused; ``embed`` decodes again only when it is too small.
        kept = best[1] if best is not None and best[0] == out.best_frame else None
        embedding = analyzer.embed(frames[out.best_frame], out.frames[out.best_frame], kept)
        out.match = match_dict(reference, embedding, s.match)
    best = None
    t4 = time.perf_counter()

    failing = next((f for f in out.frames if f.reason is not None), None)
    if replayed:
        out.reason, out.detail = "replay", f"frames {replayed} were submitted before"
    elif failing is not None:
        where = f"frame {out.frames.index(failing)}"
        out.reason, out.detail = failing.reason, f"{where}: {failing.detail}" if failing.detail else where
    elif out.score is None or out.score < s.live:
        out.reason = "spoof"
    elif actions and not out.actions_passed:
        out.reason, out.detail = "challenge_failed", challenge_detail
    out.live = out.reason is None
    if out.live and out.match is not None and not out.match["same"]:
        out.reason = "face_mismatch"
    out.timings_ms = {"frames": (t1 - t0) * 1000, "replay": (t2 - t1) * 1000,
                      "challenge": (t3 - t2) * 1000, "embed": (t4 - t3) * 1000,
                      "total": (time.perf_counter() - t0) * 1000}
    return out
