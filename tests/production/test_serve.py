"""``idp serve``: gunicorn in production mode, probes, metrics across workers, clean SIGTERM."""
from __future__ import annotations

import os
import signal
import subprocess
import sys

import requests

from .services import ROOT, free_port, wait_until


def test_idp_serve_runs_gunicorn_and_stops_gracefully(tmp_path):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("IDP_", "PROMETHEUS_"))}
    env.update({"IDP_INSTANCE_DIR": str(tmp_path / "instance"), "IDP_KEYS_DIR": str(tmp_path / "keys"),
                "IDP_SECRET_KEY": "s" * 48, "IDP_MODELS_DIR": str(tmp_path / "models"),
                "IDP_MODELS_REQUIRED": "0", "IDP_LOG_JSON": "1", "PYTHONPATH": str(ROOT), "TMPDIR": str(tmp_path)})
    init = subprocess.run([sys.executable, "-m", "idp.cli", "init"], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert init.returncode == 0, init.stderr
    log = open(tmp_path / "serve.log", "wb")
    proc = subprocess.Popen([sys.executable, "-m", "idp.cli", "serve", "--server", "gunicorn",
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
        wait_until(up, 40, 0.1, "idp serve")
        health = requests.get(base + "/healthz", timeout=5)
        assert health.json() == {"status": "ok"} and health.headers["Server"].startswith("gunicorn")
        for _ in range(30):
            assert requests.get(base + "/jwks.json", timeout=5).status_code == 200
        text = requests.get(base + "/metrics", timeout=5).text
        jwks = [line for line in text.splitlines()
                if line.startswith('idp_http_requests_total{endpoint="oidc.jwks"')]
        assert jwks and float(jwks[0].split()[-1]) == 30  # summed over both workers
        metrics_dirs = list(tmp_path.glob("idp-metrics-*"))
        assert len(metrics_dirs) == 1
        os.killpg(proc.pid, signal.SIGTERM)
        assert proc.wait(20) == 0
        assert not metrics_dirs[0].exists()  # the master cleans up its metrics files
        lines = (tmp_path / "serve.log").read_text().splitlines()
        access = [line for line in lines if '"logger": "idp.access"' in line]
        assert access and all(line.startswith("{") for line in access)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)


def test_idp_serve_refuses_a_bad_configuration_at_once(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("IDP_")}
    env.update({"IDP_ISSUER": "ftp://nope", "PYTHONPATH": str(ROOT)})
    done = subprocess.run([sys.executable, "-m", "idp.cli", "serve", "--port", str(free_port())],
                          env=env, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert "IDP_ISSUER" in done.stderr
