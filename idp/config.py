"""Settings: defaults, then a TOML config file, then ``IDP_*`` environment, then overrides.

Every setting is declared once in ``SETTINGS`` with its type and default; values are parsed
and validated at start so a bad deployment fails with a clear message, not at the first
request.  The result is a frozen ``Settings`` object stored in ``app.extensions["idp"]``.
"""
from __future__ import annotations

import logging
import os
import secrets
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from urllib.parse import urlsplit

from .errors import ConfigError

log = logging.getLogger(__name__)


def _bool(value) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in {"1", "true", "yes", "on"}:
        return True
    if text in {"0", "false", "no", "off", ""}:
        return False
    raise ValueError(f"expected a boolean, got {value!r}")


@dataclass(frozen=True)
class Settings:
    issuer: str = "http://127.0.0.1:8000"
    instance_dir: str = "instance"
    database_url: str = ""  # empty: SQLite file in the instance folder
    redis_url: str = ""  # empty: short-lived state in the SQL database
    keys_dir: str = "keys"
    models_dir: str = "models"
    secret_key: str = ""  # empty: generated once and kept in the instance folder
    secret_keys: str = ""  # versioned root secrets "id:secret,..." (current first); wins over secret_key
    secret_keys_file: str = ""  # the same, one entry a line, in a file
    keys_passphrase: str = ""
    demo: bool = False
    # lifetimes, seconds
    code_ttl: int = 60
    access_token_ttl: int = 600
    id_token_ttl: int = 600
    refresh_token_ttl: int = 30 * 24 * 3600
    session_ttl: int = 8 * 3600
    admin_session_ttl: int = 15 * 60  # console idle timeout
    login_ttl: int = 600
    consent_ttl: int = 180 * 24 * 3600
    liveness_session_ttl: int = 120
    challenge_ttl: int = 120
    # signing keys: a retired key stays published this long after it stops signing
    key_retire_grace: int = 0  # 0: max(access, id token ttl) + 60
    key_publish_delay: int = 600  # a rotated key is published this long before it signs
    # limits
    max_body_bytes: int = 1024 * 1024
    max_upload_bytes: int = 12 * 1024 * 1024
    # login protection
    attempt_limit: int = 5  # face-check starts per (ID number, client IP) per window
    attempt_limit_id: int = 0  # per ID number from any IP (0: 4 x attempt_limit)
    attempt_limit_ip: int = 0  # per client IP for any ID number (0: 6 x attempt_limit)
    api_anon_limit: int = 100  # API sessions without id_number per client and per IP per window
    clip_max_bytes: int = 8 * 1024 * 1024  # a face clip (video, or all frames together)
    attempt_window: int = 900
    lockout_seconds: int = 900
    # liveness / face match
    liveness_threshold: float = 0.5
    face_match_threshold: float = 0.363
    liveness_threads: int = 1
    models_required: bool = True  # /readyz waits for the face models (false: no face login here)
    id_number_mask_keep: int = 1
    # back-channel logout
    backchannel_timeout: float = 3.0
    backchannel_retries: int = 3
    # rate limits (requests per minute per IP; 0 disables)
    rate_limit_token: int = 0
    rate_limit_login: int = 0
    rate_limit_api: int = 0
    rate_limit_client_factor: int = 10  # a client's limit is this many times the per-IP limit
    trusted_proxies: int = 0  # reverse proxies in front whose X-Forwarded-For is believed
    metrics_token: str = ""  # bearer token /metrics requires (empty: open, block it at the proxy)
    # population registry: "local" (table filled by `idp registry import`) or "http"
    registry: str = "local"
    registry_url: str = ""
    registry_token: str = ""
    # face-active policy: "auto" (actions only when face-active is asked) or "active" (always)
    liveness_mode: str = "auto"
    liveness_actions: int = 0  # actions per active challenge, 2-5 (0: 2 or 3 at random)
    secure_cookies: bool | None = None  # None: secure unless the issuer is local http
    log_json: bool = False
    # audit checkpoints (idp/audittrail): every N events or T seconds, whichever comes first
    audit_checkpoint_events: int = 1000  # 0: no count trigger
    audit_checkpoint_seconds: int = 60  # 0: no timer
    audit_checkpoint_sinks: str = "file"  # comma-separated: file, syslog, http ("": none)
    audit_checkpoint_file: str = ""  # empty: <instance>/audit-checkpoints.jsonl
    audit_checkpoint_syslog: str = ""  # /dev/log path or host:port (empty: /dev/log)
    audit_checkpoint_url: str = ""  # the http sink POSTs each checkpoint line here
    extra: dict = field(default_factory=dict)

    # -- derived -----------------------------------------------------------------------
    @property
    def instance_path(self) -> Path:
        return Path(self.instance_dir).resolve()

    @property
    def sqlalchemy_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.instance_path / 'idp.sqlite3'}"

    @property
    def cookie_secure(self) -> bool:
        if self.secure_cookies is not None:
            return self.secure_cookies
        return urlsplit(self.issuer).scheme == "https"

    @property
    def retire_grace(self) -> int:
        return self.key_retire_grace or max(self.access_token_ttl, self.id_token_ttl) + 60


