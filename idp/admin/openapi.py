"""The OpenAPI 3.1 description of the admin API, served at ``/admin/api/v1/openapi.json``."""
from __future__ import annotations

_STR = {"type": "string"}
_URI = {"type": "string", "format": "uri"}
_URIS = {"type": "array", "items": _URI, "maxItems": 20}
_TTL = {"type": ["integer", "null"], "minimum": 60}
_CLIENT_FIELDS = {
    "client_name": {"type": "string", "maxLength": 200},
    "redirect_uris": _URIS,
    "post_logout_redirect_uris": _URIS,
    "grant_types": {"type": "array", "items": {"enum": [
        "authorization_code", "refresh_token", "client_credentials",
        "urn:ietf:params:oauth:grant-type:token-exchange"]}},
    "token_endpoint_auth_method": {"enum": ["client_secret_basic", "client_secret_post",
                                            "private_key_jwt", "none"]},
    "scope": {"type": "string", "description": "space-separated"},
    "subject_type": {"enum": ["pairwise", "public"]},
    "jwks_uri": {"type": ["string", "null"], "format": "uri"},
    "jwks": {"type": ["object", "null"]},
    "backchannel_logout_uri": {"type": ["string", "null"], "format": "uri"},
    "sector_identifier": {"type": ["string", "null"]},
    "logo_uri": {"type": ["string", "null"], "format": "uri"},
    "id_token_signed_response_alg": {"enum": ["RS256", "ES256"]},
    "access_token_ttl": _TTL, "id_token_ttl": _TTL, "refresh_token_ttl": _TTL,
    "allow_id_number": {"type": "boolean"},
    "enabled": {"type": "boolean"},
    "admin_client": {"type": "boolean"},
}


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _ok(schema: dict | None, description: str = "OK", status: str = "200") -> dict:
    responses = {status: {"description": description}}
    if schema is not None:
        responses[status]["content"] = {"application/json": {"schema": schema}}
    for code, text in (("400", "Invalid input"), ("401", "Missing, invalid or revoked token"),
                       ("403", "Not an admin client, or scope admin missing")):
        responses[code] = {"description": text, "content": {"application/json": {"schema": _ref("Error")}}}
    return responses


def _query(name: str, schema: dict, description: str) -> dict:
    return {"name": name, "in": "query", "required": False, "schema": schema,
            "description": description}


_CLIENT_ID = {"name": "client_id", "in": "path", "required": True, "schema": _STR}
_BODY_INPUT = {"required": True, "content": {"application/json": {"schema": _ref("ClientInput")}}}


