"""The HTTP registry: a remote population registry service (contract: ``HTTP-CONTRACT.md``).

Request::

    POST {base_url}/v1/persons/lookup
    Authorization: Bearer {token}            (when a token is configured)
    Content-Type: application/json
    {"id_number": "11010519491231002X"}      (normalised 18-character number, never in the URL)

Responses (200, ``application/json``, at most 64 KiB)::

    {"found": true, "name": "张三", "template": "<base64 of float32[128] little-endian>",
     "template_model": "sface-2021dec"}
    {"found": false}

Anything else fails closed with ``RegistryUnavailable`` (503): a lookup that cannot be
answered must never look like "not registered".  Lookups are idempotent, so 5xx answers,
timeouts and connection failures are retried (``retries`` times, exponential backoff with
jitter); 4xx answers (bad token, wrong path) and malformed bodies are not, since a retry
would get the same answer.  Redirects are not followed: they would carry the token and the
ID number to a host nobody configured.
"""
from __future__ import annotations

import base64
import binascii
import json
import logging
import random
import time
from typing import Callable, Iterable

import requests
import urllib3

from ..idnumber import parse_id_number
from .base import (TEMPLATE_MODEL, Enrolment, NotSupported, PersonRecord, RegistryUnavailable,
                   check_template, clean_name)

log = logging.getLogger(__name__)

MAX_RESPONSE_BYTES = 64 * 1024
LOOKUP_PATH = "/v1/persons/lookup"


class HttpRegistry:
    kind = "http"

    def __init__(self, base_url: str, *, token: str | None = None, timeout: float = 2.0,
                 retries: int = 2, session: requests.Session | None = None,
                 backoff: float = 0.1, sleep: Callable[[float], None] = time.sleep):
        if not base_url.startswith(("https://", "http://")):
            raise ValueError("the registry URL must be http(s)")
        if base_url.startswith("http://") and not _is_loopback(base_url):
            log.warning("registry %s is plain HTTP: ID numbers and the token travel in clear",
                        base_url)
        self.url = base_url.rstrip("/") + LOOKUP_PATH
        self._token = token
        self._timeout = timeout
        self._retries = max(0, retries)
        self._session = session or requests.Session()
        self._backoff = backoff
        self._sleep = sleep

    def lookup(self, id_number: str) -> PersonRecord | None:
        number = parse_id_number(id_number).number  # junk never leaves this process
        status, body = self._post({"id_number": number})
        if status in (401, 403):
            raise _unavailable("auth", f"the registry refused our credentials (HTTP {status})")
        if status != 200:
            raise _unavailable("http_status", f"the registry answered HTTP {status}")
        return _parse_lookup(body)

    def enrol(self, id_number: str, name: str, template: bytes, source: str) -> None:
        raise NotSupported("The remote registry is read-only; enrol persons at its source.")

    def enrol_many(self, entries: Iterable[Enrolment]) -> int:
        raise NotSupported("The remote registry is read-only; enrol persons at its source.")

    def count(self) -> int:
        raise NotSupported("The remote registry does not report its size.")

    def _post(self, payload: dict) -> tuple[int, bytes]:
        """POST with retries on 5xx/timeouts/connection errors; returns (status, body)."""
        # identity: the size limit then bounds what the server sends, not a decompressed bomb
        headers = {"Accept": "application/json", "Accept-Encoding": "identity"}
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        for attempt in range(self._retries + 1):
            last = attempt == self._retries
            try:
                with self._session.post(self.url, json=payload, headers=headers,
                                        timeout=self._timeout, allow_redirects=False,
                                        stream=True) as response:
                    status = response.status_code
                    if status >= 500 and not last:
                        log.info("registry HTTP %s, retrying", status)
                    elif status != 200:  # an error page is never read or parsed
                        return status, b""
                    else:
                        return status, _read_limited(response, self._timeout)
            except (requests.Timeout, requests.ConnectionError) as error:
                if last:
                    reason = "timeout" if isinstance(error, requests.Timeout) else "connection"
                    raise _unavailable(reason, f"the registry did not answer: {error!r}")
                log.info("registry %s, retrying", type(error).__name__)
            except requests.RequestException as error:
                raise _unavailable("request", f"the registry request failed: {error!r}")
            self._sleep(self._backoff * (2 ** attempt) * (0.5 + random.random()))
        raise AssertionError("unreachable")  # the last attempt returns or raises


def _read_limited(response: requests.Response, timeout: float) -> bytes:
    """The body, at most MAX_RESPONSE_BYTES, read within ``timeout`` seconds in total.

    requests' timeout bounds each socket read, not the whole body: a server dripping one
    byte a second would otherwise hold a login worker for as long as it likes.
    """
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > MAX_RESPONSE_BYTES:
        raise _unavailable("too_large", "the registry response is too large")
    deadline = time.monotonic() + timeout
    body = bytearray()
    try:
        # read1 returns whatever has arrived; iter_content would block until a full chunk.
        while chunk := response.raw.read1(8192, decode_content=True):
            body += chunk
            if len(body) > MAX_RESPONSE_BYTES:
                raise _unavailable("too_large", "the registry response is too large")
            if time.monotonic() > deadline:
                raise _unavailable("timeout", "the registry response took too long to arrive")
    except urllib3.exceptions.ReadTimeoutError:
        raise _unavailable("timeout", "the registry stopped sending its response") from None
    except (urllib3.exceptions.HTTPError, OSError) as error:
        raise _unavailable("connection", f"the response was cut short: {error!r}") from None
    return bytes(body)


def _parse_lookup(body: bytes) -> PersonRecord | None:
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        raise _unavailable("not_json", "the registry response is not JSON") from None
    if not isinstance(data, dict) or not isinstance(data.get("found"), bool):
        raise _unavailable("malformed", "the registry response has no boolean 'found'")
    if not data["found"]:
        return None
    if data.get("template_model") != TEMPLATE_MODEL:
        raise _unavailable("template_model", f"the template model is not {TEMPLATE_MODEL}")
    try:
        name = clean_name(data.get("name"))
        raw = data.get("template")
        if not isinstance(raw, str):
            raise ValueError("no template")
        template = check_template(base64.b64decode(raw, validate=True))
    except (ValueError, binascii.Error) as error:
        raise _unavailable("malformed", f"the registry record is malformed: {error}") from None
    return PersonRecord(name=name, template=template)


def _unavailable(reason: str, detail: str) -> RegistryUnavailable:
    log.warning("registry unavailable (%s): %s", reason, detail)
    return RegistryUnavailable(reason, detail)


def _is_loopback(url: str) -> bool:
    from urllib.parse import urlsplit

    return urlsplit(url).hostname in ("127.0.0.1", "::1", "localhost")
