"""The OpenAPI 3.1 description of the mini-program API, served at ``/api/v1/openapi.json``.

The tests validate this document and every response of the API against its schemas, so
the description and the code cannot drift apart.
"""
from __future__ import annotations

from ..oidc.token_exchange import ACCESS_TOKEN_TYPE, GRANT_TYPE, LIVENESS_TOKEN_TYPE

ACTIONS = ["turn_left", "turn_right", "look_up", "look_down", "move_closer"]
_NUM_OR_NULL = {"type": ["number", "null"]}
_STR_OR_NULL = {"type": ["string", "null"]}


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(name: str, description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": _ref(name)}}}


def _errors(*codes: int) -> dict:
    text = {400: "Malformed request, invalid ID number (``reason``) or unusable session",
            401: "Missing, invalid, expired or revoked access token",
            403: "The access token lacks the liveness scope", 404: "No such session for this client",
            413: "Too many or too large frames", 415: "Unsupported content type or not an image",
            429: "Too many failed attempts for this ID number (see Retry-After)",
            503: "A dependency is unavailable; try again later"}
    return {str(c): _json("Error", text[c]) for c in codes}


SCHEMAS = {
    "Error": {"type": "object", "required": ["error"], "properties": {
        "error": {"type": "string"}, "error_description": {"type": "string"},
        "reason": {"type": "string", "description": "Why an ID number is invalid"}}},
    "SessionRequest": {"type": "object", "properties": {
        "id_number": {"type": "string", "maxLength": 64,
                      "description": "18-character ID number; with name, enables the face match"},
        "name": {"type": "string", "maxLength": 128},
        "mode": {"type": "string", "enum": ["passive", "active"], "default": "passive"}}},
    "Challenge": {"type": "object", "required": ["session", "nonce", "actions", "expires_in"],
                  "additionalProperties": False, "properties": {
        "session": {"type": "string"}, "nonce": {"type": "string"},
        "actions": {"type": "array", "items": {"type": "string", "enum": ACTIONS},
                    "description": "Head movements to capture in this order (empty: passive)"},
        "expires_in": {"type": "integer", "minimum": 1}}},
    "Result": {"type": "object", "required": ["live", "score", "reason"], "properties": {
        "live": {"type": "boolean"}, "score": _NUM_OR_NULL,
        "face_match": {"type": "boolean", "description": "Only for sessions with an ID number"},
        "reason": {**_STR_OR_NULL, "description": "null when everything passed; else a code "
                   "such as no_face, spoof, replay, challenge_failed, face_mismatch"}}},
    "FramesResult": {"allOf": [_ref("Result"), {"type": "object", "required": ["assertion"],
        "properties": {"assertion": {"type": "string", "description":
            "JWT signed by the OP (typ liveness+jwt), for this client, single use, ~120 s"}}}]},
    "SessionState": {"type": "object", "required": ["session", "state", "mode", "actions",
                                                    "created_at"], "properties": {
        "session": {"type": "string"},
        "state": {"type": "string", "enum": ["pending", "completed", "expired"]},
        "mode": {"type": "string", "enum": ["passive", "active"]},
        "actions": {"type": "array", "items": {"type": "string", "enum": ACTIONS}},
        "created_at": {"type": "integer"}, "expires_at": {"type": "integer"},
        "result": _ref("Result")}},
    "TokenExchangeRequest": {"type": "object", "required": [
        "grant_type", "subject_token", "subject_token_type"], "properties": {
        "grant_type": {"const": GRANT_TYPE}, "subject_token": {"type": "string"},
        "subject_token_type": {"const": LIVENESS_TOKEN_TYPE},
        "requested_token_type": {"const": ACCESS_TOKEN_TYPE},
        "scope": {"type": "string", "description": "Default: openid profile id_number, as allowed"}}},
    "TokenResponse": {"type": "object", "required": [
        "access_token", "token_type", "expires_in", "issued_token_type"], "properties": {
        "access_token": {"type": "string"}, "token_type": {"const": "Bearer"},
        "expires_in": {"type": "integer"}, "scope": {"type": "string"},
        "issued_token_type": {"const": ACCESS_TOKEN_TYPE}, "id_token": {"type": "string"}}},
    "OAuthError": {"type": "object", "required": ["error"], "properties": {
        "error": {"type": "string"}, "error_description": {"type": "string"}}},
}
_SESSION = {"name": "session", "in": "path", "required": True, "schema": {"type": "string"}}
PATHS = {
    "/api/v1/liveness/sessions": {"post": {
        "operationId": "createLivenessSession", "summary": "Open a liveness session",
        "requestBody": {"required": True, "content": {"application/json": {
            "schema": _ref("SessionRequest")}}},
        "responses": {"201": _json("Challenge", "The challenge to capture"),
                      **_errors(400, 401, 403, 415, 429, 503)}}},
    "/api/v1/liveness/sessions/{session}/frames": {"post": {
        "operationId": "submitFrames", "summary": "Submit the frames of a session (once)",
        "parameters": [_SESSION],
        "requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
            "type": "object", "required": ["nonce", "frames"], "properties": {
                "nonce": {"type": "string"},
                "frames": {"type": "array", "maxItems": 12, "items": {
                    "type": "string", "contentMediaType": "image/jpeg"}}}}},
            "application/json": {"schema": {
                "type": "object", "required": ["nonce", "frames"], "properties": {
                    "nonce": {"type": "string"},
                    "frames": {"type": "array", "minItems": 1, "maxItems": 12, "items": {
                        "type": "string", "contentEncoding": "base64",
                        "description": "A JPEG or PNG frame, base64 (a data: URL is accepted)"}}}}}}},
        "responses": {"200": _json("FramesResult", "The verdict and its signed assertion"),
                      **_errors(400, 401, 403, 413, 415, 429, 503)}}},
    "/api/v1/liveness/sessions/{session}": {"get": {
        "operationId": "getLivenessSession", "summary": "State of a session (owner only)",
        "parameters": [_SESSION],
        "responses": {"200": _json("SessionState", "The session"), **_errors(401, 403, 404)}}},
    "/token": {"post": {
        "operationId": "exchangeAssertion", "summary": "RFC 8693 exchange of an assertion",
        "security": [{"clientSecretBasic": []}],
        "requestBody": {"required": True, "content": {"application/x-www-form-urlencoded": {
            "schema": _ref("TokenExchangeRequest")}}},
        "responses": {"200": _json("TokenResponse", "Tokens of the verified person"),
                      "400": _json("OAuthError", "invalid_request, invalid_grant, ..."),
                      "401": _json("OAuthError", "invalid_client")}}},
}


def document(issuer: str) -> dict:
    return {
        "openapi": "3.1.0",
        "info": {"title": "Liveness API for mini-programs", "version": "1.0.0",
                 "description": "Face liveness sessions, signed liveness assertions and "
                                "their exchange for OIDC tokens (RFC 8693)."},
        "servers": [{"url": issuer}],
        "security": [{"oauth2": ["liveness"]}],
        "paths": PATHS,
        "components": {"schemas": SCHEMAS, "securitySchemes": {
            "oauth2": {"type": "oauth2", "flows": {"clientCredentials": {
                "tokenUrl": f"{issuer}/token", "scopes": {"liveness": "Run liveness sessions"}}}},
            "clientSecretBasic": {"type": "http", "scheme": "basic"}}},
    }
