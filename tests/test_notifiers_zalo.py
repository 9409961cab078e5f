"""The Zalo channel against a local Zalo (tests/zalo_server.py: the OA API's message/cs and the OAuth v4 refresh):
delivered, retried, the access token refreshed once, the rotating refresh token kept on disk, and no follower
messaged twice across a SIGKILL of the real outbox process."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
import stat
import subprocess
import sys
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import TypeAdapter

from alerts.notifiers import deliver, zalo
from alerts.notifiers.base import Outcome, Recipient
from alerts.notifiers.config import NotifierConfig
from alerts.outbox import notification_from_json, notification_to_json
from alerts.store import SqlAlertStore
from monitor.storage.database import Storage
from tests.clock import wait_until
from tests.notifier_samples import notifier_context, sample
from tests.peers import stop_process
from tests.zalo_server import FIRST_REFRESH, SECRET_KEY, ZaloServer
from tests.zalo_worker import zalo_config

pytestmark = pytest.mark.timeout(90)
ROOT = Path(__file__).resolve().parent.parent
TUAN = Recipient(id="tuan", name="Nguyễn Văn Tuấn", zalo_user_id="4810000000000000001")
HOA = Recipient(id="hoa", name="Lê Thị Hoa", zalo_user_id="4810000000000000002")


@pytest.fixture
async def server() -> AsyncIterator[ZaloServer]:
    peer = ZaloServer()
    await peer.start()
    try:
        yield peer
    finally:
        await peer.stop()


@pytest.fixture(autouse=True)
def _secrets(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("GIAOBAN_TEST_ZALO_SECRET", SECRET_KEY)
    monkeypatch.setenv("GIAOBAN_TEST_ZALO_REFRESH", FIRST_REFRESH)
    yield
    zalo._STATES.clear()  # each test's state file is its own; the process-wide registry must not outlive it


def settings(server: ZaloServer, tmp_path: Path, **extra: Any) -> Any:
    return zalo_config(server.url, str(tmp_path / "zalo-state.json"), **extra)


def restart() -> None:
    """What a new process sees: nothing in memory, only the files."""
    zalo._STATES.clear()


async def test_delivered_in_the_documented_shape_and_the_rotated_token_kept(server: ZaloServer, tmp_path: Path) -> None:
    """The first send trades the inventory's refresh token for an access token; the new refresh token is on disk
    (0600) before the message goes out, and the message is the Vietnamese subject, body and link as plain text."""
    config = settings(server, tmp_path)
    async with notifier_context() as ctx:
        delivery = await deliver(sample(recipients=(TUAN,)), config, ctx=ctx)
    assert delivery.outcome is Outcome.DELIVERED, delivery.detail
    ((user, text),) = server.accepted
    assert user == TUAN.zalo_user_id
    assert text.startswith("Xã Tân Thịnh: mất kết nối\n\nĐường truyền tới Xã Tân Thịnh mất từ 08:02.")
    assert text.endswith("\n\nhttp://127.0.0.1:9/board/tan-thinh")
    (form,) = server.refreshes
    assert form == {"refresh_token": FIRST_REFRESH, "app_id": config.app_id, "grant_type": "refresh_token"}
    state_file = tmp_path / "zalo-state.json"
    stored = json.loads(state_file.read_text())
    assert stored["refresh_token"] == server.refresh_token != FIRST_REFRESH
    assert stored["access_token"] in server.access_tokens
    assert stat.S_IMODE(state_file.stat().st_mode) == 0o600


async def test_a_restart_uses_the_rotated_refresh_token(server: ZaloServer, tmp_path: Path) -> None:
    """Zalo's refresh tokens are single-use: after a restart the file's token must be used, not the inventory's
    (which Zalo now refuses), and a later expiry is healed with it."""
    config = settings(server, tmp_path)
    async with notifier_context() as ctx:
        assert (await deliver(sample(recipients=(TUAN,)), config, ctx=ctx)).outcome is Outcome.DELIVERED
        restart()
        again = await deliver(sample(key="k2", recipients=(TUAN,)), config, ctx=ctx)
        assert again.outcome is Outcome.DELIVERED, again.detail
        assert len(server.refreshes) == 1  # the stored access token was still good
        server.expire_access_tokens()
        restart()
        third = await deliver(sample(key="k3", recipients=(TUAN,)), config, ctx=ctx)
    assert third.outcome is Outcome.DELIVERED, third.detail
    assert [form["refresh_token"] for form in server.refreshes][1:] == ["RT-1"]
    assert len(server.accepted) == 3


async def test_expired_token_is_refreshed_once_then_delivered(server: ZaloServer, tmp_path: Path) -> None:
    """Two followers hit the expired token at once: one refresh, both messages delivered."""
    config = settings(server, tmp_path)
    async with notifier_context() as ctx:
        assert (await deliver(sample(recipients=(TUAN,)), config, ctx=ctx)).outcome is Outcome.DELIVERED
        old = set(server.access_tokens)
        server.expire_access_tokens()
        delivery = await deliver(sample(key="k2", recipients=(TUAN, HOA)), config, ctx=ctx)
    assert delivery.outcome is Outcome.DELIVERED, delivery.detail
    assert len(server.refreshes) == 2  # the first send's and exactly one for the expiry
    assert set(server.refused_tokens) == old
    assert Counter(user for user, _ in server.accepted) == Counter({TUAN.zalo_user_id: 2, HOA.zalo_user_id: 1})


@pytest.mark.parametrize(
    ("behaviour", "wait", "said"),
    [
        pytest.param("502", None, "Zalo answered 502", id="bad-gateway"),
        pytest.param("-32", 60.0, "Zalo answered -32: Request exceeded limit per minute (retry after 60 s)", id="rate"),
        pytest.param("429", 7.0, "Zalo answered 429", id="http-429"),
    ],
)
async def test_errors_are_retried_then_delivered_once(
    server: ZaloServer, tmp_path: Path, behaviour: str, wait: float | None, said: str
) -> None:
    """A gateway error or Zalo's rate limit is RETRY (with the wait Zalo asks for); the retry delivers it once."""
    config = settings(server, tmp_path)
    server.fail[TUAN.zalo_user_id or ""] = [behaviour]
    async with notifier_context() as ctx:
        first = await deliver(sample(recipients=(TUAN,)), config, ctx=ctx)
        assert first.outcome is Outcome.RETRY
        assert said in first.detail and first.retry_after == wait
        assert server.accepted == []
        second = await deliver(sample(recipients=(TUAN,)), config, ctx=ctx)
    assert second.outcome is Outcome.DELIVERED, second.detail
    assert len(server.accepted) == 1


