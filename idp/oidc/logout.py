"""RP-initiated logout (OIDC RP-Initiated Logout 1.0) and back-channel logout (OIDC
Back-Channel Logout 1.0).

``/end-session`` ends the SSO session.  With a valid ``id_token_hint`` for the current
session it logs out at once; otherwise it asks the user to confirm (a forged logout link
cannot end a session silently).  ``post_logout_redirect_uri`` must be registered for the
client, exactly.  Every relying party that received tokens in the session is sent a logout
token by POST, retried with backoff, and each delivery is audited.
"""
from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlencode

import requests
from flask import Blueprint, current_app, redirect, render_template, request

from ..errors import InvalidRequest, Unauthorized
from ..web import require_csrf, set_session_cookie
from .sessions import COOKIE

log = logging.getLogger(__name__)
bp = Blueprint("logout", __name__)


class BackchannelSender:
    def __init__(self, provider, *, timeout: float, retries: int, workers: int = 4):
        self.provider = provider
        self.timeout = timeout
        self.retries = retries
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="bcl")
        self._pending: set = set()
        self._lock = threading.Lock()

    def notify(self, session) -> None:
        for client_id, sub in session.clients.items():
            client = self.provider.clients.get(client_id)
            uri = client.metadata.get("backchannel_logout_uri") if client else None
            if not uri:
                continue
            token = self.provider.minter.logout_token(client_id=client_id, sub=sub, sid=session.sid)
            future = self._pool.submit(self._deliver, client_id, uri, token)
            with self._lock:
                self._pending.add(future)
            future.add_done_callback(self._done)

    def _done(self, future):
        with self._lock:
            self._pending.discard(future)

    def _deliver(self, client_id: str, uri: str, token: str) -> bool:
        last = ""
        for attempt in range(1, self.retries + 1):
            try:
                resp = requests.post(uri, data={"logout_token": token}, timeout=self.timeout,
                                     allow_redirects=False)
                if resp.status_code in (200, 204):
                    self.provider.audit("logout.backchannel", "success", client_id=client_id,
                                        details={"attempts": attempt}, ip="-")
                    return True
                last = f"HTTP {resp.status_code}"
            except requests.RequestException as exc:
                last = type(exc).__name__
            if attempt < self.retries:
                time.sleep(0.5 * 2 ** (attempt - 1))
        self.provider.audit("logout.backchannel", "failure", client_id=client_id,
                            reason=f"delivery failed after {self.retries} attempts: {last}",
                            ip="-")
        return False

    def flush(self, timeout: float = 30) -> None:
        """Wait for pending deliveries (tests, shutdown)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                pending = list(self._pending)
            if not pending:
                return
            time.sleep(0.05)


def ctx():
    return current_app.extensions["idp"].provider


@bp.route("/end-session", methods=["GET", "POST"])
def end_session():
    provider = ctx()
    args = request.values
    for name in ("id_token_hint", "post_logout_redirect_uri", "state", "client_id"):
        if len(args.getlist(name)) > 1:
            raise InvalidRequest(f"parameter {name} is repeated")
    client, hint_sub = _client_from(provider, args)
    redirect_uri = args.get("post_logout_redirect_uri")
    if redirect_uri:
        if client is None:
            raise InvalidRequest("post_logout_redirect_uri needs id_token_hint or client_id")
        if redirect_uri not in (client.metadata.get("post_logout_redirect_uris") or []):
            raise InvalidRequest("post_logout_redirect_uri is not registered for this client")
    session = provider.sessions.get(request.cookies.get(COOKIE))
    confirmed = request.method == "POST" and request.form.get("confirm") == "yes"
    if confirmed:
        require_csrf()
    hinted = (session is not None and client is not None and hint_sub is not None
              and provider.subjects.sub_for(session.subject, client) == hint_sub)
    if session is not None and not (hinted or confirmed):
        return render_template("logout_confirm.html", params=args, client=client)
    if session is not None:
        logout(provider, session.sid, reason="rp_initiated" if hinted else "user")
    set_session_cookie(None)
    if redirect_uri:
        params = {"state": args["state"]} if args.get("state") else {}
        return redirect(redirect_uri + (("&" if "?" in redirect_uri else "?") + urlencode(params)
                                        if params else ""), 302)
    return render_template("logged_out.html")


def _client_from(provider, args):
    hint = args.get("id_token_hint")
    client_id = args.get("client_id")
    hint_sub = None
    if hint:
        try:
            claims = provider.minter.decode(hint, typ="JWT", verify_exp=False)  # ID tokens only
        except Unauthorized:
            raise InvalidRequest("id_token_hint is not an ID token issued by this OP") from None
        aud = claims.get("aud")
        aud = aud[0] if isinstance(aud, list) and aud else aud
        if client_id and client_id != aud:
            raise InvalidRequest("client_id does not match the id_token_hint audience")
        client_id, hint_sub = aud, claims.get("sub")
    client = provider.clients.active(client_id) if client_id else None
    if client_id and client is None:
        raise InvalidRequest("unknown client_id")
    return client, hint_sub


def logout(provider, sid: str, *, reason: str) -> None:
    """End a session everywhere: store, grants, relying parties, audit."""
    session = provider.sessions.end(sid)
    revoked = provider.grant_store.revoke_session(sid, "logout")
    if session is not None:
        current_app.extensions["idp"].backchannel.notify(session)
    provider.audit("logout", "success", subject=None, reason=reason,
                   details={"clients": sorted(session.clients) if session else [],
                            "grants_revoked": len(revoked)})
