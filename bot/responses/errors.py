"""One error tree for the Responses API client.

    ModelError
    ├── ModelUnavailable      connection failed, timed out, 429 or 5xx: worth a retry
    │   └── ModelStalled      no stream event for longer than the idle timeout
    ├── ModelRejected         4xx other than 429: the request or the key is wrong
    └── ModelStreamBroken     the connection dropped after the answer began

Messages carry the API's own `code` and `message`, never the key.
"""

from __future__ import annotations


class ModelError(Exception):
    def __init__(self, message: str, *, status: int = 0, code: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code


class ModelUnavailable(ModelError):
    def __init__(
        self, message: str, *, status: int = 0, code: str = "", retry_after: float | None = None
    ) -> None:
        super().__init__(message, status=status, code=code)
        self.retry_after = retry_after


class ModelStalled(ModelUnavailable):
    pass


class ModelRejected(ModelError):
    pass


class ModelStreamBroken(ModelError):
    pass