_FIELDS = {f.name: f for f in fields(Settings) if f.name != "extra"}


def _coerce(name: str, value):
    kind = _FIELDS[name].type
    try:
        if kind == "bool":
            return _bool(value)
        if kind == "bool | None":
            return None if value in (None, "") else _bool(value)
        if kind == "int":
            if isinstance(value, bool):
                raise ValueError("expected an integer")
            return int(value)
        if kind == "float":
            return float(value)
        return str(value)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"setting {name} (IDP_{name.upper()}): {exc}") from None


def _validate(s: Settings) -> None:
    parts = urlsplit(s.issuer)
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        raise ConfigError(f"IDP_ISSUER must be an absolute http(s) URL, got {s.issuer!r}")
    if parts.query or parts.fragment or s.issuer.endswith("/"):
        raise ConfigError("IDP_ISSUER must have no query, no fragment and no trailing slash")
    if parts.scheme == "http" and parts.hostname not in {"127.0.0.1", "localhost", "::1"} and not s.demo:
        raise ConfigError("IDP_ISSUER must use https outside localhost (set IDP_DEMO=1 to try it anyway)")
    for name in ("code_ttl", "access_token_ttl", "id_token_ttl", "refresh_token_ttl",
                 "session_ttl", "login_ttl", "liveness_session_ttl", "challenge_ttl",
                 "max_body_bytes", "max_upload_bytes", "attempt_limit", "admin_session_ttl", "attempt_window",
                 "api_anon_limit", "clip_max_bytes",
                 "lockout_seconds", "liveness_threads"):
        if getattr(s, name) <= 0:
            raise ConfigError(f"setting {name} (IDP_{name.upper()}) must be positive")
    for name in ("backchannel_retries", "backchannel_timeout"):
        if getattr(s, name) <= 0:
            raise ConfigError(f"setting {name} (IDP_{name.upper()}) must be positive")
    for name in ("key_publish_delay", "key_retire_grace", "id_number_mask_keep",
                 "rate_limit_token", "rate_limit_login", "rate_limit_api",
                 "attempt_limit_id", "attempt_limit_ip"):
        if getattr(s, name) < 0:
            raise ConfigError(f"setting {name} (IDP_{name.upper()}) must be zero or more")
    if s.registry not in {"local", "http"}:
        raise ConfigError("IDP_REGISTRY must be local or http")
    if s.registry == "http" and urlsplit(s.registry_url).scheme not in {"http", "https"}:
        raise ConfigError("IDP_REGISTRY=http needs IDP_REGISTRY_URL, an http(s) URL")
    if s.clip_max_bytes * 4 // 3 + 65536 > s.max_upload_bytes:
        raise ConfigError("IDP_MAX_UPLOAD_BYTES must hold a face clip sent as base64 JSON: at "
                          "least 4/3 of IDP_CLIP_MAX_BYTES plus 64 KiB")
    if s.liveness_mode not in {"auto", "active"}:
        raise ConfigError("IDP_LIVENESS_MODE must be auto or active")
    if s.liveness_actions and not 2 <= s.liveness_actions <= 5:
        raise ConfigError("IDP_LIVENESS_ACTIONS must be 0 (random 2-3) or between 2 and 5")
    if s.rate_limit_client_factor < 1 or s.trusted_proxies < 0:
        raise ConfigError("IDP_RATE_LIMIT_CLIENT_FACTOR must be 1 or more and "
                          "IDP_TRUSTED_PROXIES 0 or more")
    if s.id_number_mask_keep > 8:
        raise ConfigError("setting id_number_mask_keep (IDP_ID_NUMBER_MASK_KEEP) must be at most 8")
    if s.code_ttl > 600:
        raise ConfigError("IDP_CODE_TTL must be at most 600 seconds (RFC 6749 section 4.1.2)")
    for name in ("liveness_threshold", "face_match_threshold"):
        if not 0.0 <= getattr(s, name) <= 1.0:
            raise ConfigError(f"setting {name} (IDP_{name.upper()}) must be between 0 and 1")
    if s.redis_url:
        from .store.redis_url import parse_redis_url
        try:
            parse_redis_url(s.redis_url)
        except ValueError as error:
            raise ConfigError(f"IDP_REDIS_URL {error}") from None
    _validate_audit(s)


