"""Issue 14: the authorization-code path for a user who is already signed in, this OP under
``idp serve`` against node-oidc-provider, measured alternately in the same run.

Each virtual user holds an SSO session whose consent for the client is remembered, and
repeats the whole flow of a relying party: ``/authorize`` (answered at once with a redirect
carrying the code), the code at ``/token`` (client_secret_basic, PKCE S256; access, ID and
refresh tokens), ``/userinfo`` with the access token, and the refresh token at ``/token``
(rotated).  One flow is four requests.

Set-up, outside the measurement: for this OP a session is created through the provider's
session store (what a login's ``complete_login`` does) with the consent remembered; the peer
signs each user in through its own login and consent pages (devInteractions) once.  The
peer's code-flow access token is its default opaque token (its ``/me`` refuses JWT access
tokens bound to a resource), looked up in its store; ours is the RFC 9068 JWT with the grant
checked in the database.

The peer runs twice, each its own server in the same alternating rounds: with its state in
Redis (``redis``: what the library requires of a deployment, a store shared between
processes and kept across restarts, as this OP keeps its sessions and codes in Redis and its
grants in PostgreSQL), and with its development-only memory adapter (``memory``: everything
in the one Node process).  The ratio is printed against each.

The load generator is wrk with a Lua flow (``flow_wrk``: one wrk thread per user), the
same for both OPs; ``--driver asyncio`` is the Python one, which adds per-step latencies and
takes more of the two CPUs the OPs run on (0.16-0.25 of a core against wrk's 0.05-0.07 when
measured side by side, with ratios within the noise of each other; ``gen cores`` shows it).

Goal: flows/s >= 1.0x the peer.  Prints numbers; asserts nothing.

    python bench/codeflow_bench.py [--rounds 3] [--seconds 8] [--users 8] [--driver wrk]
                                   [--peer-adapters redis,memory] [--json FILE]

PostgreSQL (throw-away database) and Redis (IDP_BENCH_REDIS_URL; every key this run writes
is random and expires by itself, nothing is flushed) for this OP.
"""
from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import os
import re
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import (REDIS_URL, Deployment, Server, dump_json, machine,  # noqa: E402
                          pg_database, print_table)
from bench import flow_wrk  # noqa: E402
from bench.loadgen import Connection, Recorder, _pct  # noqa: E402
from tests.oidc.rp import pkce_pair  # noqa: E402

REDIRECT = "https://rp.example.org/cb"
SCOPE = "openid profile"
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
STEPS = ("authorize", "code_token", "userinfo", "refresh")
_UID = re.compile(r"/interaction/([A-Za-z0-9_-]+)")
ROUND_COLUMNS = [("round", "round"), ("server", "server"), ("flows", "flows/s"),
                 ("rps", "req/s"), ("p50", "p50 ms"), ("p99", "p99 ms"),
                 ("cpu", "server CPU ms/flow"), ("gen", "load gen cores"), ("errors", "errors"),
                 ("load", "load avg")]


