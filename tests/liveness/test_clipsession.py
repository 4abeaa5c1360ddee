"""The clip decision stage by stage (``liveness.clipsession.run_clip``) on real clips.

The 3-D check (``liveness.presence``, tested in ``test_presence*``) is replaced here by one
that always passes, so that every other stage is shown to refuse on its own; the end-to-end
tests through ``LivenessPipeline.check_clip`` are in ``test_clip_attacks.py``.
"""
from __future__ import annotations

import dataclasses
import json
import random
from types import SimpleNamespace

import cv2
import numpy as np
import pytest

from liveness import GUIDED_ACTIONS, MemorySeenFrames
from liveness.clip import decode_video
from liveness.clipsession import run_clip

from .clips import encode
from .conftest import jpeg
from .genuine import clip_bytes, place_like, window


def passes(images, faces, times, mesh):
    return SimpleNamespace(passed=True, reason=None, scores={}, frames_used=[], timings_ms={})


def check(pipeline, data, actions, settings=None, **kw):
    parts = pipeline if settings is None else SimpleNamespace(**{**vars(pipeline), "settings": settings})
    return run_clip(parts, decode_video(data), actions, presence=passes,
                    rng=random.Random(kw.pop("seed", 0)), **kw)


@pytest.mark.parametrize("name", ["d12", "d3", "d3b", "d9", "d6"])
def test_genuine_clips_pass_with_the_actions_performed(pipeline, name):
    _, _, actions = window(name)
    r = check(pipeline, clip_bytes(name), actions, seen=MemorySeenFrames())
    assert r.live and r.reason is None, r.to_dict()
    assert r.actions_passed and all(i is not None for i in r.action_frames)
    assert r.identity["min_pairwise"] > 0.5 and len(r.identity["frames"]) >= 3
    assert r.score > 0.5 and r.replay is None


@pytest.mark.parametrize("name", ["d12", "d3", "d9"])
def test_genuine_turns_pass_the_guided_movement(pipeline, name):
    assert check(pipeline, clip_bytes(name), GUIDED_ACTIONS).live


@pytest.mark.parametrize("name", ["d0", "d13"])
def test_real_people_who_do_not_move_fail_the_guided_movement(pipeline, name):
    r = check(pipeline, clip_bytes(name), GUIDED_ACTIONS)
    assert not r.live and r.reason == "challenge_failed"


def test_a_clip_recorded_for_another_challenge_fails(pipeline):
    data = clip_bytes("d12")                     # turns left, then right
    assert check(pipeline, data, ["turn_right", "turn_left"]).reason == "challenge_failed"
    assert check(pipeline, data, ["turn_left", "look_up"]).reason == "challenge_failed"
    assert check(pipeline, clip_bytes("d3"), ["turn_right"]).reason == "challenge_failed"


def test_replays_are_refused_exact_reencoded_or_edited(pipeline):
    seen = MemorySeenFrames()
    original = clip_bytes("d12")
    assert check(pipeline, original, ["turn_left"], seen=seen, session_id="s1").live
    again = check(pipeline, original, ["turn_left"], seen=seen, session_id="s2")
    assert again.reason == "replay" and "bytes" in again.detail
    frames, fps, _ = window("d12")
    for i, copy in enumerate([encode(frames, fps, "video/webm"),
                              encode([cv2.convertScaleAbs(f, alpha=1.08, beta=6) for f in frames], fps),
                              encode(frames, fps * 0.8)]):
        r = check(pipeline, copy, ["turn_left"], seen=seen, session_id=f"copy{i}")
        assert not r.live and r.reason == "replay" and r.replay["session"] == "s1", r.to_dict()


