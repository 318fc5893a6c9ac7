"""Slack's HTTP requests into bolt: a payload bolt cannot read is refused with a 400.

bolt raises while it builds a request from a body that is not a JSON object
(garbage, a list, a number) or from fields of the wrong type, and answers 500
when one of its middlewares trips over such a payload. Neither is a server
fault, and a 5xx would make Slack retry the same payload: both become 400.
"""

from __future__ import annotations

import logging

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp

from bot.slack.refusals import Refusals

log = logging.getLogger(__name__)


def _bad_request() -> web.Response:
    return web.json_response({"ok": False, "error": "bad_request"}, status=400)


async def dispatch(
    app: AsyncApp, request: web.Request, refusals: Refusals | None = None
) -> web.Response:
    """Verify, ack and route one request; never a 5xx for a malformed payload. A request
    whose signature does not verify (bolt's 401) is told to `refusals`."""
    try:
        bolt_request = await to_bolt_request(request)
    except Exception as error:
        log.info("refusing a request bolt cannot read (%s)", type(error).__name__)
        return _bad_request()
    try:
        response = await app.async_dispatch(bolt_request)
    except Exception as error:
        log.warning("refusing a request bolt failed on (%s)", type(error).__name__)
        return _bad_request()
    if response.status == 401 and refusals is not None:
        refusals.refused(bolt_request.headers)
    if response.status >= 500:
        # bolt's own middleware failed on a payload it did not expect (logged by bolt).
        return _bad_request()
    return await to_aiohttp_response(response)
