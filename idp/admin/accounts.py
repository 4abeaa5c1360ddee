"""Admin accounts: argon2id passwords, TOTP (RFC 6238) with single-use recovery codes, lockout.

The TOTP secret is sealed (AES-GCM, key derived from the server secret) and bound to the
user name; recovery codes are 80-bit random values, so one SHA-256 is a safe storage form.
A failed login never says which factor was wrong.  ``attempt_limit`` failures in a row lock
the account for ``lockout_seconds``; while locked even the right credentials are refused.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import time
from dataclasses import dataclass

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select

from ..errors import Conflict, InvalidRequest, LoginError, NotFound, TooManyRequests
from ..sealing import Sealer
from ..rootsecrets import secret_ring
from ..store.audit import append_event
from ..store.models import AdminUser
from .roles import ROLES

USERNAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{1,63}")
MIN_PASSWORD = 12
RECOVERY_CODES = 10
TOTP_ISSUER = "IDP admin"
_hasher = PasswordHasher()  # argon2id, the library's RFC 9106 low-memory profile
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


def _code_hash(code: str) -> str:
    return hashlib.sha256(code.replace("-", "").strip().lower().encode()).hexdigest()


def new_recovery_code() -> str:
    raw = base64.b32encode(secrets.token_bytes(10)).decode().lower()  # 16 chars, 80 bits
    return "-".join(raw[i:i + 4] for i in range(0, 16, 4))


@dataclass(frozen=True)
class NewAccount:
    username: str
    role: str
    totp_uri: str
    recovery_codes: list[str]


@dataclass(frozen=True)
class AdminAccount:
    username: str
    role: str
    locked_until: float | None
    last_login_at: float | None


class AdminAccounts:
    def __init__(self, database, store, settings):
        self.db = database
        self.store = store
        self.sealer = Sealer(secret_ring(settings), "admin-totp")
        self.limit = settings.attempt_limit
        self.lockout = settings.lockout_seconds

    def create(self, username: str, password: str, role: str, *, actor: str = "cli") -> NewAccount:
        if not isinstance(username, str) or not USERNAME.fullmatch(username):
            raise InvalidRequest("the user name must be 2-64 letters, digits, '.', '_' or '-'")
        if role not in ROLES:
            raise InvalidRequest(f"the role must be one of {', '.join(ROLES)}")
        if not isinstance(password, str) or len(password) < MIN_PASSWORD or len(password) > 1024:
            raise InvalidRequest(f"the password must have {MIN_PASSWORD} to 1024 characters")
        secret = pyotp.random_base32()
        codes = [new_recovery_code() for _ in range(RECOVERY_CODES)]
        with self.db.session() as s:
            if s.get(AdminUser, username) is not None:
                raise Conflict(f"an admin named {username!r} already exists")
            s.add(AdminUser(username=username, password_hash=_hasher.hash(password), role=role,
                            totp_secret_enc=self.sealer.seal_bytes(secret.encode(), username.encode()),
                            recovery_codes=[_code_hash(c) for c in codes], failed_attempts=0,
                            locked_until=None, created_at=time.time()))
            s.flush()
            append_event(s, event="admin.account.create", outcome="success", method="admin",
                         details={"actor": actor, "username": username, "role": role})
        uri = pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name=TOTP_ISSUER)
        return NewAccount(username, role, uri, codes)

    def list(self) -> list[AdminAccount]:
        with self.db.session(write=False) as s:
            rows = s.execute(select(AdminUser).order_by(AdminUser.username)).scalars().all()
            return [AdminAccount(r.username, r.role, r.locked_until, r.last_login_at) for r in rows]

    def get(self, username) -> AdminAccount | None:
        if not isinstance(username, str) or len(username) > 64:
            return None
        with self.db.session(write=False) as s:
            r = s.get(AdminUser, username)
            return AdminAccount(r.username, r.role, r.locked_until, r.last_login_at) if r else None

    def unlock(self, username: str, *, actor: str = "cli") -> None:
        with self.db.session() as s:
            row = s.get(AdminUser, username)
            if row is None:
                raise NotFound(f"no admin named {username!r}")
            row.failed_attempts, row.locked_until = 0, None
            append_event(s, event="admin.account.unlock", outcome="success", method="admin",
                         details={"actor": actor, "username": username})

    # -- login ---------------------------------------------------------------------------------
    def authenticate(self, username, password, code, *, ip: str | None = None) -> AdminAccount:
        """Check password and TOTP (or a recovery code); raise ``LoginError``/``TooManyRequests``."""
        username = username if isinstance(username, str) and USERNAME.fullmatch(username) else None
        password = password if isinstance(password, str) and len(password) <= 1024 else ""
        code = code.strip() if isinstance(code, str) and len(code) <= 64 else ""
        with self.db.session(write=False) as s:
            row = s.get(AdminUser, username) if username else None
            hashed = row.password_hash if row else _DUMMY_HASH
            sealed = row.totp_secret_enc if row else None
            locked = bool(row and row.locked_until and row.locked_until > time.time())
        # The slow hash and the TOTP replay marker (short-lived store) run outside any write
        # transaction; the hash runs for unknown users too, so timing does not tell.
        password_ok = _verify(hashed, password) and row is not None
        factor = None
        if password_ok and not locked:
            factor = self._totp(username, sealed, code) or ("recovery_code" if code else None)
        error, account = None, None
        with self.db.session() as s:
            now = time.time()
            row = s.get(AdminUser, username) if username else None
            if row is None:
                self._audit(s, "failure", username, ip, "unknown user")
                error = LoginError("the user name, password or code is wrong")
            elif row.locked_until and row.locked_until > now:
                self._audit(s, "failure", username, ip, "locked")
                error = TooManyRequests("this account is locked after repeated failures; try "
                                        "again later or ask an administrator to unlock it")
            else:
                if factor == "recovery_code" and not _use_recovery_code(row, code):
                    factor = None
                if factor is None:
                    row.failed_attempts = (row.failed_attempts or 0) + 1
                    reason = "wrong credentials"
                    if row.failed_attempts >= self.limit:
                        row.locked_until, row.failed_attempts = now + self.lockout, 0
                        reason = "wrong credentials; account locked"
                    self._audit(s, "failure", username, ip, reason)
                    error = LoginError("the user name, password or code is wrong")
                else:
                    row.failed_attempts, row.locked_until, row.last_login_at = 0, None, now
                    if _hasher.check_needs_rehash(row.password_hash):
                        row.password_hash = _hasher.hash(password)
                    self._audit(s, "success", username, ip, None, factor=factor)
                    account = AdminAccount(row.username, row.role, None, now)
        if error is not None:
            raise error  # after the commit: the failure count and its audit event stay
        return account

    def _totp(self, username: str, sealed: bytes | None, code: str) -> str | None:
        digits = code.replace(" ", "")
        if not (digits.isdigit() and len(digits) == 6):
            return None
        raw = self.sealer.open_bytes(sealed or b"", username.encode())
        if raw is None:
            return None
        totp, now = pyotp.TOTP(raw.decode()), time.time()
        for offset in (0, -1, 1):  # one time step of clock drift either way
            at = now + offset * totp.interval
            if hmac.compare_digest(totp.at(at), digits):
                # RFC 6238 section 5.2: each code is accepted once.
                step = int(at // totp.interval)
                if self.store.add(f"admin-totp:{username}:{step}", 1, 3 * totp.interval):
                    return "totp"
                return None
        return None

    @staticmethod
    def _audit(session, outcome, username, ip, reason, factor=None) -> None:
        details = {"actor": f"user:{username}" if username else "unknown"}
        if factor:
            details["factor"] = factor
        append_event(session, event="admin.login", outcome=outcome, ip=ip, method="admin",
                     reason=reason, details=details)


def _verify(hashed: str, password: str) -> bool:
    try:
        return _hasher.verify(hashed, password)
    except (VerificationError, InvalidHashError):
        return False


def _use_recovery_code(row, code: str) -> bool:
    """Remove a matching recovery code from the row (single use); True if one matched."""
    hashed = _code_hash(code)
    for stored in list(row.recovery_codes or []):
        if hmac.compare_digest(stored, hashed):
            row.recovery_codes = [c for c in row.recovery_codes if c != stored]  # new list: tracked
            return True
    return False
