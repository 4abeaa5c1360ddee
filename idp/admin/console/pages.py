"""Console pages: dashboard (charts), signing keys, licence authorities, registry, audit trail."""
from __future__ import annotations

from datetime import datetime, timezone
from urllib.parse import urlencode

from flask import g, request

from ...errors import IdpError, InvalidRequest
from .. import auditlog, charts
from ..authorities import MAX_PEM_BYTES
from ..i18n import at
from . import actor, bp, render, see_other, svc

PAGE_SIZE = 50


def _hour(ts: int) -> str:
    return datetime.fromtimestamp(ts, timezone.utc).strftime("%H")


@bp.get("/")
def dashboard():
    data = svc().stats(actor())
    logins = data["logins"]["per_hour"]
    labels = [_hour(b["hour"]) for b in logins]
    names = sorted({name for b in logins for name in b["counts"]})
    series = {name: [b["counts"].get(name, 0) for b in logins] for name in names}
    live = data["liveness"]["per_hour"]
    return render("dashboard.html", data=data,
                  logins_chart=charts.stacked_bars(at("logins_per_hour"), labels, series),
                  liveness_chart=charts.rate_bars(at("liveness_rate"), labels,
                                                  [b["pass_rate"] for b in live],
                                                  [b["total"] for b in live], at("pass_rate")))


@bp.get("/keys")
def keys():
    return render("keys.html", keys=svc().list_keys(actor()))


@bp.post("/keys/rotate")
def keys_rotate():
    algs = request.form.getlist("alg") or None
    svc().rotate_keys(actor(), algs)
    return see_other("admin_console.keys")


@bp.post("/keys/<kid>/retire")
def key_retire(kid):
    svc().retire_key(actor(), kid)
    return see_other("admin_console.keys")


@bp.get("/authorities")
def authorities():
    return render("authorities.html", authorities=svc().list_authorities(actor()))


@bp.post("/authorities")
def authorities_add():
    upload = request.files.get("certificate")
    pem = upload.stream.read(MAX_PEM_BYTES + 1) if upload and upload.filename else b""
    pem = pem or (request.form.get("pem") or "").encode()
    try:
        svc().add_authority(actor(), pem, name=request.form.get("name") or None,
                            crl_source=request.form.get("crl_source"),
                            ocsp_source=request.form.get("ocsp_source"))
    except IdpError as exc:
        if exc.status >= 500 or exc.status == 403:
            raise
        return render("authorities.html", exc.status, error=exc.description,
                      authorities=svc().list_authorities(actor()))
    return see_other("admin_console.authorities")


@bp.post("/authorities/<authority_id>/sources")
def authority_sources(authority_id):
    try:
        svc().update_authority_sources(actor(), authority_id,
                                       crl_source=request.form.get("crl_source", ""),
                                       ocsp_source=request.form.get("ocsp_source", ""))
    except IdpError as exc:
        if exc.status >= 500 or exc.status in (403, 404):
            raise
        return render("authorities.html", exc.status, error=exc.description,
                      authorities=svc().list_authorities(actor()))
    return see_other("admin_console.authorities")


@bp.post("/authorities/<authority_id>/<action>")
def authority_toggle(authority_id, action):
    if action not in ("enable", "disable"):
        raise InvalidRequest("unknown action")
    svc().set_authority_enabled(actor(), authority_id, action == "enable")
    return see_other("admin_console.authorities")


@bp.get("/registry")
def registry():
    return render("registry.html", registry=svc().registry_status(actor()))


def _checkpoint_age() -> dict | None:
    """The last signed checkpoint and how old it is (issue 15), for the audit page."""
    from flask import current_app
    head = current_app.extensions["idp"].services["checkpoints"].latest()
    if head is None:
        return None
    age = max(0, int(datetime.now(timezone.utc).timestamp() - head.ts))
    unit, n = (("age_s", age) if age < 120 else ("age_min", age // 60) if age < 7200
               else ("age_h", age // 3600))
    return {"seq": head.seq, "event": head.event_id, "age": at(unit).format(n=n)}


@bp.get("/audit")
def audit():
    args = request.args
    filters = {"since": args.get("since", ""), "until": args.get("until", ""),
               "client_id": args.get("client_id", ""), "outcome": args.get("outcome", ""),
               "subject": args.get("subject", "")}
    try:
        before = int(args["before"]) if args.get("before") else None
    except ValueError:
        raise InvalidRequest("before must be a whole number") from None
    events, next_before = svc().search_audit(
        actor(), since=auditlog.parse_time(filters["since"], "since"),
        until=auditlog.parse_time(filters["until"], "until"),
        client_id=filters["client_id"] or None, outcome=filters["outcome"] or None,
        subject=filters["subject"] or None, before=before, limit=PAGE_SIZE)
    kept = {k: v for k, v in filters.items() if v}
    kept["lang"] = g.get("locale", "zh-CN")
    return render("audit.html", events=events, filters=filters, paged=before is not None,
                  checkpoint=_checkpoint_age(),
                  first_query=urlencode(kept),
                  next_query=urlencode({**kept, "before": next_before}) if next_before else None)
