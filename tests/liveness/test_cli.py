"""The ``liveness`` command line."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from liveness.cli import main

from .conftest import ROOT
from .test_session import obama_poses  # noqa: F401  (fixture)


def _lines(capsys):
    return [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.strip()]


def test_check_prints_one_json_line_per_image(models_dir, faces_dir, capsys):
    files = [str(faces_dir / "live_T1.jpg"), str(faces_dir / "spoof_screen_F2.jpg")]
    assert main(["check", *files, "--models", str(models_dir)]) == 1  # one of them fails
    live, screen = _lines(capsys)
    assert live["file"] == files[0] and live["live"] is True and live["reason"] is None
    assert screen["live"] is False and screen["reason"] == "spoof" and 0 <= screen["score"] < 0.5
    for row in (live, screen):
        assert row["faces"] == 1 and row["match"] is None and "total" in row["timings_ms"]


def test_check_with_reference(models_dir, faces_dir, capsys):
    args = ["check", str(faces_dir / "obama_2.jpg"), str(faces_dir / "biden_1.jpg"),
            "--reference", str(faces_dir / "obama_1.jpg"), "--models", str(models_dir)]
    assert main(args) == 1
    same, other = _lines(capsys)
    assert same["match"]["same"] is True and other["match"]["same"] is False
    assert isinstance(same["match"]["similarity"], float)


def test_check_bad_reference(models_dir, faces_dir, tmp_path, capsys):
    blank = tmp_path / "blank.jpg"
    blank.write_bytes(b"nothing")
    assert main(["check", str(faces_dir / "obama_2.jpg"), "--reference", str(blank),
                 "--models", str(models_dir)]) == 2
    assert _lines(capsys)[0]["reason"] == "bad_image"


def test_check_sequence_with_actions(models_dir, obama_poses, tmp_path, capsys):  # noqa: F811
    files = []
    for name in ("base", "turn_left", "look_down"):
        path = tmp_path / f"{name}.jpg"
        path.write_bytes(obama_poses[name])
        files.append(str(path))
    assert main(["check", *files, "--actions", "turn_left,look_down", "--models", str(models_dir)]) == 0
    (row,) = _lines(capsys)
    assert row["file"] == files and row["live"] is True and row["actions_passed"] is True
    assert row["faces"] == [1, 1, 1] and row["reason"] is None


def test_check_bad_image_is_a_result(models_dir, tmp_path, capsys):
    junk = tmp_path / "junk.jpg"
    junk.write_bytes(b"\xff\xd8\xff garbage")
    assert main(["check", str(junk), "--models", str(models_dir)]) == 1
    (row,) = _lines(capsys)
    assert row["reason"] == "bad_image" and row["faces"] == 0 and row["live"] is False


def test_missing_models_exit_2(tmp_path, faces_dir, capsys):
    assert main(["check", str(faces_dir / "live_T1.jpg"), "--models", str(tmp_path)]) == 2
    assert "idp models install --from ../shared/models" in capsys.readouterr().err


def test_models_verify_and_install(models_dir, tmp_path, capsys):
    assert main(["models", "verify", "--models", str(models_dir)]) == 0
    rows = _lines(capsys)
    assert {r["model"] for r in rows} == {"detector", "antispoof_v2", "antispoof_v1se",
                                          "recognizer", "mesh"}
    assert all(r["ok"] for r in rows)
    assert main(["models", "install", "--models", str(tmp_path / "m"), "--from", str(tmp_path)]) == 2
    out = capsys.readouterr()
    assert "cannot install" in out.err and '"status": "missing"' in out.out


def test_bench_reports_stages(models_dir, capsys):
    assert main(["bench", "--models", str(models_dir), "--runs", "3", "--warmup", "1", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    for stage in ("frame.decode", "frame.detect", "frame.antispoof", "frame.total", "embed.total"):
        assert report[stage]["median"] > 0 and report[stage]["p95"] >= report[stage]["median"]
    assert 0 < report["overhead_percent"]["frame"] < 100


def test_entry_point_runs(models_dir):
    out = subprocess.run([sys.executable, "-m", "liveness.cli", "models", "verify", "--models",
                          str(models_dir)], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert len(out.stdout.splitlines()) == 5   # one line per model of the manifest


def test_usage_error():
    with pytest.raises(SystemExit) as info:
        main(["check"])
    assert info.value.code == 2


def test_clip_prints_one_json_object(models_dir, tmp_path, capsys):
    from .genuine import clip_bytes
    path = tmp_path / "turn.mp4"
    path.write_bytes(clip_bytes("d3"))
    code = main(["clip", str(path), "--actions", "turn_left", "--models", str(models_dir)])
    doc = _lines(capsys)[0]
    assert doc["file"] == str(path) and doc["actions"] == ["turn_left"]
    assert code == (0 if doc["ok"] else 1) and doc["frames"] > 30 and "timings_ms" in doc
    path.write_bytes(b"GIF89a" + b"\0" * 100)
    assert main(["clip", str(path), "--models", str(models_dir)]) == 2
    assert _lines(capsys)[0]["reason"] == "unsupported_format"


def test_bench_clip_reports_stages(models_dir, capsys):
    from .genuine import window
    window("d12")   # skips without the shared videos
    assert main(["bench", "--clip", "--models", str(models_dir), "--runs", "1", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert {"clip.decode", "clip.track", "clip.total", "clip.cpu", "clip.wall"} <= set(report)


def test_eval_table_format():
    from liveness.evaluate import Report, Trial, format_table
    report = Report([Trial("genuine", "asked_actions", "d3", True, None, 300.0),
                     Trial("genuine", "asked_actions", "d9", False, "planar", 310.0),
                     Trial("attack", "zoom", "obama", False, "planar", 200.0),
                     Trial("attack", "zoom", "obama 2", True, None, 200.0)])
    rows = {r["kind"]: r for r in report.rows()}
    assert rows["asked_actions"]["metric"] == "BPCER" and rows["asked_actions"]["rate"] == 0.5
    assert rows["zoom"]["metric"] == "APCER" and rows["zoom"]["rate"] == 0.5
    table = format_table(report)
    assert "APCER" in table and "BPCER" in table and "1 of 2 accepted" in table


def test_eval_without_videos_is_a_usage_error(tmp_path):
    with pytest.raises(SystemExit) as info:
        main(["eval", "--shared", str(tmp_path)])
    assert "no videos" in str(info.value)
