"""The demo service platform's registration with the OP.

Its credentials are kept in the instance folder (``demo_client.json``, mode 0600) so the
demo page and ``idp demo`` agree on them across restarts; a secret that no longer works
(database reset, rotated) is replaced.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass

from ..errors import IdpError

NAME = "演示服务平台"  # shown to users on the chooser and consent pages (zh-CN first)
OLD_NAMES = ("Demo service platform",)  # what earlier versions registered it as
FILE = "demo_client.json"


@dataclass(frozen=True)
class DemoClient:
    client_id: str
    secret: str
    redirect_uri: str
    logout_uri: str


def _metadata(issuer: str) -> dict:
    return {"client_name": NAME, "redirect_uris": [f"{issuer}/demo/callback"],
            "post_logout_redirect_uris": [f"{issuer}/demo"],
            "grant_types": ["authorization_code"], "token_endpoint_auth_method": "client_secret_basic",
            "scope": "openid profile id_number org", "allow_id_number": True}


def ensure_demo_client(state) -> DemoClient:
    issuer = state.settings.issuer
    path = state.settings.instance_path / FILE
    saved = _read(path)
    clients = state.clients
    client = clients.get(saved["client_id"]) if saved else None
    if client is None or not client.enabled or not client.check_client_secret(saved["secret"]):
        existing = next((c for c in clients.list() if c.name in (NAME, *OLD_NAMES)), None)
        if existing is None:
            client, secret = clients.create(_metadata(issuer), actor="demo")
        else:
            clients.set_enabled(existing.client_id, True, actor="demo")
            client = clients.update(existing.client_id, _metadata(issuer), actor="demo")
            secret = clients.rotate_secret(existing.client_id, actor="demo")
        saved = {"client_id": client.client_id, "secret": secret}
        _write(path, saved)
    elif f"{issuer}/demo/callback" not in client.redirect_uris or client.name != NAME:
        clients.update(client.client_id, _metadata(issuer), actor="demo")
    return DemoClient(saved["client_id"], saved["secret"], f"{issuer}/demo/callback",
                      f"{issuer}/demo")


def _read(path) -> dict | None:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    ok = isinstance(data, dict) and isinstance(data.get("client_id"), str) \
        and isinstance(data.get("secret"), str)
    return data if ok else None


def _write(path, data: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(data, fh)
    os.replace(tmp, path)


class DemoUnavailable(IdpError):
    """The demo is only available when the server runs in demo mode (IDP_DEMO=1)."""

    error = "not_found"
    status = 404
