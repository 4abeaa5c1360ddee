"""The OpenAPI 3.1 description of the mini-program API, served at ``/api/v1/openapi.json``.

The tests validate this document and every response of the API against its schemas, so
the description and the code cannot drift apart.
"""
from __future__ import annotations

from ..oidc.token_exchange import ACCESS_TOKEN_TYPE, GRANT_TYPE, LIVENESS_TOKEN_TYPE

_ACTION = {"type": "string", "pattern": "^[a-z_]{1,32}$", "description":
           "A head movement: turn_left, turn_right, look_up, look_down, move_closer, or "
           "what the engine's guided movement names (e.g. turn_either); show the step's hint"}
CLIP_REASONS = ["no_clip", "clip_too_large", "too_many_frames", "frame_too_large",
                "unsupported_format", "unsupported_media_type", "times_required",
                "bad_timestamps", "clip_too_short", "clip_too_long", "frame_rate_too_low",
                "frame_gap", "bad_clip", "clip_outside_session"]
HINTS = ["no_face", "multiple_faces", "face_too_small", "too_dark", "overexposed", "blurred",
         "bad_pose", "face_lost", "follow_prompts", "capture_again"]
_CLIP_DOC = (
    "One continuous capture of 2.5-12 s at >= 10 distinct frames/s with no gap over 400 ms, "
    "captured after the session was opened (its duration must fit between the session's start "
    "and this upload) and sent within the session's lifetime. Either a video (`clip`: MP4 with "
    "H.264 or MPEG-4 video as `CameraContext.startRecord` writes, or WebM VP8/VP9) or "
    "timestamped frames (`frames` JPEG/PNG in capture order with `times`, their capture times "
    "in ms on any clock, e.g. from `onCameraFrame`). At most 8 MiB together, 180 frames, "
    "1280 px a side. A single still is refused.")
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
            413: "The clip is too large or has too many frames (``reason``)",
            415: "Unsupported content type, container or image format (``reason``)",
            429: "Too many attempts for this ID number, client or IP (see Retry-After)",
            503: "A dependency is unavailable; try again later"}
    return {str(c): _json("Error", text[c]) for c in codes}


