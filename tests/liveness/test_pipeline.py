"""The pipeline on the shared photos (7 images) and on inputs derived from them."""
from __future__ import annotations

import io
import json
import struct
import zlib
from concurrent.futures import ThreadPoolExecutor

import cv2
import numpy as np
import pytest
from PIL import Image

from liveness import LivenessPipeline, Settings, TemplateError

from .conftest import jpeg, png
from .transforms import rotate, side_by_side

PRESS = ("obama_1", "obama_2", "biden_1", "biden_2")


def test_live_sample_passes(pipeline, face_bytes):
    r = pipeline.check_frame(face_bytes["live_T1"])
    assert r.live and r.reason is None, r.to_dict()
    assert r.faces == 1 and r.score > 0.99
    assert set(r.scores) == {"antispoof_v2", "antispoof_v1se"}
    assert r.score == pytest.approx(np.mean(list(r.scores.values())))


def test_attacks_fail(pipeline, face_bytes):
    printed = pipeline.check_frame(face_bytes["spoof_print_F1"])
    screen = pipeline.check_frame(face_bytes["spoof_screen_F2"])
    assert not printed.live and printed.score < 0.5
    # The print is held at an angle: the pose gate may speak before the spoof score does.
    assert printed.reason in ("spoof", "bad_pose")
    assert not screen.live and screen.reason == "spoof" and screen.score < 0.05


def test_press_photos_score_live(pipeline, face_bytes):
    """The known limit: a passive model cannot tell an injected digital photo from a capture."""
    for name in PRESS:
        assert pipeline.check_frame(face_bytes[name]).live, name


def test_same_person_matches_and_different_people_do_not(pipeline, face_bytes):
    t = {n: pipeline.make_template(face_bytes[n]) for n in PRESS}
    for n, v in t.items():
        assert v.dtype == np.float32 and v.shape == (128,) and np.linalg.norm(v) == pytest.approx(1, abs=1e-5)
    assert pipeline.compare(t["obama_1"], t["obama_2"])["same"]
    assert pipeline.compare(t["biden_1"], t["biden_2"])["same"]
    for a in ("obama_1", "obama_2"):
        for b in ("biden_1", "biden_2"):
            m = pipeline.compare(t[a], t[b])
            assert not m["same"] and m["similarity"] < 0.363, (a, b, m)


def test_check_frame_with_reference(pipeline, face_bytes):
    ref = pipeline.make_template(face_bytes["obama_1"])
    same = pipeline.check_frame(face_bytes["obama_2"], reference=ref)
    other = pipeline.check_frame(face_bytes["biden_1"], reference=ref)
    assert same.match["same"] and same.match["similarity"] > 0.5
    assert not other.match["same"]
    assert "embed" in same.timings_ms


def test_make_template_reasons(pipeline, face_images, face_bytes):
    cases = {
        "no_face": jpeg(np.full((480, 640, 3), 128, np.uint8)),
        "multiple_faces": jpeg(side_by_side(face_images["obama_1"], face_images["biden_1"])),
        "bad_image": b"\x89PNG\r\n\x1a\n" + b"\x00" * 40,
        "face_too_small": jpeg(cv2.resize(face_images["obama_1"], None, fx=0.1, fy=0.1)),
    }
    for reason, data in cases.items():
        with pytest.raises(TemplateError) as info:
            pipeline.make_template(data)
        assert info.value.reason == reason


QUALITY_CASES = {
    "blurred": lambda img: cv2.GaussianBlur(img, (0, 0), 8),
    "too_dark": lambda img: cv2.convertScaleAbs(img, alpha=0.2),
    "overexposed": lambda img: cv2.convertScaleAbs(img, alpha=2.0, beta=60),
    "face_too_small": lambda img: cv2.resize(img, None, fx=0.25, fy=0.25, interpolation=cv2.INTER_AREA),
    "bad_pose": lambda img: rotate(img, 40),
    "no_face": lambda img: np.full_like(img, 128),
}


@pytest.mark.parametrize("reason", sorted(QUALITY_CASES))
def test_quality_reasons(pipeline, face_images, reason):
    r = pipeline.check_frame(jpeg(QUALITY_CASES[reason](face_images["obama_1"])))
    assert r.reason == reason and not r.live, r.to_dict()


def test_multiple_faces(pipeline, face_images):
    r = pipeline.check_frame(jpeg(side_by_side(face_images["obama_1"], face_images["biden_1"])))
    assert r.reason == "multiple_faces" and r.faces == 2


def test_roll_is_measured(pipeline, face_images):
    for degrees in (-40, 25):
        r = pipeline.check_frame(jpeg(rotate(face_images["obama_1"], degrees)))
        # cv2 rotates counter-clockwise for positive angles; roll > 0 is clockwise
        assert r.quality["roll"] == pytest.approx(-degrees, abs=8)


