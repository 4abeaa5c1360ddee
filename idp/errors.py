"""One error hierarchy for the whole OP.

Every error carries an OAuth/OIDC-style ``error`` code, a human ``description``, an HTTP
``status`` and whether the description may be shown to the caller.  ``idp.web.errors``
renders them as JSON (protocol endpoints and APIs: ``{"error", "error_description"}``) or as
an HTML page (browser pages).  Nothing below ``create_app`` renders errors itself.
"""
from __future__ import annotations


class IdpError(Exception):
    """Base class: a failure the caller should hear about with a 4xx/5xx status."""

    error = "server_error"
    status = 500
    expose = True  # the description is safe to show to the caller

    def __init__(self, description: str = "", *, error: str | None = None,
                 status: int | None = None, headers: dict | None = None):
        super().__init__(description or self.__class__.__doc__ or self.error)
        self.description = description or (self.__class__.__doc__ or "").strip().split("\n")[0]
        if error:
            self.error = error
        if status:
            self.status = status
        self.headers = dict(headers or {})

    def to_dict(self) -> dict:
        body = {"error": self.error}
        if self.description and self.expose:
            body["error_description"] = self.description
        return body


class ConfigError(IdpError):
    """The configuration is invalid."""

    error = "configuration_error"
    status = 500


class InvalidRequest(IdpError):
    """The request is missing a parameter, repeats one, or is otherwise malformed."""

    error = "invalid_request"
    status = 400


class NotFound(IdpError):
    """No such resource."""

    error = "not_found"
    status = 404


class MethodNotAllowed(IdpError):
    error = "invalid_request"
    status = 405


class PayloadTooLarge(IdpError):
    """The request body is larger than this endpoint accepts."""

    error = "invalid_request"
    status = 413


class UnsupportedMediaType(IdpError):
    """The request body has a content type this endpoint does not accept."""

    error = "invalid_request"
    status = 415


class CSRFError(IdpError):
    """The form's CSRF token is missing or wrong; reload the page and try again."""

    error = "csrf_failed"
    status = 400


class AccessDenied(IdpError):
    error = "access_denied"
    status = 403


class Unauthorized(IdpError):
    error = "invalid_token"
    status = 401


class TooManyRequests(IdpError):
    """Too many attempts; wait and try again."""

    error = "too_many_requests"
    status = 429


class Conflict(IdpError):
    error = "conflict"
    status = 409


class ServiceUnavailable(IdpError):
    """A dependency the request needs is unavailable; security decisions fail closed."""

    error = "temporarily_unavailable"
    status = 503


class StoreUnavailable(ServiceUnavailable):
    """The short-lived store (Redis or SQL) does not answer."""


class DatabaseUnavailable(ServiceUnavailable):
    """The database does not answer."""


class InvalidRequestObject(InvalidRequest):
    pass


class LoginError(IdpError):
    """A login attempt failed; the description never says which factor was wrong."""

    error = "login_failed"
    status = 400
