"""The 3-D presence decision (liveness/presence.py) on real clips and on attack clips built
from the shared stills (liveness/attacks.py): real models, real footage.

Genuine side: the real clips in ../shared/data/videos and the project's data/videos
(segments of at most 12 s, decoded at 15 fps) of people who turn pass, and the people whose
heads barely turn get ``no_depth_motion``.  Attack side: every
attack kind, made from every shared still, is refused, and so is every parameter variation
(angles, speeds, swings, noise, JPEG, hand shake, a print held over a room) of one still.
Skips with a message where ../shared is absent.
"""
from __future__ import annotations

import numpy as np
import pytest

from liveness import attacks
from liveness.challenge import GUIDED_ACTIONS
from liveness.clip import decode_burst
from liveness.presence import PresenceResult, PresenceSettings, assess, nose_offset
from liveness.presence_eval import GENUINE, STILLS, Engine, load_video, video_path

from .conftest import SHARED, jpeg

VIDEOS = SHARED / "data" / "videos"
KINDS = ("perspective_turn", "perspective_nod", "cylinder_turn", "smooth_warp", "tps_turn",
         "squeeze_nod", "zoom", "photo_moved", "still")


@pytest.fixture(scope="module")
def engine(models_dir):
    return Engine.load(models_dir)


@pytest.fixture(scope="module")
def videos():
    if not all(video_path(VIDEOS, name).is_file() for name, _, _ in GENUINE):
        pytest.skip(f"shared real clips not found in {VIDEOS} (set IDP_SHARED_DIR)")
    return VIDEOS


def _decide(engine, times, frames) -> PresenceResult:
    return assess(frames, engine.faces(frames), times, engine.mesh)


# ---- genuine ------------------------------------------------------------------------------

MOVING = [(n, s) for n, s, e in GENUINE if e is None]
STILL_PEOPLE = [(n, s) for n, s, e in GENUINE if e is not None]


@pytest.mark.parametrize("name,start", MOVING)
def test_real_head_turning_passes(engine, videos, name, start):
    times, frames = load_video(video_path(videos, name), start_s=start)
    result = _decide(engine, times, frames)
    assert result.passed and result.reason is None, result.scores
    assert result.scores["depth_frames"] >= 6 and result.scores["depth"] >= 0.45
    assert result.scores["turn"] >= 0.08
    assert set(result.timings_ms) >= {"mesh", "track", "total"} and result.frames_used


@pytest.mark.parametrize("name,start", STILL_PEOPLE)
def test_real_person_not_turning_gets_no_depth_motion(engine, videos, name, start):
    times, frames = load_video(video_path(videos, name), start_s=start)
    result = _decide(engine, times, frames)
    assert not result.passed and result.reason == "no_depth_motion", result.scores


# ---- attacks: every kind on every still, every variation on one ---------------------------

@pytest.fixture(scope="module")
def stills(engine, face_images):
    out = {}
    for name in STILLS:
        image = face_images[name]
        image, box = attacks.fit(image, engine.detector.detect(image)[0].box)
        out[name] = (image, box)
    return out


# Random thin-plate warps (``smooth_warp``) move the nose texture off the smooth face field by
# chance, as a nose does: a synthetic 2-D warp can carry the same information as depth, so
# it is a digital-injection attack (frames made on a computer and fed in as a camera), like
# a 3-D rendering, not a picture in front of the camera (see README).  The physical kinds
# are tested on the 3-D check alone; the random warps on the login decision as a whole,
# as a rate over many of them (test_random_warps_*).
PHYSICAL = tuple(k for k in KINDS if k != "smooth_warp")


@pytest.mark.parametrize("still", STILLS)
def test_every_attack_kind_is_refused(engine, stills, still):
    image, box = stills[still]
    made = {}
    for kind, params, make in attacks.variations(image, box):
        made.setdefault(kind, (params, make))
    assert set(made) == set(KINDS)
    passed = []
    for kind, (params, make) in made.items():
        if kind not in PHYSICAL:
            continue
        clip = make()
        result = _decide(engine, [t for t, _ in clip], [f for _, f in clip])
        if result.passed or result.reason not in ("planar", "no_depth_motion"):
            passed.append((kind, params, result.reason, result.scores))
    assert not passed, passed


RANDOM_WARP_STILLS = ("live_T1", "obama_1", "obama_2", "biden_1", "biden_2")
RANDOM_WARP_SEEDS = range(10, 18)


