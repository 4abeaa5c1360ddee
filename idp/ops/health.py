"""Liveness and readiness probes.

* ``GET /healthz``: the process answers (no dependency is touched): for restarts.
* ``GET /readyz``: the database, the short-lived store, the signing keys and, when the face
  engine is wired (``services["liveness"]``) and ``IDP_MODELS_REQUIRED`` is on (the
  default), its models load: for load balancers.
  503 with ``{"error": "temporarily_unavailable", "not_ready": [...], "checks": {...}}``
  names what is not ready.  Each check has a time budget, so a hung dependency makes the
  probe fail, not hang.

Other areas add checks with ``add_check(app, name, fn)``; ``fn()`` returns truthy when ready
(or raises).
"""
from __future__ import annotations

import logging
import time
from concurrent.futures import ThreadPoolExecutor, TimeoutError as FutureTimeout

from flask import jsonify
from sqlalchemy import text

log = logging.getLogger(__name__)
BUDGET_SECONDS = 2.0
_pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="readyz")


def _database(state):
    with state.db.engine.connect() as conn:
        conn.execute(text("SELECT 1"))
    return True


def _store(state):
    state.store.put("ready:probe", 1, 5)
    return state.store.get("ready:probe") == 1


def _keys(state):
    return state.keyring.ready()


def _models(state):
    engine = state.services.get("liveness")
    ready = getattr(engine, "ready", True)
    return ready() if callable(ready) else bool(ready)


def add_check(app, name: str, fn) -> None:
    app.extensions.setdefault("idp.ready_checks", {})[name] = fn


def run_checks(app) -> dict[str, str]:
    """``{name: "ok" | reason}`` for every readiness check, within the time budget."""
    state = app.extensions["idp"]
    checks = {"database": lambda: _database(state), "store": lambda: _store(state),
              "keys": lambda: _keys(state)}
    if state.services.get("liveness") is not None and state.settings.models_required:
        checks["models"] = lambda: _models(state)
    checks.update(app.extensions.get("idp.ready_checks", {}))
    futures = {name: _pool.submit(fn) for name, fn in checks.items()}
    deadline = time.monotonic() + BUDGET_SECONDS
    results = {}
    for name, future in futures.items():
        try:
            ok = future.result(timeout=max(deadline - time.monotonic(), 0.01))
            results[name] = "ok" if ok else "not ready"
        except FutureTimeout:
            results[name] = "timeout"
        except Exception as exc:  # a probe reports failures, it never raises them
            results[name] = f"unavailable ({type(exc).__name__})"
            log.warning("readiness check %s failed: %s", name, type(exc).__name__)
    return results


def init_app(app) -> None:
    @app.get("/healthz")
    def healthz():
        response = jsonify({"status": "ok"})
        response.headers["Cache-Control"] = "no-store"
        return response

    @app.get("/readyz")
    def readyz():
        results = run_checks(app)
        failing = [name for name, result in results.items() if result != "ok"]
        if failing:
            body = {"error": "temporarily_unavailable", "status": "not_ready",
                    "error_description": "not ready: " + ", ".join(failing),
                    "not_ready": failing, "checks": results}
            status = 503
        else:
            body, status = {"status": "ready", "checks": results}, 200
        response = jsonify(body)
        response.status_code = status
        response.headers["Cache-Control"] = "no-store"
        return response