async def test_a_retry_skips_the_followers_that_have_it(server: ZaloServer, tmp_path: Path) -> None:
    """Zalo has no idempotency key: a follower that got the message is journalled and not sent it again."""
    config = settings(server, tmp_path)
    server.fail[HOA.zalo_user_id or ""] = ["502"]
    note = sample(recipients=(TUAN, HOA))
    async with notifier_context() as ctx:
        first = await deliver(note, config, ctx=ctx)
        assert first.outcome is Outcome.RETRY and "1 of 2 follower(s) have it" in first.detail
        restart()  # the journal is on disk, not only in memory
        second = await deliver(note, config, ctx=ctx)
    assert second.outcome is Outcome.DELIVERED, second.detail
    assert server.counts() == Counter({(u, t): 1 for u, t in server.accepted})
    assert sorted(user for user, _ in server.accepted) == sorted([TUAN.zalo_user_id, HOA.zalo_user_id])


async def test_refusals_are_rejected_with_what_to_fix_and_no_secret(
    server: ZaloServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A stranger to the OA (-230) and a refused refresh (wrong secret key) cannot be helped by retrying."""
    config = settings(server, tmp_path)
    server.fail[TUAN.zalo_user_id or ""] = ["-230"]
    async with notifier_context() as ctx:
        stranger = await deliver(sample(recipients=(TUAN,)), config, ctx=ctx)
        assert stranger.outcome is Outcome.REJECTED
        assert "-230" in stranger.detail and "follow the OA and send it a message" in stranger.detail
        restart()
        monkeypatch.setenv("GIAOBAN_TEST_ZALO_SECRET", "a-wrong-secret")
        (tmp_path / "zalo-state.json").unlink()
        refused = await deliver(sample(key="k2", recipients=(TUAN,)), config, ctx=ctx)
    assert refused.outcome is Outcome.REJECTED
    assert "Invalid secret key" in refused.detail and "obtain a new refresh token" in refused.detail
    for detail in (stranger.detail, refused.detail):
        assert "a-wrong-secret" not in detail and SECRET_KEY not in detail and "RT-" not in detail
        assert not any(token in detail for token in server.access_tokens)


async def test_no_follower_is_rejected(server: ZaloServer, tmp_path: Path) -> None:
    async with notifier_context() as ctx:
        delivery = await deliver(sample(recipients=()), settings(server, tmp_path), ctx=ctx)
    assert delivery.outcome is Outcome.REJECTED and "zalo_user_id" in delivery.detail
    assert server.refreshes == []


def test_the_outbox_payload_keeps_the_zalo_user_id() -> None:
    note = sample(recipients=(TUAN,))
    assert notification_from_json(notification_to_json(note)) == note


def test_yaml_numbers_become_user_ids(tmp_path: Path) -> None:
    entry: Any = TypeAdapter(NotifierConfig).validate_python(
        {
            "id": "zalo",
            "kind": "zalo",
            "app_id": "1234",
            "secret_key": {"file": "/run/secrets/zalo"},
            "refresh_token": {"env": "ZALO_REFRESH"},
            "state_file": str(tmp_path / "s.json"),
            "user_ids": [4810000000000000003],
        }
    )
    assert entry.user_ids == ["4810000000000000003"]
    assert entry.api_url == "https://openapi.zalo.me" and entry.oauth_url == "https://oauth.zaloapp.com"


async def test_sigkill_mid_delivery_messages_no_follower_twice(server: ZaloServer, tmp_path: Path) -> None:
    """The real outbox process is killed while a notification for two followers is half sent (Tuấn answered,
    Hoa's request still open and not yet acted on by Zalo); after a restart every follower has every
    notification exactly once: the re-sent row skips Tuấn (the journal) and reaches Hoa."""
    database = f"sqlite:///{tmp_path / 'giaoban.db'}"
    state_file = tmp_path / "zalo-state.json"
    storage = await Storage.open(database)
    notes = [
        sample(recipients=(TUAN,), key=f"link_down/xa-{i}#1:firing", alert_id=f"link_down/xa-{i}", subject=f"Xã {i}")
        for i in range(4)
    ]
    split = sample(recipients=(TUAN, HOA), key="link_down/hub#1:firing", alert_id="link_down/hub", subject="Huyện")
    server.fail[HOA.zalo_user_id or ""] = ["hang"] * 100  # until the kill, however slow the machine
    try:
        await SqlAlertStore(storage).commit([], [("zalo", n) for n in [*notes, split]])
        worker = _start_worker(database, server.url, state_file)
        try:
            await wait_until(
                lambda: len(server.accepted) == len(notes) + 1 and _journalled(state_file, split.key, TUAN),
                timeout=30,
                what="Tuấn to have every notification (journalled) while Hoa's request hangs",
            )
        finally:
            os.kill(worker.pid, signal.SIGKILL)
            await asyncio.to_thread(worker.wait, 30)
            stop_process(worker)
        async with storage.engine.connect() as conn:
            pending = (await conn.exec_driver_sql("SELECT count(*) FROM outbox WHERE state = 'pending'")).scalar()
        assert pending, "the half-sent notification must still be pending after the kill"
        # The new process must refresh with the rotated token from the state file: the inventory's is retired.
        server.expire_access_tokens()
        server.fail.clear()  # Zalo answers Hoa again
        restarted = _start_worker(database, server.url, state_file)
        try:
            await wait_until(lambda: _finished(database), timeout=60, what="the restarted worker to finish")
        finally:
            stop_process(restarted)
    finally:
        await storage.close()
    want = Counter({TUAN.zalo_user_id: len(notes) + 1, HOA.zalo_user_id: 1})
    assert Counter(user for user, _ in server.accepted) == want
    assert set(server.counts().values()) == {1}  # and each message once: every subject differs
    assert [form["refresh_token"] for form in server.refreshes] == [FIRST_REFRESH, "RT-1"]


def _journalled(state_file: Path, key: str, recipient: Recipient) -> bool:
    journal = state_file.with_name(state_file.name + ".sent")
    if not journal.exists():
        return False
    entries = [json.loads(line) for line in journal.read_text().splitlines()]
    return any(entry["k"] == key and entry["u"] == recipient.zalo_user_id for entry in entries)


def _finished(database: str) -> bool:
    with sqlite3.connect(database.removeprefix("sqlite:///")) as conn:
        (left,) = conn.execute("SELECT count(*) FROM outbox WHERE state = 'pending'").fetchone()
        (total,) = conn.execute("SELECT count(*) FROM outbox WHERE state = 'delivered'").fetchone()
    return left == 0 and total == 5


def _start_worker(database: str, url: str, state_file: Path) -> subprocess.Popen[bytes]:
    worker = subprocess.Popen(
        [sys.executable, "-m", "tests.zalo_worker", database, url, str(state_file), "--timeout", "3", "--lease", "3.5"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    assert worker.stdout is not None
    assert worker.stdout.readline().strip() == b"ready"
    return worker


async def test_a_state_file_that_cannot_be_written_keeps_the_tokens_until_it_can(
    server: ZaloServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Zalo has retired the old refresh token once it answered: when the new one cannot be saved, the message
    still goes out, the failure is logged at ERROR, and the next send saves it once the file can be written."""
    config = settings(server, tmp_path)
    state_file = tmp_path / "zalo-state.json"
    async with notifier_context() as ctx:
        assert (await deliver(sample(recipients=(TUAN,)), config, ctx=ctx)).outcome is Outcome.DELIVERED
        server.expire_access_tokens()
        state_file.unlink()
        state_file.mkdir()  # something now stands where the file must be replaced
        second = await deliver(sample(key="k2", recipients=(TUAN,)), config, ctx=ctx)
        assert second.outcome is Outcome.DELIVERED, second.detail
        assert any("cannot be saved" in r.getMessage() and r.levelname == "ERROR" for r in caplog.records)
        state_file.rmdir()  # the operator clears the way
        third = await deliver(sample(key="k3", recipients=(TUAN,)), config, ctx=ctx)
    assert third.outcome is Outcome.DELIVERED, third.detail
    assert json.loads(state_file.read_text())["refresh_token"] == server.refresh_token == "RT-2"
    assert len(server.refreshes) == 2 and len(server.accepted) == 3


async def test_a_broken_state_directory_stops_before_rotating_the_token(server: ZaloServer, tmp_path: Path) -> None:
    """With nowhere to keep the journal (and so the rotated token), nothing is refreshed or sent: retry later."""
    blocked = tmp_path / "not-a-directory"
    blocked.write_text("a file where the state directory should be")
    config = zalo_config(server.url, str(blocked / "zalo-state.json"))
    async with notifier_context() as ctx:
        delivery = await deliver(sample(recipients=(TUAN,)), config, ctx=ctx)
    assert delivery.outcome is Outcome.RETRY and "cannot be read: Not a directory" in delivery.detail
    assert server.refreshes == [] and server.accepted == []
