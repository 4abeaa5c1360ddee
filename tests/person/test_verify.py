"""What the audit trail keeps of a clip result is strict JSON (PostgreSQL's json type refuses
NaN and Infinity, and a refused audit write would fail the login with a 500)."""
import json

import numpy as np

from idp.person.verify import Verdict, _detail

from .conftest import FakeResult


def test_audit_details_are_strict_json():
    result = FakeResult(False, "planar", score=float("nan"))
    result.presence = {"passed": np.bool_(False), "scores": {
        "bg_coupled": float("nan"), "residual": np.float32(0.0712), "ratio": float("inf"),
        "frames_used": [np.int64(3), 7]}}
    result.fps = np.float64(14.7)
    verdict = Verdict(ok=False, live=False, reason="planar", score=result.score, similarity=None,
                      face_match=None, actions_passed=True, detail=_detail(result))
    details = verdict.audit_details()
    text = json.dumps(details, allow_nan=False)
    assert details["score"] is None and details["fps"] == 14.7
    assert details["presence"] == {"passed": False, "scores": {
        "bg_coupled": None, "residual": 0.0712, "ratio": None, "frames_used": [3, 7]}}
    assert "NaN" not in text