def test_random_warps_rarely_pass_the_login_decision(pipeline, face_images):
    """40 random thin-plate warps (5 stills x 8 seeds, amplitude 0.15 face widths: larger
    ones break the face track) sent with the guided turn.  Measured: 2 of 40 accepted (3
    before the relief fit; 9 with the 3-D check switched off: every warp that fakes the
    turn).  The bound guards that rate: an attacker who can search warps offline with the
    public engine finds one, which is why the README lists synthetic frames injected as a
    camera among what this method does not stop."""
    accepted, refused = [], {}
    for name in RANDOM_WARP_STILLS:
        image = face_images[name]
        found = pipeline.detector.detect(image, side=2 * pipeline.settings.det_side)
        image, box = attacks.fit(image, found[0].box)
        for seed in RANDOM_WARP_SEEDS:
            clip = decode_burst([(t, jpeg(f, 90)) for t, f in
                                 attacks.smooth_warp(image, box, amplitude=0.15, seed=seed)])
            result = pipeline.check_clip(clip, GUIDED_ACTIONS)
            if result.live:
                accepted.append((name, seed))
            else:
                refused[result.reason] = refused.get(result.reason, 0) + 1
    assert len(accepted) + sum(refused.values()) == 40
    assert len(accepted) <= 3, (accepted, refused)
    assert refused.get("planar", 0) + refused.get("no_depth_motion", 0) >= 5, refused


RELIEF_STILL, RELIEF_SEEDS = "obama_1", range(25)


def test_random_warps_faking_parallax_are_refused_by_the_relief_fit(pipeline, face_images):
    """The attack: random thin-plate warps of a still (control points within 0.4 face
    half-widths of its centre) push the nose off the face's smooth field as a nose does, and
    many pass the parallax rule alone.  What refuses most of them: the off-plane motion of
    the face's points must be the face's own relief moving along one direction (``shape``).
    Judged as a login's clip is (``presence_sweep.judge``: JPEG burst, the YuNet track).
    Measured on 300 warps of 6 stills: 77 pass without the relief fit, 32 with it; genuine
    turning windows 111 of 123 either way (``python -m liveness.presence_sweep``)."""
    from liveness.presence_sweep import judge
    image = face_images[RELIEF_STILL]
    found = pipeline.detector.detect(image, side=2 * pipeline.settings.det_side)
    image, box = attacks.fit(image, found[0].box)
    off, on = [], []
    for seed in RELIEF_SEEDS:
        clip = attacks.smooth_warp(image, box, amplitude=0.15, spread=0.4, seed=seed)
        if judge(pipeline, clip, PresenceSettings(shape_min=-np.inf))["passed"]:
            off.append(seed)
            if judge(pipeline, clip)["passed"]:
                on.append(seed)
    assert len(off) >= 8, off          # the attack is real: the parallax rule alone lets these through
    assert len(on) <= len(off) // 3, (off, on)


@pytest.mark.parametrize("still", ["obama_2", "spoof_screen_F2"])
def test_every_attack_variation_is_refused(engine, stills, still):
    image, box = stills[still]
    passed = []
    for kind, params, make in attacks.variations(image, box, attacks.textured_background(seed=5)):
        if kind not in PHYSICAL:
            continue
        clip = make()
        result = _decide(engine, [t for t, _ in clip], [f for _, f in clip])
        if result.passed:
            passed.append((kind, params, result.scores))
    assert not passed, passed


def test_a_photo_over_another_photo_background_is_refused(engine, stills, face_images):
    """The held print moved over a real photographed room (another still's background)."""
    image, box = stills["biden_1"]
    room = attacks.fit(face_images["obama_1"], None, max_side=640)[0]
    for yaw in (20, -30):
        clip = attacks.photo_moved(image, room, box, yaw_deg=yaw, shift=(0.3, 0.05), shake_px=1.0)
        result = _decide(engine, [t for t, _ in clip], [f for _, f in clip])
        assert not result.passed, result.scores


# ---- contract details that need no shared data --------------------------------------------

def test_too_few_faces_is_no_depth_motion():
    frames = [np.zeros((120, 160, 3), np.uint8)] * 10
    result = assess(frames, [None] * 10, [i * 66.0 for i in range(10)], mesh=None)
    assert not result.passed and result.reason == "no_depth_motion"
    assert result.to_dict()["scores"]["faces"] == 0.0


def test_nose_offset_is_in_eye_units():
    eyes_nose = np.array([[100.0, 100.0], [160.0, 100.0], [136.0, 130.0], [0, 0], [0, 0]])
    assert np.allclose(nose_offset(eyes_nose), [0.1, 0.5])
    tilted = eyes_nose.copy()
    tilted[:, [0, 1]] = eyes_nose[:, [1, 0]] * [1, -1]          # the same face rotated 90 degrees
    assert np.allclose(nose_offset(tilted), [0.1, 0.5])


