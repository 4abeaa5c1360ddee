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

# acr values, ordered low to high (DESIGN section 5)
ACR_FACE = "urn:idp:acr:person:face"
ACR_FACE_ACTIVE = "urn:idp:acr:person:face-active"
ACR_ELICENSE = "urn:idp:acr:entity:elicense"
ACR_VALUES = (ACR_FACE, ACR_FACE_ACTIVE, ACR_ELICENSE)


def acr_level(acr: str | None) -> int:
    """Rank of an acr value; unknown or absent values rank lowest."""
    try:
        return ACR_VALUES.index(acr) + 1
    except ValueError:
        return 0


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
    required_acr: str | None = None  # the acr aimed for (lowest satisfying an essential request)
    acr_essential: bool = False  # essential acr: below required_acr fails; acr_values never
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

    def acr_satisfied(self, acr: str | None) -> bool:
        return acr_level(acr) >= acr_level(self.required_acr)


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
