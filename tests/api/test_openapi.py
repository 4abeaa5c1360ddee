"""The OpenAPI 3.1 document is valid and describes what the server does."""
from openapi_spec_validator import validate

from idp.api.openapi import PATHS


def test_document_is_valid_openapi_3_1(app):
    resp = app.test_client().get("/api/v1/openapi.json")
    assert resp.status_code == 200 and resp.mimetype == "application/json"
    doc = resp.get_json()
    assert doc["openapi"] == "3.1.0"
    validate(doc)
    assert doc["servers"] == [{"url": app.extensions["idp"].settings.issuer}]


def test_document_names_every_route_of_the_api(app):
    documented = {p.replace("{session}", "<session_id>") for p in PATHS}
    routes = {str(r.rule) for r in app.url_map.iter_rules() if str(r.rule).startswith("/api/v1/")
              and r.endpoint != "api.openapi"}
    assert routes <= documented
