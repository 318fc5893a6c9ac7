"""Root fixtures: no test may reach the internet; each test worker has its own database."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator

import pytest

from tests.fakes.responses_api import FakeModel
from tests.fakes.slack_api import FakeSlack
from tests.support.network import NetworkGuard
from tests.support.postgres import database_of_worker, empty_database, pg_url


def pytest_configure(config: pytest.Config) -> None:
    """The suite runs on two workers (pytest-xdist): each gets a PostgreSQL database of
    its own, made here before any test module reads TEST_DATABASE_URL."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    url = os.environ.get("TEST_DATABASE_URL")
    if worker and url:
        os.environ["TEST_DATABASE_URL"] = database_of_worker(url, worker)


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


@pytest.fixture
async def fake_slack() -> AsyncIterator[FakeSlack]:
    """A fake Slack Web API, started for this test."""
    fake = FakeSlack()
    await fake.start()
    yield fake
    await fake.stop()


@pytest.fixture
async def fake_model() -> AsyncIterator[FakeModel]:
    """A fake Responses API, started for this test."""
    fake = FakeModel()
    await fake.start()
    yield fake
    await fake.stop()


@pytest.fixture
async def database() -> AsyncIterator[str]:
    """The machine's PostgreSQL (TEST_DATABASE_URL), emptied before and after the test."""
    url = pg_url()
    if not url:
        pytest.skip("TEST_DATABASE_URL is not set: no PostgreSQL for several workers")
    await empty_database(url)
    yield url
    await empty_database(url)
