"""No English inside a Vietnamese text, and a DEGRADED site never called "not ready" (issue 14).

Every text a technician or a chair reads is rendered in the vi locale with realistic values — readiness
reasons, alert messages for every rule and event, the readiness events, the board, the CLI — and searched for
common English words. Technical tokens do not count (ids, addresses, units, SIP, UPS, URLs, the ack command),
nor does a device's or a probe's own English detail when it is quoted and labelled ``chi tiết kỹ thuật: "…"``.
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import io
import re
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from alerts.catalog import RULES
from alerts.engine import AlertEngine
from alerts.model import AlertRecord
from alerts.rules import Finding, evaluate_rules
from alerts.store import SqlAlertStore
from alerts.templates import EVENTS, AlertView, render_alert, render_summary
from monitor.cli import main as cli
from monitor.cli.readiness import render_report
from monitor.config.loader import load_config_text
from monitor.config.models import Config, Site
from monitor.demo.run import readiness_line
from monitor.engine.state import State
from monitor.engine.targets import targets_from_config
from monitor.i18n import FAULTS, Locale, fault_text, span
from monitor.readiness.checks import SiteProbes, SiteReadiness, evaluate_site
from monitor.readiness.engine import summary_event
from monitor.readiness.events import ReadinessEvent
from monitor.readiness.meetings import Occurrence, build_meeting
from monitor.readiness.report import ReadinessReport
from monitor.readiness.texts import TEXTS, render
from monitor.storage.database import Storage
from monitor.web.board import BoardData, LinkView, MeetingView
from monitor.web.board import render as render_board
from probes.core.result import ProbeResult, Reason
from probes.snmp.readings import DeviceReading
from tests.clock import ManualClock
from tests.test_alert_engine import FakeStore
from tests.test_readiness_checks import MEETING, SITE, icmp, interface, router, ups

pytestmark = pytest.mark.timeout(60)

# Common English words of our own sentences and of the probes' details. Words Vietnamese spells the same way
# ("to", "do", "in", "an", "me") are left out; loanwords a technician uses (camera, micro, jitter, ping) are fine.
_ENGLISH_TEXT = """
    the a an not no none within without connected connect registered register failed fail down up ready error errors
    cannot could can does did is are was were be been has have had of and for with from at on by or if than then
    this that it its into over under after before between again back still since left
    check checked answer answers answered reply replies replied timeout refused connection reset unreachable
    resolve site sites meeting meetings alert alerts link links device devices endpoint endpoints call busy
    muted missing found lost power battery mains restart restarted fixed lasted degraded pending firing resolved
    acknowledged critical warning info unknown what should please got echoes socket permission permissions
    denied internal inactive status result received normal healthy reports
    monday tuesday wednesday thursday friday saturday sunday
"""
ENGLISH = frozenset(_ENGLISH_TEXT.split())
LABEL = 'chi tiết kỹ thuật: "'
# Literal quotes (checked for their label separately), URLs, the ack command, query strings.
LITERALS = re.compile(r'"[^"\n]*"|https?://\S+|giaoban alerts ack \S+|\?\S+=\S+')
TECHNICAL = re.compile(r"[\d/_@=:.\-]")  # ids, addresses, paths, numbers with units: not words


def english_words(text: str) -> list[str]:
    """The English words of ``text`` outside literals and technical tokens."""
    found = []
    for token in LITERALS.sub(" ", text).split():
        core = token.strip(".,;:!?()[]{}«»“”‘’'…—–·")
        if core and not TECHNICAL.search(core):
            found += [word for word in re.findall(r"[^\W\d_]+", core) if word.lower() in ENGLISH]
    return found


def unlabelled_quotes(text: str) -> list[str]:
    """Quoted text with English in it that does not follow the label: a device's words must say whose they are."""
    return [
        m.group(0)
        for m in re.finditer(r'"[^"\n]*"', text)
        if english_words(m.group(0).strip('"')) and text[: m.start() + 1][-len(LABEL) :] != LABEL
    ]


def _page_text(page: str) -> str:
    page = re.sub(r"<style>.*?</style>", " ", page, flags=re.S)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