def test_relief_share_tells_one_rigid_relief_from_a_random_field():
    """``shape``: off-plane motion that is the relief times one direction is explained
    whatever the direction and the noise of tracking; a field whose points go their own ways
    (a random warp) is not, even where its nose moves the most."""
    from liveness.presence import _relief_share
    rng = np.random.default_rng(3)
    face = rng.uniform(-1.2, 1.2, (90, 2))
    relief = 0.6 * np.exp(-4 * (face ** 2).sum(1)) - 0.15 * (face ** 2).sum(1)   # nose out, sides back
    ring = np.linalg.norm(face, axis=1) > 0.45
    plane = np.column_stack([np.ones(90), face])

    def off_plane(d):      # what ``_nose_residuals`` hands over: the motion less the ring's affine field
        coef, *_ = np.linalg.lstsq(plane[ring], d[ring], rcond=None)
        return d - plane @ coef

    for c in ([0.12, 0.0], [0.0, -0.08], [0.05, 0.05]):
        d = relief[:, None] * np.array(c) + plane @ rng.normal(0, 0.05, (3, 2))   # a turn + any affine motion
        d += rng.normal(0, 0.004, (90, 2))                                         # tracking noise
        assert _relief_share(face, off_plane(d), relief, ring) > 0.85
    own_ways = 0.6 * np.exp(-4 * (face ** 2).sum(1))[:, None] * rng.normal(0, 0.1, (90, 2))
    assert _relief_share(face, off_plane(own_ways + rng.normal(0, 0.004, (90, 2))), relief, ring) < 0.4


def test_settings_are_explicit():
    s = PresenceSettings()
    assert (s.turn_min, s.plane_min, s.depth_ratio, s.depth_frames) == (0.08, 0.06, 0.45, 6)
    assert s.shape_min == 0.4


def test_cheeks_get_points_when_the_strongest_corners_leave_one_empty(engine, videos):
    """lp_d3 at 0 s: her strongest corners are brows and lashes, none on her left cheek
    beside the nose, so a field fitted to them would be extrapolated down to the nose; the
    cheek switch (``cheek_min``) chooses the corners tile by tile and both cheeks get points."""
    from liveness import flow
    from liveness.face_regions import cheek_counts, face_regions
    from liveness.mesh import roll_from_eyes
    _, frames = load_video(video_path(videos, "lp_d3"), max_s=0.5)
    face = engine.faces(frames[:1])[0]
    mesh_xy = engine.mesh.landmarks(frames[0], face.box, roll_from_eyes(face.landmarks))[:, :2]
    grey = flow.grey(frames[0], 1.0)

    def cheeks(cheek_min):
        r = face_regions(grey, mesh_xy, 100, tiles=4, cheek_min=cheek_min)
        return cheek_counts(r.face[r.ring])

    assert min(cheeks(0)) == 0
    assert min(cheeks(PresenceSettings().cheek_min)) >= 3


def test_eval_labels_a_window_by_how_far_the_head_turned(pipeline, videos):
    """``liveness eval`` counts a real window as a genuine guided turn only when the refined
    landmarks say the head turned (``TURN_LABEL``): lp_d3 turns at 8-12 s, lp_d0 sits still."""
    from liveness.presence_sweep import TURN_LABEL, head_turn
    turning = load_video(video_path(videos, "lp_d3"), start_s=8.0, max_s=4.0)
    still = load_video(video_path(videos, "lp_d0"), start_s=0.0, max_s=3.0)
    assert head_turn(pipeline, list(zip(*turning))) >= TURN_LABEL
    assert head_turn(pipeline, list(zip(*still))) < TURN_LABEL / 2


def test_the_sweep_judges_recordings_and_counts_a_refused_upload_as_refused(pipeline, videos):
    """``presence_sweep --video mp4``: a real turn sent as an MP4 is judged like a burst, and a
    clip the decoder refuses (too short) is a refusal with its reason, not a crash."""
    from liveness.presence_sweep import judge
    times, frames = load_video(video_path(videos, "lp_d3"), start_s=8.0, max_s=4.0)
    clip = list(zip(times, frames))
    assert judge(pipeline, clip, video="mp4")["passed"]
    short = judge(pipeline, clip[:20], video="mp4")       # 15 fps: 1.3 s
    assert short == {"passed": False, "reason": "clip_too_short"}
