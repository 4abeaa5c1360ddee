"""node-oidc-provider, the peer OP the benchmarks measure this OP against (issue 14).

``bench/peer/package.json`` and ``package-lock.json`` pin the version; ``npm ci`` installs it
into ``bench/peer/node_modules`` (git-ignored) the first time a benchmark needs it.  The
configuration (``bench/peer/server.mjs``) is the minimal equivalent of this OP's: RS256 JWT
access tokens for client credentials, RS256 + ES256 keys in the JWKS, PKCE, rotated refresh
tokens; it runs as one Node process with ``NODE_ENV=production``, as the library's
documentation runs it.  Its state (sessions, grants, codes, tokens) is in the library's
memory adapter, in that process (``adapter="memory"``, what the library calls a
development-only quick start), or in Redis (``adapter="redis"``, ``bench/peer/
redis_adapter.mjs``: a shared store, as the library requires of a deployment and as this OP
keeps its own state); each run's Redis keys have their own prefix and are deleted when the
peer stops.
"""
from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

from bench.common import REDIS_URL, free_port, group_cpu_seconds, stop_group

PEER_DIR = Path(__file__).resolve().parent / "peer"
PACKAGE = PEER_DIR / "node_modules" / "oidc-provider" / "package.json"


def ensure_installed() -> None:
    """Install the pinned node-oidc-provider with npm (once; the registry must be reachable)."""
    if PACKAGE.exists():
        return
    if not shutil.which("node") or not shutil.which("npm"):
        raise RuntimeError("node and npm are needed for the peer (apt-get install nodejs npm)")
    subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=PEER_DIR,
                   check=True, timeout=600)


def describe(adapter: str = "memory") -> str:
    version = json.loads(PACKAGE.read_text())["version"]
    node = subprocess.run(["node", "--version"], capture_output=True, text=True).stdout.strip()
    return (f"node-oidc-provider {version} (Node {node}, one process, NODE_ENV=production, "
            f"{adapter} adapter)")


class Peer:
    """node-oidc-provider serving ``clients`` (OIDC registration metadata) on a free port."""

    def __init__(self, clients: list[dict], adapter: str = "memory"):
        if adapter not in ("memory", "redis"):
            raise ValueError(f"unknown peer adapter {adapter!r}")
        ensure_installed()
        self.adapter = adapter
        self.prefix = secrets.token_hex(6) + ":"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._clients = tempfile.NamedTemporaryFile("w", prefix="peer-clients-", suffix=".json",
                                                    delete=False)
        json.dump(clients, self._clients)
        self._clients.close()
        self.log = tempfile.NamedTemporaryFile(prefix="peer-", suffix=".log", delete=False)
        env = {**os.environ, "NODE_ENV": "production", "PEER_PORT": str(self.port),
               "PEER_ISSUER": self.url, "PEER_CLIENTS": self._clients.name,
               "PEER_ADAPTER": adapter, "PEER_REDIS_URL": REDIS_URL,
               "PEER_REDIS_PREFIX": self.prefix}
        self.proc = subprocess.Popen(["node", "server.mjs"], cwd=PEER_DIR, env=env,
                                     stdout=self.log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        self.describe = f"node-oidc-provider ({adapter} adapter)"

    def wait_ready(self, timeout=60) -> "Peer":
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("peer exited:\n" + Path(self.log.name).read_text()[-3000:])
            try:
                with urllib.request.urlopen(self.url + "/.well-known/openid-configuration",
                                            timeout=2) as resp:
                    if resp.status == 200:
                        return self
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError("peer not ready:\n" + Path(self.log.name).read_text()[-3000:])

    def cpu_seconds(self) -> float:
        return group_cpu_seconds(self.proc.pid)

    def stop(self) -> None:
        stop_group(self.proc, grace=10, files=(self.log.name, self._clients.name))
        if self.adapter == "redis":  # this run's keys (they would expire, some in 30 days)
            import redis
            client = redis.Redis.from_url(REDIS_URL)
            try:
                keys = list(client.scan_iter(match=f"peer:{self.prefix}*", count=1000))
                for start in range(0, len(keys), 500):
                    client.delete(*keys[start:start + 500])
            finally:
                client.close()

    def __enter__(self):
        try:
            return self.wait_ready()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc):
        self.stop()
