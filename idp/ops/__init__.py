"""Operations: health and readiness probes, Prometheus metrics, request ids and structured
logs, rate limits, a cache for the public documents, the client-credentials fast path and the
signed-in user's authorize / userinfo fast path
(DESIGN section 10).

``init_app(app)`` wires all of them; each module also works on its own.
"""
from __future__ import annotations


def init_app(app) -> None:
    from . import fastpath, health, metrics, oidc_fastpath, ratelimit, reqlog, token_fastpath

    token_fastpath.install(app)  # first, so that ProxyFix (reqlog) wraps them
    oidc_fastpath.install(app)
    reqlog.init_app(app)
    metrics.init_app(app)
    ratelimit.init_app(app)
    health.init_app(app)
    fastpath.install(app)
