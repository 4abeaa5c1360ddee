"""Still-image sessions (``check_session``) against clips (``check_clip``).

The old face login decided on a handful of stills: frames warped from ONE press photo
(perspective turns, squeezes, zooms) passed every active challenge, since landmarks move the
same way on a warped photo as on a turning head.  Each such session is rebuilt here as the
clip an attacker would send now, and must be refused; the exact-bytes replay, bounds and
result format of ``check_session`` are kept while servers still call it.
"""
from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from liveness import MemorySeenFrames
from liveness.challenge import Observation, verify_actions
from liveness.geometry import face_scale

from liveness import attacks
from liveness.clip import decode_burst

from .conftest import jpeg
from .transforms import rotate_plane, zoom


@pytest.fixture(scope="module")
def obama_poses(pipeline, face_images):
    """obama_1 and flat-photo imitations of each movement, as JPEG bytes."""
    img = face_images["obama_1"]
    base = pipeline.check_frame(jpeg(img))
    lm = np.array(base.landmarks)
    centre = lm[[0, 1, 3, 4]].mean(axis=0)
    iod = float(np.linalg.norm(lm[1] - lm[0]))
    return {
        "base": jpeg(img),
        "neutral": jpeg(img, 88),      # the same pose, other bytes
        "turn_left": jpeg(rotate_plane(img, centre, 1.5 * iod, yaw_deg=-35)),
        "turn_right": jpeg(rotate_plane(img, centre, 1.5 * iod, yaw_deg=35)),
        "look_down": jpeg(rotate_plane(img, centre, 2.0 * iod, pitch_deg=45)),
        "move_closer": jpeg(zoom(img, centre, 1.3)),
    }


def _track(pipeline, frames):
    out = []
    for data in frames:
        r = pipeline.check_frame(data)
        out.append(Observation(r.quality["yaw"], r.quality["pitch"], face_scale(r.box)))
    return out


def test_transformed_photos_move_the_landmarks_the_right_way(pipeline, obama_poses):
    names = ["base", "turn_left", "turn_right", "look_down", "move_closer"]
    obs = dict(zip(names, _track(pipeline, [obama_poses[n] for n in names])))
    base = obs["base"]
    assert obs["turn_left"].yaw - base.yaw > 15
    assert base.yaw - obs["turn_right"].yaw > 15
    assert base.pitch - obs["look_down"].pitch > 10
    assert obs["move_closer"].scale / base.scale > 1.2
    track = [obs[n] for n in names]
    assert verify_actions(track, ["turn_left", "look_down"]).passed
    assert not verify_actions([track[0], track[3], track[1]], ["turn_left", "look_down"]).passed


# The old tests' planned warps of one photo (short focal length: a strong perspective, so the
# landmarks move by more than the challenge thresholds), per action, at progress p in [0, 1].
PLANNED = {
    "turn_left": lambda img, c, iod, p: rotate_plane(img, c, 1.5 * iod, yaw_deg=-35 * p),
    "turn_right": lambda img, c, iod, p: rotate_plane(img, c, 1.5 * iod, yaw_deg=35 * p),
    "look_down": lambda img, c, iod, p: rotate_plane(img, c, 2.0 * iod, pitch_deg=45 * p),
    "move_closer": lambda img, c, iod, p: zoom(img, c, 1 + 0.3 * p),
}