# --- sample values ------------------------------------------------------------------------------------------

T0 = datetime(2026, 12, 7, 0, 50, tzinfo=UTC)  # 07:50 on a Monday in Hà Nội, 40 minutes before the briefing
START = datetime(2026, 12, 7, 1, 30, tzinfo=UTC)

INVENTORY = """\
district: {name: "Huyện Định Hoá", timezone: Asia/Ho_Chi_Minh, locale: LOCALE}
technicians:
  - {id: tuan, name: "Nguyễn Văn Tuấn", email: tuan@example.org}
alerts: {admins: [tuan], external_url: "https://giaoban.example"}
sites:
  - id: hub
    name: "UBND huyện Định Hoá"
    role: district
    link: {address: 192.0.2.1}
  - id: tan-thinh
    name: "Xã Tân Thịnh"
    parent: hub
    link: {address: 198.51.100.21, device: tt-router, interface: Gi0/0/1}
    devices: [{id: tt-router, address: 198.51.100.21, snmp: {version: 2c, community: {env: C}}}]
    endpoints:
      - {id: tt-codec, kind: tcp, address: 203.0.113.21, port: 1720}
  - id: kim-phuong
    name: "Xã Kim Phượng"
    parent: hub
    link: {address: 198.51.100.22}
    devices: [{id: kp-router, address: 198.51.100.22, snmp: {version: 2c, community: {env: C}}}]
    endpoints:
      - {id: kp-codec, kind: tcp, address: 203.0.113.22, port: 1720}
  - id: lam-vy
    name: "Xã Lam Vỹ"
    parent: hub
    link: {address: 198.51.100.23}
    endpoints:
      - {id: lv-codec, kind: tcp, address: 203.0.113.23, port: 1720}
  - id: bao-linh
    name: "Xã Bảo Linh"
    parent: hub
    link: {address: 198.51.100.24}
    endpoints:
      - {id: bl-codec, kind: tcp, address: 203.0.113.24, port: 1720}
"""

# What the probes write (English by design, for logs): each must reach a Vietnamese text quoted and labelled.
DETAILS = {
    "no_reply": "10 of 10 echoes got no reply",
    "timeout": "no result within 3s",
    "refused": "cannot connect to 203.0.113.21 port 1720: Connection refused",
    "snmp": "no answer from 198.51.100.22:161: no SNMP response received before timeout",
    "registration": "not registered (SIP Failed; H.323 Inactive)",
    "camera": "no camera connected",
    "permission": "no ICMP socket: not permitted, and ping_group_range is '1 0'",
    "not_ready": "the device reports it is not healthy",
}


def config(locale: str = "vi") -> Config:
    return load_config_text(INVENTORY.replace("LOCALE", locale), "giaoban.yml")


def _reading(uptime: float, **iface: object) -> DeviceReading:
    busy = interface(name="Gi0/0/2", utilization_in=0.95, receive_bps=9.5e6)
    return DeviceReading("r", "router", uptime, False, (interface(**iface), busy), (), ups(True, 1200.0))


def _failure(reason: Reason, detail: str, **kw: object) -> ProbeResult:
    return ProbeResult.failure(reason, detail, duration=1.0, timestamp=T0.timestamp(), **kw)  # type: ignore[arg-type]