def test_quality_thresholds_are_configurable(pipeline, face_bytes):
    strict = LivenessPipeline(pipeline.detector, pipeline.antispoof, pipeline.embedder,
                              Settings(min_face_px=1000))
    assert strict.check_frame(face_bytes["obama_1"]).reason == "face_too_small"
    lax = LivenessPipeline(pipeline.detector, pipeline.antispoof, pipeline.embedder,
                           Settings(live=0.001, max_yaw=60))
    assert lax.check_frame(face_bytes["spoof_screen_F2"]).live


def _bomb_png(width, height):
    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\x00" * 1024)) + chunk(b"IEND", b""))


def test_bad_inputs_give_reasons_not_exceptions(pipeline, face_bytes):
    good = face_bytes["obama_1"]
    cases = {
        "truncated": (good[: len(good) // 2], "bad_image"),
        "random": (np.random.default_rng(5).bytes(20_000), "bad_image"),
        "zero bytes": (b"", "bad_image"),
        "bomb": (_bomb_png(60_000, 60_000), "image_too_large"),
        "gif": (b"GIF89a" + b"\x00" * 50, "unsupported_format"),
        "none": (None, "bad_image"),
    }
    for label, (data, reason) in cases.items():
        r = pipeline.check_frame(data)
        assert (r.live, r.reason) == (False, reason), label
        json.dumps(r.to_dict())
    small = LivenessPipeline(pipeline.detector, pipeline.antispoof, pipeline.embedder,
                             Settings(max_bytes=len(good) - 1))
    assert small.check_frame(good).reason == "image_too_large"
    few_pixels = LivenessPipeline(pipeline.detector, pipeline.antispoof, pipeline.embedder,
                                  Settings(max_pixels=100_000))
    assert few_pixels.check_frame(good).reason == "image_too_large"


def test_other_encodings_are_read(pipeline, face_images):
    img = face_images["obama_1"]
    gray = pipeline.check_frame(jpeg(cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)))
    assert gray.faces == 1 and gray.reason in (None, "spoof")  # colourless faces can look printed
    rgba = np.dstack([cv2.cvtColor(img, cv2.COLOR_BGR2RGB), np.full(img.shape[:2], 255, np.uint8)])
    for data in (png(img), _pil(Image.fromarray(rgba, "RGBA"), "PNG"),
                 _pil(Image.fromarray(rgba[..., :3]), "WEBP", quality=90)):
        r = pipeline.check_frame(data)
        assert r.live and r.faces == 1, r.format


def _pil(image, fmt, **kw):
    buf = io.BytesIO()
    image.save(buf, fmt, **kw)
    return buf.getvalue()


def test_exif_rotated_jpeg(pipeline, face_bytes, face_images):
    # live_T1.jpg is stored landscape with EXIF orientation 6 (a phone held upright).
    r = pipeline.check_frame(face_bytes["live_T1"])
    assert (r.width, r.height) == (480, 640) and r.live
    # obama_1 stored rotated, with the EXIF tag that turns it upright again.
    stored = np.ascontiguousarray(np.rot90(face_images["obama_1"], k=1))  # 90 deg counter-clockwise
    exif = Image.Exif()
    exif[0x0112] = 6                                                       # display: rotate clockwise
    data = _pil(Image.fromarray(cv2.cvtColor(stored, cv2.COLOR_BGR2RGB)), "JPEG", exif=exif.tobytes(), quality=95)
    upright = pipeline.check_frame(jpeg(face_images["obama_1"], 95))
    rotated = pipeline.check_frame(data)
    assert rotated.live and abs(rotated.quality["roll"]) < 10
    assert np.allclose(rotated.box, upright.box, atol=12)


def test_results_are_json(pipeline, face_bytes):
    d = pipeline.check_frame(face_bytes["obama_1"], reference=pipeline.make_template(face_bytes["obama_2"])).to_dict()
    assert json.loads(json.dumps(d)) == d
    assert {"live", "score", "reason", "faces", "match", "timings_ms", "quality"} <= set(d)
    assert {"decode", "detect", "quality", "antispoof", "total"} <= set(d["timings_ms"])


def test_concurrent_results_equal_serial(pipeline, face_bytes, face_images):
    inputs = list(face_bytes.values()) + [jpeg(rotate(face_images["obama_1"], 20)), b"junk"]
    ref = pipeline.make_template(face_bytes["obama_1"])

    def run(data):
        d = pipeline.check_frame(data, reference=ref).to_dict()
        d.pop("timings_ms")
        return d

    serial = [run(d) for d in inputs]
    with ThreadPoolExecutor(max_workers=8) as pool:
        for _ in range(3):
            assert list(pool.map(run, inputs * 2)) == serial * 2
