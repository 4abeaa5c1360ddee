"""``idp serve --server granian``: the same app behind granian; probes, a token, metrics summed
over the workers, JSON access lines, a clean SIGTERM."""
from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import sys

import requests

from .services import ROOT, free_port, wait_until


def test_idp_serve_with_granian_serves_tokens_and_stops_gracefully(tmp_path):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("IDP_", "PROMETHEUS_"))}
    env.update({"IDP_INSTANCE_DIR": str(tmp_path / "instance"), "IDP_KEYS_DIR": str(tmp_path / "keys"),
                "IDP_SECRET_KEY": "s" * 48, "IDP_MODELS_DIR": str(tmp_path / "models"),
                "IDP_MODELS_REQUIRED": "0", "IDP_LOG_JSON": "1", "PYTHONPATH": str(ROOT),
                "TMPDIR": str(tmp_path)})
    init = subprocess.run([sys.executable, "-m", "idp.cli", "init"], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert init.returncode == 0, init.stderr
    created = subprocess.run([sys.executable, "-m", "idp.cli", "clients", "create", "--name", "svc",
                              "--grant-type", "client_credentials", "--scope", "liveness", "--json"],
                             env=env, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert created.returncode == 0, created.stderr
    client = json.loads(created.stdout)
    log = open(tmp_path / "serve.log", "wb")
    proc = subprocess.Popen([sys.executable, "-m", "idp.cli", "serve", "--server", "granian",
                             "--port", str(port), "--workers", "2", "--threads", "2",
                             "--graceful-timeout", "5"],
                            env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        def up():
            assert proc.poll() is None, (tmp_path / "serve.log").read_text()[-2000:]
            try:
                return requests.get(base + "/readyz", timeout=2).status_code == 200
            except requests.RequestException:
                return False
        wait_until(up, 60, 0.2, "idp serve --server granian")
        basic = base64.b64encode(f"{client['client_id']}:{client['client_secret']}".encode()).decode()
        token = requests.post(base + "/token", data={"grant_type": "client_credentials"},
                              headers={"Authorization": "Basic " + basic}, timeout=10)
        assert token.status_code == 200 and token.json()["scope"] == "liveness"
        assert token.headers["Cache-Control"] == "no-store" and token.headers["X-Request-Id"]
        refused = requests.post(base + "/token", data={"grant_type": "client_credentials"},
                                headers={"Authorization": "Basic " + basic[:-4] + "AAAA"}, timeout=10)
        assert refused.status_code == 401 and refused.json()["error"] == "invalid_client"
        for _ in range(30):
            assert requests.get(base + "/jwks.json", timeout=5).status_code == 200
        text = requests.get(base + "/metrics", timeout=5).text
        jwks = [line for line in text.splitlines()
                if line.startswith('idp_http_requests_total{endpoint="oidc.jwks"')]
        assert jwks and float(jwks[0].split()[-1]) == 30  # summed over both workers
        os.killpg(proc.pid, signal.SIGTERM)
        assert proc.wait(30) == 0
        lines = (tmp_path / "serve.log").read_text().splitlines()
        access = [line for line in lines if '"logger": "idp.access"' in line]
        assert access and all(line.startswith("{") for line in access)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)
