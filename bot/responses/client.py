"""POST {base}/responses with stream=true; typed events out.

Knows nothing of Slack or the database. Failures before the first event are
retried with backoff (connection errors, timeouts, 429, 5xx), honouring
`retry-after`; once an event has been yielded, a failure is raised as it is,
because the caller has already shown part of the answer.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx
import orjson
from httpx_aiohttp import AiohttpTransport

from bot.logs import redact
from bot.responses.errors import (
    ModelError,
    ModelRejected,
    ModelStalled,
    ModelStreamBroken,
    ModelUnavailable,
)
from bot.responses.events import Event, parse_event
from bot.responses.sse import DataLines

log = logging.getLogger(__name__)

MAX_FILE_BYTES = 50 * 1024 * 1024  # a file the model's code wrote, fetched to upload
PROBE_SECONDS = 10.0  # the endpoint check at start: longer means "not clear", not "wrong"


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 4  # the first try included
    base_delay: float = 0.5
    max_delay: float = 8.0
    total_budget: float = 30.0  # seconds spent waiting, at most

    def delay(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.max_delay)
        backoff = min(self.base_delay * 2.0 ** (attempt - 1), self.max_delay)
        return backoff * random.uniform(0.5, 1.0)  # jitter spreads retries of many answers


def _retry_after(headers: httpx.Headers) -> float | None:
    value = headers.get("retry-after")
    try:
        return None if value is None else float(value)
    except ValueError:
        return None


def _error_from_body(status: int, body: bytes) -> tuple[str, str]:
    try:
        error = json.loads(body).get("error") or {}
    except (ValueError, AttributeError):
        error = {}
    if not isinstance(error, dict):
        error = {}
    code = error.get("code") or error.get("type") or ""
    message = error.get("message") or f"HTTP {status}"
    # A 401's message quotes (part of) the key: it must reach neither logs nor users.
    return str(code), redact(str(message))


def _check(headers: httpx.Headers) -> None:
    """A successful answer must be an event stream (an HTML page from a proxy is not)."""
    kind = headers.get("content-type", "").partition(";")[0]
    if "text/event-stream" not in kind:
        raise ModelUnavailable(f"the model answered with {kind or 'no'} content type")


def _unavailable(failure: Exception) -> ModelUnavailable:
    """httpx's error while streaming, as the bot's."""
    if isinstance(failure, ModelUnavailable):
        return failure
    if isinstance(failure, httpx.ReadTimeout):
        error: ModelUnavailable = ModelStalled("the model stopped sending for too long")
    elif isinstance(failure, httpx.TimeoutException):
        error = ModelUnavailable("the model did not answer in time")
    else:
        error = ModelUnavailable(f"connection to the model failed: {type(failure).__name__}")
    error.__cause__ = failure
    return error


def _event(data: bytes) -> Event | None:
    """One event's data → an Event, or None for what the bot does not use."""
    if not data or data == b"[DONE]":
        return None
    try:
        # orjson: a tenth of the CPU of json.loads on bytes, for every delta.
        decoded = orjson.loads(data)
    except ValueError:
        try:
            decoded = json.loads(data)  # what orjson refuses, e.g. integers past 64 bits
        except ValueError:
            log.warning("ignoring a stream event that is not JSON")
            return None
    return parse_event(decoded)


