"""Active challenges: a random sequence of head movements, verified from landmarks.

Conventions (documented for the capture page): frames are the camera's own, NOT mirrored
(a selfie preview is usually shown mirrored; frames taken from the video element with
canvas.drawImage are not).  "turn_left" is the user's own left: in the non-mirrored image
the face turns toward the image's right, so the estimated yaw grows (see
``geometry.Pose``).  "turn_right" is the opposite; "look_up"/"look_down" raise/lower the
pitch; "move_closer" makes the face box grow by ``closer_factor``.  A client that uploads
mirrored frames will see every left/right challenge fail.

Each action is measured against a baseline from the session's first frame(s), since the
frontal pitch ratio differs from person to person, and the actions must be seen in the
asked order, each on a later frame than the previous one: a still image, a replayed video
of other movements or a shuffled sequence fails.
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass
from statistics import median
from typing import Sequence

ACTIONS = ("turn_left", "turn_right", "look_up", "look_down", "move_closer")
# The ``face`` level's guided movement, the same for everyone: one turn of the head, either
# way, by ``yaw_delta`` from where it started (the page says "turn your head slowly to one
# side and back").  A turn is what the 3-D check needs most (parallax between the nose and
# the cheeks) and what every real clip in ../shared/data/videos does; coming closer is not
# asked of everyone because none of those clips grows the face box by ``closer_factor`` and a
# login that real people fail is not a login.  Not drawn by ``random_actions``.
GUIDED_ACTIONS = ["turn_either"]
KNOWN = ACTIONS + ("turn_either",)


def random_actions(n: int | None = None, rng=secrets) -> list[str]:
    """``n`` (default: 2 or 3, at random) distinct actions in random order.

    ``rng`` needs ``choice`` (the ``secrets`` module, ``random.SystemRandom()``, or a seeded
    ``random.Random`` in tests).
    """
    if n is None:
        n = rng.choice((2, 3))
    if not 1 <= n <= len(ACTIONS):
        raise ValueError(f"n must be between 1 and {len(ACTIONS)}")
    pool = list(ACTIONS)
    picked = []
    for _ in range(n):
        action = rng.choice(pool)
        pool.remove(action)
        picked.append(action)
    return picked


def validate_actions(actions: Sequence[str]) -> list[str]:
    actions = list(actions)
    unknown = [a for a in actions if a not in KNOWN]
    if unknown:
        raise ValueError(f"unknown action(s) {unknown}; known: {', '.join(KNOWN)}")
    if len(set(actions)) != len(actions):
        raise ValueError("actions must be distinct")
    return actions


@dataclass(frozen=True)
class Observation:
    """What the challenge needs from one frame."""

    yaw: float     # degrees, > 0 toward the user's left (non-mirrored)
    pitch: float   # degrees, > 0 up
    scale: float   # face size in full-resolution pixels


@dataclass(frozen=True)
class ChallengeThresholds:
    yaw_delta: float = 15.0      # degrees from the baseline for a turn
    pitch_delta: float = 10.0    # degrees from the baseline for look up/down
    closer_factor: float = 1.2   # face size ratio to the baseline for move_closer
    baseline_frames: int = 1     # leading frames whose median is the baseline


@dataclass(frozen=True)
class ChallengeResult:
    passed: bool
    frames: list[int | None]   # the frame where each action was seen, None if not seen
    detail: str = ""


def _done(action: str, o: Observation, base: Observation, t: ChallengeThresholds) -> bool:
    if action == "turn_left":
        return o.yaw - base.yaw >= t.yaw_delta
    if action == "turn_right":
        return base.yaw - o.yaw >= t.yaw_delta
    if action == "turn_either":
        return abs(o.yaw - base.yaw) >= t.yaw_delta
    if action == "look_up":
        return o.pitch - base.pitch >= t.pitch_delta
    if action == "look_down":
        return base.pitch - o.pitch >= t.pitch_delta
    return base.scale > 0 and o.scale / base.scale >= t.closer_factor  # move_closer


def verify_actions(track: Sequence[Observation | None], actions: Sequence[str],
                   t: ChallengeThresholds = ChallengeThresholds()) -> ChallengeResult:
    """Check that ``actions`` happen in order along ``track`` (None = no usable face)."""
    actions = validate_actions(actions)
    k = max(1, t.baseline_frames)
    lead = list(track[:k])
    if len(lead) < k or any(o is None for o in lead):
        return ChallengeResult(False, [None] * len(actions), "no usable baseline frame")
    base = Observation(median(o.yaw for o in lead), median(o.pitch for o in lead),
                       median(o.scale for o in lead))
    found: list[int | None] = []
    cursor = k
    for action in actions:
        hit = next((i for i in range(cursor, len(track)) if track[i] is not None
                    and _done(action, track[i], base, t)), None)
        found.append(hit)
        if hit is None:
            found += [None] * (len(actions) - len(found))
            return ChallengeResult(False, found, f"{action} not seen after frame {cursor - 1}")
        cursor = hit + 1
    return ChallengeResult(True, found)
