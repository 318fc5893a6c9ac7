"""Root fixtures: no test may reach the internet."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.network import NetworkGuard


@pytest.fixture(autouse=True)
def no_internet(monkeypatch: pytest.MonkeyPatch) -> Iterator[NetworkGuard]:
    """Block non-loopback connections and lookups; fail the test if any was tried.

    The failure is raised where the connection is made (a ConnectionRefusedError
    subclass) and, because code under test may swallow it, again at teardown.
    A test that expects a block clears `no_internet.attempts`.
    """
    guard = NetworkGuard()
    guard.install(monkeypatch)
    yield guard
    if guard.attempts:
        pytest.fail("\n".join(guard.attempts), pytrace=False)
