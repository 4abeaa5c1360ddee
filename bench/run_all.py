"""Run the benchmarks that are available and print one summary table.

    python bench/run_all.py [--quick] [--skip token,codeflow,mix,liveness,elicense,person]

The token/discovery/JWKS benchmark (issues 2 and 14) and the code-flow benchmark (issue 14)
measure against node-oidc-provider (installed with npm on first use, bench/peer.py); they
and the mix benchmark (issue 7) need PostgreSQL (IDP_BENCH_PG_URL), Redis
(IDP_BENCH_REDIS_URL) and wrk; the liveness, licence
and person benchmarks run as their own scripts and their output is shown as they print it.
Benchmarks print numbers; nothing here asserts.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from bench.common import machine, print_table  # noqa: E402

OTHER_SCRIPTS = {"liveness": "liveness_bench.py", "elicense": "elicense_bench.py",
                 "person": "person_bench.py"}


def _script(name: str, script: str, quick: bool) -> dict:
    path = HERE / script
    if not path.exists():
        return {"bench": name, "result": "not present", "target": "-", "status": "skipped"}
    args = [sys.executable, str(path)]
    if quick and name == "liveness":
        args += ["--runs", "60", "--clip-runs", "5"]
    if quick and name == "person":
        args += ["--logins", "30", "--decisions", "10", "--configs", "sync:2x1"]
    started = time.monotonic()
    done = subprocess.run(args, cwd=HERE.parent, capture_output=True, text=True, timeout=1800,
                          env={**os.environ, "PYTHONPATH": str(HERE.parent)})
    print(f"\n--- {script} (exit {done.returncode}, {time.monotonic() - started:.0f} s)")
    print(done.stdout.rstrip() or done.stderr.rstrip()[-2000:])
    return {"bench": name, "result": f"see {script} output above", "target": "-",
            "status": "ran" if done.returncode == 0 else f"exit {done.returncode}"}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="shorter runs")
    parser.add_argument("--skip", default="", help="comma-separated: token,codeflow,mix,liveness,elicense,person")
    args = parser.parse_args(argv)
    skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    seconds = 5 if args.quick else 10
    print(f"benchmarks on {machine()}")
    summary = []
    if "token" not in skip:
        from bench import token_bench
        try:
            rows = token_bench.main(["--rounds", "3", "--seconds", "3" if args.quick else "5"])
            for r in rows:
                summary.append({"bench": f"{r['endpoint']} vs node-oidc-provider [{r['shape']}]",
                                "result": f"{r.get('ratio', '-')} ({r['ours']:.0f}/s vs "
                                          f"{r.get('peer') or 0:.0f}/s), p99 {r['p99_ours']:.1f} ms",
                                "target": (r.get("goal") or "- -").split(" ", 1)[1],
                                "status": (r.get("goal") or "-").split(" ", 1)[0]})
        except Exception as exc:  # a missing service or tool: say so and go on
            summary.append({"bench": "token/discovery/JWKS", "result": f"failed: {exc}",
                            "target": "-", "status": "error"})
    if "codeflow" not in skip:
        from bench import codeflow_bench
        try:
            ratios = codeflow_bench.main(["--rounds", "3", "--seconds", "4" if args.quick else "8"])
            for adapter, ratio in ratios.items():
                summary.append({"bench": "code flow (authorize, code, userinfo, refresh) vs "
                                         f"node-oidc-provider ({adapter} adapter)",
                                "result": f"{ratio:.2f}x flows/s", "target": ">=1.0x",
                                "status": "met" if ratio >= 1.0 else "MISSED"})
        except Exception as exc:
            summary.append({"bench": "code flow", "result": f"failed: {exc}", "target": "-",
                            "status": "error"})
    if "mix" not in skip:
        from bench import mix_bench
        try:
            rows, met = mix_bench.main(["--seconds", str(seconds * 2)])
            overall = rows[-1]
            summary.append({"bench": "mix (cc, licence login, refresh, introspect, discovery, JWKS)",
                            "result": f"{overall['rps']:.0f}/s p50 {overall['p50']:.1f} ms "
                                      f"p99 {overall['p99']:.1f} ms, {overall['errors']} errors",
                            "target": ">=800/s, p99<=50ms, no errors",
                            "status": "met" if met else "MISSED"})
        except Exception as exc:
            summary.append({"bench": "mix", "result": f"failed: {exc}", "target": "-",
                            "status": "error"})
    for name, script in OTHER_SCRIPTS.items():
        if name not in skip:
            summary.append(_script(name, script, args.quick))
    print_table("summary", summary, [("bench", "benchmark"), ("result", "result"),
                                     ("target", "target"), ("status", "status")])
    return 0


if __name__ == "__main__":
    sys.exit(main())
