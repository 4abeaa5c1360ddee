"""The capture plan a challenge carries (DESIGN section 6, step 3): what the capturing page
or mini-program shows, in which order and for how long, and what it must send.

One plan shape for both levels: ``face`` asks for the fixed movement ``liveness.GUIDED_ACTIONS``
(the same for everyone), ``face-active`` for random actions in random order.  The capture
starts with a short hold (a frontal view for the match) and gives each action its own time;
the total is at least the shortest clip the server accepts.  Hints are in the request's
language, from ``strings.STRINGS``.
"""
from __future__ import annotations

from .strings import pt

HOLD_MS = 1000       # frontal, still: the start of the track and the frames to match
ACTION_MS = 1800     # per action: enough for a slow nod, or coming closer, and back
TURN_MS = 2400       # per turn: the 3-D check needs a clear turn (~20 degrees) held for a moment
END_MS = 400         # a little after the last action, so it is not cut off
FRAME_RATE = 15      # frames per second the page captures (the server needs >= 10 distinct)
MAX_SIDE = 480       # longest side of a captured frame (what the engine analyses)
FORMATS = ["video/mp4", "video/webm", "image/jpeg", "image/png"]


def plan(actions: list[str], limits) -> dict:
    steps = [{"action": "hold", "duration_ms": HOLD_MS, "hint": pt("act_hold")}]
    steps += [{"action": a, "duration_ms": TURN_MS if a.startswith("turn_") else ACTION_MS,
               "hint": pt("act_" + a)} for a in actions]
    total = sum(step["duration_ms"] for step in steps) + END_MS
    if total < limits.min_duration_ms + 500:
        extra = limits.min_duration_ms + 500 - total
        steps[0]["duration_ms"] += extra
        total += extra
    return {"duration_ms": int(total), "steps": steps,
            "min_duration_ms": int(limits.min_duration_ms),
            "max_duration_ms": int(limits.max_duration_ms),
            "frame_rate": FRAME_RATE, "max_side": MAX_SIDE, "max_bytes": limits.max_bytes,
            "max_frames": limits.max_frames, "formats": FORMATS}
