"""Capture sessions: active challenges from transformed real photos, replays, matching."""
from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from liveness import MemorySeenFrames
from liveness.challenge import Observation, verify_actions
from liveness.geometry import face_scale

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


@pytest.mark.parametrize("actions", [["turn_left", "look_down"], ["turn_right", "move_closer", "turn_left"]])
def test_session_with_actions_in_order_passes(pipeline, obama_poses, actions):
    frames = [obama_poses["base"]] + [obama_poses[a] for a in actions]
    r = pipeline.check_session(frames, actions=actions)
    assert r.live and r.reason is None and r.actions_passed, r.to_dict()
    assert r.action_frames == list(range(1, len(actions) + 1))
    assert r.best_frame == 0  # the frontal frame


def test_shuffled_session_fails(pipeline, obama_poses):
    frames = [obama_poses[n] for n in ("base", "look_down", "turn_left")]
    r = pipeline.check_session(frames, actions=["turn_left", "look_down"])
    assert not r.live and r.reason == "challenge_failed" and r.actions_passed is False


def test_still_session_fails(pipeline, face_images):
    img = face_images["obama_1"]
    frames = [jpeg(img, q) for q in (95, 90, 85, 80)]
    r = pipeline.check_session(frames, actions=["turn_left", "move_closer"])
    assert not r.live and r.reason == "challenge_failed"
    assert all(f.live for f in r.frames)  # every frame passes on its own: no single-frame pass


def test_actions_never_pass_on_one_good_frame(pipeline, face_bytes):
    r = pipeline.check_session([face_bytes["live_T1"]], actions=["turn_left", "look_up"])
    assert r.frames[0].live and not r.live and r.reason == "challenge_failed"
    passive = pipeline.check_session([face_bytes["live_T1"]])
    assert passive.live and passive.actions_passed is None


def test_mirrored_frames_fail_the_left_turn(pipeline, obama_poses):
    flip = lambda data: jpeg(cv2.flip(cv2.imdecode(np.frombuffer(data, np.uint8), 1), 1))
    frames = [flip(obama_poses["base"]), flip(obama_poses["turn_left"])]
    assert pipeline.check_session(frames, actions=["turn_left"]).reason == "challenge_failed"
    assert pipeline.check_session(frames, actions=["turn_right"]).live


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


def test_replayed_frames_are_rejected(pipeline, obama_poses):
    seen = MemorySeenFrames()
    frames = [obama_poses["base"], obama_poses["turn_left"]]
    first = pipeline.check_session(frames, actions=["turn_left"], seen=seen, session_id="s1")
    assert first.live
    again = pipeline.check_session([obama_poses["neutral"], obama_poses["turn_left"]],
                                   actions=["turn_left"], seen=seen, session_id="s2")
    assert not again.live and again.reason == "replay"
    assert again.frames[1].reason == "replay" and again.frames[0].reason is None
    twice = pipeline.check_session([obama_poses["turn_right"], obama_poses["turn_right"]])
    assert twice.reason == "replay"  # the same bytes twice in one session


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


def test_session_match(pipeline, face_bytes, obama_poses):
    frames = [obama_poses["base"], obama_poses["turn_left"]]
    same = pipeline.check_session(frames, actions=["turn_left"],
                                  reference=pipeline.make_template(face_bytes["obama_2"]))
    assert same.live and same.ok and same.match["same"]
    other = pipeline.check_session(frames, actions=["turn_left"],
                                   reference=pipeline.make_template(face_bytes["biden_1"]))
    assert other.live and not other.ok and other.reason == "face_mismatch"
    assert not other.match["same"]


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


def test_session_result_is_json(pipeline, obama_poses, face_bytes):
    r = pipeline.check_session([obama_poses["base"], obama_poses["turn_left"], b"junk"],
                               actions=["turn_left"], seen=MemorySeenFrames(),
                               reference=pipeline.make_template(face_bytes["obama_2"]))
    d = r.to_dict()
    assert json.loads(json.dumps(d)) == d
    assert d["reason"] == "bad_image" and d["frames"][2]["reason"] == "bad_image"
    assert {"live", "score", "reason", "frames", "actions_passed", "match", "near_duplicates",
            "best_frame", "timings_ms"} <= set(d)
