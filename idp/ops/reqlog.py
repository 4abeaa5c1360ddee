"""Request ids, access lines and structured (JSON) logs.

Every request gets an id: a sane incoming ``X-Request-Id`` (from the proxy) is kept,
anything else is replaced by a random one.  It is returned in the ``X-Request-Id`` response
header and attached to every log record made while the request runs.  With
``IDP_LOG_JSON=1`` the root logger writes one JSON object per line.  One access line per
request goes to the ``idp.access`` logger: the route pattern (never the query string, which
may carry hints and codes), status, duration and client address.

``IDP_TRUSTED_PROXIES=N`` (N proxy hops in front of the OP) makes the client address come
from ``X-Forwarded-For``/``X-Forwarded-Proto`` as set by those proxies (werkzeug ProxyFix);
leave it 0 when clients reach gunicorn directly, or they could forge their address.
"""
from __future__ import annotations

import json
import logging
import re
import secrets
import time

from flask import g, has_request_context, request


HEADER = "X-Request-Id"
_SANE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:@+=-]{7,127}$")
access_log = logging.getLogger("idp.access")


def request_id() -> str | None:
    """The current request's id (None outside a request)."""
    if not has_request_context():
        return None
    return g.get("request_id")


def sane_id(value: str) -> str:
    """``value`` when it is a sane request id, else a random one."""
    return value if _SANE.match(value) else secrets.token_hex(16)


def _incoming_id() -> str:
    return sane_id(request.headers.get(HEADER, ""))


def access_line(method: str, route: str, status: int, rid: str, duration_ms, remote_addr,
                cached: bool = False) -> None:
    """The one access line of a request (the app's and the fast paths' alike).

    The record is made directly rather than through ``Logger.info``, which walks the stack
    for the caller's file and line (``findCaller``) on every call: a quarter of the line's
    cost, for fields no formatter of this OP prints (the caller is always this function).
    Level, filters, handlers and propagation are the logger's own (``Logger.handle``)."""
    if access_log.isEnabledFor(logging.INFO):
        extra = {"request_id": rid, "method": method, "route": route, "status": status,
                 "duration_ms": duration_ms, "remote_addr": remote_addr}
        if cached:  # answered by idp.ops.fastpath's document cache
            extra["cached"] = True
        access_log.handle(access_log.makeRecord(
            access_log.name, logging.INFO, __file__, 0, "%s %s %s", (method, route, status),
            None, "access_line", extra))


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = request_id()
        return True


_STD = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime", "taskName"}


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time, level, logger, message, request_id, extras."""

    def format(self, record: logging.LogRecord) -> str:
        out = {"ts": round(record.created, 3), "level": record.levelname.lower(),
               "logger": record.name, "msg": record.getMessage()}
        rid = getattr(record, "request_id", None) or request_id()
        if rid:
            out["request_id"] = rid
        for key, value in vars(record).items():
            if key not in _STD and key not in out and not key.startswith("_"):
                out[key] = value if isinstance(value, (str, int, float, bool, type(None))) else str(value)
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False)


def use_json_logs(level=logging.INFO) -> None:
    """Make the root logger's handlers write JSON (adds a stderr handler if it has none)."""
    root = logging.getLogger()
    if not root.handlers:
        root.addHandler(logging.StreamHandler())
    for handler in root.handlers:
        if not isinstance(handler.formatter, JsonFormatter):
            handler.setFormatter(JsonFormatter())
        if not any(isinstance(f, RequestIdFilter) for f in handler.filters):
            handler.addFilter(RequestIdFilter())
    if root.level > level or root.level == logging.NOTSET:
        root.setLevel(level)


def init_app(app) -> None:
    settings = app.extensions["idp"].settings
    hops = settings.trusted_proxies
    if hops > 0:
        from werkzeug.middleware.proxy_fix import ProxyFix
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)
    if settings.log_json:
        use_json_logs()

    @app.before_request
    def _assign_id():
        g.request_id = _incoming_id()
        g.request_started = time.perf_counter()

    @app.after_request
    def _return_id(response):
        rid = g.get("request_id") or _incoming_id()
        response.headers[HEADER] = rid
        if access_log.isEnabledFor(logging.INFO) and "idp.fastpath.fill" not in request.environ:
            started = g.get("request_started")
            ms = round((time.perf_counter() - started) * 1000, 2) if started else None
            route = request.url_rule.rule if request.url_rule else "-"
            access_line(request.method, route, response.status_code, rid, ms, request.remote_addr)
        return response