class ResponsesClient:
    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        idle_timeout: float = 60.0,
        max_connections: int = 100,
        retry: RetryPolicy | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._base = base_url.rstrip("/")
        self._url = self._base + "/responses"
        self._retry = retry or RetryPolicy()
        limits = httpx.Limits(max_connections=max_connections, max_keepalive_connections=32)
        self._http = httpx.AsyncClient(
            headers={"Authorization": f"Bearer {api_key}"},
            # The read timeout bounds the silence between two events, not the answer.
            timeout=httpx.Timeout(connect=10.0, read=idle_timeout, write=10.0, pool=60.0),
            # httpx's API on aiohttp's transport: about a fifth of the CPU per stream of
            # httpx's own (see DESIGN.md), with the same timeouts and errors.
            transport=transport or AiohttpTransport(limits=limits),
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    def stream(self, request: dict[str, Any]) -> AsyncIterator[Event]:
        """Stream one response. `request` is the JSON body without `stream`."""
        return self._retried("POST", self._url, json={**request, "stream": True})

    def resume(self, response_id: str, after: int) -> AsyncIterator[Event]:
        """Stream a background response's events after sequence number `after`, then on
        live (`GET /responses/{id}?stream=true&starting_after=N`)."""
        params = {"stream": "true", "starting_after": str(after)}
        return self._retried("GET", f"{self._url}/{response_id}", params=params)

    async def cancel(self, response_id: str) -> bool:
        """`POST /responses/{id}/cancel`: stops a background response; closing its stream
        does not. False when the API could not be told."""
        try:
            response = await self._http.post(f"{self._url}/{response_id}/cancel")
        except httpx.HTTPError:
            return False
        return response.status_code == 200

    async def _retried(self, method: str, url: str, **options: Any) -> AsyncIterator[Event]:
        # One generator for the attempts and the stream: it is resumed for every delta, and
        # each layer of async generators costs CPU per delta.
        waited = 0.0
        for attempt in range(1, self._retry.attempts + 1):
            yielded = False
            try:
                async with self._http.stream(method, url, **options) as response:
                    if response.status_code >= 400:
                        raise self._http_error(
                            response.status_code, await response.aread(), response.headers
                        )
                    _check(response.headers)
                    # The body's bytes, split into events here (bot/responses/sse.py says why).
                    lines = DataLines()
                    async for chunk in response.aiter_bytes():
                        for data in lines.feed(chunk):
                            if (event := _event(data)) is not None:
                                yielded = True
                                yield event
                    for data in lines.close():
                        if (event := _event(data)) is not None:
                            yielded = True
                            yield event
                return
            except (httpx.TransportError, ModelUnavailable) as failure:
                error = _unavailable(failure)
            if yielded:
                if isinstance(error, ModelStalled):
                    raise error
                raise ModelStreamBroken(error.message, status=error.status) from error
            delay = self._retry.delay(attempt, error.retry_after)
            if attempt == self._retry.attempts or waited + delay > self._retry.total_budget:
                raise error
            log.warning(
                "model unavailable (%s %s), retry %d in %.1fs",
                error.status or "-",
                error.code or error.message,
                attempt,
                delay,
            )
            waited += delay
            await asyncio.sleep(delay)

    async def probe(self) -> tuple[int, bytes]:
        """`POST {base}/responses` with an empty object, to see that the endpoint is there
        and takes the key: the API checks the key first (401), then finds `model` missing
        (400). No response is made, so nothing is spent. Raises httpx's errors."""
        response = await self._http.post(self._url, json={}, timeout=PROBE_SECONDS)
        return response.status_code, response.content

    async def status(self, response_id: str) -> str | None:
        """GET {base}/responses/{id}: the status the API reports, or None if it cannot tell."""
        try:
            response = await self._http.get(f"{self._url}/{response_id}")
        except httpx.HTTPError:
            return None
        if response.status_code != 200:
            return None
        try:
            status = response.json().get("status")
        except (ValueError, AttributeError):
            return None
        return status if isinstance(status, str) else None

    async def container_file(
        self, container_id: str, file_id: str, *, limit: int = MAX_FILE_BYTES
    ) -> bytes:
        """GET {base}/containers/{container_id}/files/{file_id}/content: a file the model's
        code wrote, at most `limit` bytes. Raises ModelError when it cannot be had."""
        url = f"{self._base}/containers/{quote(container_id)}/files/{quote(file_id)}/content"
        try:
            async with self._http.stream("GET", url) as response:
                if response.status_code >= 400:
                    body = await response.aread()
                    raise self._http_error(response.status_code, body, response.headers)
                content = bytearray()
                async for chunk in response.aiter_bytes():
                    content += chunk
                    if len(content) > limit:
                        raise ModelRejected(f"the file is larger than {limit} bytes", status=413)
                return bytes(content)
        except httpx.HTTPError as error:
            raise ModelUnavailable(
                f"could not fetch a container file: {type(error).__name__}"
            ) from error

    @staticmethod
    def _http_error(status: int, body: bytes, headers: httpx.Headers) -> ModelError:
        code, message = _error_from_body(status, body)
        if status == 429 or status >= 500:
            return ModelUnavailable(
                message, status=status, code=code, retry_after=_retry_after(headers)
            )
        return ModelRejected(message, status=status, code=code)
