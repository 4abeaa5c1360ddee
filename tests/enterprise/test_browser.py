"""End to end in headless Chromium: RP -> QR page -> `idp elicense sign` -> RP with an ID token."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.enterprise.conftest import valid_uscc
from tests.helpers.live import chromium, free_port, serve
from tests.oidc.rp import RP, query

pytestmark = pytest.mark.browser


def test_qr_page_holder_cli_and_redirect(make_app, tmp_path):
    from idp.elicense.authority import init_authority, issue_licence
    port = free_port()
    app = make_app(demo=True, issuer=f"http://127.0.0.1:{port}")
    keys_dir = app.extensions["idp"].settings.keys_dir
    init_authority(keys_dir)
    out = tmp_path / "lic"
    issue_licence(keys_dir, uscc=valid_uscc(), name="示例企业", legal_rep="赵六",
                  role="agent", agent_name="钱七", out_dir=out)
    rp = RP(app, app.test_client(), scope="openid profile org")
    with serve(app, port) as base, chromium() as browser:
        page = browser.new_context().new_page()
        caught = {}

        def to_rp(route):
            caught["url"] = route.request.url
            route.fulfill(status=200, body="rp ok")

        page.route("https://rp.example.org/**", to_rp)
        rp.authorize(scope="openid org")  # only to build the PKCE pair and parameters
        from urllib.parse import urlencode
        params = {k: v for k, v in rp.last.items() if k != "verifier"}
        page.goto(f"{base}/authorize?{urlencode(params)}")
        page.click("#method-enterprise")
        page.wait_for_selector("#qr svg")
        link = page.get_attribute("#holder-link", "href")
        assert link.startswith(f"{base}/elicense/c/")
        # The QR code as rendered on screen scans to the same link (the holder app's way in).
        import cv2
        import numpy as np
        shot = page.locator("#qr svg").screenshot()
        scanned, _, _ = cv2.QRCodeDetector().detectAndDecode(
            cv2.imdecode(np.frombuffer(shot, np.uint8), cv2.IMREAD_GRAYSCALE))
        assert scanned == link
        env = {**os.environ, "IDP_KEYS_DIR": str(keys_dir), "IDP_ISSUER": base, "IDP_DEMO": "1",
               "IDP_INSTANCE_DIR": str(tmp_path / "cli-instance")}
        result = subprocess.run([sys.executable, "-m", "idp.cli", "elicense", "sign", link,
                                 "--cert", str(out / "licence.crt.pem"), "--key",
                                 str(out / "licence.key.pem"), "--chain", str(out / "chain.pem"),
                                 "--yes"], capture_output=True, text=True, env=env, timeout=60)
        assert result.returncode == 0, result.stderr
        page.wait_for_selector("#allow", timeout=15000)
        page.click("#allow")
        page.wait_for_function("() => document.body.innerText.includes('rp ok')", timeout=15000)
    cb = query(caught["url"])
    tokens = rp.token(cb["code"]).get_json()
    claims = rp.verify(tokens["id_token"])
    assert claims["acr"] == "urn:idp:acr:entity:elicense"
    assert claims["operator"] == "钱七" and claims["org_name"] == "示例企业"
