"""Pages of the interaction that belong to no single method: chooser, consent, cancel."""
from __future__ import annotations

from flask import Blueprint, current_app, g, redirect, render_template, request

from .. import binding
from ..errors import AccessDenied
from ..oidc import authorize as az
from ..oidc.consent import remember_consent
from ..oidc.sessions import COOKIE
from ..web import require_csrf
from .disclosure import consent_items

bp = Blueprint("login", __name__)


def _state():
    return current_app.extensions["idp"]


@bp.before_request
def _protect():
    require_csrf()


@bp.get("/login/<txn_id>")
def choose(txn_id):
    state = _state()
    txn = state.provider.transactions.load(txn_id)
    g.locale = txn.locale if txn.ui_locales else g.locale
    client = state.provider.clients.get(txn.client_id)
    methods = [m for m in state.login_methods.values()
               if not txn.acr_essential or any(txn.acr_satisfied(a) for a in m.acr_values)]
    methods = order_methods(methods, _requested_acrs(txn))
    direct = straight_to(methods, _requested_acrs(txn))
    # The first arrival goes straight to the method the request determines; coming back
    # (the method page's "back" link) shows the list, so the user can still change method.
    if direct is not None and state.store.add(SKIPPED + txn.id, 1, state.settings.login_ttl):
        return redirect(f"/login/{txn.id}/{direct.name}", 303)
    return render_template("login_choose.html", txn=txn, client=client, methods=methods)


SKIPPED = "chooser-skipped:"


def _requested_acrs(txn) -> set[str]:
    return {a for a in [*(txn.acr_values or []), txn.required_acr] if a}


def order_methods(methods: list, requested: set[str]) -> list:
    """Methods that can give a requested acr first (person methods for a person acr);
    otherwise the registration order."""
    return sorted(methods, key=lambda m: 0 if requested & set(m.acr_values) else 1)


def straight_to(methods: list, requested: set[str]):
    """The one method the request leaves, or the one method every requested acr belongs
    to; None when the user has a real choice."""
    if len(methods) == 1:
        return methods[0]
    if requested:
        fitting = [m for m in methods if requested <= set(m.acr_values)]
        if len(fitting) == 1:
            return fitting[0]
    return None


@bp.get("/login/<txn_id>/consent")
def consent(txn_id):
    provider = _state().provider
    txn = provider.transactions.load(txn_id)
    session = _bound_session(provider, txn)
    client = provider.clients.get(txn.client_id)
    g.locale = txn.locale if txn.ui_locales else g.locale  # OIDC Core 3.1.2.1 ui_locales
    items = consent_items(provider.sessions.claims(session), txn.scope, client, txn.claims)
    return render_template("consent.html", txn=txn, client=client, scopes=txn.scope.split(),
                           items=items, session=session)


@bp.post("/login/<txn_id>/consent")
def consent_answer(txn_id):
    provider = _state().provider
    txn = provider.transactions.load(txn_id)
    session = _bound_session(provider, txn)
    provider.transactions.take(txn.id)
    binding.release(txn.id)
    if request.form.get("decision") != "allow":
        provider.audit("consent", "failure", client_id=txn.client_id, reason="user denied")
        return redirect(az.error_redirect(txn.to_dict(), "access_denied",
                                          "the user denied the request", provider.issuer), 302)
    remember_consent(provider, session.subject, txn.client_id, txn.scope)
    provider.audit("consent", "success", client_id=txn.client_id, details={"scope": txn.scope})
    return redirect(az.issue_code(provider, txn, session), 302)


@bp.post("/login/<txn_id>/cancel")
def cancel(txn_id):
    provider = _state().provider
    txn = provider.transactions.take(txn_id)
    binding.release(txn.id)
    provider.audit("login", "failure", client_id=txn.client_id, reason="user cancelled")
    return redirect(az.error_redirect(txn.to_dict(), "access_denied",
                                      "the user cancelled the login", provider.issuer), 302)


def _bound_session(provider, txn):
    """The consent step belongs to the browser whose login opened it."""
    session = provider.sessions.get(request.cookies.get(COOKIE))
    if session is None or txn.sid is None or session.sid != txn.sid:
        raise AccessDenied("this consent request belongs to another login session")
    return session