def test_one_byte_changed_is_still_a_replay(pipeline):
    seen = MemorySeenFrames()
    original = clip_bytes("d3")
    assert check(pipeline, original, ["turn_left"], seen=seen, session_id="first").live
    edited = bytearray(original)
    edited[len(edited) // 2] ^= 0x01                 # inside the coded frames (mdat)
    r = check(pipeline, bytes(edited), ["turn_left"], seen=seen, session_id="second")
    assert r.reason == "replay" and r.replay is not None


def test_a_genuine_retry_in_the_same_room_is_not_a_replay(pipeline):
    seen = MemorySeenFrames()
    assert check(pipeline, clip_bytes("d3"), ["turn_left"], seen=seen, session_id="try1").live
    retry = check(pipeline, clip_bytes("d3b"), ["turn_right"], seen=seen, session_id="try2")
    assert retry.live and retry.replay is None, retry.to_dict()


def _splice(pipeline, a: str, b: str, aligned: bool):
    fa, fps, _ = window(a)
    fb, _, _ = window(b)
    half = len(fa) // 2
    head, tail = fa[:half], fb[half:len(fa)]
    if aligned:   # the other person's face moved onto the track's last box
        box_a = pipeline.detector.detect(head[-1])[0].box
        h, w = head[0].shape[:2]
        tail = [place_like(cv2.resize(f, (w, h)), pipeline.detector.detect(cv2.resize(f, (w, h)))[0].box,
                           box_a, (w, h)) for f in tail]
    else:
        tail = [cv2.resize(f, head[0].shape[1::-1]) for f in tail]
    return encode(head + tail, fps)


def test_a_cut_to_another_person_loses_the_track(pipeline):
    r = check(pipeline, _splice(pipeline, "d12", "d9", aligned=False), ["turn_left"])
    assert not r.live and r.reason in ("face_lost", "face_changed"), r.to_dict()


def test_a_lined_up_splice_of_two_people_is_refused(pipeline):
    r = check(pipeline, _splice(pipeline, "d12", "d9", aligned=True), ["turn_left"])
    assert not r.live and r.reason in ("face_changed", "face_lost"), r.to_dict()
    if r.reason == "face_changed":
        assert r.identity["min_pairwise"] < 0.4


def test_another_persons_frontal_frame_appended_cannot_match_them(pipeline, face_images, face_bytes):
    """The old session matched only the most frontal frame: A's movements with one frame of
    B appended logged in as B.  Now every embedded frame must match, and the frames must be
    one person."""
    frames, fps, actions = window("d12")
    h, w = frames[0].shape[:2]
    box_a = pipeline.detector.detect(frames[-1])[0].box
    victim = face_images["obama_1"]
    box_v = pipeline.detector.detect(victim)[0].box
    appended = place_like(victim, box_v, box_a, (w, h))
    template = pipeline.make_template(face_bytes["obama_2"])
    # as the old engine saw it: B's frontal frame first (the baseline), then A's turned frames
    # (an attacker keeps those less frontal than B's, so B's is "the best frame")
    turned = [jpeg(f) for f in frames[::4] if abs(pipeline.check_frame(jpeg(f)).quality["yaw"]) > 15]
    old = pipeline.check_session([jpeg(appended)] + turned, actions=["turn_left"], reference=template)
    assert old.live and old.match["same"]                       # the attack worked before
    for data in (encode(frames + [appended], fps), encode(frames + [appended] * 6, fps),
                 encode([appended] * 3 + frames, fps)):
        r = check(pipeline, data, ["turn_left"], reference=template)
        assert not r.live and r.reason in ("face_lost", "face_changed"), r.to_dict()
        assert not (r.match or {}).get("same", False)
    for name in ("d3", "d9"):   # other people, other rooms: never logged in as B
        frames, fps, actions = window(name)
        box_a = pipeline.detector.detect(frames[-1])[0].box
        data = encode(frames + [place_like(victim, box_v, box_a, frames[0].shape[1::-1])], fps)
        r = check(pipeline, data, actions, reference=template)
        assert not (r.live and r.match["same"]), r.to_dict()


def test_match_is_the_smallest_similarity(pipeline):
    frames, fps, _ = window("d12")
    own = pipeline.embedder.embed(frames[0], pipeline.detector.refine(
        frames[0], pipeline.detector.detect(frames[0])[0]).landmarks)
    r = check(pipeline, clip_bytes("d12"), ["turn_left"], reference=own)
    assert r.live and r.reason is None and r.match["same"]
    assert r.match["similarity"] == pytest.approx(min(r.match["frames"].values()), abs=1e-4)
    other_frames, _, _ = window("d9")
    other = pipeline.embedder.embed(other_frames[0], pipeline.detector.refine(
        other_frames[0], pipeline.detector.detect(other_frames[0])[0]).landmarks)
    r = check(pipeline, clip_bytes("d12"), ["turn_left"], reference=other)
    assert r.live and r.reason == "face_mismatch" and not r.match["same"]


def test_two_faces_in_the_clip(pipeline):
    fa, fps, _ = window("d12")
    fb, _, _ = window("d9")
    both = [np.hstack([a, cv2.resize(b, a.shape[1::-1])]) for a, b in zip(fa, fb)]
    r = check(pipeline, encode(both, fps), ["turn_left"])
    assert r.reason == "multiple_faces"


def test_no_face_and_dark_clips(pipeline):
    frames, fps, _ = window("d12")
    blank = [np.full_like(f, 128) + np.uint8(i % 7) for i, f in enumerate(frames)]
    assert check(pipeline, encode(blank, fps), GUIDED_ACTIONS).reason == "no_face"
    dark = [cv2.convertScaleAbs(f, alpha=0.18) for f in frames]
    assert check(pipeline, encode(dark, fps), GUIDED_ACTIONS).reason in ("too_dark", "no_face")


def test_passive_score_is_one_of_the_checks(pipeline):
    strict = dataclasses.replace(pipeline.settings, live=1.0)
    r = check(pipeline, clip_bytes("d12"), ["turn_left"], settings=strict)
    assert r.reason == "spoof" and r.score < 1.0


def test_without_a_3d_check_nothing_is_live(pipeline):
    clip = decode_video(clip_bytes("d12"))
    r = run_clip(pipeline, clip, ["turn_left"], presence=None)
    assert not r.live and r.reason == "no_depth_motion"


def test_result_is_json_and_arguments_are_checked(pipeline):
    r = check(pipeline, clip_bytes("d3"), ["turn_left"], seen=MemorySeenFrames(), session_id="j1")
    doc = json.loads(json.dumps(r.to_dict()))
    assert doc["live"] and doc["session_id"] == "j1" and doc["frames"] > 30 and doc["fps"] > 20
    assert set(doc["timings_ms"]) >= {"track", "replay", "quality", "challenge", "identity", "total"}
    clip = decode_video(clip_bytes("d3"))
    with pytest.raises(ValueError):
        run_clip(pipeline, clip, ["jump"], presence=passes)
    with pytest.raises(ValueError):
        run_clip(pipeline, clip, [], session_id="bad id!", presence=passes)
