"""Active-challenge logic on synthetic landmark tracks: no models needed."""
from __future__ import annotations

import random
from collections import Counter

import pytest

from liveness.challenge import (ACTIONS, ChallengeThresholds, Observation, random_actions,
                                verify_actions)
from liveness.geometry import face_scale, head_pose

from .test_geometry import project

BASE = Observation(yaw=2.0, pitch=-3.0, scale=200.0)
POSES = {
    "turn_left": Observation(25.0, -2.0, 195.0),
    "turn_right": Observation(-22.0, -4.0, 196.0),
    "look_up": Observation(1.0, 12.0, 198.0),
    "look_down": Observation(3.0, -18.0, 199.0),
    "move_closer": Observation(2.0, -3.0, 260.0),
}


def track(*actions, between=True):
    """Baseline, then each action's pose, with a neutral frame between actions."""
    frames = [BASE]
    for a in actions:
        frames.append(POSES[a])
        if between:
            frames.append(BASE)
    return frames


def test_random_actions_are_distinct_known_and_two_or_three():
    rng = random.Random(7)
    lengths = Counter()
    for _ in range(300):
        acts = random_actions(rng=rng)
        assert len(set(acts)) == len(acts) and set(acts) <= set(ACTIONS)
        lengths[len(acts)] += 1
    assert set(lengths) == {2, 3}
    assert len(random_actions(3)) == 3
    with pytest.raises(ValueError):
        random_actions(0)
    with pytest.raises(ValueError):
        random_actions(len(ACTIONS) + 1)


def test_random_actions_cover_every_action_and_order():
    rng = random.Random(1)
    firsts = Counter(random_actions(2, rng=rng)[0] for _ in range(500))
    assert set(firsts) == set(ACTIONS)


@pytest.mark.parametrize("actions", [["turn_left", "look_up"], ["look_down", "turn_right", "move_closer"],
                                     ["move_closer", "turn_left"], ["turn_right", "turn_left"]])
def test_correct_order_passes(actions):
    result = verify_actions(track(*actions), actions)
    assert result.passed, result.detail
    assert all(i is not None for i in result.frames)
    assert result.frames == sorted(result.frames)


def test_back_to_back_without_neutral_frames_passes():
    assert verify_actions(track("turn_left", "look_up", between=False), ["turn_left", "look_up"]).passed


def test_shuffled_order_fails():
    result = verify_actions(track("look_up", "turn_left"), ["turn_left", "look_up"])
    assert not result.passed
    assert result.frames[0] is not None and result.frames[1] is None
    assert "look_up" in result.detail


def test_still_sequence_fails():
    for actions in (["turn_left", "look_up"], ["move_closer", "look_down"]):
        assert not verify_actions([BASE] * 8, actions).passed


def test_small_movements_are_not_enough():
    nudge = Observation(BASE.yaw + 10, BASE.pitch + 6, BASE.scale * 1.1)
    assert not verify_actions([BASE, nudge, BASE], ["turn_left"]).passed
    assert not verify_actions([BASE, nudge, BASE], ["look_up"]).passed
    assert not verify_actions([BASE, nudge, BASE], ["move_closer"]).passed


def test_action_in_the_baseline_frame_does_not_count():
    # The baseline itself is turned: turning left must be measured from it.
    assert not verify_actions([POSES["turn_left"], POSES["turn_left"]], ["turn_left"]).passed


def test_missing_baseline_or_faces():
    assert not verify_actions([None, POSES["turn_left"]], ["turn_left"]).passed
    assert not verify_actions([], ["turn_left"]).passed
    assert verify_actions([BASE, None, POSES["turn_left"]], ["turn_left"]).passed


def test_baseline_median_of_several_frames():
    t = ChallengeThresholds(baseline_frames=3)
    frames = [BASE, Observation(40, -3, 200), BASE, POSES["turn_left"]]
    assert verify_actions(frames, ["turn_left"], t).passed  # an outlier in the baseline is ignored


def test_unknown_or_repeated_actions_rejected():
    with pytest.raises(ValueError):
        verify_actions(track("turn_left"), ["jump"])
    with pytest.raises(ValueError):
        verify_actions(track("turn_left"), ["turn_left", "turn_left"])


def _obs(landmarks, scale):
    p = head_pose(landmarks)
    return Observation(p.yaw, p.pitch, scale)


def test_tracks_from_projected_landmarks():
    """Landmarks of a 3D face turned to the user's left give turn_left; mirrored, turn_right."""
    frames = [project(), project(yaw=30), project(), project(pitch=20), project(scale=4.0)]
    obs = [_obs(lm, face_scale((0, 0, 3 * 60, 3 * 60)) * (4 / 3 if i == 4 else 1))
           for i, lm in enumerate(frames)]
    assert verify_actions(obs, ["turn_left", "look_up", "move_closer"]).passed
    mirrored = []
    for lm in frames:
        m = lm.copy()
        m[:, 0] = 640 - m[:, 0]
        mirrored.append(m[[1, 0, 2, 4, 3]])
    obs_m = [_obs(lm, o.scale) for lm, o in zip(mirrored, obs)]
    assert not verify_actions(obs_m, ["turn_left", "look_up"]).passed
    assert verify_actions(obs_m, ["turn_right", "look_up"]).passed
