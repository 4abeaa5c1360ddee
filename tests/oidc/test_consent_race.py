"""Two first consents of one person to one client at once: both succeed, none is a 500."""
from __future__ import annotations

from sqlalchemy.orm import Session

from idp.oidc.consent import has_consent, remember_consent
from idp.store.models import Consent


def test_the_consent_that_loses_the_insert_race_merges_into_the_winner(make_app, monkeypatch):
    app = make_app()
    state = app.extensions["idp"]
    client, _ = state.clients.create({"client_name": "race", "redirect_uris": ["https://rp/cb"]})
    provider = state.provider
    real_get = Session.get
    raced = []

    def get(self, entity, ident, **kw):
        # The first look finds nothing, as if the other request had not committed yet; that
        # request then commits its row before this one inserts.
        if entity is Consent and not raced:
            raced.append(1)
            remember_consent(provider, "p:1", client.client_id, "openid")
            return None
        return real_get(self, entity, ident, **kw)

    monkeypatch.setattr(Session, "get", get)
    remember_consent(provider, "p:1", client.client_id, "openid profile")
    monkeypatch.setattr(Session, "get", real_get)
    assert raced and has_consent(provider, "p:1", client.client_id, "openid profile")