SCHEMAS = {
    "Error": {"type": "object", "required": ["error"], "properties": {
        "error": {"type": "string"}, "error_description": {"type": "string"},
        "reason": {"type": "string", "description": "Why an ID number or a clip is invalid: "
                   "an ID number reason, or one of " + ", ".join(CLIP_REASONS)}}},
    "SessionRequest": {"type": "object", "properties": {
        "id_number": {"type": "string", "maxLength": 64,
                      "description": "18-character ID number; with name, enables the face match"},
        "name": {"type": "string", "maxLength": 128},
        "mode": {"type": "string", "enum": ["passive", "active"], "default": "passive"}}},
    "Challenge": {"type": "object", "required": ["session", "nonce", "actions", "expires_in",
                                                 "mode", "capture"],
                  "additionalProperties": False, "properties": {
        "session": {"type": "string"}, "nonce": {"type": "string"},
        "actions": {"type": "array", "items": _ACTION, "minItems": 1, "description":
                    "Head movements to perform in this order while recording: the fixed guided "
                    "movement (passive) or random actions in random order (active)"},
        "expires_in": {"type": "integer", "minimum": 1,
                       "description": "Seconds left to capture and upload the clip"},
        "mode": {"type": "string", "enum": ["passive", "active"]},
        "capture": _ref("CapturePlan")}},
    "CapturePlan": {"type": "object", "required": ["duration_ms", "steps", "min_duration_ms",
                                                   "max_duration_ms", "frame_rate", "max_side",
                                                   "max_bytes", "max_frames", "formats"],
                    "description": "How to record: show each step's hint for its duration, "
                                   "recording one continuous clip through all of them",
                    "properties": {
        "duration_ms": {"type": "integer", "description": "Suggested recording length"},
        "steps": {"type": "array", "items": {"type": "object", "required": [
            "action", "duration_ms", "hint"], "properties": {
            "action": {"type": "string", "description": "hold, or one of actions"},
            "duration_ms": {"type": "integer", "minimum": 1},
            "hint": {"type": "string", "description": "Text to show (Accept-Language: "
                                                      "zh-CN or en)"}}}},
        "min_duration_ms": {"type": "integer"}, "max_duration_ms": {"type": "integer"},
        "frame_rate": {"type": "integer", "description": "Frames per second to capture"},
        "max_side": {"type": "integer", "description": "Longest frame side to send"},
        "max_bytes": {"type": "integer"}, "max_frames": {"type": "integer"},
        "formats": {"type": "array", "items": {"type": "string"}}}},
    "Result": {"type": "object", "required": ["live", "score", "reason"], "properties": {
        "live": {"type": "boolean"},
        "score": {**_NUM_OR_NULL, "description": "Passive live probability; null unless live"},
        "face_match": {"type": "boolean",
                       "description": "Only for live faces of sessions with an ID number"},
        "reason": {"enum": [None, "try_again", "not_live", "face_mismatch"], "description":
                   "null when everything passed; try_again: the capture was unusable (see "
                   "hint), start a new session; not_live: refused (which check is never "
                   "said); face_mismatch: a live face that does not match (or an unknown "
                   "number or another name)"},
        "hint": {"type": "string", "enum": HINTS,
                 "description": "With try_again only: what to tell the user"}}},
    "FramesResult": {"allOf": [_ref("Result"), {"type": "object", "required": ["assertion"],
        "properties": {"assertion": {"type": "string", "description":
            "JWT signed by the OP (typ liveness+jwt), for this client, single use, ~120 s"}}}]},
    "SessionState": {"type": "object", "required": ["session", "state", "mode", "actions",
                                                    "created_at"], "properties": {
        "session": {"type": "string"},
        "state": {"type": "string", "enum": ["pending", "completed", "expired"]},
        "mode": {"type": "string", "enum": ["passive", "active"]},
        "actions": {"type": "array", "items": _ACTION},
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
        "operationId": "submitClip", "summary": "Submit the session's clip (once)",
        "description": _CLIP_DOC, "parameters": [_SESSION],
        "requestBody": {"required": True, "content": {
            "multipart/form-data": {"schema": {"oneOf": [
                {"type": "object", "title": "video", "required": ["nonce", "clip"],
                 "properties": {"nonce": {"type": "string"},
                                "clip": {"type": "string", "contentMediaType": "video/mp4",
                                         "description": "MP4 (H.264, MPEG-4) or WebM"}}},
                {"type": "object", "title": "frames", "required": ["nonce", "frames", "times"],
                 "properties": {"nonce": {"type": "string"},
                                "frames": {"type": "array", "minItems": 2, "maxItems": 180,
                                           "items": {"type": "string",
                                                     "contentMediaType": "image/jpeg"}},
                                "times": {"type": "string", "contentMediaType":
                                          "application/json", "description":
                                          "JSON array of capture times in ms, one per frame"}}}]}},
            "application/json": {"schema": {"oneOf": [
                {"type": "object", "title": "frames", "required": ["nonce", "frames"],
                 "properties": {"nonce": {"type": "string"}, "frames": {
                     "type": "array", "minItems": 2, "maxItems": 180, "items": {
                         "type": "object", "required": ["t", "data"], "properties": {
                             "t": {"type": "number", "description": "Capture time, ms"},
                             "data": {"type": "string", "contentEncoding": "base64",
                                      "description": "A JPEG or PNG frame (a data: URL is "
                                                     "accepted)"}}}}}},
                {"type": "object", "title": "video", "required": ["nonce", "clip"],
                 "properties": {"nonce": {"type": "string"},
                                "clip": {"type": "string", "contentEncoding": "base64",
                                         "description": "MP4 or WebM video"}}}]}}}},
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
