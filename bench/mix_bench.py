"""Issue 7: a scripted mix against gunicorn with Redis + PostgreSQL.

Each virtual user repeats: discovery, JWKS, 2 x client credentials, an authorization-code
login through the enterprise (electronic business licence) method, refresh, and
2 x introspection (access and refresh token): 13 requests.  The login is played as a browser
plus the holder app would play it:

* browser: ``GET /authorize`` (302 to ``/login/{txn}``), the licence page
  ``GET /login/{txn}/enterprise`` (QR code of ``{issuer}/elicense/c/{challenge}``);
* holder app, on its own connection without the browser's cookies:
  ``GET /elicense/challenges/{challenge}``, then ``POST .../response`` with a JWS signed by the
  licence key (``idp.elicense.holder.make_jws``, ES256 / P-256, signed afresh for each
  single-use challenge; keys and certificates are loaded once);
* browser: ``GET /login/{txn}/enterprise/status`` -> ``{"state": "done", "redirect": ...}``,
  whose redirect carries the code, redeemed with PKCE at ``POST /token``.

The set-up creates a demo licence authority in the deployment's keys folder (the OP trusts it
through ``keys/trust/``, as ``idp elicense authority init`` does) and issues one licence per
virtual user (its own company, so sessions and consent are per user).  ``prompt=login``
keeps the SSO session from short-cutting the login; the consent page each company sees on
its first login is answered during set-up, outside the measurement.

Target: >= 800 req/s overall, p99 <= 50 ms, no errors.  Prints numbers; asserts nothing.

    python bench/mix_bench.py [--seconds 20] [--warmup 3] [--users 8] [--workers 2]
                              [--threads 4] [--worker-class sync|gthread] [--json FILE]
"""
from __future__ import annotations

import argparse
import asyncio
import base64
import html
import json
import re
import secrets
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import parse_qs, quote, urlencode, urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cryptography.hazmat.primitives.serialization import Encoding  # noqa: E402
from stdnum.cn.uscc import calc_check_digit  # noqa: E402

from bench.common import (REDIS_URL, Deployment, Server, dump_json, flush_redis,  # noqa: E402
                          machine, pg_database, print_table)
from bench.loadgen import Connection, Recorder, _pct  # noqa: E402
from tests.oidc.rp import pkce_pair  # noqa: E402
from idp.elicense import authority  # noqa: E402
from idp.elicense.holder import load_licence, make_jws, parse_challenge_url  # noqa: E402

REDIRECT = "https://rp.example.org/cb"
SCOPE = "openid profile offline_access"
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
JSON_ACCEPT = {"Accept": "application/json"}
JSON_BODY = {"Content-Type": "application/json", "Accept": "application/json"}
_CSRF = re.compile(rb'name="csrf-token" content="([^"]+)"')
_QR = re.compile(rb'id="holder-link" href="([^"]+)"')  # the URL inside the QR code
_STATUS = re.compile(rb'data-status-url="([^"]+)"')  # what the page's script polls
STEPS = ("discovery", "jwks", "client_credentials", "authorize", "login_page", "challenge",
         "respond", "status", "code_token", "refresh", "introspect")


