"""Issue 15: what signed audit checkpoints cost, measured against the same OP without them.

Alternates servers with checkpoints at the default interval (``IDP_AUDIT_CHECKPOINT_EVENTS``
1000, ``IDP_AUDIT_CHECKPOINT_SECONDS`` 60, file sink) and with checkpoints off, round after
round in one run, and reports each rate's median and the on/off ratio:

* client-credentials tokens/s (wrk; not audited one by one, so only the timer applies);
* refused token requests/s (wrk, wrong secret): every one is an audit event, the densest
  stream the trail gets, so checkpoints are made as often as the interval allows;
* full person logins/s (``person_bench``'s login: page, ID number, three frames, token);

and, first, the CPU one checkpoint over 1,000 new events costs in-process (re-hash, sign,
store, file sink), which the machine's other load disturbs far less.

    python bench/checkpoint_bench.py [--rounds 3] [--seconds 8] [--logins 150] [--no-person]

PostgreSQL (a throw-away database).  Prints numbers; asserts nothing.  On a shared machine
compare the ratios, not the absolute rates.
"""
from __future__ import annotations

import argparse
import base64
import statistics
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from types import SimpleNamespace

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import (Deployment, Server, dump_json, machine, pg_database,  # noqa: E402
                          print_table, token_script, wrk)

VARIANTS = {"on": {}, "off": {"IDP_AUDIT_CHECKPOINT_EVENTS": "0", "IDP_AUDIT_CHECKPOINT_SECONDS": "0"}}


def refused_script(workdir: Path, client_id: str) -> Path:
    basic = base64.b64encode(f"{client_id}:wrong-secret".encode()).decode()
    path = workdir / "refused.lua"
    path.write_text('wrk.method = "POST"\n'
                    'wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"\n'
                    f'wrk.headers["Authorization"] = "Basic {basic}"\n'
                    'wrk.body = "grant_type=client_credentials"\n')
    return path


def checkpoints(deployment) -> int:
    from sqlalchemy import func, select

    from idp.store.models import AuditCheckpoint
    with deployment.app.extensions["idp"].db.session(write=False) as s:
        return s.scalar(select(func.count()).select_from(AuditCheckpoint)) or 0


def micro(deployment, events: int = 1000, repeats: int = 7) -> dict:
    """CPU and wall time of one checkpoint over ``events`` new events, in this process: a
    figure the machine's other load disturbs far less than the rates."""
    from idp.oidc.auditlog import append_events
    state = deployment.app.extensions["idp"]
    cp = state.services["checkpoints"]
    cpu, wall = [], []
    for r in range(repeats):
        with state.db.session() as s:
            append_events(s, [{"event": "bench.event", "outcome": "info", "ts": time.time(),
                               "details": {"r": r, "n": i}} for i in range(events)])
        c0, w0 = time.process_time(), time.perf_counter()
        cp.checkpoint()
        cpu.append((time.process_time() - c0) * 1000)
        wall.append((time.perf_counter() - w0) * 1000)
    return {"events": events, "cpu_ms": statistics.median(cpu), "wall_ms": statistics.median(wall),
            "us_per_event": statistics.median(cpu) * 1000 / events}


def one_round(deployment, variant, args, scripts, person) -> dict:
    env = SimpleNamespace(env={**deployment.env, **VARIANTS[variant]})
    kind, _, shape = args.config.partition(":")
    workers, _, threads = shape.partition("x")
    row = {"variant": variant}
    made = checkpoints(deployment)
    with Server(env, workers=int(workers), threads=int(threads), worker_class=kind) as server:
        for _ in range(20):
            urllib.request.urlopen(server.url + "/jwks.json", timeout=5).read()
        wrk(server.url + "/token", seconds=2, connections=args.connections, script=scripts["ok"])
        row["tokens"] = wrk(server.url + "/token", seconds=args.seconds,
                            connections=args.connections, script=scripts["ok"])["rps"]
        row["refused"] = wrk(server.url + "/token", seconds=args.seconds,
                             connections=args.connections, script=scripts["refused"])["rps"]
        if person is not None:
            from bench.person_bench import measure
            rp, people, frames = person
            row["logins"] = measure(server, deployment.env["IDP_ISSUER"], rp, people, frames,
                                    args.logins, args.concurrency)["rate"]
    row["checkpoints"] = checkpoints(deployment) - made
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--logins", type=int, default=150)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--persons", type=int, default=10)
    parser.add_argument("--config", default="gthread:2x4")
    parser.add_argument("--no-person", action="store_true", help="skip person logins (no models)")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    print(f"checkpoint cost benchmark: {machine()}")
    rows = []
    with tempfile.TemporaryDirectory(prefix="idp-checkpoint-bench-") as tmp, pg_database() as url:
        workdir = Path(tmp)
        deployment = Deployment(workdir, url)
        deployment.env.update({"IDP_ATTEMPT_LIMIT": "1000000", "IDP_LIVENESS_THREADS": "1",
                               "IDP_AUDIT_CHECKPOINT_FILE": str(workdir / "checkpoints.jsonl")})
        client_id, secret = deployment.client()
        scripts = {"ok": token_script(workdir, client_id, secret),
                   "refused": refused_script(workdir, client_id)}
        person = None
        if not args.no_person:
            from bench.person_bench import Frames, setup
            rp, people = setup(deployment, args.persons)
            person = (rp, people, Frames())
        one = micro(deployment)
        print(f"one checkpoint over {one['events']} events: {one['cpu_ms']:.1f} ms CPU, "
              f"{one['wall_ms']:.1f} ms wall ({one['us_per_event']:.1f} us CPU per event)",
              flush=True)
        for r in range(args.rounds):
            for variant in (("on", "off") if r % 2 == 0 else ("off", "on")):
                row = one_round(deployment, variant, args, scripts, person)
                row["round"] = r + 1
                rows.append(row)
                print(row, flush=True)
        deployment.close()
    metrics = ["tokens", "refused"] + ([] if args.no_person else ["logins"])
    summary = []
    for metric in metrics:
        on = statistics.median(r[metric] for r in rows if r["variant"] == "on")
        off = statistics.median(r[metric] for r in rows if r["variant"] == "off")
        summary.append({"metric": metric, "on": on, "off": off, "ratio": on / off if off else None})
    print_table("per round", rows, [("round", "round"), ("variant", "checkpoints"),
                                    ("tokens", "tokens/s"), ("refused", "refused/s")]
                + ([] if args.no_person else [("logins", "logins/s")])
                + [("checkpoints", "made")])
    print_table("medians: checkpoints on (default interval) vs off", summary,
                [("metric", "metric"), ("on", "on"), ("off", "off"), ("ratio", "on/off")])
    dump_json(args.json, {"micro": one, "rounds": rows, "summary": summary})


if __name__ == "__main__":
    main()