def _rule_findings(cfg: Config) -> list[Finding]:
    """Findings of every continuous rule, from probe results like the probes' own."""
    now = T0.timestamp()
    results = {
        "hub/link": _failure(Reason.NO_REPLY, DETAILS["no_reply"], values={"loss_ratio": 1.0, "sent": 10.0}),
        "tan-thinh/link": ProbeResult(
            True,
            2.0,
            values={"loss_ratio": 0.06, "rtt_median": 0.4, "jitter": 0.08, "mos": 3.0, "sent": 10.0},
            timestamp=now,
        ),
        "tan-thinh/tt-router": ProbeResult(True, 0.1, payload=_reading(120.0, oper_up=False), timestamp=now),
        "tan-thinh/tt-codec": _failure(Reason.REFUSED, DETAILS["refused"]),
        "kim-phuong/kp-router": _failure(Reason.TIMEOUT, DETAILS["snmp"]),
        "kim-phuong/kp-codec": _failure(
            Reason.NOT_REGISTERED,
            DETAILS["registration"],
            values={"up": 1.0, "registered": 0.0},
            info={"registration": "SIP Failed; H.323 Inactive"},
        ),
        "lam-vy/lv-codec": _failure(Reason.PERIPHERAL_MISSING, DETAILS["camera"], values={"peripheral_camera": 0.0}),
        "bao-linh/bl-codec": ProbeResult(True, 0.1, values={"tls_cert_expiry": now + 5 * 86400}, timestamp=now),
        # giaoban's own set-up (no ICMP permission): probe_setup, to the admins only.
        "bao-linh/link": _failure(Reason.PERMISSION, "ICMP echo is not permitted for this process"),
    }
    state = State()
    for target in targets_from_config(cfg):
        state.track(target)
        if target.key in results:
            state.record(target, results[target.key])
    findings = list(evaluate_rules(cfg, state, now).findings.values())
    continuous = {name for name, spec in RULES.items() if spec.continuous and not spec.in_meeting}
    assert {f.rule for f in findings} == continuous, "a sample for every continuous rule"
    return findings + _meeting_findings(cfg)


def _meeting_findings(cfg: Config) -> list[Finding]:
    """The running meeting's rules (monitor/readiness/watch.py), with the fields its findings carry."""
    grace = span(300.0, cfg.organisation.locale)
    base = {"meeting": "TSLCD 2026", "start": "07:30 07/12/2026", "joined": "07:31", "left": "07:42"}
    poor = {
        **base,
        "direction": "in",
        "media": "video",
        "value": 4.0,
        "limit": 1.0,
        "jitter": 12.0,
        "jitter_limit": 30.0,
        "band": "major",
    }
    return [
        Finding("not_joined", "kim-phuong", "giao-ban", {**base, "joined": None, "left": None, "grace": grace}),
        Finding("dropped_out", "tan-thinh", "giao-ban", base),
        Finding("poor_media", "lam-vy", "giao-ban", poor),
        Finding(
            "poor_media_critical",
            "lam-vy",
            "giao-ban",
            {**poor, "value": 7.5, "band": "critical", "limit_critical": 5.0},
        ),
    ]


def _views(cfg: Config) -> Iterator[AlertView]:
    names = {site.id: site.name for site in cfg.sites}
    for finding in _rule_findings(cfg):
        name, _, iface = (finding.target or "").partition(":")
        fields = {"device": name, "endpoint": name, "interface": iface, **finding.fields}
        affected = ("Xã Tân Thịnh",) if finding.rule == "link_down" else ()
        severity = RULES[finding.rule].severity
        site = names.get(finding.site, "giaoban")  # probe_setup is giaoban's own, of no site
        yield AlertView(finding.id, finding.rule, severity, site, T0.timestamp() - 600, fields, affected)


