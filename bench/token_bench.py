"""Issues 2 and 14: client credentials (RS256 JWT access tokens), discovery and JWKS, this OP
under ``idp serve`` against node-oidc-provider, measured alternately with the same wrk load.

Both servers run side by side (the one not measured is idle); each round measures every
endpoint on both, one right after the other, the order swapped every round, so the machine's
load (other developers' tests on a shared machine) hits both alike.  The ratio ours/peer is
taken per round; the summary gives the median of rounds.

Goals (issue 14): client credentials >= 1.3x the peer with p99 <= 20 ms at 8 connections;
discovery and JWKS >= 1.5x.

    python bench/token_bench.py [--rounds 3] [--seconds 5] [--connections 8]
                                [--shape default[,gthread:2x4,...]] [--no-peer] [--json FILE]

``--shape default`` is ``idp serve`` exactly as a user runs it (its default worker shape, its
access log on); a comma-separated list of shapes (``gthread:3x4``) measures each of them in
the same alternation, which is how the default shape was chosen.  PostgreSQL (a throw-away database) unless --sqlite; the peer is installed
with npm on first use (bench/peer.py).  Prints numbers; asserts nothing.
"""
from __future__ import annotations

import argparse
import contextlib
import os
import secrets
import statistics
import sys
import tempfile
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import (Deployment, Server, dump_json, machine, pg_database,  # noqa: E402
                          print_table, token_script, wrk)

SCOPE = "liveness"
# name, our path, the peer's path, goal ratio, p99 goal (ms)
ENDPOINTS = [("client_credentials", "/token", "/token", 1.3, 20.0),
             ("jwks", "/jwks.json", "/jwks", 1.5, None),
             ("discovery", "/.well-known/openid-configuration",
              "/.well-known/openid-configuration", 1.5, None)]
ROUND_COLUMNS = [("round", "round"), ("endpoint", "endpoint"), ("server", "server"),
                 ("rps", "req/s"), ("p50", "p50 ms"), ("p99", "p99 ms"),
                 ("cpu", "server CPU ms/req"), ("errors", "errors"), ("load", "load avg")]
SUMMARY_COLUMNS = [("endpoint", "endpoint"), ("shape", "ours"), ("ours", "ours req/s"), ("peer", "peer req/s"),
                   ("ratio", "ratio ours/peer"), ("ratios", "per round"),
                   ("p99_ours", "p99 ours ms"), ("p99_peer", "p99 peer ms"),
                   ("cpu_ours", "CPU ms/req ours"), ("cpu_peer", "CPU ms/req peer"),
                   ("goal", "goal")]


def parse_shape(text: str) -> dict:
    if text == "default":
        return {"workers": None, "threads": None, "server": None}
    kind, _, shape = text.partition(":")
    workers, _, threads = shape.partition("x")
    if kind == "granian":  # idp serve --server granian: THREADS blocking threads per worker
        return {"workers": int(workers), "threads": int(threads or 1), "server": "granian"}
    return {"workers": int(workers), "threads": int(threads or 1), "worker_class": kind}


def measure(target, url: str, script, seconds: int, connections: int) -> dict:
    cpu0 = target.cpu_seconds()
    result = wrk(url, seconds=seconds, connections=connections, script=script)
    cpu = target.cpu_seconds() - cpu0
    return {"rps": result["rps"], "p50": result["p50"], "p99": result["p99"],
            "cpu": cpu / max(result["requests"], 1) * 1000,
            "errors": result["non2xx"] + result["socket_errors"],
            "load": os.getloadavg()[0]}


def warm_up(target, paths, script, connections):
    for path in paths[1:]:
        for _ in range(20):
            urllib.request.urlopen(target.url + path, timeout=10).read()
    wrk(target.url + paths[0], seconds=2, connections=connections, script=script)