def document(issuer: str) -> dict:
    time_param = {"type": "string", "description": "epoch seconds or ISO 8601 (UTC if no zone)"}
    return {
        "openapi": "3.1.0",
        "info": {"title": "Identity provider admin API", "version": "1.0.0",
                 "description": "Relying parties, signing keys, audit trail and statistics. "
                                "Authorise with a client-credentials access token with scope "
                                "`admin` issued to an admin client."},
        "servers": [{"url": f"{issuer}/admin/api/v1"}],
        "security": [{"bearer": ["admin"]}],
        "paths": {
            "/clients": {
                "get": {"summary": "List relying parties", "operationId": "listClients",
                        "responses": _ok({"type": "object", "properties": {
                            "clients": {"type": "array", "items": _ref("Client")}}})},
                "post": {"summary": "Register a relying party (its secret is shown once)",
                         "operationId": "createClient", "requestBody": _BODY_INPUT,
                         "responses": {**_ok(_ref("ClientWithSecret"), "Created", "201"),
                                       "409": _error("Name already used")}}},
            "/clients/{client_id}": {
                "parameters": [_CLIENT_ID],
                "get": {"summary": "Show a relying party", "operationId": "getClient",
                        "responses": {**_ok(_ref("Client")), "404": _not_found()}},
                "patch": {"summary": "Change fields of a relying party", "operationId": "updateClient",
                          "requestBody": _BODY_INPUT,
                          "responses": {**_ok(_ref("Client")), "404": _not_found()}},
                "delete": {"summary": "Delete a relying party and its grants",
                           "operationId": "deleteClient",
                           "responses": {**_ok(None, "Deleted", "204"), "404": _not_found()}}},
            "/clients/{client_id}/secret": {
                "parameters": [_CLIENT_ID],
                "post": {"summary": "Rotate the client secret (shown in this response only)",
                         "operationId": "rotateClientSecret",
                         "responses": {**_ok(_ref("Secret")), "404": _not_found()}}},
            "/keys": {"get": {"summary": "List signing keys", "operationId": "listKeys",
                              "responses": _ok({"type": "object", "properties": {
                                  "keys": {"type": "array", "items": _ref("Key")}}})}},
            "/keys/rotate": {"post": {
                "summary": "Publish new signing keys; they sign after the publish delay",
                "operationId": "rotateKeys",
                "requestBody": {"required": False, "content": {"application/json": {"schema": {
                    "type": "object", "properties": {
                        "algs": {"type": "array", "items": {"enum": ["RS256", "ES256"]}},
                        "activate_in": {"type": "integer", "minimum": 0}}}}}},
                "responses": _ok({"type": "object"})}},
            "/audit": {"get": {
                "summary": "Search the audit trail, newest first", "operationId": "searchAudit",
                "parameters": [
                    _query("since", time_param, "events at or after"),
                    _query("until", time_param, "events before"),
                    _query("client_id", _STR, "relying party"),
                    _query("outcome", {"enum": ["success", "failure", "info"]}, "outcome"),
                    _query("subject", _STR, "masked or pairwise subject, exact"),
                    _query("event", _STR, "event name, exact"),
                    _query("before", {"type": "integer"}, "paging: next_before of the last page"),
                    _query("limit", {"type": "integer", "minimum": 1, "maximum": 1000}, "page size")],
                "responses": _ok({"type": "object", "properties": {
                    "events": {"type": "array", "items": _ref("Event")},
                    "next_before": {"type": ["integer", "null"]}}})}},
            "/stats": {"get": {
                "summary": "Logins per hour by method and outcome; liveness pass rate",
                "operationId": "stats",
                "parameters": [_query("hours", {"type": "integer", "minimum": 1, "maximum": 168},
                                      "window in hours (default 24)")],
                "responses": _ok(_ref("Stats"))}},
            "/authorities": {
                "get": {"summary": "List licence authorities", "operationId": "listAuthorities",
                        "responses": _ok({"type": "object"})},
                "post": {"summary": "Add a licence authority (one PEM CA certificate)",
                         "operationId": "addAuthority",
                         "requestBody": {"required": True, "content": {"application/json": {"schema": {
                             "type": "object", "required": ["certificate"], "properties": {
                                 "certificate": {"type": "string", "maxLength": 65536},
                                 "name": {"type": "string", "maxLength": 200},
                                 "crl_source": {"type": "string", "description":
                                                "http(s) URL or absolute path of the CA's CRL"},
                                 "ocsp_source": {"type": "string", "description":
                                                 "http(s) URL of the CA's OCSP responder, or "
                                                 "'aia' for the URL in each certificate"}}}}}},
                         "responses": {**_ok({"type": "object"}, "Created", "201"),
                                       "409": _error("Already added"), "413": _error("Too large")}}},
            "/authorities/{authority_id}": {
                "parameters": [{"name": "authority_id", "in": "path", "required": True,
                                "schema": _STR, "description": "SHA-256 (hex) of the certificate"}],
                "patch": {"summary": "Change where a licence authority's CRL and OCSP answers come "
                                     "from (omitted fields stay; null or \"\" clears)",
                          "operationId": "updateAuthoritySources",
                          "requestBody": {"required": True, "content": {"application/json": {
                              "schema": _ref("AuthoritySources")}}},
                          "responses": {**_ok({"type": "object"}),
                                        "404": _error("No such licence authority")}}},
            "/registry": {"get": {"summary": "Population registry counts and import status",
                                  "operationId": "registryStatus", "responses": _ok({"type": "object"})}},
        },
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer",
                                           "bearerFormat": "JWT (RFC 9068)"}},
            "schemas": _schemas(),
        },
    }


def _error(description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": _ref("Error")}}}


def _not_found() -> dict:
    return _error("No such client")


def _schemas() -> dict:
    client = {"type": "object", "required": ["client_id", "client_name", "enabled", "allow_id_number"],
              "properties": {"client_id": _STR, "client_id_issued_at": {"type": "integer"},
                             "response_types": {"type": "array", "items": _STR}, **_CLIENT_FIELDS}}
    return {
        "Error": {"type": "object", "required": ["error"],
                  "properties": {"error": _STR, "error_description": _STR}},
        "ClientInput": {"type": "object", "additionalProperties": False, "properties": _CLIENT_FIELDS},
        "Client": client,
        "AuthoritySources": {"type": "object", "additionalProperties": False, "minProperties": 1,
                             "properties": {
                                 "crl_source": {"type": ["string", "null"], "description":
                                                "http(s) URL or absolute path of the CA's CRL"},
                                 "ocsp_source": {"type": ["string", "null"], "description":
                                                 "http(s) URL of the CA's OCSP responder, or "
                                                 "'aia' for the URL in each certificate"}}},
        "ClientWithSecret": {"allOf": [client, {"type": "object", "properties": {
            "client_secret": _STR, "client_secret_expires_at": {"type": "integer"}}}]},
        "Secret": {"type": "object", "required": ["client_id", "client_secret"],
                   "properties": {"client_id": _STR, "client_secret": _STR,
                                  "client_secret_expires_at": {"type": "integer"}}},
        "Key": {"type": "object", "properties": {
            "kid": _STR, "alg": _STR, "status": {"enum": ["active", "next", "retired", "removed"]},
            "created_at": {"type": "integer"}, "activated_at": {"type": ["integer", "null"]},
            "remove_after": {"type": ["integer", "null"]}}},
        "Event": {"type": "object", "properties": {
            "id": {"type": "integer"}, "ts": {"type": "number"}, "time": _STR, "event": _STR,
            "outcome": _STR, "client_id": {"type": ["string", "null"]},
            "subject": {"type": ["string", "null"]}, "ip": {"type": ["string", "null"]},
            "method": {"type": ["string", "null"]}, "reason": {"type": ["string", "null"]},
            "details": {"type": "object"}, "hash": _STR}},
        "Stats": {"type": "object", "properties": {
            "since": {"type": "integer"}, "until": {"type": "integer"},
            "logins": {"type": "object"}, "liveness": {"type": "object"},
            "clients": {"type": "object"}, "audit_events": {"type": "integer"}}},
    }