def _probes() -> list[SiteProbes]:
    """Sites whose checks raise every reason the readiness checks know, with the probes' own details."""
    site = SITE
    missing = Site.model_validate({**SITE.model_dump(), "link": {**SITE.link.model_dump(), "interface": "ge-9/9/9"}})  # type: ignore[union-attr]
    up = {"up": 1.0}
    codec = [
        ("vcs-down", _failure(Reason.REFUSED, DETAILS["refused"])),
        ("vcs-sip", _failure(Reason.NOT_REGISTERED, DETAILS["registration"], values={**up, "registered": 0.0})),
        ("vcs-busy", _failure(Reason.ENDPOINT_BUSY, "already in a call", values={**up, "in_call": 1.0})),
        ("vcs-cam", _failure(Reason.PERIPHERAL_MISSING, DETAILS["camera"], values={**up, "peripheral_camera": 0.0})),
        ("vcs-mic", _failure(Reason.PERIPHERAL_MISSING, "no mic", values={**up, "peripheral_microphone": 0.0})),
        ("vcs-sick", _failure(Reason.NOT_READY, DETAILS["not_ready"], values=up)),
        ("vcs-late", _failure(Reason.TIMEOUT, DETAILS["timeout"])),
        ("vcs-muted", ProbeResult(True, 1.0, reason=Reason.MICROPHONE_MUTED, detail="ready, but muted")),
    ]
    return [
        SiteProbes(site, link=icmp(loss=1.0)),
        SiteProbes(site, link=_failure(Reason.PERMISSION, DETAILS["permission"])),
        SiteProbes(site, link=icmp(loss=0.06, rtt=0.5, jitter=0.08, mos=3.0)),
        SiteProbes(site, link=icmp(loss=0.02, rtt=0.2, jitter=0.035, mos=3.9)),
        SiteProbes(site, router=router(receive_bps=8.5e6, uptime=300.0, ups=ups(True, 1800.0)), router_id="router"),
        SiteProbes(site, router=router(ups=ups(True, 9000.0), receive_bps=None, transmit_bps=None), router_id="router"),
        SiteProbes(site, router=router(oper_up=False), router_id="router"),
        SiteProbes(site, router=router(in_errors_total=120), router_id="router", router_earlier=router()),
        SiteProbes(missing, router=router(), router_id="router"),
        SiteProbes(site, router=_failure(Reason.TIMEOUT, DETAILS["snmp"]), router_id="router"),
        SiteProbes(site, endpoints=codec),
    ]


def _readiness(locale: Locale = "vi") -> list[SiteReadiness]:
    thresholds = config().thresholds_for(SITE)
    return [evaluate_site(p, thresholds=thresholds, meeting=MEETING, locale=locale) for p in _probes()]


def _report(cfg: Config, sites: list[SiteReadiness]) -> ReadinessReport:
    pairs = zip(cfg.sites, sites, strict=False)  # the first sites of the inventory take the verdicts
    renamed = [SiteReadiness(site.id, s.verdict, s.reasons, s.targets) for site, s in pairs]
    return ReadinessReport(
        "giao-ban", "Giao ban thứ Hai", START, 2400.0, T0, tuple(renamed), {s.id: s.name for s in cfg.sites}
    )


async def _meeting_notes(cfg: Config, verdicts: dict[str, str]) -> list[tuple[str, str]]:
    """What the alert engine sends for site_not_ready (firing, reminder), site_recovered and the list summary."""
    store = FakeStore()
    engine = AlertEngine(lambda: cfg, State(), store, clock=ManualClock(T0).wall)
    names = {s.id: s.name for s in cfg.sites}
    sample = _readiness(cfg.organisation.locale)
    for site_id, verdict in verdicts.items():
        chosen = next(s for s in sample if s.verdict == verdict)
        for lead in (2400.0, 600.0):
            event = ReadinessEvent("site_not_ready", "giao-ban", "Giao ban thứ Hai", START, lead, site_id,
                                   names[site_id], verdict, chosen.reasons)  # type: ignore[arg-type]  # fmt: skip
            await engine.on_readiness(event)
        recovered = ReadinessEvent("site_recovered", "giao-ban", "Giao ban thứ Hai", START, 300.0, site_id)
        await engine.on_readiness(recovered)
    texts = [(f"{n.alert_id} {n.event}", f"{n.subject}\n{n.text}") for n in store.outbox.values()]
    texts += [(f"{r.id} summary", r.summary) for r in store.rows.values()]
    return texts


# --- collecting every Vietnamese text -------------------------------------------------------------------------


