"""The token request being answered, for what the token endpoint records about it.

The app's view and the WSGI fast path (``idp.ops.token_fastpath``, which has no Flask
request) both answer code and refresh redemptions; the provider stages a redemption's audit
event with its grant (``Provider.staged_token_event``) and needs the client's address and
the grant type for it, and the view must not audit that success again.
"""
from __future__ import annotations

from contextvars import ContextVar

# environ key: a non-success of a consuming grant the fast path ran, for the app to render
# and audit as its own (the code or refresh token is spent: the app must not run it again).
OUTCOME = "idp.token_outcome"


class TokenRequest:
    __slots__ = ("ip", "grant_type", "event_staged")

    def __init__(self, ip: str | None, grant_type: str):
        self.ip = ip
        self.grant_type = grant_type[:64]
        self.event_staged = False


_current: ContextVar[TokenRequest | None] = ContextVar("idp_token_request", default=None)


def begin(ip: str | None, grant_type: str):
    """Mark the start of answering a token request (returns what ``end`` takes)."""
    return _current.set(TokenRequest(ip, grant_type or ""))


def end(handle) -> None:
    _current.reset(handle)


def current() -> TokenRequest | None:
    return _current.get()
