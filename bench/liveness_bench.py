"""Liveness engine latency on one core: a 640x480 JPEG frame through decode + detect + both
anti-spoof models, and the SFace embedding; then a login clip (4 s of a real person turning,
MP4) through decode + ``check_clip``, per stage, with its CPU time.  Prints median/p95 per
stage, the share of time spent outside InferenceSession.run, and the targets (no assertion:
numbers to read).

    .venv/bin/python bench/liveness_bench.py [--models DIR] [--runs N] [--clip-runs N]
                                             [--image IMG] [--clip VIDEO --actions A,B] [--threads 1]

Install the models first: idp models install --from ../shared/models
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from liveness import bench  # noqa: E402
from liveness.errors import LivenessError  # noqa: E402
from liveness.pipeline import LivenessPipeline  # noqa: E402

TARGETS = {"frame.total": 25.0, "embed.total": 30.0}
CLIP_CPU_TARGET = 400.0   # issue 16: <= 400 ms CPU median per clip on one core
MAX_OVERHEAD = 20.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", default=os.environ.get("IDP_MODELS_DIR", str(ROOT / "models")))
    parser.add_argument("--runs", type=int, default=300)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--image", help="frame to use (default: 640x480 JPEG from live_T1)")
    parser.add_argument("--clip-runs", type=int, default=20)
    parser.add_argument("--clip", help="MP4/WebM clip (default: 4 s of lp_d12, turning left and right)")
    parser.add_argument("--actions", help="the clip's actions, comma-separated")
    args = parser.parse_args()
    try:
        pipeline = LivenessPipeline.from_dir(args.models, threads=args.threads)
    except LivenessError as exc:
        print(f"liveness_bench: {exc}", file=sys.stderr)
        return 2
    data = Path(args.image).read_bytes() if args.image else bench.default_frame()
    report = bench.run(pipeline, data, runs=args.runs, warmup=20)
    print(bench.format_report(report, args.threads))
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())} on {os.cpu_count()} CPUs")
    for stage, limit in TARGETS.items():
        median = report[stage]["median"]
        print(f"target {stage} median <= {limit:.0f} ms: {median:.2f} ms "
              f"{'met' if median <= limit else 'MISSED'}")
    for key, value in report["overhead_percent"].items():
        print(f"target overhead ({key}) <= {MAX_OVERHEAD:.0f}%: {value:.1f}% "
              f"{'met' if value <= MAX_OVERHEAD else 'MISSED'}")
    if args.clip_runs > 0:
        if args.clip:
            clip, actions = Path(args.clip).read_bytes(), (args.actions or "turn_either").split(",")
        else:
            clip, actions = bench.default_clip()
        clip_report = bench.run_clip(pipeline, clip, actions, runs=args.clip_runs)
        print(bench.format_clip_report(clip_report))
        cpu = clip_report["clip.cpu"]["median"]
        print(f"target clip CPU median <= {CLIP_CPU_TARGET:.0f} ms: {cpu:.0f} ms "
              f"{'met' if cpu <= CLIP_CPU_TARGET else 'MISSED'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
