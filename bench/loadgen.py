"""A small asyncio HTTP/1.1 client for load generation: keep-alive connections, cookies,
per-step latency.  Only what the benchmarks need (Content-Length and chunked bodies)."""
from __future__ import annotations

import asyncio
import time
from urllib.parse import urlsplit


class Response:
    __slots__ = ("status", "headers", "cookies", "body")

    def __init__(self, status, headers, cookies, body):
        self.status, self.headers, self.cookies, self.body = status, headers, cookies, body

    def json(self):
        import json
        return json.loads(self.body)

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


class Connection:
    """One keep-alive connection with a cookie jar (one virtual user)."""

    def __init__(self, base_url: str):
        parts = urlsplit(base_url)
        self.host, self.port = parts.hostname, parts.port or 80
        self.hostheader = parts.netloc
        self.reader = self.writer = None
        self.cookies: dict[str, str] = {}

    async def _connect(self):
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)

    async def close(self):
        if self.writer is not None:
            self.writer.close()
            try:
                await self.writer.wait_closed()
            except (ConnectionError, OSError):
                pass
            self.writer = None

    async def request(self, method: str, path: str, *, headers=None, body: bytes = b"",
                      timeout: float = 10.0) -> Response:
        for attempt in (1, 2):
            if self.writer is None:
                await self._connect()
            try:
                return await asyncio.wait_for(self._exchange(method, path, headers or {}, body),
                                              timeout)
            except (ConnectionError, asyncio.IncompleteReadError):
                await self.close()
                if attempt == 2:
                    raise
        raise RuntimeError("unreachable")

    async def _exchange(self, method, path, headers, body) -> Response:
        lines = [f"{method} {path} HTTP/1.1", f"Host: {self.hostheader}"]
        if self.cookies:
            lines.append("Cookie: " + "; ".join(f"{k}={v}" for k, v in self.cookies.items()))
        for name, value in headers.items():
            lines.append(f"{name}: {value}")
        if body or method == "POST":
            lines.append(f"Content-Length: {len(body)}")
        self.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        status = int(status_line.split(" ", 2)[1])
        hdrs: dict[str, str] = {}
        cookies = []
        for line in header_lines:
            if not line:
                continue
            name, _, value = line.partition(":")
            name, value = name.strip().lower(), value.strip()
            if name == "set-cookie":
                cookies.append(value)
                pair = value.split(";", 1)[0]
                k, _, v = pair.partition("=")
                if "max-age=0" in value.lower() or v == "":
                    self.cookies.pop(k, None)
                else:
                    self.cookies[k] = v
            hdrs[name] = value
        if hdrs.get("transfer-encoding", "").lower() == "chunked":
            data = bytearray()
            while True:
                size = int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16)
                if size == 0:
                    await self.reader.readuntil(b"\r\n")
                    break
                data += await self.reader.readexactly(size)
                await self.reader.readexactly(2)
            data = bytes(data)
        else:
            data = await self.reader.readexactly(int(hdrs.get("content-length", "0")))
        if hdrs.get("connection", "").lower() == "close":
            await self.close()
        return Response(status, hdrs, cookies, data)


class Recorder:
    """Latencies and errors per step name."""

    def __init__(self):
        self.latencies: dict[str, list[float]] = {}
        self.errors: dict[str, int] = {}
        self.error_samples: dict[str, str] = {}
        self.recording = False

    async def timed(self, name: str, coro, expect=(200,)):
        started = time.perf_counter()
        try:
            resp = await coro
        except Exception as exc:
            if self.recording:
                self.errors[name] = self.errors.get(name, 0) + 1
                self.error_samples.setdefault(name, repr(exc))
            return None
        elapsed = time.perf_counter() - started
        if self.recording:
            self.latencies.setdefault(name, []).append(elapsed)
            if resp.status not in expect:
                self.errors[name] = self.errors.get(name, 0) + 1
                self.error_samples.setdefault(name, f"HTTP {resp.status}: {_brief(resp.text)}")
        return resp if resp.status in expect else None

    def fail(self, name: str, sample: str):
        """Count an error of step ``name`` whose HTTP status was right but whose content was not
        (the request's latency is already recorded); returns None so callers can give up."""
        if self.recording:
            self.errors[name] = self.errors.get(name, 0) + 1
            self.error_samples.setdefault(name, sample)
        return None

    def summary(self, seconds: float) -> list[dict]:
        rows = []
        for name, values in self.latencies.items():
            values = sorted(values)
            rows.append({"step": name, "count": len(values), "rps": len(values) / seconds,
                         "p50": _pct(values, 50) * 1000, "p99": _pct(values, 99) * 1000,
                         "errors": self.errors.get(name, 0)})
        return rows


def _pct(values: list[float], pct: float) -> float:
    if not values:
        return 0.0
    index = min(len(values) - 1, max(0, round(pct / 100 * len(values) + 0.5) - 1))
    return values[index]


def _brief(text: str) -> str:
    """The error of a JSON body, or the text of an HTML error page, shortened."""
    import re as _re
    found = _re.search(r'"error_description":\s*"([^"]*)"', text) or \
        _re.search(r"<p[^>]*>([^<]{5,})</p>", text) or _re.search(r"<h1[^>]*>([^<]+)</h1>", text)
    return (found.group(1) if found else text[:200]).strip()
