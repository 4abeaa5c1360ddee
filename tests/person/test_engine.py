"""The face engine as the OP holds it, and outages of the engine and the registry."""
import threading
import time

from idp.person.engine import FaceEngine
from idp.registry import RegistryUnavailable

from .conftest import ID, NAME, Browser, Clock, frames, template


def test_pipeline_is_built_once_lazily_by_concurrent_requests():
    calls = []

    def factory():
        calls.append(1)
        time.sleep(0.2)
        return object()

    engine = FaceEngine("unused", factory=factory)
    assert calls == []
    seen = []
    threads = [threading.Thread(target=lambda: seen.append(engine.pipeline)) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert calls == [1] and len({id(p) for p in seen}) == 1


def test_missing_models_answer_503_not_500(make_app, tmp_path, caplog):
    app = make_app(models_dir=str(tmp_path / "no-models"))
    app.extensions["idp"].services["registry"].enrol(ID, NAME, template(1), "t")
    app.extensions["idp"].services["person"].sessions.clock = Clock()
    b = Browser(app)
    resp = b.send(b.challenge(), frames("live:1"))
    assert resp.status_code == 503
    assert resp.get_json() == {"error": "temporarily_unavailable", "error_description":
                               "Face verification is temporarily unavailable; please try again later."}
    assert "face engine unavailable" in caplog.text


class DownRegistry:
    def lookup(self, id_number):
        raise RegistryUnavailable("timeout", "no answer in 2 s")


def test_registry_outage_fails_closed(app):
    app.extensions["idp"].services["person"].registry = DownRegistry()
    resp = Browser(app).start()
    assert resp.status_code == 503 and resp.get_json() == {
        "error": "temporarily_unavailable",
        "error_description": "The population registry is unavailable; please try again later."}


def test_registry_adapter_from_settings(make_app):
    from idp.registry.http import HttpRegistry
    app = make_app(IDP_REGISTRY="http", IDP_REGISTRY_URL="https://registry.example.org/",
                   IDP_REGISTRY_TOKEN="t" * 32)
    registry = app.extensions["idp"].services["registry"]
    assert isinstance(registry, HttpRegistry)
    assert app.extensions["idp"].services["person"].registry is registry
