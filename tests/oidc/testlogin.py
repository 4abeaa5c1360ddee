"""A login method that exists only in the test suite: it trusts a posted user name.

It lets the OIDC core be tested before (and independently of) the real person and
enterprise methods; it is never registered by the shipped product.
"""
from __future__ import annotations

from flask import Blueprint, jsonify, request

from idp.interaction import ACR_FACE
from idp.login import LoginMethod, complete_login, current_transaction, register_method

bp = Blueprint("testlogin", __name__)
METHOD = LoginMethod(name="test", labels={"zh-CN": "测试登录", "en": "Test login"},
                     acr_values=("urn:idp:acr:person:face", "urn:idp:acr:person:face-active"))


@bp.post("/login/<txn_id>/test")
def test_login(txn_id):
    from flask import current_app
    from idp.web import require_csrf
    require_csrf()
    txn = current_transaction(txn_id)
    provider = current_app.extensions["idp"].provider
    user = request.form["user"]
    acr = request.form.get("acr") or ACR_FACE
    claims = {"name": request.form.get("name", "张三"), "birthdate": "1990-01-01",
              "gender": "male", "id_number": request.form.get("id_number", "11010519491231002X"),
              "entity_type": "natural_person"}
    url = complete_login(txn, provider.subjects.person(user), acr, ["face", "user"],
                         claims=claims, method="test", audit_subject="1****X")
    return jsonify({"ok": True, "redirect": url})


def install_test_login(app):
    register_method(app, METHOD, bp)