async def _texts(tmp_path: Path, locale: str = "vi") -> list[tuple[str, str]]:
    """Every text a reader sees in ``locale``, with where it comes from."""
    cfg = config(locale)
    texts: list[tuple[str, str]] = []
    sample = {
        "address": "198.51.100.21", "sent": 10, "detail": DETAILS["timeout"], "fault": "timeout", "loss": 6.0,
        "limit": 3.0, "rtt": 420.0, "jitter": 80.0, "mos": 3.1, "free": 1.5, "need": 2.5, "rate": 2.048,
        "headroom": 20, "interface": "Gi0/0/1", "device": "tt-router", "errors": 12, "minutes": 5, "runtime": 20,
        "duration": 120, "endpoint": "tt-codec", "what": "Xã Tân Thịnh",
    }  # fmt: skip
    for code in TEXTS:
        texts.append((f"reason {code}", " ".join(render(code, cfg.organisation.locale, sample))))
    sites = _readiness(cfg.organisation.locale)
    for index, site in enumerate(sites):
        texts += [(f"check {index} {r.code}", f"{r.message} {r.action}") for r in site.reasons]
    for view in _views(cfg):
        for event in EVENTS:
            rendered = render_alert(cfg, view, event=event, now=T0.timestamp())
            texts.append((f"{view.rule} {event}", f"{rendered.subject}\n{rendered.text}"))
    texts += await _meeting_notes(cfg, {"tan-thinh": "NOT_READY", "kim-phuong": "DEGRADED"})
    report = _report(cfg, [next(s for s in sites if s.verdict == v) for v in ("NOT_READY", "DEGRADED", "READY")])
    meeting = build_meeting(cfg, title="Giao ban thứ Hai", start=START, duration="2h")
    summary = summary_event(Occurrence(meeting, START, START + timedelta(hours=2)), report)
    rendered = render_summary(cfg, summary, [report.names[site] for site in summary.not_ready])
    texts.append(("summary", f"{rendered.subject}\n{rendered.text}"))
    texts.append(("cli readiness", render_report(report, cfg)))
    page = render_board(_board(cfg, report), lang=cfg.organisation.locale, refresh=30)
    texts.append(("board", _page_text(page)))
    texts += await _cli_texts(cfg, tmp_path)
    return texts


def _alert_records(cfg: Config) -> list[AlertRecord]:
    views = {v.rule: v for v in _views(cfg)}
    now = T0.timestamp()
    subject = {rule: render_alert(cfg, view, event="firing", now=now).subject for rule, view in views.items()}
    started = now - 600
    return [
        AlertRecord("link_down/hub/link", "link_down", "hub", "link", "critical", "firing", {}, subject["link_down"],
                    started, started + 60, acked_at=started + 120, acked_by="tuan"),
        AlertRecord("endpoint_down/tan-thinh/tt-codec", "endpoint_down", "tan-thinh", "tt-codec", "warning",
                    "pending", {}, subject["endpoint_down"], started),
        AlertRecord("device_down/kim-phuong/kp-router", "device_down", "kim-phuong", "kp-router", "critical",
                    "firing", {}, subject["device_down"], started, started + 60,
                    suppressed_by="maintenance:bao-tri-vnpt"),
        AlertRecord("ups_on_battery/tan-thinh/tt-router", "ups_on_battery", "tan-thinh", "tt-router", "warning",
                    "firing", {}, subject["ups_on_battery"], started, started + 60, suppressed_by="link_down/hub/link"),
        AlertRecord("link_rtt/tan-thinh/link", "link_rtt", "tan-thinh", "link", "info", "resolved", {},
                    subject["link_rtt"], started - 9000, started - 8000, resolved_at=started - 7000),
    ]  # fmt: skip


def _board(cfg: Config, report: ReadinessReport) -> BoardData:
    meeting = build_meeting(cfg, title="Giao ban thứ Hai", start=START, duration="2h")
    occurrence = Occurrence(meeting, START, START + timedelta(hours=2))
    later = build_meeting(cfg, title="Họp chuyên đề", start=START + timedelta(days=1), duration="1h")
    upcoming = Occurrence(later, later.start, later.start + timedelta(hours=1))
    sites = {s.id: s for s in cfg.sites}
    lossy = ProbeResult(True, 0.5, values={"loss_ratio": 0.02, "rtt_median": 0.012, "jitter": 0.001, "mos": 4.3})
    links = [
        LinkView(sites["hub"], _failure(Reason.NO_REPLY, DETAILS["no_reply"]), cfg.thresholds_for(sites["hub"])),
        LinkView(sites["tan-thinh"], lossy, cfg.thresholds_for(sites["tan-thinh"])),
        LinkView(sites["lam-vy"], None, cfg.thresholds_for(sites["lam-vy"])),
    ]
    first_check = later.start - timedelta(hours=1)
    meetings = [MeetingView(occurrence, report, 3, None), MeetingView(upcoming, None, 5, first_check)]
    alerts = [a for a in _alert_records(cfg) if a.state != "resolved"]
    return BoardData(cfg, T0, meetings, links, alerts)