def run(deployment: Deployment, workdir: Path, args) -> tuple[list[dict], list[dict], str]:
    from bench.peer import Peer, describe
    client_id, secret = deployment.client(scope=SCOPE)
    ours_script = token_script(workdir, client_id, secret, SCOPE, "ours")
    peer_id, peer_secret = "bench-" + secrets.token_hex(4), secrets.token_urlsafe(32)
    peer_script = token_script(workdir, peer_id, peer_secret, SCOPE, "peer")
    peer_clients = [{"client_id": peer_id, "client_secret": peer_secret, "scope": SCOPE,
                     "grant_types": ["client_credentials"], "response_types": [],
                     "redirect_uris": [], "token_endpoint_auth_method": "client_secret_basic"}]
    rows = []
    with contextlib.ExitStack() as stack:
        targets = []
        for text in args.shape.split(","):
            server = stack.enter_context(Server(deployment, access_log=True, **parse_shape(text)))
            label = "default " + server.describe if text == "default" else server.describe
            targets.append((label, server, 1, ours_script))
        peer_text = "no peer"
        if not args.no_peer:
            targets.append(("peer", stack.enter_context(Peer(peer_clients)), 2, peer_script))
            peer_text = describe()
        for name, target, index, script in targets:
            warm_up(target, [e[index] for e in ENDPOINTS], script, args.connections)
        for n in range(1, args.rounds + 1):
            order = targets if n % 2 else targets[::-1]
            for endpoint in ENDPOINTS:
                for name, target, index, script in order:
                    lua = script if endpoint[0] == "client_credentials" else None
                    row = measure(target, target.url + endpoint[index], lua, args.seconds,
                                  args.connections)
                    rows.append({"round": n, "endpoint": endpoint[0], "server": name, **row})
                    print(f"  round {n} {endpoint[0]:<18} {name}: {row['rps']:8.1f}/s "
                          f"p99 {row['p99']} ms, {row['cpu']:.2f} ms CPU/req, "
                          f"{row['errors']} errors, load {row['load']:.1f}", flush=True)
        ours = ", ".join(name for name, *_ in targets if name != "peer")
    return rows, summarise(rows), f"idp serve ({ours}; access log on) vs {peer_text}"


def summarise(rows: list[dict]) -> list[dict]:
    out = []
    servers = list(dict.fromkeys(r["server"] for r in rows if r["server"] != "peer"))
    for name, _, _, goal, p99_goal in ENDPOINTS:
        theirs = {r["round"]: r for r in rows if r["endpoint"] == name and r["server"] == "peer"}
        for server in servers:
            mine = {r["round"]: r for r in rows if r["endpoint"] == name and r["server"] == server}
            row = {"endpoint": name, "shape": server, "ours": _median(mine, "rps"),
                   "p99_ours": _median(mine, "p99"), "cpu_ours": _median(mine, "cpu")}
            if theirs:
                ratios = [mine[n]["rps"] / theirs[n]["rps"] for n in sorted(mine)
                          if n in theirs and theirs[n]["rps"]]
                ratio = statistics.median(ratios)
                met = ratio >= goal and (p99_goal is None or row["p99_ours"] <= p99_goal)
                row.update(peer=_median(theirs, "rps"), p99_peer=_median(theirs, "p99"),
                           cpu_peer=_median(theirs, "cpu"), ratio=f"{ratio:.2f}x",
                           ratios=" ".join(f"{r:.2f}" for r in ratios),
                           goal=("met " if met else "MISSED ") + f">={goal}x" +
                           (f", p99<={p99_goal:g}ms" if p99_goal else ""))
            out.append(row)
    return out


def _median(by_round: dict, key: str):
    return statistics.median(r[key] for r in by_round.values()) if by_round else None


def main(argv=None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=5, help="per endpoint, server and round")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--shape", default="default",
                        help="default (idp serve's own), worker-class:WORKERSxTHREADS, or "
                             "granian:WORKERSxTHREADS (idp serve --server granian); comma-separated")
    parser.add_argument("--no-peer", action="store_true")
    parser.add_argument("--sqlite", action="store_true", help="embedded SQLite instead of PostgreSQL")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    load0 = os.getloadavg()
    print(f"token / discovery / JWKS against the peer: {machine()}; wrk -t1 -c{args.connections} "
          f"-d{args.seconds}s on the same machine, {args.rounds} alternating rounds")
    with tempfile.TemporaryDirectory(prefix="idp-bench-") as tmp:
        workdir = Path(tmp)
        if args.sqlite:
            deployment = Deployment(workdir, f"sqlite:///{workdir / 'idp.sqlite3'}")
            try:
                rows, summary, title = run(deployment, workdir, args)
            finally:
                deployment.close()
        else:
            with pg_database() as url:
                deployment = Deployment(workdir, url)
                try:
                    rows, summary, title = run(deployment, workdir, args)
                finally:
                    deployment.close()
    load1 = os.getloadavg()
    print_table("rounds", rows, ROUND_COLUMNS)
    print_table(f"summary (medians of rounds): {title}; load average {load0[0]:.1f} at start, "
                f"{load1[0]:.1f} at the end (1 min), {load1[1]:.1f} (5 min)", summary,
                SUMMARY_COLUMNS)
    dump_json(args.json, {"rounds": rows, "summary": summary, "load": [load0, load1]})
    return summary


if __name__ == "__main__":
    main()
