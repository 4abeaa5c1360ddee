"""The admin API's OpenAPI 3.1 document is valid and matches the routes the app serves."""
from __future__ import annotations

from openapi_spec_validator import validate


def test_document_is_valid_openapi_31(app):
    resp = app.test_client().get("/admin/api/v1/openapi.json")
    assert resp.status_code == 200 and resp.mimetype == "application/json"
    doc = resp.get_json()
    assert doc["openapi"].startswith("3.1")
    validate(doc)


def test_document_covers_the_design_routes(app):
    doc = app.test_client().get("/admin/api/v1/openapi.json").get_json()
    documented = {(path, method.upper()) for path, item in doc["paths"].items()
                  for method in item if method != "parameters"}
    design = {("/clients", "GET"), ("/clients", "POST"), ("/clients/{client_id}", "GET"),
              ("/clients/{client_id}", "PATCH"), ("/clients/{client_id}", "DELETE"),
              ("/clients/{client_id}/secret", "POST"), ("/keys", "GET"), ("/keys/rotate", "POST"),
              ("/audit", "GET"), ("/stats", "GET"), ("/authorities", "GET"), ("/authorities", "POST"),
              ("/authorities/{authority_id}", "PATCH")}
    assert design <= documented
    served = {(rule.rule.removeprefix("/admin/api/v1").replace("<client_id>", "{client_id}")
               .replace("<authority_id>", "{authority_id}"), method)
              for rule in app.url_map.iter_rules() if rule.rule.startswith("/admin/api/v1/")
              for method in rule.methods - {"HEAD", "OPTIONS"}}
    assert documented <= served
    assert doc["servers"][0]["url"] == app.extensions["idp"].settings.issuer + "/admin/api/v1"