async def _cli_texts(cfg: Config, tmp_path: Path) -> list[tuple[str, str]]:
    """`giaoban alerts list --all`, `alerts ack`, `meetings add` and `meetings list` as a shell would run them."""
    path = tmp_path / f"giaoban-{cfg.organisation.locale}.yml"
    path.write_text(INVENTORY.replace("LOCALE", cfg.organisation.locale), encoding="utf-8")
    database = f"sqlite:///{tmp_path / f'{cfg.organisation.locale}.db'}"
    storage = await Storage.open(database)
    try:
        await SqlAlertStore(storage).commit(_alert_records(cfg), [])
    finally:
        await storage.close()
    opts = ["-c", str(path), "--database", database]
    runs = [
        ["alerts", "list", "--all", *opts],
        ["alerts", "ack", "endpoint_down/tan-thinh/tt-codec", "--by", "tuan", *opts],
        ["alerts", "ack", "link_rtt/tan-thinh/link", *opts],
        ["meetings", "add", *opts, "--title", "Giao ban thứ Hai", "--start", "2099-12-07T07:30", "--duration", "2h",
         "--rrule", "FREQ=WEEKLY;BYDAY=MO;COUNT=2"],
        ["meetings", "list", "--days", "36500", *opts],
    ]  # fmt: skip
    texts = []
    for argv in runs:
        out = await _run_cli(argv)
        texts.append((" ".join(argv[:2]), out))
    return texts


async def _run_cli(argv: list[str]) -> str:
    buffer = io.StringIO()

    def call() -> None:
        with contextlib.redirect_stdout(buffer):
            cli.main(argv)

    await asyncio.to_thread(call)  # main runs its own event loop
    return buffer.getvalue()


# --- the tests ------------------------------------------------------------------------------------------------


async def test_no_english_in_vietnamese_texts(tmp_path: Path) -> None:
    """Every vi text, rendered with sample values, has no English word of ours and labels every English detail."""
    texts = await _texts(tmp_path)
    assert len(texts) > 100
    found = [(where, word) for where, text in texts for word in english_words(text)]
    unlabelled = [(where, quote) for where, text in texts for quote in unlabelled_quotes(text)]
    assert not found and not unlabelled, (
        f"{len(found)} English words, {len(unlabelled)} unlabelled quotes:\n"
        + "\n".join(f"  {where}: {word}" for where, word in found + unlabelled)
    )


# What the samples name (user values): they stay as written in either locale.
USER_VALUES = re.compile(
    r"Huyện Định Hoá|UBND huyện Định Hoá|Xã (Tân Thịnh|Kim Phượng|Lam Vỹ|Bảo Linh)|Giao ban thứ Hai|Họp chuyên đề"
)
VI_LETTERS = re.compile(r"[ăâđêôơưàảãáạằẳẵắặầẩẫấậèẻẽéẹềểễếệìỉĩíịòỏõóọồổỗốộờởỡớợùủũúụừửữứựỳỷỹýỵ]", re.I)


async def test_english_texts_have_no_vietnamese(tmp_path: Path) -> None:
    """locale: en is English everywhere, the CLI included; only the names the inventory gives stay Vietnamese."""
    texts = await _texts(tmp_path, "en")
    found = [(where, m.group(0)) for where, text in texts for m in re.finditer(r"\S*" + VI_LETTERS.pattern + r"\S*",
             USER_VALUES.sub(" ", text.replace("Tiếng Việt", " ")), re.I)]  # fmt: skip
    assert not found, "\n".join(f"  {where}: {word}" for where, word in found)


