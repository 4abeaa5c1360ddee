"""First run: the landing page, the site icon, demo mode only where it belongs, the method
chooser going straight to the method, and `idp demo` starting without warnings."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

from idp.elicense import REASONS
from idp.enterprise.strings import GROUPS, reason_sentences
from tests.oidc.rp import RP

ACR_FACE = "urn:idp:acr:person:face"
ACR_ELICENSE = "urn:idp:acr:entity:elicense"
HTML = {"Accept": "text/html"}


def test_landing_page_links_what_exists_and_marks_demo_mode(make_app):
    demo = make_app(demo=True).test_client().get("/", headers=HTML).get_data(as_text=True)
    assert 'href="/demo"' in demo and 'id="demo-banner"' in demo and "idp admin create" in demo
    plain = make_app().test_client()
    page = plain.get("/", headers=HTML)
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and 'href="/admin/"' in html
    assert 'href="/.well-known/openid-configuration"' in html
    # production stays demo-free: no demo link, banner or page
    assert 'href="/demo"' not in html and "demo-banner" not in html
    assert plain.get("/demo", headers=HTML).status_code == 404


def test_favicon_is_served_not_a_404(make_app):
    resp = make_app().test_client().get("/favicon.ico")
    assert resp.status_code == 200 and resp.mimetype == "image/svg+xml"
    assert resp.get_data().startswith(b"<svg")


@pytest.fixture
def product_app(make_app):
    """The shipped login methods only (no test method)."""
    app = make_app()
    app.extensions["idp"].login_methods.pop("test")
    return app


def _txn(rp, **params):
    return rp.authorize(**params).headers["Location"].rsplit("/login/", 1)[1]


@pytest.mark.parametrize("params, method", [
    ({"acr_values": ACR_ELICENSE}, "enterprise"),
    ({"acr_values": ACR_FACE}, "person"),
    ({"claims": '{"id_token": {"acr": {"essential": true, "values": ["%s"]}}}' % ACR_ELICENSE},
     "enterprise"),
])
def test_chooser_goes_straight_to_the_method_the_acr_determines(product_app, params, method):
    client = product_app.test_client()
    txn = _txn(RP(product_app, client), **params)
    first = client.get(f"/login/{txn}")
    assert first.status_code == 303 and first.headers["Location"] == f"/login/{txn}/{method}"
    # coming back (the method page's "back" link) shows the choice
    again = client.get(f"/login/{txn}")
    assert again.status_code == 200 and f'id="method-{method}"' in again.get_data(as_text=True)


def test_chooser_lists_person_first_without_an_acr(product_app):
    client = product_app.test_client()
    txn = _txn(RP(product_app, client))
    page = client.get(f"/login/{txn}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert html.index('id="method-person"') < html.index('id="method-enterprise"')


def test_chooser_with_one_method_goes_to_it(product_app):
    product_app.extensions["idp"].login_methods.pop("enterprise")
    client = product_app.test_client()
    txn = _txn(RP(product_app, client))
    assert client.get(f"/login/{txn}").headers["Location"] == f"/login/{txn}/person"


def test_every_licence_rejection_reason_has_its_own_sentence(make_app):
    app = make_app()
    missing = set(REASONS) - set(GROUPS) - {"unprocessable"}
    assert not missing, f"reasons without a sentence: {sorted(missing)}"
    for locale, marker in (("zh-CN", "。"), ("en", ".")):
        with app.test_request_context(f"/?lang={locale}"):
            from flask import g
            g.locale = locale
            sentences = reason_sentences()
            assert all(s.endswith(marker) for s in sentences.values()), locale
            assert sentences["revoked"] != sentences[""]


def test_demo_starts_without_the_metrics_warning(tmp_path):
    """`idp demo` builds an app (importing prometheus_client) before gunicorn starts its
    workers; the shared metrics folder must be set before that import."""
    script = textwrap.dedent("""
        import sys
        import idp.serving
        prepare = idp.serving.prepare_multiproc_dir
        def fake_run(config, **kw):  # what run_gunicorn does before starting the workers
            path, owned = kw.get("multiproc") or prepare()
            print("MULTIPROC", (path, owned))
            if owned:
                import shutil
                shutil.rmtree(path, ignore_errors=True)
        idp.serving.run_gunicorn = fake_run
        from idp.cli import main
        main(["demo", "--port", "18999"], standalone_mode=False)
    """)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("IDP_", "PROMETHEUS_"))}
    env.update(IDP_INSTANCE_DIR=str(tmp_path / "instance"), IDP_KEYS_DIR=str(tmp_path / "keys"),
               IDP_SECRET_KEY="s" * 48, IDP_MODELS_REQUIRED="0")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          env=env, cwd=tmp_path, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "MULTIPROC ('" in done.stdout
    assert "prometheus_client was imported" not in done.stderr
    assert "no administrator yet" in done.stdout and "/admin/" in done.stdout
