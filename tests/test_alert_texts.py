"""Alert messages in both languages, maintenance recurrence in its own time zone, routing and the alerts metric."""

from __future__ import annotations

import unicodedata
from datetime import UTC, datetime

import pytest

from alerts.catalog import RULES
from alerts.maintenance import covers, is_active, window_from_config
from alerts.model import MaintenanceWindow
from alerts.routing import LOG_CHANNEL, channels, recipients
from alerts.templates import EVENTS, AlertView, render_alert
from alerts.texts import RULE_TEXTS
from monitor.config.loader import load_config_text
from monitor.config.models import Config
from monitor.metrics.alerts import alert_lines
from monitor.readiness.events import ReasonText

VI_MARKS = set("ăâđêôơưáàảãạấầẩẫậắằẳẵặéèẻẽẹếềểễệíìỉĩịóòỏõọốồổỗộớờởỡợúùủũụứừửữựýỳỷỹỵ")

BASE = """
district: {name: "Huyện Thử", locale: LOCALE}
technicians:
  - {id: hoa, name: "Đào Thị Hoa", email: hoa@example.org}
  - {id: tuan, name: "Nguyễn Văn Tuấn", telegram_chat_id: "100000001"}
sites:
  - {id: hub, name: "UBND <huyện> & co", technicians: [hoa]}
  - {id: tan-thinh, name: "Xã Tân Thịnh", parent: hub}
alerts: {admins: [tuan], external_url: "https://giaoban.example/"}
"""
FIELDS = {
    "address": "198.51.100.21", "detail": "10 of 10 echoes got no reply", "sent": 10, "value": 5.25, "limit": 1.0,
    "device": "tt-router", "endpoint": "tt-vcs", "interface": "Gi0/0/1", "direction": "in",
    "meeting": "Giao ban", "start": "07:30 07/12/2026", "left": "10 phút", "verdict": "Chưa sẵn sàng",
    "kind": "icmp", "count": 23, "sites": 23, "fix": "Chạy `sysctl -w net.ipv4.ping_group_range=\"998 998\"`.",
}  # fmt: skip


def _config(locale: str = "vi") -> Config:
    return load_config_text(BASE.replace("LOCALE", locale), "t.yml")


@pytest.mark.parametrize("locale", ["vi", "en"])
@pytest.mark.parametrize("rule", sorted(RULES))
def test_every_rule_and_event_renders_in_both_languages(rule: str, locale: str) -> None:
    """Every message a technician reads exists in vi and en, in NFC, with the Vietnamese diacritics intact."""
    config = _config(locale)
    assert rule in RULE_TEXTS and set(RULE_TEXTS[rule]) == {"vi", "en"}
    subjects = set()
    for event in EVENTS:
        view = AlertView(f"{rule}/tan-thinh/x", rule, RULES[rule].severity, "Xã Tân Thịnh", 1_780_000_000.0, FIELDS)
        rendered = render_alert(config, view, event=event, now=1_780_000_600.0)
        for text in (rendered.subject, rendered.text, rendered.html):
            assert text and unicodedata.is_normalized("NFC", text)
            assert "{" not in text and "?" not in rendered.subject, text
        if locale == "vi":
            assert set(rendered.text.lower()) & VI_MARKS, rendered.text
        subjects.add(rendered.subject)
        if event != "resolved":
            assert f"giaoban alerts ack {rule}/tan-thinh/x" in rendered.text
            assert f"https://giaoban.example/#alert-{rule}/tan-thinh/x" in rendered.text
    assert len(subjects) == 3, "firing, reminder and resolved read differently"
    for text in RULE_TEXTS[rule][locale]:
        assert unicodedata.is_normalized("NFC", text)


def test_html_escapes_every_user_string() -> None:
    """A site named with < and & (or a probe detail) must not inject markup into e-mail or Telegram."""
    config = _config()
    reason = ReasonText("x", "<b>loss</b>", "fix & go")
    view = AlertView("link_down/hub/link", "link_down", "critical", "UBND <huyện> & co", 0.0,
                     {**FIELDS, "detail": "<script>alert(1)</script>"}, ("Xã <A>",), (reason,))  # fmt: skip
    rendered = render_alert(config, view, event="firing", now=60.0)
    assert "<script>" not in rendered.html and "&lt;script&gt;" in rendered.html
    assert "UBND &lt;huyện&gt; &amp; co" in rendered.html and "&lt;b&gt;loss&lt;/b&gt;" in rendered.html
    assert "<script>alert(1)</script>" in rendered.text, "plain text stays as it is"
    assert "1 điểm cầu bị ảnh hưởng: Xã <A>" in rendered.text


