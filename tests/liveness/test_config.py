"""Settings: defaults, validation, and how from_dir takes thresholds."""
from __future__ import annotations

import pytest

from liveness import LivenessPipeline
from liveness.config import Settings


def test_defaults_and_validation():
    assert Settings().live == 0.5 and Settings().match == 0.363
    for bad in ({"live": 1.5}, {"det_side": 300}, {"closer_factor": 1.0}, {"max_frames": 0},
                {"decode_side": 0}, {"refine_face_px": -1}, {"match": 2.0}):
        with pytest.raises(ValueError):
            Settings(**bad)


def test_unknown_threshold_is_refused_before_loading(tmp_path):
    with pytest.raises(TypeError, match="nonsense"):
        LivenessPipeline.from_dir(tmp_path, nonsense=1)


def test_from_dir_thresholds(models_dir):
    p = LivenessPipeline.from_dir(models_dir, threads=2, live=0.9, max_yaw=20)
    assert (p.settings.live, p.settings.max_yaw) == (0.9, 20)
    assert p.settings.match == p.manifest["recognizer"].thresholds["match"] == 0.363
    assert p.detector.score_threshold == p.manifest["detector"].thresholds["det_score"]
    assert [m.crop_scale for m in p.antispoof.models] == [2.7, 4.0]