def _planned_clip(img, lm, actions, fps=15.0, hold_ms=1200.0, ramp_ms=700.0):
    """Each action in turn: ramp to the warped pose and back, after a frontal hold."""
    centre = lm[[0, 1, 3, 4]].mean(axis=0)
    iod = float(np.linalg.norm(lm[1] - lm[0]))
    per = 2 * ramp_ms
    n = int((hold_ms + per * len(actions)) * fps / 1000) + 1
    rng = np.random.default_rng(0)
    frames = []
    for i in range(n):
        t = i * 1000 / fps
        k = min(int(max(t - hold_ms, 0) // per), len(actions) - 1)
        p = attacks.profile(t - hold_ms - k * per, 0.0, ramp_ms, "out_back") if t > hold_ms else 0.0
        f = PLANNED[actions[k]](img, centre, iod, p).astype(np.float32)
        frames.append((t, np.clip(f + rng.normal(0, 2, f.shape), 0, 255).astype(np.uint8)))
    return frames


@pytest.mark.parametrize("actions", [["turn_left", "look_down"], ["turn_right", "move_closer", "turn_left"],
                                     ["move_closer"], ["turn_right"]])
def test_warped_photo_sessions_passed_and_their_clips_are_refused(pipeline, face_images, actions):
    img = attacks.fit(face_images["obama_1"])[0]     # camera-sized, as an attacker sends it
    lm = np.array(pipeline.check_frame(jpeg(img)).landmarks)
    clip = _planned_clip(img, lm, actions)
    step = -(-len(clip) // pipeline.settings.max_frames)
    old = pipeline.check_session([jpeg(f) for _, f in clip[::step]], actions=actions)
    assert old.live and old.actions_passed                        # the old engine's answer
    r = pipeline.check_clip(decode_burst([(t, jpeg(f)) for t, f in clip]), actions,
                            seen=MemorySeenFrames())
    assert not r.live and r.reason is not None, r.to_dict()


def test_a_still_photo_as_a_clip_is_refused(pipeline, face_images, face_bytes):
    assert pipeline.check_session([face_bytes["obama_1"]]).live        # the old passive pass
    image, box = attacks.fit(face_images["obama_1"], pipeline.detector.detect(face_images["obama_1"])[0].box)
    for kw in ({"noise": 2}, {"noise": 6, "jpeg": 50, "shake_px": 1.0}):
        clip = attacks.still(image, box, **kw)
        r = pipeline.check_clip(decode_burst([(t, jpeg(f)) for t, f in clip]), ["turn_either"])
        assert not r.live and r.reason in ("challenge_failed", "no_depth_motion", "planar"), r.to_dict()


def test_shuffled_session_fails(pipeline, obama_poses):
    frames = [obama_poses[n] for n in ("base", "look_down", "turn_left")]
    r = pipeline.check_session(frames, actions=["turn_left", "look_down"])
    assert not r.live and r.reason == "challenge_failed" and r.actions_passed is False


def test_still_session_fails(pipeline, face_images):
    img = face_images["obama_1"]
    frames = [jpeg(img, q) for q in (95, 90, 85, 80)]
    r = pipeline.check_session(frames, actions=["turn_left", "move_closer"])
    assert not r.live and r.reason == "challenge_failed"


def test_actions_never_pass_on_one_good_frame(pipeline, face_bytes):
    r = pipeline.check_session([face_bytes["live_T1"]], actions=["turn_left", "look_up"])
    assert r.frames[0].live and not r.live and r.reason == "challenge_failed"


def test_a_spoof_frame_fails_the_session(pipeline, obama_poses, face_bytes):
    frames = [obama_poses["base"], face_bytes["spoof_screen_F2"], obama_poses["turn_left"]]
    r = pipeline.check_session(frames, actions=["turn_left"])
    assert not r.live and r.reason == "spoof" and "frame 1" in r.detail


def test_session_mean_below_threshold_fails():
    """The session mean is checked on its own (frames here report passing by themselves)."""
    from liveness.config import Settings
    from liveness.frame import Analysis
    from liveness.results import FrameResult
    from liveness.session import run_session

    class Analyzer:
        settings = Settings(live=0.6)

        def analyse(self, data, pose_gate=True, want_phash=False):
            q = {"yaw": 0.0, "pitch": 0.0, "roll": 0.0, "face_px": 200.0}
            return Analysis(FrameResult(True, None, score=0.55, faces=1, box=[0, 0, 200, 200],
                                        quality=q, sha256=data.hex()))

    r = run_session(Analyzer(), [b"a", b"b"])
    assert r.reason == "spoof" and not r.live and r.score == pytest.approx(0.55)


def test_near_duplicates_reported_not_rejected(pipeline, face_bytes, face_images):
    seen = MemorySeenFrames()
    assert pipeline.check_session([face_bytes["obama_1"]], seen=seen, session_id="a").near_duplicates == []
    other_photo = pipeline.check_session([face_bytes["obama_2"]], seen=seen, session_id="b")
    assert other_photo.near_duplicates == [] and other_photo.live
    biden = pipeline.check_session([face_bytes["biden_1"]], seen=seen, session_id="c")
    assert biden.near_duplicates == []
    copy = jpeg(cv2.resize(face_images["obama_1"], None, fx=0.8, fy=0.8), 80)
    r = pipeline.check_session([copy], seen=seen, session_id="d")
    assert r.live and r.reason is None
    assert [(d["frame"], d["session"]) for d in r.near_duplicates] == [(0, "a")]
    assert r.near_duplicates[0]["distance"] <= 8


def test_session_bounds_and_arguments(pipeline, face_bytes):
    assert pipeline.check_session([]).reason == "no_frames"
    too_many = [face_bytes["obama_1"]] * (pipeline.settings.max_frames + 1)
    assert pipeline.check_session(too_many).reason == "too_many_frames"
    with pytest.raises(ValueError):
        pipeline.check_session([face_bytes["obama_1"]], actions=["jump"])
    with pytest.raises(ValueError):
        pipeline.check_session([face_bytes["obama_1"]], session_id="bad id;")
    with pytest.raises(ValueError):
        pipeline.check_session([face_bytes["obama_1"]], reference=np.array([np.nan] * 128))


def test_replayed_frames_are_rejected(pipeline, obama_poses):
    seen = MemorySeenFrames()
    frames = [obama_poses["base"], obama_poses["turn_left"]]
    pipeline.check_session(frames, actions=["turn_left"], seen=seen, session_id="s1")
    again = pipeline.check_session([obama_poses["neutral"], obama_poses["turn_left"]],
                                   actions=["turn_left"], seen=seen, session_id="s2")
    assert not again.live and again.reason == "replay"
    assert again.frames[1].reason == "replay" and again.frames[0].reason is None
    twice = pipeline.check_session([obama_poses["turn_right"], obama_poses["turn_right"]])
    assert twice.reason == "replay"  # the same bytes twice in one session


def test_session_result_is_json(pipeline, obama_poses, face_bytes):
    r = pipeline.check_session([obama_poses["base"], obama_poses["turn_left"], b"junk"],
                               actions=["turn_left"], seen=MemorySeenFrames(),
                               reference=pipeline.make_template(face_bytes["obama_2"]))
    d = r.to_dict()
    assert json.loads(json.dumps(d)) == d
    assert d["reason"] == "bad_image" and d["frames"][2]["reason"] == "bad_image"
    assert {"live", "score", "reason", "frames", "actions_passed", "match", "near_duplicates",
            "best_frame", "timings_ms"} <= set(d)