def _window(**kw: object) -> MaintenanceWindow:
    start = datetime(2026, 6, 7, 23, 0, tzinfo=UTC).timestamp() - 7 * 3600  # Sunday 7 June 23:00 in Hà Nội
    return MaintenanceWindow("w", "Bảo trì", start, 3 * 3600.0, **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("utc", "active"),
    [
        ((2026, 6, 7, 15, 59), False),  # Sunday 22:59 local: not yet
        ((2026, 6, 7, 16, 0), True),  # Sunday 23:00 local
        ((2026, 6, 7, 17, 30), True),  # Monday 00:30 local: across local midnight
        ((2026, 6, 7, 19, 0), False),  # Monday 02:00 local: over
        ((2026, 6, 14, 16, 30), True),  # a week later
        ((2026, 6, 15, 16, 30), False),  # a Monday: not a Sunday occurrence
    ],
)
def test_weekly_window_repeats_in_its_own_zone(utc: tuple[int, ...], active: bool) -> None:
    """ "Sunday 23:00 for 3 h" in Asia/Ho_Chi_Minh is 16:00-19:00 UTC every Sunday, across local midnight."""
    window = _window(rrule="FREQ=WEEKLY;BYDAY=SU")
    assert is_active(window, datetime(*utc, tzinfo=UTC).timestamp()) is active  # type: ignore[misc]


def test_one_off_window_and_what_it_covers() -> None:
    """A one-off window ends once; sites, targets (and the interfaces of a device) and rules narrow it."""
    window = _window(sites=("tan-thinh",), targets=("tt-router",), rules=("interface_down", "device_down"))
    assert not is_active(window, window.start + 3 * 3600) and is_active(window, window.start)
    assert not is_active(window, window.start + 7 * 86400)
    assert covers(window, rule="interface_down", site="tan-thinh", target="tt-router:Gi0/0/1")
    assert not covers(window, rule="link_down", site="tan-thinh", target="link")
    assert not covers(window, rule="device_down", site="hub", target="tt-router")


def test_config_window_naive_start_is_district_time() -> None:
    """`start: 2026-12-06T22:00` in the config means 22:00 in Hà Nội, 15:00 UTC."""
    config = load_config_text(
        BASE.replace("LOCALE", "vi")
        + 'maintenance: [{id: vnpt, title: "Bảo trì", start: "2026-12-06T22:00", duration: 3h, rrule: FREQ=DAILY}]\n',
        "t.yml",
    )
    window = window_from_config(config.maintenance[0], config.organisation.timezone)
    assert window.start == datetime(2026, 12, 6, 15, 0, tzinfo=UTC).timestamp() and window.source == "config"
    assert is_active(window, datetime(2026, 12, 9, 17, 0, tzinfo=UTC).timestamp())


def test_recipients_fall_back_to_the_parent_and_include_admins_once() -> None:
    """A commune with no technician of its own is looked after by its parent's; the admin hears everything."""
    config = _config()
    assert [r.id for r in recipients(config, "tan-thinh")] == ["hoa", "tuan"]
    assert [r.id for r in recipients(config, "hub")] == ["hoa", "tuan"]
    [tuan] = recipients(config, None, technicians=False)
    assert tuan.telegram_chat_id == "100000001"


def test_channels_by_severity_and_the_log_fallback() -> None:
    """Severity routes to notifiers; a severity nobody carries still reaches the log rather than nowhere."""
    config = load_config_text(
        BASE.replace("LOCALE", "vi")
        + "notifiers:\n  - {id: am, kind: alertmanager, url: 'http://127.0.0.1:9/'}\n"
        + "  - {id: tg, kind: webhook, url: 'http://127.0.0.1:9/h', severities: [critical]}\n",
        "t.yml",
    )
    assert channels(config, "critical") == ["am", "tg"]
    assert channels(config, "warning") == ["am"]
    assert channels(config, "warning", event="reminder") == [LOG_CHANNEL]
    assert channels(config, "critical", event="refresh") == ["am"]
    assert channels(_config(), "warning") == [LOG_CHANNEL]
    assert channels(_config(), "warning", event="refresh") == []


def test_alerts_firing_exposition() -> None:
    """giaoban_alerts_firing{severity} has every severity, so calm shows as 0 rather than no data."""
    text = alert_lines({"critical": 1, "warning": 0, "info": 0})
    assert text.startswith("# HELP giaoban_alerts_firing ")
    assert 'giaoban_alerts_firing{severity="critical"} 1.0\n' in text
    assert 'giaoban_alerts_firing{severity="info"} 0.0\n' in text
