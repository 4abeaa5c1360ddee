"""Prometheus metrics at ``/metrics``.

Under ``idp serve`` (gunicorn) every worker writes its samples to files in
``PROMETHEUS_MULTIPROC_DIR`` (set up by ``idp.serving`` before the workers start) and
``/metrics`` aggregates all workers; without that variable each process has its own registry.

Other areas report through two functions: ``count_login(method, outcome)`` (done for them:
every ``login`` audit event is counted) and ``observe_liveness(stage, seconds)``.

``/metrics`` is meant for the internal network only: the proxy in ``deploy/`` does not route
it, and ``IDP_METRICS_TOKEN`` (optional) demands ``Authorization: Bearer <token>``.
"""
from __future__ import annotations

import hmac
import os
import re
import time

from flask import Response, g, request
from prometheus_client import (CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram,
                               generate_latest)


FILL = "idp.fastpath.fill"

_LABEL = re.compile(r"^[a-z0-9_.:-]{1,48}$")
GRANT_TYPES = {"authorization_code", "refresh_token", "client_credentials",
               "urn:ietf:params:oauth:grant-type:token-exchange"}
LATENCY_BUCKETS = (0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

REQUESTS = Counter("idp_http_requests_total", "HTTP requests by endpoint, method and status",
                   ["endpoint", "method", "status"])
LATENCY = Histogram("idp_http_request_duration_seconds", "HTTP request latency by endpoint",
                    ["endpoint"], buckets=LATENCY_BUCKETS)
LOGINS = Counter("idp_logins_total", "Login outcomes by method", ["method", "outcome"])
TOKENS = Counter("idp_tokens_issued_total", "Token responses issued, by grant type",
                 ["grant_type"])
LIVENESS = Histogram("idp_liveness_stage_seconds", "Liveness pipeline stage timings",
                     ["stage"], buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5))
RATE_LIMITED = Counter("idp_rate_limited_total", "Requests refused by a rate limit",
                       ["scope"])


def _label(value, default="other") -> str:
    text = str(value or "").lower()
    return text if _LABEL.match(text) else default


def count_login(method, outcome) -> None:
    """Count one login attempt's outcome (``success``/``failure``/...) for a login method."""
    LOGINS.labels(_label(method, "unknown"), _label(outcome)).inc()


def observe_liveness(stage, seconds: float) -> None:
    """Record how long one liveness stage (decode, detect, antispoof, ...) took."""
    LIVENESS.labels(_label(stage)).observe(max(float(seconds), 0.0))


def count_rate_limited(scope: str) -> None:
    RATE_LIMITED.labels(_label(scope)).inc()


def render() -> tuple[bytes, str]:
    """The exposition text of this process, or of every worker in multi-process mode."""
    path = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if path and os.path.isdir(path):
        from prometheus_client import multiprocess
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry, path=path)
        return generate_latest(registry), CONTENT_TYPE_LATEST
    from prometheus_client import REGISTRY
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST


def _wrap_audit(provider) -> None:
    """Count ``login`` audit events without touching the login code."""
    if getattr(provider.audit, "_idp_metrics", False):
        return
    original = provider.audit

    def audit(event, outcome, *args, **kwargs):
        result = original(event, outcome, *args, **kwargs)
        if event == "login":
            count_login(kwargs.get("method") or "unknown", outcome)
        return result

    audit._idp_metrics = True
    provider.audit = audit


def init_app(app) -> None:
    state = app.extensions["idp"]
    token = state.settings.metrics_token
    _wrap_audit(state.provider)

    @app.after_request
    def _observe(response):
        if FILL in request.environ:
            return response
        endpoint = request.endpoint or "unmatched"
        status = response.status_code
        REQUESTS.labels(endpoint, request.method, str(status)).inc()
        started = g.get("request_started")
        if started is not None:
            LATENCY.labels(endpoint).observe(time.perf_counter() - started)
        if endpoint == "oidc.token" and status == 200:
            grant = request.form.get("grant_type")
            TOKENS.labels(grant if grant in GRANT_TYPES else "other").inc()
        return response

    @app.get("/metrics")
    def metrics():
        if token:
            sent = request.headers.get("Authorization", "")
            if not hmac.compare_digest(sent.encode(), f"Bearer {token}".encode()):
                return Response("unauthorized\n", status=401, mimetype="text/plain",
                                headers={"WWW-Authenticate": "Bearer"})
        body, content_type = render()
        return Response(body, content_type=content_type, headers={"Cache-Control": "no-store"})
