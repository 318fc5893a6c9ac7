"""Checking the model's endpoint at start: one cheap authenticated request.

Only clear mistakes stop the start, each with one line naming the setting and the
host (never the key): a host that does not resolve or refuses connections, a key the
service refuses (401, 403), and no Responses API at that address (404: most often
`OPENAI_BASE_URL` without its `/v1`). Anything else (a timeout, a 5xx, a proxy's
unexpected answer) is logged as a warning and the bot starts: the endpoint may only
be having a bad minute, and answers retry.
"""

from __future__ import annotations

import json
import socket
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import urlsplit

import httpx

from bot.causes import causes

FINE = (400, 422, 429)  # the request reached the Responses API with a key it took


class Probed(Protocol):
    async def probe(self) -> tuple[int, bytes]: ...


@dataclass(frozen=True)
class Finding:
    stops: bool  # True: the bot must not start
    line: str  # for the operator: one line, no key


def host_of(base_url: str) -> str:
    """`https://user:pw@api.example.com:8443/v1` → `api.example.com:8443`."""
    parts = urlsplit(base_url)
    host = parts.hostname or base_url
    return f"{host}:{parts.port}" if parts.port else host


def _error_of(body: bytes) -> dict[str, object]:
    try:
        error = json.loads(body).get("error")
    except (ValueError, AttributeError):
        return {}
    return error if isinstance(error, dict) else {}


def judge_reply(base_url: str, status: int, body: bytes) -> Finding | None:
    """What the endpoint's answer to the probe means; None when all is well."""
    host = host_of(base_url)
    if status < 300 or status in FINE:
        return None
    error = _error_of(body)
    code = str(error.get("code") or error.get("type") or "")
    if status in (401, 403):
        why = f"HTTP {status}" + (f", {code}" if code else "")
        return Finding(True, f"The model's service at {host} refused OPENAI_API_KEY ({why}).")
    if status == 404:
        said = " ".join(str(error.get(k) or "") for k in ("code", "param", "message")).lower()
        if "model" not in said:  # some proxies say 404 for a model they do not know
            path = urlsplit(base_url).path or "/"
            return Finding(
                True,
                f"OPENAI_BASE_URL has no Responses API at {host} ({path.rstrip('/')}/responses "
                "answers 404): does it end with /v1, e.g. https://api.openai.com/v1?",
            )
    return Finding(
        False, f"could not confirm the model endpoint at {host} (HTTP {status}); starting anyway"
    )


def judge_failure(base_url: str, error: Exception) -> Finding:
    """What a probe that got no answer means."""
    host = host_of(base_url)
    chain = causes(error)
    if any(isinstance(c, socket.gaierror) for c in chain):
        name = urlsplit(base_url).hostname or host
        return Finding(
            True, f"Cannot reach the model at OPENAI_BASE_URL: the host name {name} is not known."
        )
    if any(isinstance(c, ConnectionRefusedError) for c in chain):
        return Finding(
            True, f"Cannot reach the model at OPENAI_BASE_URL: {host} refuses connections."
        )
    what = "timed out" if isinstance(error, httpx.TimeoutException) else type(chain[-1]).__name__
    return Finding(
        False, f"could not confirm the model endpoint at {host} ({what}); starting anyway"
    )


async def check_endpoint(client: Probed, base_url: str) -> Finding | None:
    """Probe the endpoint once; None when it answered as the Responses API does."""
    try:
        status, body = await client.probe()
    except (httpx.HTTPError, OSError) as error:
        return judge_failure(base_url, error)
    return judge_reply(base_url, status, body)
