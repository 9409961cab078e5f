"""Shared fixtures: every test gets a fresh event loop (pytest-asyncio) and nothing global."""

from __future__ import annotations

import logging

import pytest


@pytest.fixture(autouse=True)
def _quiet_asyncio_debug(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
