"""The code flow of ``codeflow_bench.py`` driven by wrk (C) instead of Python's asyncio.

Why: the load generator runs on the same two CPUs as the OPs it measures, so it should take
as little of them as it can.  Measured side by side (bench/README.md, sixth pass) the asyncio
driver used 0.16-0.25 of a core and wrk 0.05-0.07 (``gen cores`` in the tables); the ratios
they gave were within the noise of each other, so the driver was not what decided them.

One wrk thread per virtual user (``-tN -cN``), so each thread's Lua state is one user's
state machine: ``/authorize`` with the user's session cookie (a 302/303 whose ``Location``
carries the code), the code at the token endpoint (client_secret_basic, PKCE S256; access,
ID and refresh tokens), userinfo with the access token, the refresh token at the token
endpoint.  Any other answer counts a failure and starts the flow again.  Each user keeps
one PKCE pair (a fresh code per flow; the OP checks only that the verifier matches the
challenge) and a fresh ``state`` and ``nonce`` per flow.
"""
from __future__ import annotations

import base64
import json
import re
import resource
from pathlib import Path
from urllib.parse import quote, urlencode

from bench.common import wrk

_LUA = r'''
local users = %(users)s
local AUTHORIZE = %(authorize)s
local TOKEN = %(token)s
local USERINFO = %(userinfo)s
local BASIC = %(basic)s
local REDIRECT = %(redirect)s
local FORM = "application/x-www-form-urlencoded"
local threads = {}
local index = 0

function setup(thread)
  index = index + 1
  local u = users[(index - 1) %% #users + 1]
  thread:set("cookie", u[1])
  thread:set("verifier", u[2])
  thread:set("challenge", u[3])
  thread:set("uid", index)
  table.insert(threads, thread)
end

step, n, flows, failures = 0, 0, 0, 0
local code, access, refresh

function request()
  if step == 0 then
    n = n + 1
    local tag = uid .. "x" .. n
    return wrk.format("GET", AUTHORIZE .. "&code_challenge=" .. challenge .. "&state=s" .. tag
                      .. "&nonce=n" .. tag, {Cookie = cookie})
  elseif step == 1 then
    return wrk.format("POST", TOKEN, {Authorization = BASIC, ["Content-Type"] = FORM},
                      "grant_type=authorization_code&code=" .. code .. "&redirect_uri=" ..
                      REDIRECT .. "&code_verifier=" .. verifier)
  elseif step == 2 then
    return wrk.format("GET", USERINFO, {Authorization = "Bearer " .. access})
  end
  return wrk.format("POST", TOKEN, {Authorization = BASIC, ["Content-Type"] = FORM},
                    "grant_type=refresh_token&refresh_token=" .. refresh)
end

local function fail()
  failures = failures + 1
  step = 0
end

function response(status, headers, body)
  if step == 0 then
    local location
    for name, value in pairs(headers) do
      if string.lower(name) == "location" then location = value end
    end
    code = (status == 302 or status == 303) and location and location:match("[?&]code=([^&]+)")
    if code then step = 1 else fail() end
  elseif step == 1 then
    access = status == 200 and body:match('"access_token"%%s*:%%s*"([^"]+)"')
    refresh = access and body:match('"refresh_token"%%s*:%%s*"([^"]+)"')
    if refresh and body:match('"id_token"%%s*:%%s*"') then step = 2 else fail() end
  elseif step == 2 then
    if status == 200 and body:match('"sub"%%s*:') then step = 3 else fail() end
  else
    if status == 200 and body:match('"access_token"%%s*:%%s*"') then
      flows = flows + 1
      step = 0
    else
      fail()
    end
  end
end

function done(summary, latency, requests)
  local f, e = 0, 0
  for _, t in ipairs(threads) do
    f = f + t:get("flows")
    e = e + t:get("failures")
  end
  io.write(string.format("FLOWS %%d FAILURES %%d\n", f, e))
end
'''


def _lua(value: str) -> str:
    return json.dumps(value)  # a JSON string of ASCII is a valid Lua string literal


def flow_script(path: Path, *, users: list[tuple[str, str, str]], client: tuple[str, str],
                paths: dict, redirect: str, scope: str) -> Path:
    """Write the Lua script: ``users`` are (Cookie header, PKCE verifier, challenge)."""
    basic = base64.b64encode(f"{quote(client[0], safe='')}:{quote(client[1], safe='')}"
                             .encode()).decode()
    authorize = paths["authorize"] + "?" + urlencode({
        "response_type": "code", "client_id": client[0], "redirect_uri": redirect,
        "scope": scope, "code_challenge_method": "S256"})
    table = "{" + ", ".join("{" + ", ".join(_lua(v) for v in u) + "}" for u in users) + "}"
    path.write_text(_LUA % {"users": table, "authorize": _lua(authorize),
                            "token": _lua(paths["token"]), "userinfo": _lua(paths["userinfo"]),
                            "basic": _lua("Basic " + basic),
                            "redirect": _lua(quote(redirect, safe=""))})
    return path


def run(url: str, script: Path, *, users: int, seconds: float) -> dict:
    """One wrk run of the flow (``common.wrk``, one thread per user): its result plus the
    flows and failures the script counted and wrk's own CPU seconds."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    result = wrk(url, seconds=seconds, connections=users, threads=users, script=script)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    found = re.search(r"FLOWS (\d+) FAILURES (\d+)", result["raw"])
    if found is None:
        raise RuntimeError(f"wrk printed no flow count:\n{result['raw']}")
    result.update(flows=int(found.group(1)), failures=int(found.group(2)),
                  gen_cpu=(after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime))
    return result
