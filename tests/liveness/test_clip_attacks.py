"""End to end through ``LivenessPipeline.check_clip`` with the real 3-D check: the attacks of
issue 16 rebuilt as clips are refused, a genuine turn passes.  (Stage-by-stage tests with
the 3-D check held passing are in ``test_clipsession.py``; the 3-D rule's own measurement is
``test_presence*`` and ``python -m liveness.presence_eval``.)"""
from __future__ import annotations

import numpy as np
import pytest

from liveness import GUIDED_ACTIONS, MemorySeenFrames, attacks
from liveness.clip import decode_burst, decode_video

from .conftest import jpeg
from .genuine import clip_bytes, window
from liveness.evaluate import encode, place_like


def _burst(clip):
    return decode_burst([(t, jpeg(f)) for t, f in clip])


def test_a_genuine_turn_logs_in_and_its_replay_does_not(pipeline):
    seen = MemorySeenFrames()
    r = pipeline.check_clip(decode_video(clip_bytes("d3")), ["turn_left"], seen=seen, session_id="a")
    assert r.live and r.reason is None and r.presence["passed"], r.to_dict()
    copy = clip_bytes("d3", "video/webm")
    again = pipeline.check_clip(decode_video(copy), ["turn_left"], seen=seen, session_id="b")
    # refused, and found as a replay of session "a" whichever stage reported first
    assert not again.live and again.replay is not None and again.replay["session"] == "a"


@pytest.mark.parametrize("kind, make", [
    ("planned_turn", lambda im, box, c, iod: attacks.render(
        im, lambda p: attacks.plane_homography(c, 1.5 * iod, 35 * p), box, swing="out_back",
        hold_ms=800, duration_ms=3000)),
    ("planned_turn_other_way", lambda im, box, c, iod: attacks.render(
        im, lambda p: attacks.plane_homography(c, 1.2 * iod, -30 * p), box, swing="out_back",
        hold_ms=800, duration_ms=3000)),
    ("cylinder_held", lambda im, box, c, iod: attacks.cylinder_turn(
        im, box, yaw_deg=25, background=attacks.textured_background(seed=1))),
    ("tps_turn", lambda im, box, c, iod: attacks.tps_turn(im, box, yaw_deg=-35, swing="both")),
    ("zoom", lambda im, box, c, iod: attacks.zoom(im, box, factor=1.6, drift=(0.2, 0.1))),
])
@pytest.mark.parametrize("victim", ["obama_1", "biden_1"])
def test_planar_attacks_that_pass_every_other_stage_are_refused(pipeline, face_images, kind, make, victim):
    """Each of these passes the landmark challenge (the old engine's only defence against a
    moved photo); only the 3-D check stands between it and a login."""
    still = face_images[victim]
    found = pipeline.detector.detect(still, side=640)[0]
    image, box = attacks.fit(still, found.box)
    lm = found.landmarks * (image.shape[1] / still.shape[1])
    clip = _burst(make(image, box, lm[[0, 1, 3, 4]].mean(axis=0), float(np.linalg.norm(lm[1] - lm[0]))))
    actions = ["move_closer"] if kind == "zoom" else GUIDED_ACTIONS
    r = pipeline.check_clip(clip, actions)
    assert not r.live and r.reason is not None, r.to_dict()


def test_a_still_repeated_is_refused(pipeline, face_images):
    image, box = attacks.fit(face_images["obama_1"], pipeline.detector.detect(face_images["obama_1"], side=640)[0].box)
    r = pipeline.check_clip(_burst(attacks.still(image, box, noise=3, shake_px=1.0)), GUIDED_ACTIONS)
    assert not r.live


def test_a_real_person_who_does_not_move_is_refused(pipeline):
    for name in ("d0", "d13"):
        r = pipeline.check_clip(decode_video(clip_bytes(name)), GUIDED_ACTIONS)
        assert not r.live and r.reason in ("challenge_failed", "no_depth_motion"), r.to_dict()


def test_a_spliced_clip_never_logs_in_as_the_victim(pipeline, face_images, face_bytes):
    frames, fps, actions = window("d3")
    victim = face_images["obama_1"]
    box_v = pipeline.detector.detect(victim, side=640)[0].box
    box_a = pipeline.detector.detect(frames[-1])[0].box
    data = encode(frames + [place_like(victim, box_v, box_a, frames[0].shape[1::-1])], fps)
    template = pipeline.make_template(face_bytes["obama_2"])
    r = pipeline.check_clip(decode_video(data), actions, reference=template)
    assert not (r.live and r.match["same"]), r.to_dict()
