"""Sample notifications and a notifier context for the channel tests (tests/test_notifiers_*.py), and the sample
alert record the store, API and board tests share."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

from alerts.model import AlertRecord, alert_id
from alerts.notifiers.base import Notification, NotifierContext, Recipient
from probes.http import new_client_session

SUBJECT_VI = "Xã Tân Thịnh: mất kết nối"
TEXT_VI = "Đường truyền tới Xã Tân Thịnh mất từ 08:02.\nKỹ thuật viên: Nguyễn Văn Tuấn — kiểm tra bộ định tuyến."

ALERT_T0 = datetime(2026, 12, 7, 1, 0, tzinfo=UTC).timestamp()  # 08:00 on a Monday in Asia/Ho_Chi_Minh

TUAN = Recipient(id="tuan", name="Nguyễn Văn Tuấn", telegram_chat_id="1001", email="tuan@example.org")
HOA = Recipient(id="hoa", name="Lê Thị Hoa", telegram_chat_id="-1002", email="hoa@example.org")


def link_down_record(**changes: Any) -> AlertRecord:
    """Xã Tân Thịnh's link down, firing since a minute after ALERT_T0; ``changes`` replace fields."""
    record = AlertRecord(
        id=alert_id("link_down", "tan-thinh", "link"),
        rule="link_down",
        site="tan-thinh",
        target="link",
        severity="critical",
        state="firing",
        labels={"site": "tan-thinh", "parent": "hub"},
        summary="Xã Tân Thịnh: mất kết nối",
        started_at=ALERT_T0,
        fired_at=ALERT_T0 + 60,
    )
    return dataclasses.replace(record, **changes)


def sample(**changes: Any) -> Notification:
    """A firing link-down alert for Xã Tân Thịnh, in Vietnamese; ``changes`` replace fields."""
    notification = Notification(
        key="link_down/tan-thinh/tan-thinh/link#1:firing",
        alert_id="link_down/tan-thinh/tan-thinh/link",
        event="firing",
        alertname="GiaobanLinkDown",
        severity="critical",
        labels={
            "alertname": "GiaobanLinkDown",
            "severity": "critical",
            "site": "tan-thinh",
            "parent": "hub",
            "target": "link",
            "rule": "link_down",
        },
        subject=SUBJECT_VI,
        text=TEXT_VI,
        html=f"<p>{TEXT_VI}</p>",
        starts_at=datetime(2024, 5, 6, 1, 2, 3, tzinfo=UTC),
        ends_at=None,
        recipients=(TUAN,),
        url="http://127.0.0.1:9/board/tan-thinh",
    )
    return dataclasses.replace(notification, **changes)


def resolved(notification: Notification, ends_at: datetime | None = None) -> Notification:
    return dataclasses.replace(
        notification,
        key=notification.key.replace(":firing", ":resolved"),
        event="resolved",
        ends_at=ends_at or datetime.now(UTC),
    )


@asynccontextmanager
async def notifier_context(timeout: float = 5.0) -> AsyncIterator[NotifierContext]:
    """The service's way: one shared HTTP session (probes.http.new_client_session), a bound per attempt."""
    session = new_client_session()
    try:
        yield NotifierContext(http=session, timeout=timeout)
    finally:
        await session.close()
