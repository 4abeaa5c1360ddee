"""Natural-person login: ID number + name, population registry, live face (DESIGN section 6).

``init_app`` builds the services this area shares with the mini-program API and the CLI
(``app.extensions["idp"].services``):

- ``liveness``: the face engine (``FaceEngine``, models loaded on first use);
- ``registry``: the population registry chosen by ``IDP_REGISTRY`` (``local`` or ``http``,
  with ``IDP_REGISTRY_URL`` / ``IDP_REGISTRY_TOKEN``);
- ``person``: the ``PersonService`` (sessions, attempt limits, judging, audit);

and registers the ``person`` login method with its blueprint.
"""
from __future__ import annotations

from ..interaction import ACR_FACE, ACR_FACE_ACTIVE
from ..login import LoginMethod, register_method
from ..sealing import Sealer
from ..rootsecrets import secret_ring
from .engine import FaceEngine
from .clipupload import UploadLimits
from .limiter import AttemptLimiter
from .seen import StoreSeenFrames
from .service import PersonService
from .sessions import LivenessSessions
from .strings import STRINGS, pt

METHOD = LoginMethod(
    name="person",
    labels={"zh-CN": STRINGS["method"][0], "en": STRINGS["method"][1]},
    acr_values=(ACR_FACE, ACR_FACE_ACTIVE),
    descriptions={"zh-CN": STRINGS["method_desc"][0], "en": STRINGS["method_desc"][1]},
)


def build_registry(state):
    from ..registry import make_registry
    settings = state.settings
    return make_registry(settings.registry, database=state.db, secret_key=secret_ring(settings),
                         data_keys=state.provider.data_keys,
                         url=settings.registry_url or None, token=settings.registry_token or None)


def init_app(app) -> None:
    state = app.extensions["idp"]
    settings = state.settings
    engine = state.services.setdefault("liveness", FaceEngine(
        settings.models_dir, threads=settings.liveness_threads,
        live=settings.liveness_threshold, match=settings.face_match_threshold))
    registry = state.services.get("registry") or build_registry(state)
    state.services["registry"] = registry
    sessions = LivenessSessions(state.store, Sealer(secret_ring(settings), "liveness-session"),
                                settings.liveness_session_ttl)
    limiter = AttemptLimiter(state.store, settings.secret_key, limit=settings.attempt_limit,
                             window=settings.attempt_window, lockout=settings.lockout_seconds,
                             id_limit=settings.attempt_limit_id or None,
                             ip_limit=settings.attempt_limit_ip or None)
    state.services["person"] = PersonService(
        provider=state.provider, registry=registry, engine=engine, sessions=sessions,
        limiter=limiter, seen=StoreSeenFrames(state.store),
        action_count=settings.liveness_actions or None,
        limits=UploadLimits(max_bytes=settings.clip_max_bytes))
    app.jinja_env.globals["pt"] = pt
    app.config.setdefault("UPLOAD_ENDPOINTS", set()).add("person.frames")
    from .views import bp
    register_method(app, METHOD, bp)