def _path(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


class Flow:
    """One virtual user of one OP: a browser with its session cookie, and the RP's calls."""

    def __init__(self, base: str, rec: Recorder, client: tuple[str, str], paths: dict):
        self.conn = Connection(base)
        self.rec = rec
        self.client_id = client[0]
        self.paths = paths
        basic = base64.b64encode(f"{client[0]}:{client[1]}".encode()).decode()
        self.auth = {"Authorization": "Basic " + basic, **FORM}

    def authorize_query(self) -> tuple[str, str]:
        verifier, challenge = pkce_pair()
        query = urlencode({"response_type": "code", "client_id": self.client_id,
                           "redirect_uri": REDIRECT, "scope": SCOPE,
                           "state": secrets.token_urlsafe(8), "nonce": secrets.token_urlsafe(8),
                           "code_challenge": challenge, "code_challenge_method": "S256"})
        return self.paths["authorize"] + "?" + query, verifier

    async def post(self, name, data: dict):
        return await self.rec.timed(name, self.conn.request(
            "POST", self.paths["token"], headers=self.auth, body=urlencode(data).encode()))

    async def flow(self) -> bool:
        path, verifier = self.authorize_query()
        resp = await self.rec.timed("authorize", self.conn.request("GET", path),
                                    expect=(302, 303))
        if resp is None:
            return False
        code = parse_qs(urlsplit(resp.headers.get("location", "")).query).get("code")
        if not code:
            return self.rec.fail("authorize", f"no code in {resp.headers.get('location')}") or False
        tokens = await self.post("code_token", {"grant_type": "authorization_code", "code": code[0],
                                                "redirect_uri": REDIRECT, "code_verifier": verifier})
        if tokens is None:
            return False
        tokens = tokens.json()
        if not tokens.get("id_token") or not tokens.get("refresh_token"):
            return self.rec.fail("code_token", f"missing tokens: {sorted(tokens)}") or False
        bearer = {"Authorization": "Bearer " + tokens["access_token"]}
        info = await self.rec.timed("userinfo", self.conn.request("GET", self.paths["userinfo"],
                                                                  headers=bearer))
        if info is None or not info.json().get("sub"):
            return False
        refreshed = await self.post("refresh", {"grant_type": "refresh_token",
                                                "refresh_token": tokens["refresh_token"]})
        return refreshed is not None


# -- set-up of each OP ---------------------------------------------------------------------------
def our_sessions(deployment: Deployment, client_id: str, users: int) -> list[str]:
    """SSO sessions (what complete_login creates) with this client's consent remembered."""
    from idp.interaction import ACR_FACE
    from idp.oidc.consent import remember_consent
    provider = deployment.app.extensions["idp"].provider
    sids = []
    for n in range(users):
        subject = provider.subjects.person(f"11010519900101{n:03d}X")
        claims = {"name": f"用户{n}", "birthdate": "1990-01-01", "gender": "male",
                  "entity_type": "natural_person"}
        session = provider.sessions.login(None, subject=subject, acr=ACR_FACE,
                                          amr=["face", "user"], claims=claims)
        remember_consent(provider, subject, client_id, SCOPE)
        sids.append(session.sid)
    return sids


async def peer_sign_in(flow: Flow, user: str) -> None:
    """The peer's development login and consent pages, as a browser answers them."""
    path, verifier = flow.authorize_query()
    resp = await flow.conn.request("GET", path)
    for _ in range(8):
        location = resp.headers.get("location", "")
        if location.startswith(REDIRECT):
            code = parse_qs(urlsplit(location).query)["code"][0]
            await flow.conn.request("POST", flow.paths["token"], headers=flow.auth, body=urlencode(
                {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT,
                 "code_verifier": verifier}).encode())
            return
        found = _UID.search(location)
        if not found:
            resp = await flow.conn.request("GET", _path(location))
            continue
        page = await flow.conn.request("GET", _path(location))
        prompt = "login" if b'name="login"' in page.body else "consent"
        form = {"prompt": prompt, "login": user, "password": "x"} if prompt == "login" else \
            {"prompt": "consent"}
        resp = await flow.conn.request("POST", _path(location), headers=FORM,
                                       body=urlencode(form).encode())
    raise RuntimeError(f"peer sign-in did not finish: {resp.status} {resp.text[:300]}")


async def drive(flows: list[Flow], seconds: float, warmup: float) -> tuple[Recorder, float, int]:
    rec = flows[0].rec
    done = {"flows": 0}
    stop = time.monotonic() + warmup + seconds
    started = {}

    async def loop(f):
        while time.monotonic() < stop:
            if await f.flow() and rec.recording:
                done["flows"] += 1

    async def clock():
        await asyncio.sleep(warmup)
        rec.recording = True
        started["t"] = time.monotonic()

    await asyncio.gather(clock(), *(loop(f) for f in flows))
    elapsed = time.monotonic() - started["t"]
    for f in flows:  # connections belong to this event loop; the next run opens new ones
        await f.conn.close()
    return rec, elapsed, done["flows"]


def measure(name, target, flows, seconds, warmup) -> dict:
    cpu0, gen0, wall0 = target.cpu_seconds(), time.process_time(), time.monotonic()
    rec = Recorder()
    for f in flows:
        f.rec = rec
    rec, elapsed, count = asyncio.run(drive(flows, seconds, warmup))
    cpu = target.cpu_seconds() - cpu0
    gen = (time.process_time() - gen0) / (time.monotonic() - wall0)
    everything = sorted(v for values in rec.latencies.values() for v in values)
    steps = {r["step"]: r for r in rec.summary(elapsed)}
    return {"server": name, "flows": count / elapsed, "rps": len(everything) / elapsed,
            "p50": _pct(everything, 50) * 1000, "p99": _pct(everything, 99) * 1000,
            "cpu": cpu / max(count, 1) * 1000, "gen": gen, "errors": sum(rec.errors.values()),
            "load": os.getloadavg()[0], "steps": steps, "samples": dict(rec.error_samples)}


def measure_wrk(name, target, script: Path, users: int, seconds: float) -> dict:
    """A round driven by wrk (``flow_wrk``): the same columns as ``measure`` (no steps)."""
    cpu0 = target.cpu_seconds()
    result = flow_wrk.run(target.url, script, users=users, seconds=seconds)
    cpu, elapsed = target.cpu_seconds() - cpu0, result["elapsed"]
    return {"server": name, "flows": result["flows"] / elapsed,
            "rps": result["requests"] / elapsed, "p50": result["p50"], "p99": result["p99"],
            "cpu": cpu / max(result["flows"], 1) * 1000, "gen": result["gen_cpu"] / elapsed,
            "errors": result["failures"], "load": os.getloadavg()[0], "steps": {},
            "samples": {}}


def _scripts(tmp: Path, targets: dict, users: int) -> dict:
    """One wrk Lua flow per target: its users' cookies, a PKCE pair each."""
    scripts = {}
    for n, (target, (client, paths, flows)) in enumerate(targets.items()):
        pairs = [("; ".join(f"{k}={v}" for k, v in f.conn.cookies.items()), *pkce_pair())
                 for f in flows[:users]]
        scripts[target] = flow_wrk.flow_script(tmp / f"flow-{n}.lua", users=pairs, client=client,
                                               paths=paths, redirect=REDIRECT, scope=SCOPE)
    return scripts


def _summary(rows: list[dict], who: str, peer: str) -> tuple[float, str]:
    mine = {r["round"]: r for r in rows if r["who"] == who}
    theirs = {r["round"]: r for r in rows if r["who"] == peer}
    ratios = [mine[n]["flows"] / theirs[n]["flows"] for n in mine if theirs[n]["flows"]]
    ratio = statistics.median(ratios) if ratios else float("nan")
    med = lambda group, key: statistics.median(r[key] for r in group.values())  # noqa: E731
    line = (f"code flows/s ours {med(mine, 'flows'):.1f}, {peer} {med(theirs, 'flows'):.1f}; "
            f"ratio ours/{peer} {ratio:.2f}x (per round {' '.join(f'{r:.2f}' for r in ratios)}); "
            f"CPU ms/flow ours {med(mine, 'cpu'):.2f}, {peer} {med(theirs, 'cpu'):.2f}; "
            f"goal >= 1.0x: {'met' if ratio >= 1.0 else 'MISSED'}")
    return ratio, line


def main(argv=None):
    from bench.peer import Peer, describe
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=8)
    parser.add_argument("--warmup", type=float, default=1)
    parser.add_argument("--users", type=int, default=8)
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--driver", choices=("wrk", "asyncio"), default="wrk",
                        help="load generator: wrk with a Lua flow (light), or the asyncio one "
                             "(per-step latencies, ~1-2 ms of CPU per flow on the same CPUs)")
    parser.add_argument("--peer-adapters", default="redis,memory",
                        help="the peer's stores, each measured as its own server: redis (a "
                             "shared store, as the library requires of a deployment) and/or "
                             "memory (its development-only adapter)")
    args = parser.parse_args(argv)
    adapters = [a.strip() for a in args.peer_adapters.split(",") if a.strip()]
    load0 = os.getloadavg()
    print(f"code-flow benchmark: {machine()}; {args.users} virtual users ({args.driver} load "
          f"generator on the same machine), {args.rounds} alternating rounds of {args.seconds:g} s")
    rows = []
    with tempfile.TemporaryDirectory(prefix="idp-bench-") as tmp, pg_database() as url, \
            contextlib.ExitStack() as stack:
        deployment = Deployment(Path(tmp), url, REDIS_URL)
        stack.callback(deployment.close)
        ours_client = deployment.client(redirect_uris=[REDIRECT], scope=SCOPE,
                                        grant_types=["authorization_code", "refresh_token"])
        sids = our_sessions(deployment, ours_client[0], args.users)
        ours = stack.enter_context(Server(deployment, workers=None, threads=None, access_log=True,
                                          server=None))
        ours_paths = {"authorize": "/authorize", "token": "/token", "userinfo": "/userinfo"}
        peer_paths = {"authorize": "/auth", "token": "/token", "userinfo": "/me"}
        ours_flows = [Flow(ours.url, Recorder(), ours_client, ours_paths) for _ in sids]
        for f, sid in zip(ours_flows, sids):
            f.conn.cookies["idp_session"] = sid
        setups = {ours: (ours_client, ours_paths, ours_flows)}
        names = {ours: ("ours", f"idp serve ({ours.describe})")}
        for adapter in adapters:
            client = ("bench-rp-" + secrets.token_hex(4), secrets.token_urlsafe(32))
            peer = stack.enter_context(Peer([{
                "client_id": client[0], "client_secret": client[1],
                "redirect_uris": [REDIRECT], "grant_types": ["authorization_code", "refresh_token"],
                "response_types": ["code"], "scope": SCOPE,
                "token_endpoint_auth_method": "client_secret_basic"}], adapter=adapter))
            flows = [Flow(peer.url, Recorder(), client, peer_paths) for _ in sids]

            async def sign_in_all(flows=flows):
                await asyncio.gather(*(peer_sign_in(f, f"user-{n}") for n, f in enumerate(flows)))
                for f in flows:
                    await f.conn.close()
            asyncio.run(sign_in_all())
            setups[peer] = (client, peer_paths, flows)
            names[peer] = (f"peer-{adapter}", peer.describe)
        if args.driver == "wrk":
            scripts = _scripts(Path(tmp), setups, args.users)
            runners = {t: (lambda seconds, warmup, t=t: measure_wrk(
                names[t][1], t, scripts[t], args.users, seconds)) for t in setups}
        else:
            runners = {t: (lambda seconds, warmup, t=t: measure(
                names[t][1], t, setups[t][2], seconds, warmup)) for t in setups}
        targets = list(setups)
        for target in targets:  # warm-up: every worker, connection and cache
            runners[target](2, 0)
        for n in range(1, args.rounds + 1):
            order = targets[n - 1:] + targets[:n - 1]  # each server in every position in turn
            for target in order:
                row = {"round": n, "who": names[target][0],
                       **runners[target](args.seconds, args.warmup)}
                rows.append(row)
                print(f"  round {n} {row['who']}: {row['flows']:.1f} flows/s, p99 {row['p99']:.1f} ms, "
                      f"{row['cpu']:.2f} ms CPU/flow, load gen {row['gen']:.2f} cores, "
                      f"{row['errors']} errors, load {row['load']:.1f}", flush=True)
                for step, sample in row["samples"].items():
                    print(f"    first error of {step}: {sample}")
        title = (f"idp serve ({ours.describe}, access log on) vs "
                 + "; ".join(describe(a) for a in adapters))
    load1 = os.getloadavg()
    print_table("rounds", rows, ROUND_COLUMNS)
    step_rows = []
    for who in [names[t][0] for t in targets]:
        for step in STEPS:
            values = [r["steps"][step] for r in rows if r["who"] == who and step in r["steps"]]
            if values:
                step_rows.append({"server": who, "step": step,
                                  "rps": statistics.median(v["rps"] for v in values),
                                  "p50": statistics.median(v["p50"] for v in values),
                                  "p99": statistics.median(v["p99"] for v in values)})
    if step_rows:
        print_table("per step (medians of rounds)", step_rows,
                    [("server", "server"), ("step", "step"), ("rps", "req/s"),
                     ("p50", "p50 ms"), ("p99", "p99 ms")])
    print(f"\nsummary: {title}; load average {load0[0]:.1f} at start, {load1[0]:.1f} at the end")
    ratios = {}
    for adapter in adapters:
        ratios[adapter], line = _summary(rows, "ours", f"peer-{adapter}")
        print(line)
    dump_json(args.json, {"rounds": [{k: v for k, v in r.items() if k != "steps"} for r in rows],
                          "ratios": ratios, "load": [load0, load1]})
    return ratios


if __name__ == "__main__":
    main()
