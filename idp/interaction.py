"""The login transaction: what ``/authorize`` stores and the login interaction resumes.

It sits below both ``oidc/`` (which opens and finishes transactions) and ``login/`` (whose
methods authenticate the user inside one), so neither imports the other's internals.  A
transaction lives in the short-lived store under ``txn:<id>`` for ``login_ttl`` seconds.
"""
from __future__ import annotations

import secrets
import time
from dataclasses import asdict, dataclass, field

from .errors import IdpError

# acr values (DESIGN section 5).  Each belongs to one subject type and is ranked only within
# it: the two person levels are ordered (face < face-active); the licence login of a legal
# person stands alone.  A login of one type never satisfies a request for the other.
ACR_FACE = "urn:idp:acr:person:face"
ACR_FACE_ACTIVE = "urn:idp:acr:person:face-active"
ACR_ELICENSE = "urn:idp:acr:entity:elicense"
ACR_VALUES = (ACR_FACE, ACR_FACE_ACTIVE, ACR_ELICENSE)
PERSON, ENTITY = "person", "entity"
_ACR_RANKS = {ACR_FACE: (PERSON, 1), ACR_FACE_ACTIVE: (PERSON, 2), ACR_ELICENSE: (ENTITY, 1)}


def acr_type(acr: str | None) -> str | None:
    """``person`` or ``entity``; None for values this OP does not know."""
    return _ACR_RANKS.get(acr, (None, 0))[0]


def acr_level(acr: str | None) -> int:
    """Rank of an acr value within its subject type; unknown or absent values rank lowest."""
    return _ACR_RANKS.get(acr, (None, 0))[1]


def acr_meets(achieved: str | None, wanted: str) -> bool:
    """Does a login at ``achieved`` satisfy a request for ``wanted``?  Same type, same or
    higher rank."""
    kind = acr_type(wanted)
    return (kind is not None and acr_type(achieved) == kind
            and acr_level(achieved) >= acr_level(wanted))


def acr_aim(options: list[str], *, essential: bool) -> str | None:
    """The acr a login aims for among the requested ``options`` (known values, in request
    order): a person level when one is asked for (the lowest that is acceptable when the
    request is essential, the first named when voluntary), else the entity level."""
    person = [a for a in options if acr_type(a) == PERSON]
    if person:
        return min(person, key=acr_level) if essential else person[0]
    return options[0] if options else None


class TransactionNotFound(IdpError):
    """This login has expired or is unknown; start again from the service you came from."""

    error = "login_expired"
    status = 400


@dataclass
class LoginTransaction:
    id: str
    client_id: str
    redirect_uri: str
    scope: str
    state: str | None = None
    nonce: str | None = None
    code_challenge: str | None = None
    code_challenge_method: str | None = None
    prompt: list[str] = field(default_factory=list)
    max_age: int | None = None
    acr_values: list[str] = field(default_factory=list)
    required_acr: str | None = None  # the acr aimed for (``acr_aim``): the person method's mode
    acr_essential: bool = False  # essential acr: a login meeting no acr_options fails
    # the known acr values requested (essential ones, else acr_values): a login or session
    # satisfies the request when it meets one of them (``acr_meets``); empty: anything does
    acr_options: list[str] = field(default_factory=list)
    claims: dict | None = None  # the OIDC ``claims`` request parameter
    login_hint: str | None = None
    ui_locales: list[str] = field(default_factory=list)
    hint_subject: str | None = None  # internal subject named by a valid id_token_hint
    created_at: float = field(default_factory=time.time)
    # set when a login method completes (or an existing session is reused for consent)
    sid: str | None = None
    # the method the user is using (so a page reload resumes the same step)
    method: str | None = None
    # SHA-256 of the secret in the browser's cookie (``binding.py``): the browser it belongs to
    browser_hash: str | None = None

    @classmethod
    def new(cls, **params) -> "LoginTransaction":
        return cls(id=secrets.token_urlsafe(24), **params)

    def to_dict(self) -> dict:
        return asdict(self)

    @property
    def locale(self) -> str:
        for tag in self.ui_locales:
            low = tag.lower()
            if low.startswith("en"):
                return "en"
            if low.startswith("zh"):
                return "zh-CN"
        return "zh-CN"

    def reported_acr(self, achieved: str) -> str:
        """The acr the ID token states.  OIDC Core 5.5.1.1: for an essential acr with values
        the OP "MUST return an acr Claim Value that matches one of the requested values", so
        a higher login of the same type (face-active for face) is stated as the highest
        requested value it meets; otherwise the acr reached."""
        if not self.acr_essential or achieved in self.acr_options:
            return achieved
        met = [w for w in self.acr_options if acr_meets(achieved, w)]
        return max(met, key=acr_level) if met else achieved

    def acr_satisfied(self, acr: str | None) -> bool:
        wanted = self.acr_options or ([self.required_acr] if self.required_acr else [])
        return not wanted or any(acr_meets(acr, w) for w in wanted)


class Transactions:
    """Load and save login transactions in the short-lived store."""

    PREFIX = "txn:"

    def __init__(self, store, ttl: int):
        self.store = store
        self.ttl = ttl

    def save(self, txn: LoginTransaction) -> None:
        remaining = int(txn.created_at + self.ttl - time.time())
        if remaining <= 0:
            raise TransactionNotFound()
        self.store.put(self.PREFIX + txn.id, txn.to_dict(), remaining)

    def load(self, txn_id) -> LoginTransaction:
        if not isinstance(txn_id, str) or not 16 <= len(txn_id) <= 64:
            raise TransactionNotFound()
        data = self.store.get(self.PREFIX + txn_id)
        if not data:
            raise TransactionNotFound()
        return LoginTransaction(**data)

    def take(self, txn_id: str) -> LoginTransaction:
        """Remove the transaction as it finishes, so one login yields one code."""
        data = self.store.take(self.PREFIX + txn_id)
        if not data:
            raise TransactionNotFound()
        return LoginTransaction(**data)