def _path(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


class Licence:
    """A holder's licence, loaded once: the private key and the DER chain for ``x5c``."""

    def __init__(self, folder: Path, uscc: str):
        key, chain = load_licence(folder / "licence.crt.pem", folder / "licence.key.pem",
                                  folder / "chain.pem")
        self.key, self.uscc = key, uscc
        self.chain = [cert.public_bytes(Encoding.DER) for cert in chain]

    def sign(self, info: dict) -> str:
        payload = {"challenge": info["challenge"], "nonce": info["nonce"], "aud": info["aud"],
                   "iat": int(time.time())}
        return make_jws(payload, self.key, self.chain)


def make_licences(keys_dir: Path, out: Path, count: int) -> list[Licence]:
    """A demo licence authority trusted by the OP (keys/trust/) and ``count`` ES256 licences."""
    authority.init_authority(keys_dir, key_type="ec")
    licences = []
    for n in range(count):
        body = f"91350100{n:09d}"  # GB 32100: digits for the first 8, then the check character
        uscc = body + calc_check_digit(body)
        authority.issue_licence(keys_dir, uscc=uscc, name=f"基准测试企业{n}有限公司",
                                legal_rep="王五", key_type="ec", out_dir=out / str(n))
        licences.append(Licence(out / str(n), uscc))
    return licences


class User:
    def __init__(self, base, rec: Recorder, rp: tuple[str, str], cc: tuple[str, str],
                 licence: Licence):
        self.conn = Connection(base)  # the browser
        self.app = Connection(base)  # the holder app: another device, no browser cookies
        self.rec = rec
        self.licence = licence
        self.rp_id = rp[0]
        self.rp_auth = {"Authorization": "Basic " + base64.b64encode(f"{rp[0]}:{rp[1]}".encode()).decode(),
                        **FORM}
        self.cc_auth = {"Authorization": "Basic " + base64.b64encode(f"{cc[0]}:{cc[1]}".encode()).decode(),
                        **FORM}

    async def get(self, name, path, expect=(200,), conn=None, headers=None):
        return await self.rec.timed(name, (conn or self.conn).request("GET", path, headers=headers),
                                    expect)

    async def post(self, name, path, data: dict, headers, expect=(200,)):
        return await self.rec.timed(name, self.conn.request("POST", path, headers=headers,
                                                            body=urlencode(data).encode()), expect)

    async def login(self) -> dict | None:
        verifier, challenge = pkce_pair()
        query = urlencode({"response_type": "code", "client_id": self.rp_id, "redirect_uri": REDIRECT,
                           "scope": SCOPE, "state": secrets.token_urlsafe(8),
                           "nonce": secrets.token_urlsafe(8), "code_challenge": challenge,
                           "code_challenge_method": "S256", "prompt": "login"})
        resp = await self.get("authorize", "/authorize?" + query, expect=(302,))
        if resp is None:
            return None
        # the person picks the licence method on the chooser: its page has the QR code
        page = await self.get("login_page", _path(resp.headers["location"]) + "/enterprise")
        if page is None:
            return None
        qr, status_url = _QR.search(page.body), _STATUS.search(page.body)
        if qr is None or status_url is None:
            return self.rec.fail("login_page", "no QR link or status URL in the licence page")
        issuer, cid = parse_challenge_url(html.unescape(qr.group(1).decode()))
        # the holder app scans the QR code, reads the challenge and signs it
        api = f"/elicense/challenges/{quote(cid, safe='')}"
        info = await self.get("challenge", api, conn=self.app, headers=JSON_ACCEPT)
        if info is None:
            return None
        info = info.json()
        if info.get("challenge") != cid or info.get("aud") != issuer:
            return self.rec.fail("challenge", f"unexpected challenge {info!r}")
        body = json.dumps({"jws": self.licence.sign(info)}).encode()
        answered = await self.rec.timed("respond", self.app.request(
            "POST", api + "/response", headers=JSON_BODY, body=body))
        if answered is None:
            return None
        # the browser's status poll sees the answer and gets the way back to the client
        status = await self.get("status", html.unescape(status_url.group(1).decode()),
                                headers=JSON_ACCEPT)
        if status is None:
            return None
        status = status.json()
        if status.get("state") != "done":
            return self.rec.fail("status", f"state {status!r}")
        url = status["redirect"]
        if "/consent" in url:  # first login of this company: answer the consent page (set-up only)
            page = await self.conn.request("GET", _path(url))
            csrf = _CSRF.search(page.body).group(1).decode()
            resp = await self.conn.request("POST", _path(url), headers=FORM, body=urlencode(
                {"decision": "allow", "csrf_token": csrf}).encode())
            url = resp.headers["location"]
        code = parse_qs(urlsplit(url).query).get("code")
        if not code:
            return self.rec.fail("status", f"no code in {url}")
        tokens = await self.post("code_token", "/token", {
            "grant_type": "authorization_code", "code": code[0], "redirect_uri": REDIRECT,
            "code_verifier": verifier}, self.rp_auth)
        return tokens.json() if tokens is not None else None

    async def iteration(self):
        await self.get("discovery", "/.well-known/openid-configuration")
        await self.get("jwks", "/jwks.json")
        for _ in range(2):
            await self.post("client_credentials", "/token", {"grant_type": "client_credentials"},
                            self.cc_auth)
        tokens = await self.login()
        if tokens is None:
            return
        refreshed = await self.post("refresh", "/token", {"grant_type": "refresh_token",
                                                          "refresh_token": tokens["refresh_token"]},
                                    self.rp_auth)
        await self.post("introspect", "/introspect", {"token": tokens["access_token"]}, self.rp_auth)
        if refreshed is not None:
            await self.post("introspect", "/introspect",
                            {"token": refreshed.json()["refresh_token"]}, self.rp_auth)

    async def close(self):
        await self.conn.close()
        await self.app.close()


async def drive(base, rp, cc, licences: list[Licence], warmup: float,
                seconds: float) -> tuple[Recorder, float]:
    rec = Recorder()
    people = [User(base, rec, rp, cc, licence) for licence in licences]
    first = await asyncio.gather(*(p.login() for p in people))  # consent once per company
    logged_in = [t for t in first if t]
    if logged_in:
        claims = json.loads(base64.urlsafe_b64decode(logged_in[0]["id_token"].split(".")[1] + "=="))
        print(f"set-up: {len(logged_in)}/{len(people)} licence logins; ID token acr "
              f"{claims.get('acr')}, amr {claims.get('amr')}, org_name {claims.get('org_name')!r}")
    stop = time.monotonic() + warmup + seconds
    started = {}

    async def loop(p):
        while time.monotonic() < stop:
            await p.iteration()

    async def clock():
        await asyncio.sleep(warmup)
        rec.recording = True
        started["t"] = time.monotonic()

    await asyncio.gather(clock(), *(loop(p) for p in people))
    elapsed = time.monotonic() - started["t"]
    for p in people:
        await p.close()
    return rec, elapsed


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--warmup", type=float, default=3)
    parser.add_argument("--users", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--worker-class", default=None)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    print(f"mix benchmark: {machine()}; {args.users} virtual users, load generator "
          f"(asyncio) on the same machine; Redis {REDIS_URL} + PostgreSQL")
    flush_redis(REDIS_URL)
    with tempfile.TemporaryDirectory(prefix="idp-bench-") as tmp, pg_database() as url:
        deployment = Deployment(Path(tmp), url, REDIS_URL)
        try:
            rp = deployment.client(redirect_uris=[REDIRECT], scope=SCOPE,
                                   grant_types=["authorization_code", "refresh_token"])
            cc = deployment.client()
            licences = make_licences(Path(deployment.env["IDP_KEYS_DIR"]), Path(tmp) / "licences",
                                     args.users)
            with Server(deployment, workers=args.workers, threads=args.threads,
                        worker_class=args.worker_class) as server:
                cpu0, gen0, wall0 = server.cpu_seconds(), time.process_time(), time.monotonic()
                workers0 = server.worker_cpu()
                rec, elapsed = asyncio.run(drive(server.url, rp, cc, licences, args.warmup,
                                                 args.seconds))
                cpu = server.cpu_seconds() - cpu0
                gen_cores = (time.process_time() - gen0) / (time.monotonic() - wall0)
                wall = time.monotonic() - wall0
                server_cores = cpu / wall
                split = " + ".join(f"{(used - workers0.get(pid, 0.0)) / wall:.2f}"
                                   for pid, used in sorted(server.worker_cpu().items()))
                describe = server.describe
        finally:
            deployment.close()
            flush_redis(REDIS_URL)
    rows = sorted(rec.summary(elapsed), key=lambda r: STEPS.index(r["step"]))
    total = sum(r["count"] for r in rows)
    everything = sorted(v for values in rec.latencies.values() for v in values)
    overall = {"step": "ALL", "count": total, "rps": total / elapsed,
               "p50": _pct(everything, 50) * 1000, "p99": _pct(everything, 99) * 1000,
               "errors": sum(rec.errors.values())}
    rows.append(overall)
    print_table(f"mix against gunicorn {describe}, {elapsed:.1f} s measured; server used "
                f"{server_cores:.2f} cores (workers {split}), the load generator {gen_cores:.2f}",
                rows, [("step", "step"), ("count", "count"), ("rps", "req/s"), ("p50", "p50 ms"),
                       ("p99", "p99 ms"), ("errors", "errors")])
    met = overall["rps"] >= 800 and overall["p99"] <= 50 and overall["errors"] == 0
    print(f"target >= 800 req/s, p99 <= 50 ms, no errors: {'met' if met else 'MISSED'}")
    for name, sample in rec.error_samples.items():
        print(f"  first error of {name}: {sample}")
    dump_json(args.json, rows)
    return rows, met


if __name__ == "__main__":
    main()
