"""Issue 14: CPU per step of a signed-in user's code flow, in-process (no HTTP server).

The same flow as ``codeflow_bench.py`` (authorize with an SSO session and remembered consent,
the code at ``/token`` with PKCE, ``/userinfo``, the refresh), called as raw WSGI requests on
the app's outermost WSGI callable (the fast paths included), against PostgreSQL and Redis.
The environs are built before the clock starts; ``time.process_time`` per step (this
process only: PostgreSQL's and Redis's own CPU is not counted).

    python bench/codeflow_inprocess.py [--flows 1000] [--profile FILE.prof]

Prints numbers; asserts nothing.
"""
from __future__ import annotations

import argparse
import base64
import io
import json
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.codeflow_bench import REDIRECT, SCOPE, our_sessions  # noqa: E402
from bench.common import REDIS_URL, Deployment, pg_database  # noqa: E402
from tests.oidc.rp import pkce_pair  # noqa: E402

STEPS = ("authorize", "code_token", "userinfo", "refresh")


def environ(method: str, path: str, *, query: str = "", headers=None, body: bytes = b"") -> dict:
    env = {"REQUEST_METHOD": method, "PATH_INFO": path, "QUERY_STRING": query,
           "SCRIPT_NAME": "", "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "8000",
           "SERVER_PROTOCOL": "HTTP/1.1", "REMOTE_ADDR": "127.0.0.1", "wsgi.url_scheme": "http",
           "wsgi.input": io.BytesIO(body), "wsgi.errors": sys.stderr, "wsgi.version": (1, 0),
           "wsgi.multithread": True, "wsgi.multiprocess": True, "wsgi.run_once": False,
           "HTTP_HOST": "127.0.0.1:8000"}
    if body:
        env["CONTENT_LENGTH"] = str(len(body))
        env["CONTENT_TYPE"] = "application/x-www-form-urlencoded"
    for name, value in (headers or {}).items():
        env["HTTP_" + name.upper().replace("-", "_")] = value
    return env


PROFILER = None  # a cProfile.Profile enabled around the app's calls only (--profile)


def call(app, env) -> tuple[str, dict, bytes]:
    out = {}

    def start_response(status, headers, exc_info=None):
        out["status"], out["headers"] = status, dict(headers)

    if PROFILER is not None:
        PROFILER.enable()
    body = b"".join(app(env, start_response))
    if PROFILER is not None:
        PROFILER.disable()
    return out["status"], out["headers"], body


def run(app, client, sid: str, flows: int, times: dict) -> None:
    basic = "Basic " + base64.b64encode(f"{client[0]}:{client[1]}".encode()).decode()
    clock = time.process_time
    for _ in range(flows):
        verifier, challenge = pkce_pair()
        query = urlencode({"response_type": "code", "client_id": client[0],
                           "redirect_uri": REDIRECT, "scope": SCOPE,
                           "state": secrets.token_urlsafe(8), "nonce": secrets.token_urlsafe(8),
                           "code_challenge": challenge, "code_challenge_method": "S256"})
        env = environ("GET", "/authorize", query=query, headers={"Cookie": f"idp_session={sid}"})
        t0 = clock()
        status, headers, _ = call(app, env)
        times["authorize"].append(clock() - t0)
        assert status.startswith("302"), status
        code = parse_qs(urlsplit(headers["Location"]).query)["code"][0]
        env = environ("POST", "/token", headers={"Authorization": basic}, body=urlencode({
            "grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT,
            "code_verifier": verifier}).encode())
        t0 = clock()
        status, _, body = call(app, env)
        times["code_token"].append(clock() - t0)
        assert status.startswith("200"), (status, body)
        tokens = json.loads(body)
        env = environ("GET", "/userinfo", headers={"Authorization": "Bearer " + tokens["access_token"]})
        t0 = clock()
        status, _, body = call(app, env)
        times["userinfo"].append(clock() - t0)
        assert status.startswith("200"), (status, body)
        env = environ("POST", "/token", headers={"Authorization": basic}, body=urlencode({
            "grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}).encode())
        t0 = clock()
        status, _, body = call(app, env)
        times["refresh"].append(clock() - t0)
        assert status.startswith("200"), (status, body)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--flows", type=int, default=1000)
    parser.add_argument("--warmup", type=int, default=100)
    parser.add_argument("--profile", type=Path, default=None)
    args = parser.parse_args(argv)
    import logging
    with tempfile.TemporaryDirectory(prefix="idp-bench-") as tmp, pg_database() as url:
        deployment = Deployment(Path(tmp), url, REDIS_URL)
        try:
            app = deployment.app
            logging.getLogger("idp.access").setLevel(logging.INFO)  # as idp serve logs
            logging.getLogger("idp.access").addHandler(logging.NullHandler())
            logging.getLogger("idp.access").propagate = False
            client = deployment.client(redirect_uris=[REDIRECT], scope=SCOPE,
                                       grant_types=["authorization_code", "refresh_token"])
            sid = our_sessions(deployment, client[0], 1)[0]
            wsgi = app.wsgi_app
            warm = {s: [] for s in STEPS}
            run(wsgi, client, sid, args.warmup, warm)
            times = {s: [] for s in STEPS}
            global PROFILER
            if args.profile:
                import cProfile
                PROFILER = cProfile.Profile(time.process_time)  # CPU, not wall
            wall = time.perf_counter()
            run(wsgi, client, sid, args.flows, times)
            wall = time.perf_counter() - wall
            if PROFILER:
                PROFILER.dump_stats(str(args.profile))
        finally:
            deployment.close()
    total = sum(sum(v) for v in times.values()) / args.flows * 1000
    parts = ", ".join(f"{s} {statistics.mean(times[s]) * 1000:.3f}" for s in STEPS)
    print(f"in-process CPU per flow {total:.3f} ms ({parts}); median per step "
          + ", ".join(f"{s} {statistics.median(times[s]) * 1000:.3f}" for s in STEPS)
          + f"; wall {wall / args.flows * 1000:.2f} ms per flow")
    return total


if __name__ == "__main__":
    main()