def test_the_detector_finds_english() -> None:
    """The detector itself: our English words count, labelled details, ids and units do not."""
    assert english_words("Thiết bị tt-codec không trả lời: no result within 3s.") == ["no", "result", "within"]
    assert english_words('không có kết quả (chi tiết kỹ thuật: "no result within 3s"), 2,5 Mbit/s, tt-codec') == []
    assert english_words("Kiểm tra tài khoản SIP/H.323 và UPS; giaoban alerts ack link_down/hub/link") == []
    assert unlabelled_quotes('lỗi: "Connection refused"') == ['"Connection refused"']
    assert unlabelled_quotes('lỗi (chi tiết kỹ thuật: "Connection refused")') == []


@pytest.mark.parametrize("locale", ["vi", "en"])
async def test_a_degraded_site_is_never_called_not_ready(locale: str) -> None:
    """A UPS on battery with time to spare is DEGRADED: its alert, the alert list line and the T-0 summary say so."""
    cfg = config(locale)
    said, unsaid = {"vi": ("suy giảm", "chưa sẵn sàng"), "en": ("degraded", "not ready")}[locale]
    ups_only = evaluate_site(
        SiteProbes(SITE, router=router(ups=ups(True, 9000.0)), router_id="router"),
        thresholds=cfg.thresholds_for(SITE), meeting=MEETING, locale=cfg.organisation.locale,
    )  # fmt: skip
    assert ups_only.verdict == "DEGRADED"
    store = FakeStore()
    engine = AlertEngine(lambda: cfg, State(), store, clock=ManualClock(T0).wall)
    for lead in (2400.0, 600.0):
        event = ReadinessEvent("site_not_ready", "giao-ban", "Giao ban thứ Hai", START, lead, "kim-phuong")
        await engine.on_readiness(
            replace(event, site_name="Xã Kim Phượng", verdict="DEGRADED", reasons=ups_only.reasons)
        )
    texts = [f"{n.subject}\n{n.text}" for n in store.outbox.values()]
    texts += [r.summary for r in store.rows.values()]
    assert len(texts) == 3, texts
    for text in texts:
        assert said in text.lower() and unsaid not in text.lower(), text

    report = ReadinessReport(
        "giao-ban", "Giao ban thứ Hai", START, 0.0, T0,
        (SiteReadiness("hub", "READY", (), ()), SiteReadiness("kim-phuong", "DEGRADED", ups_only.reasons, (None,)),
         SiteReadiness("tan-thinh", "NOT_READY", (), ())),
        {s.id: s.name for s in cfg.sites},
    )  # fmt: skip
    assert report.degraded == ("kim-phuong",)
    meeting = build_meeting(cfg, title="Giao ban thứ Hai", start=START, duration="2h")
    event = summary_event(Occurrence(meeting, START, START + timedelta(hours=2)), report)
    assert event.not_ready == ("kim-phuong", "tan-thinh") and event.degraded == ("kim-phuong",)
    summary = render_summary(cfg, event, ["Xã Kim Phượng", "Xã Tân Thịnh"])
    for line in summary.text.splitlines():
        if unsaid in line.lower():
            assert "Xã Tân Thịnh" in line and "Xã Kim Phượng" not in line, summary.text
        if "Xã Kim Phượng" in line:
            assert said in line.lower(), summary.text
    assert "Xã Kim Phượng" in summary.text
    demo = readiness_line(event)
    assert demo.split("not ready: ")[1].split(";")[0] == "tan-thinh", demo
    assert demo.endswith("; Suy giảm / Degraded: kim-phuong"), demo


def test_every_probe_reason_has_our_words() -> None:
    """A reason code added to probes/ without Vietnamese words would put the probe's English alone in a sentence."""
    assert set(FAULTS) == {str(reason) for reason in Reason}
    for words in FAULTS.values():
        assert set(words) == {"vi", "en"} and VI_LETTERS.search(words["vi"]) and not english_words(words["vi"])
    assert fault_text("timeout", "no result within 3s", "vi") == (
        'không có kết quả trong thời gian chờ (chi tiết kỹ thuật: "no result within 3s")'
    )
    assert fault_text("timeout", "no result within 3s.", "en") == "no result within 3s"
    assert fault_text(None, "", "vi") == "không rõ" and fault_text("timeout", None, "en") == "no result in time"
