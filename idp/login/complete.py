"""``complete_login``: the one way a login method finishes the interaction.

It creates or extends the SSO session (setting its cookie), records the authentication in
the audit trail, asks for consent when the client has none remembered for these scopes, and
otherwise resumes the authorization response with a code.
"""
from __future__ import annotations

from flask import current_app, request

from .. import binding
from ..interaction import LoginTransaction
from ..oidc import authorize as az
from ..oidc.logout import logout
from ..oidc.sessions import COOKIE
from ..web import set_session_cookie


def _provider():
    return current_app.extensions["idp"].provider


def current_transaction(txn_id: str) -> LoginTransaction:
    return _provider().transactions.load(txn_id)


def complete_login(txn: LoginTransaction, subject: str, acr: str, amr: list[str], *,
                   claims: dict | None = None, method: str | None = None,
                   audit_subject: str | None = None) -> str:
    """Finish a login; return the URL the browser goes to next (consent page or the RP)."""
    provider = _provider()
    back = {"redirect_uri": txn.redirect_uri, "state": txn.state}
    # OIDC Core 5.5.1.1: only an essential acr request fails when it is not met; acr_values
    # (section 3.1.2.1) is voluntary, so a lower login is answered with the acr it reached.
    if txn.acr_essential and not txn.acr_satisfied(acr):
        provider.transactions.take(txn.id)
        binding.release(txn.id)
        return az.error_redirect(back, "access_denied",
                                 "the login did not reach the requested assurance level",
                                 provider.issuer)
    current = provider.sessions.get(request.cookies.get(COOKIE))
    if current is not None and current.subject != subject:
        # Another person logs in on this browser: the previous session ends exactly as on
        # logout (its grants revoked, its relying parties told by back-channel).
        logout(provider, current.sid, reason="replaced by another login")
        current = None
    session = provider.sessions.login(current, subject=subject, acr=acr, amr=amr,
                                      claims=claims or {})
    set_session_cookie(session.sid, provider.settings.session_ttl)
    provider.audit("login", "success", client_id=txn.client_id, subject=audit_subject,
                   method=method, details={"acr": acr, "amr": amr})
    if az.needs_consent(provider, txn, subject):
        txn.sid = session.sid
        provider.transactions.save(txn)
        return f"{provider.issuer}/login/{txn.id}/consent"
    provider.transactions.take(txn.id)
    binding.release(txn.id)
    return az.issue_code(provider, txn, session)
