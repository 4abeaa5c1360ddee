"""The ``liveness`` command.

    liveness check IMAGE... [--reference IMG] [--actions A,B] [--models DIR]
    liveness clip VIDEO [--actions A,B|guided] [--reference IMG] [--models DIR]
    liveness eval [--quick] [--json] [--shared DIR]
    liveness bench [--image IMG] [--runs N] [--threads N] [--json]
    liveness bench --clip [VIDEO] [--actions A,B] [--runs N]
    liveness models install [--from DIR]... [--download]
    liveness models verify

``check`` prints one JSON object per line per image (one for the whole sequence with
``--actions``); ``clip`` one JSON object for an MP4/WebM clip (``ClipResult``, the only
way to a live login result); exit status 0 when every result passed, 1 when one did not,
2 on usage errors, unreadable reference photos, clips breaking a limit or missing models.
``eval`` prints the APCER/BPCER table of ``liveness.evaluate``.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from .errors import LivenessError, TemplateError

DEFAULT_MODELS = os.environ.get("IDP_MODELS_DIR", "models")


def _pipeline(args):
    from .pipeline import LivenessPipeline
    return LivenessPipeline.from_dir(args.models, threads=args.threads)


def _read(path: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise SystemExit(f"liveness: cannot read {path}: {exc.strerror}") from None


def _emit(obj: dict) -> None:
    sys.stdout.write(json.dumps(obj, ensure_ascii=False) + "\n")


def _reference(pipeline, args):
    """The ``--reference`` template, None without one, False (reported) when unusable."""
    if not args.reference:
        return None
    try:
        return pipeline.make_template(_read(args.reference))
    except TemplateError as exc:
        _emit({"file": args.reference, "error": "bad_reference", "reason": exc.reason,
               "detail": exc.detail})
        return False


def _check(args) -> int:
    pipeline = _pipeline(args)
    reference = _reference(pipeline, args)
    if reference is False:
        return 2
    if args.actions is not None:
        actions = [a.strip() for a in args.actions.split(",") if a.strip()]
        res = pipeline.check_session([_read(f) for f in args.images], actions=actions,
                                     reference=reference)
        _emit({"file": args.images, "live": res.live, "score": res.score, "reason": res.reason,
               "detail": res.detail, "faces": [f.faces for f in res.frames], "match": res.match,
               "actions": res.actions, "actions_passed": res.actions_passed,
               "action_frames": res.action_frames, "best_frame": res.best_frame,
               "frames": [_frame_summary(f) for f in res.frames], "timings_ms": res.to_dict()["timings_ms"]})
        return 0 if res.ok else 1
    failed = False
    for path in args.images:
        res = pipeline.check_frame(_read(path), reference=reference)
        failed |= not (res.live and (reference is None or (res.match or {}).get("same", False)))
        _emit({"file": path, **_frame_summary(res), "match": res.match,
               "timings_ms": res.to_dict()["timings_ms"]})
    return 1 if failed else 0


def _actions(text: str | None) -> list[str]:
    from .challenge import GUIDED_ACTIONS
    if text is None or text == "guided":
        return list(GUIDED_ACTIONS)
    return [a.strip() for a in text.split(",") if a.strip()]


def _clip(args) -> int:
    from .clip import ClipError, decode_video
    pipeline = _pipeline(args)
    reference = _reference(pipeline, args)
    if reference is False:
        return 2
    try:
        clip = decode_video(_read(args.video))
    except ClipError as exc:
        _emit({"file": args.video, "live": False, "reason": exc.reason, "detail": exc.detail})
        return 2
    res = pipeline.check_clip(clip, _actions(args.actions), reference=reference)
    _emit({"file": args.video, **res.to_dict()})
    return 0 if res.ok else 1


def _eval(args) -> int:
    from . import evaluate
    shared = Path(args.shared) if args.shared else evaluate.shared_dir()
    if not (shared / "data" / "videos").is_dir():
        raise SystemExit(f"liveness: no videos in {shared / 'data' / 'videos'} (pass --shared)")
    progress = None if args.json else (lambda line: print(line, file=sys.stderr))
    report = evaluate.run(_pipeline(args), shared, quick=args.quick, progress=progress)
    if args.json:
        print(json.dumps({"rows": report.rows(), "trials": [vars(t) for t in report.trials]}, indent=2))
    else:
        print(evaluate.format_table(report))
    return 0


def _frame_summary(res) -> dict:
    return {"live": res.live, "score": res.score, "reason": res.reason, "detail": res.detail,
            "faces": res.faces, "scores": res.scores, "quality": res.quality}


def _bench(args) -> int:
    from . import bench
    if args.clip is not None:
        if args.clip:
            data, actions = _read(args.clip), _actions(args.actions)
        else:
            data, actions = bench.default_clip()
            actions = _actions(args.actions) if args.actions else actions
        report = bench.run_clip(_pipeline(args), data, actions, runs=args.runs, warmup=2)
        print(json.dumps(report, indent=2) if args.json else bench.format_clip_report(report))
        return 0
    data = _read(args.image) if args.image else bench.default_frame()
    report = bench.run(_pipeline(args), data, runs=args.runs, warmup=args.warmup)
    print(json.dumps(report, indent=2) if args.json else bench.format_report(report, args.threads))
    return 0


def _models(args) -> int:
    from . import models
    if args.models_command == "install":
        def progress(done: int, total: int, name: str) -> None:
            if done < total:
                print(f"[{done + 1}/{total}] {name}", file=sys.stderr)
        try:
            statuses = models.install(args.models, from_dirs=args.from_dirs,
                                      download=args.download, progress=progress)
        except LivenessError as exc:
            for s in getattr(exc, "statuses", []):
                _emit(s.to_dict())
            raise
    else:
        statuses = models.verify(args.models)
    for s in statuses:
        _emit(s.to_dict())
    return 0 if all(s.ok for s in statuses) else 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="liveness", description="Face liveness engine")
    sub = parser.add_subparsers(dest="command", required=True)

    def common(p):
        p.add_argument("--models", default=DEFAULT_MODELS, help="models directory (default: %(default)s)")
        p.add_argument("--threads", type=int, default=1, help="onnxruntime intra-op threads")

    check = sub.add_parser("check", help="check images, one JSON line per image")
    check.add_argument("images", nargs="+", metavar="IMAGE")
    check.add_argument("--reference", metavar="IMG", help="photo to match the faces against")
    check.add_argument("--actions", metavar="A,B",
                       help="treat the images as one session with these actions, in order")
    common(check)
    check.set_defaults(func=_check)

    bench = sub.add_parser("bench", help="per-stage latency (median, p95)")
    bench.add_argument("--image", help="JPEG/PNG/WebP frame (default: a 640x480 frame from the shared live sample)")
    bench.add_argument("--runs", type=int, default=200)
    bench.add_argument("--warmup", type=int, default=10)
    bench.add_argument("--json", action="store_true")
    bench.add_argument("--clip", nargs="?", const="", metavar="VIDEO",
                       help="time check_clip per stage instead (default clip: 4 s of lp_d12)")
    bench.add_argument("--actions", metavar="A,B", help="actions for --clip (default: those performed)")
    common(bench)

    clip = sub.add_parser("clip", help="check one MP4/WebM clip, one JSON object")
    clip.add_argument("video", metavar="VIDEO")
    clip.add_argument("--actions", metavar="A,B", help="asked actions in order, or 'guided' (default)")
    clip.add_argument("--reference", metavar="IMG", help="photo to match every embedded frame against")
    common(clip)
    clip.set_defaults(func=_clip)

    ev = sub.add_parser("eval", help="APCER per attack kind and BPCER on the shared clips")
    ev.add_argument("--quick", action="store_true", help="a few clips of each kind")
    ev.add_argument("--json", action="store_true")
    ev.add_argument("--shared", metavar="DIR", help="the shared data folder (default: ../shared)")
    common(ev)
    ev.set_defaults(func=_eval)
    bench.set_defaults(func=_bench)

    models = sub.add_parser("models", help="install or verify the model files")
    msub = models.add_subparsers(dest="models_command", required=True)
    install = msub.add_parser("install", help="write the runnable model files into --models")
    install.add_argument("--from", dest="from_dirs", action="append", default=[], metavar="DIR",
                         help="directory holding upstream model files (repeatable)")
    install.add_argument("--download", action="store_true", help="fetch missing files from upstream")
    install.add_argument("--models", default=DEFAULT_MODELS)
    verify = msub.add_parser("verify", help="check the installed files against the manifest")
    verify.add_argument("--models", default=DEFAULT_MODELS)
    models.set_defaults(func=_models)
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except LivenessError as exc:
        print(f"liveness: {exc}", file=sys.stderr)
        return 2
    except ValueError as exc:
        print(f"liveness: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
