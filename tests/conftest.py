"""Shared fixtures: every test gets a fresh event loop (pytest-asyncio) and nothing global."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from monitor.storage.database import Storage
from probes.core.context import ProbeContext
from probes.http import new_client_session
from tests.tls_certs import Certs, make_certs


@pytest.fixture(autouse=True)
def _quiet_asyncio_debug(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)


@pytest.fixture
async def ctx() -> AsyncIterator[ProbeContext]:
    """The service's way: one shared HTTP session for every probe (a module may define its own ctx)."""
    session = new_client_session()
    try:
        yield ProbeContext(http=session)
    finally:
        await session.close()


@pytest.fixture
async def storage(tmp_path: Path) -> AsyncIterator[Storage]:
    """A fresh, migrated SQLite database of the test's own (tests on PostgreSQL too use database_url)."""
    opened = await Storage.open(f"sqlite:///{tmp_path / 'giaoban.db'}")
    try:
        yield opened
    finally:
        await opened.close()


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Certs:
    """A throw-away CA with valid, expired, wrong-name and self-signed certificates (tests/tls_certs.py)."""
    return make_certs(tmp_path_factory.mktemp("tls"))
