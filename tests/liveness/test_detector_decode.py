"""YuNet output decoding and the model wrappers' pre/post-processing, with fake sessions
that return hand-made tensors: no models needed."""
from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest

from liveness.antispoof import MiniFASNet, softmax
from liveness.detector import STRIDES, YuNet
from liveness.embedder import SFace, cosine_similarity


class FakeSession:
    def __init__(self, inputs, outputs, produce):
        self._inputs, self._outputs, self._produce = inputs, outputs, produce
        self.calls = []

    def get_inputs(self):
        return self._inputs

    def get_outputs(self):
        return self._outputs

    def run(self, names, feeds):
        (blob,) = feeds.values()
        self.calls.append(blob)
        out = self._produce(blob)
        return [out[n] for n in names] if names else list(out.values())


def _io(name, shape):
    return SimpleNamespace(name=name, shape=shape)


def yunet_outputs(h, w, faces):
    """Tensors that encode ``faces``: (stride, row, col, cls, obj, dx, dy, log_w, log_h, kps)."""
    out = {}
    for s in STRIDES:
        n = (h // s) * (w // s)
        out[f"cls_{s}"] = np.zeros((1, n, 1), np.float32)
        out[f"obj_{s}"] = np.zeros((1, n, 1), np.float32)
        out[f"bbox_{s}"] = np.zeros((1, n, 4), np.float32)
        out[f"kps_{s}"] = np.zeros((1, n, 10), np.float32)
    for s, r, c, cls, obj, bbox, kps in faces:
        i = r * (w // s) + c
        out[f"cls_{s}"][0, i, 0], out[f"obj_{s}"][0, i, 0] = cls, obj
        out[f"bbox_{s}"][0, i] = bbox
        out[f"kps_{s}"][0, i] = kps
    return out


def make_yunet(faces, fixed=None, **kw):
    names = [f"{k}_{s}" for k in ("cls", "obj", "bbox", "kps") for s in STRIDES]
    shape = [1, 3, fixed[1], fixed[0]] if fixed else [1, 3, "height", "width"]
    session = FakeSession([_io("input", shape)], [_io(n, None) for n in names],
                          lambda blob: yunet_outputs(blob.shape[2], blob.shape[3], faces))
    return YuNet(session, **kw), session


KPS = [0.1, 0.2, 0.9, 0.2, 0.5, 0.6, 0.2, 0.9, 0.8, 0.9]


def test_decoding_matches_the_formula_and_maps_back():
    # 640x480 image at side 320: scale 0.5, padded input 320x256.
    face = (16, 5, 7, 0.9, 0.81, [0.5, 0.25, math.log(4.0), math.log(5.0)], KPS)
    det, session = make_yunet([face], input_side=320, score_threshold=0.5)
    image = np.zeros((480, 640, 3), np.uint8)
    faces = det.detect(image)
    assert session.calls[0].shape == (1, 3, 256, 320)
    assert len(faces) == 1
    f = faces[0]
    assert f.score == pytest.approx(math.sqrt(0.9 * 0.81))
    cx, cy, w, h = (7 + 0.5) * 16, (5 + 0.25) * 16, 4.0 * 16, 5.0 * 16
    assert np.allclose(f.box, np.array([cx - w / 2, cy - h / 2, w, h]) / 0.5, atol=1e-3)
    expect = (np.array(KPS).reshape(5, 2) + [7, 5]) * 16 / 0.5
    assert np.allclose(f.landmarks, expect, atol=1e-3)


def test_threshold_and_nms():
    strong = (8, 10, 10, 0.95, 0.95, [0, 0, math.log(6), math.log(6)], KPS)
    duplicate = (8, 10, 11, 0.9, 0.9, [0, 0, math.log(6), math.log(6)], KPS)   # overlaps strong
    weak = (32, 1, 1, 0.5, 0.5, [0, 0, 0, 0], KPS)                          # score 0.5
    other = (32, 5, 5, 0.9, 0.9, [0, 0, 1, 1], KPS)
    det, _ = make_yunet([strong, duplicate, weak, other], input_side=320, score_threshold=0.8)
    faces = det.detect(np.zeros((320, 320, 3), np.uint8))
    assert len(faces) == 2
    assert faces[0].score == pytest.approx(0.95)
    assert [round(f.score, 2) for f in faces] == [0.95, 0.9]


def test_no_face():
    det, _ = make_yunet([], input_side=320)
    assert det.detect(np.zeros((100, 200, 3), np.uint8)) == []


def test_fixed_input_graph_is_letterboxed_into_its_size():
    face = (32, 2, 3, 1.0, 1.0, [0, 0, 0, 0], KPS)
    det, session = make_yunet([face], fixed=(640, 640), score_threshold=0.5)
    faces = det.detect(np.zeros((720, 1280, 3), np.uint8))
    assert session.calls[0].shape == (1, 3, 640, 640)
    assert faces[0].box[0] == pytest.approx((3 * 32 - 16) / 0.5)
    assert det.refine(np.zeros((720, 1280, 3), np.uint8), faces[0]) is faces[0]


def test_blob_layout_is_bgr_nchw_unnormalised():
    det, session = make_yunet([], input_side=64)
    image = np.zeros((64, 64, 3), np.uint8)
    image[..., 0], image[..., 2] = 10, 250
    det.detect(image)
    blob = session.calls[0]
    assert blob.dtype == np.float32 and blob[0, 0, 0, 0] == 10 and blob[0, 2, 0, 0] == 250


def test_minifasnet_crop_softmax_and_live_class():
    logits = np.array([[0.0, 2.0, -1.0]], np.float32)
    session = FakeSession([_io("input", [1, 3, 80, 80])], [_io("output", [1, 3])],
                          lambda blob: {"output": logits})
    model = MiniFASNet(session, crop_scale=2.7)
    image = np.full((480, 640, 3), 7, np.uint8)
    p = model.live_probability(image, (300, 200, 50, 60))
    assert p == pytest.approx(softmax(logits[0])[1])
    blob = session.calls[0]
    assert blob.shape == (1, 3, 80, 80) and blob.dtype == np.float32 and blob.max() == 7
    assert softmax(np.array([1000.0, 0.0, 0.0])) == pytest.approx([1, 0, 0])


def test_sface_feeds_rgb_and_normalises():
    session = FakeSession([_io("data", [1, 3, 112, 112])], [_io("fc1", [1, 128])],
                          lambda blob: {"fc1": np.full((1, 128), 3.0, np.float32)})
    model = SFace(session)
    image = np.zeros((200, 200, 3), np.uint8)
    image[..., 0] = 255  # pure blue in BGR
    landmarks = np.array([[80, 90], [120, 90], [100, 110], [85, 130], [115, 130]], float)
    v = model.embed(image, landmarks)
    assert v.shape == (128,) and np.linalg.norm(v) == pytest.approx(1.0)
    blob = session.calls[0]
    assert blob[0, 2, 56, 56] == 255 and blob[0, 0, 56, 56] == 0  # blue is the last channel: RGB
    assert cosine_similarity(v, -v) == pytest.approx(-1.0)
    assert cosine_similarity(v, np.zeros(128)) == 0.0
