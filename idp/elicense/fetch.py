"""One bounded HTTP exchange for revocation data (CRLs and OCSP answers).

The URLs come from signed certificates or an operator's configuration, so no redirect is
followed, the body is cut off at ``max_bytes`` (a declared Content-Length above it is refused
before reading) and, with ``total_deadline``, the whole exchange must finish within
``timeout`` seconds, not only each read.  Every failure is an ``OSError`` with a short reason.
"""
from __future__ import annotations

import time


def fetch(method: str, url: str, *, timeout: float, max_bytes: int, headers: dict,
          body: bytes | None = None, total_deadline: bool = False) -> bytes:
    import requests

    deadline = time.monotonic() + timeout
    try:
        with requests.request(method, url, data=body, timeout=timeout, stream=True,
                              allow_redirects=False, headers=headers) as resp:
            if resp.status_code != 200:
                raise OSError(f"HTTP {resp.status_code}")
            declared = resp.headers.get("Content-Length", "")
            if declared.isdigit() and int(declared) > max_bytes:
                raise OSError(f"response larger than {max_bytes} bytes")
            data = bytearray()
            for chunk in resp.iter_content(65536):
                data += chunk
                if len(data) > max_bytes:
                    raise OSError(f"response larger than {max_bytes} bytes")
                if total_deadline and time.monotonic() > deadline:
                    raise OSError(f"no complete response within {timeout:g} s")
            return bytes(data)
    except requests.Timeout:
        raise OSError(f"no response within {timeout:g} s") from None
    except requests.RequestException as exc:
        raise OSError(f"connection failed ({type(exc).__name__})") from None