def _validate_audit(s: Settings) -> None:
    if s.audit_checkpoint_events < 0 or s.audit_checkpoint_seconds < 0:
        raise ConfigError("IDP_AUDIT_CHECKPOINT_EVENTS and IDP_AUDIT_CHECKPOINT_SECONDS must "
                          "be zero or more")
    sinks = [n.strip() for n in s.audit_checkpoint_sinks.split(",") if n.strip()]
    unknown = [n for n in sinks if n not in {"file", "syslog", "http"}]
    if unknown:
        raise ConfigError(f"IDP_AUDIT_CHECKPOINT_SINKS: unknown sink {unknown[0]!r} "
                          "(file, syslog, http)")
    if "http" in sinks and urlsplit(s.audit_checkpoint_url).scheme not in {"http", "https"}:
        raise ConfigError("the http checkpoint sink needs IDP_AUDIT_CHECKPOINT_URL, an http(s) URL")


def load_settings(config=None, env=None, **overrides) -> Settings:
    """Build settings from defaults, a TOML file or dict, the environment, and overrides."""
    env = os.environ if env is None else env
    values: dict = {}
    extra: dict = {}

    def take(source: dict, origin: str):
        for key, value in source.items():
            name = key.lower()
            if name.startswith("idp_"):
                name = name[4:]
            if name in _FIELDS:
                values[name] = _coerce(name, value)
            else:
                extra[key] = value
                if origin == "file":
                    raise ConfigError(f"unknown setting {key!r} in the config file")

    path = config if isinstance(config, (str, Path)) else env.get("IDP_CONFIG")
    if path:
        try:
            with open(path, "rb") as fh:
                take(tomllib.load(fh), "file")
        except OSError as exc:
            raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"config file {path} is not valid TOML: {exc}") from None
    if isinstance(config, dict):
        take(config, "dict")
    take({k: v for k, v in env.items() if k.startswith("IDP_") and k != "IDP_CONFIG"}, "env")
    take(overrides, "overrides")
    settings = replace(Settings(), **values, extra=extra)
    _validate(settings)
    return settings


def _with_ring(settings: Settings) -> Settings:
    """``IDP_SECRET_KEYS`` / ``IDP_SECRET_KEYS_FILE``: versioned root secrets (issue 15).

    ``secret_key`` becomes the current secret (what Flask and every single-secret user
    sees); ``secret_keys`` holds the whole ring, read from the file once, here."""
    from .rootsecrets import parse_ring
    if settings.secret_keys and settings.secret_keys_file:
        raise ConfigError("set IDP_SECRET_KEYS or IDP_SECRET_KEYS_FILE, not both")
    text, origin = settings.secret_keys, "IDP_SECRET_KEYS"
    if settings.secret_keys_file:
        origin = settings.secret_keys_file
        try:
            text = Path(settings.secret_keys_file).read_text()
        except OSError as exc:
            raise ConfigError(f"cannot read IDP_SECRET_KEYS_FILE {origin}: {exc.strerror}") from None
    ring = parse_ring(text, origin)
    if settings.secret_key and settings.secret_key not in dict(ring.entries).values():
        raise ConfigError("IDP_SECRET_KEY is set but is not one of IDP_SECRET_KEYS: remove it, "
                          "or list it (id 0 for data sealed before versioned secrets)")
    canonical = ",".join(f"{kid}:{secret}" for kid, secret in ring.entries)
    return replace(settings, secret_key=ring.current, secret_keys=canonical, secret_keys_file="")


def ensure_secret_key(settings: Settings) -> Settings:
    """Return settings with a secret key, creating a persistent one in the instance folder."""
    if settings.secret_keys or settings.secret_keys_file:
        return _with_ring(settings)
    if settings.secret_key:
        if len(settings.secret_key) < 32:
            raise ConfigError("IDP_SECRET_KEY must be at least 32 characters")
        return settings
    path = settings.instance_path / "secret_key"
    if path.exists():
        key = path.read_text().strip()
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        key = secrets.token_urlsafe(48)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(key)
        if not settings.demo:
            log.warning("IDP_SECRET_KEY is not set: generated one in %s; every node of a "
                        "cluster must share one key, so set IDP_SECRET_KEY in production", path)
    return replace(settings, secret_key=key)


def warn_unsafe(settings: Settings) -> list[str]:
    """Loud warnings for unsafe defaults outside demo mode."""
    if settings.demo:
        return []
    warnings = []
    if not settings.keys_passphrase:
        warnings.append("IDP_KEYS_PASSPHRASE is not set: private signing keys are stored unencrypted")
    if not settings.cookie_secure:
        warnings.append("cookies are not Secure because the issuer is plain http")
    if not settings.database_url:
        warnings.append("IDP_DATABASE_URL is not set: using the embedded SQLite database")
    if not settings.audit_checkpoint_sinks.strip():
        warnings.append("IDP_AUDIT_CHECKPOINT_SINKS is empty: audit checkpoints are kept only "
                        "in the database, where whoever deletes events can delete them too")
    for text in warnings:
        log.warning("UNSAFE: %s", text)
    return warnings
