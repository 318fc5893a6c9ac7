"""Files that the model's code wrote (`code_interpreter`), served as the Responses
API's host serves them: `GET {url}/containers/{container_id}/files/{file_id}/content`
answers the file's bytes (404 with an API error for an unknown one, 401 without a key).

`Containers().serve(fake_model)` adds the route to a running FakeModel.
"""

from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass

from aiohttp import web

from tests.fakes.responses_api import FakeModel

_CONTENT = re.compile(r"/v1/containers/(?P<container>[^/]+)/files/(?P<file>[^/]+)/content")


@dataclass(frozen=True)
class Fetch:
    """One request for a file's content."""

    container_id: str
    file_id: str
    authorization: str


def _error(status: int, message: str) -> web.Response:
    error = {"message": message, "type": "invalid_request_error", "param": None, "code": None}
    return web.json_response({"error": error}, status=status)


class Containers:
    def __init__(self) -> None:
        self.files: dict[tuple[str, str], bytes] = {}
        self.fetches: list[Fetch] = []
        self._failures: deque[int] = deque()

    def add(self, container_id: str, file_id: str, content: bytes) -> None:
        """A file the code wrote into that container."""
        self.files[(container_id, file_id)] = content

    def fail(self, status: int = 500, *, times: int = 1) -> None:
        """The next `times` fetches are answered with this HTTP status."""
        self._failures.extend([status] * times)

    def serve(self, model: FakeModel) -> Containers:
        model.routes.append(self._route)
        return self

    async def _route(self, request: web.Request) -> web.StreamResponse | None:
        found = _CONTENT.fullmatch(request.path)
        if found is None or request.method != "GET":
            return None
        authorization = request.headers.get("Authorization", "")
        key = (found["container"], found["file"])
        self.fetches.append(Fetch(*key, authorization))
        if not authorization.startswith("Bearer "):
            return _error(401, "You didn't provide an API key.")
        if self._failures:
            return _error(self._failures.popleft(), "The server had an error.")
        content = self.files.get(key)
        if content is None:
            return _error(404, f"Container file {key[1]} not found.")
        return web.Response(body=content, content_type="application/octet-stream")
