"""Alert messages: subject, plain text and HTML per (rule, event), in the district's locale.

    rendered = render_alert(config, AlertView(...), event="firing", now=now, ack_options=["-c", "/etc/giaoban/g.yml"])
    rendered.subject   "[NGHIÊM TRỌNG] Mất kết nối UBND huyện Định Hoá (23 điểm cầu bị ảnh hưởng)"
    rendered.text      the title, the site, what was measured, the affected sites, what to do, since when,
                       how to acknowledge (`giaoban alerts ack ID -c INVENTORY`, ready to paste) and the board link
    rendered.html      the same, every user string escaped (html.escape)
    render_summary(config, event)   the T-0 readiness summary for the admins
    render_database_fault(config, faults, event=..., since=..., now=...)   the admins' notice that giaoban
                                    cannot use its database (alerts/database_notice.py)

Sentences live in alerts/texts.py. Times are shown in the district's zone; numbers with a decimal comma in
Vietnamese; a probe's English detail quoted after a label (monitor.i18n.fault_text). A meeting alert says
"chưa sẵn sàng" or "suy giảm" after its verdict, lists each problem with what to do right after it, and labels
its times: the meeting's start ("họp lúc") apart from when the problem was seen ("phát hiện lúc"). The ack
route is a POST, so messages link to the board (``{external_url}/#alert-ID``) instead.
"""

from __future__ import annotations

import html
import shlex
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from alerts.texts import DATABASE_TEXTS, RULE_TEXTS, WORDS
from monitor.config.models import Config
from monitor.i18n import Locale, fault_text, number, span
from monitor.readiness.events import ReadinessEvent, ReasonText
from monitor.storage.health import Fault

EVENTS = ("firing", "reminder", "resolved")


@dataclass(frozen=True, slots=True)
class Rendered:
    subject: str
    text: str
    html: str


@dataclass(frozen=True, slots=True)
class AlertView:
    """What a message is about: the alert and the measurements behind it."""

    id: str
    rule: str
    severity: str
    site_name: str
    started_at: float
    fields: Mapping[str, object] = field(default_factory=dict)
    affected: Sequence[str] = ()  # names of the sites folded into this alert
    reasons: Sequence[ReasonText] = ()  # meeting alerts: the readiness findings


def nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def local_time(moment: float, config: Config) -> str:
    """'07:30 07/12/2026' in the district's zone, as Vietnamese readers write it."""
    return f"{datetime.fromtimestamp(moment, ZoneInfo(config.organisation.timezone)):%H:%M %d/%m/%Y}"


def alert_url(config: Config, alert_id: str) -> str | None:
    base = config.alerts.external_url
    return f"{base}/#alert-{alert_id}" if base else None


def _shown(fields: Mapping[str, object], locale: Locale) -> dict[str, object]:
    words = WORDS[locale]
    shown: dict[str, object] = {}
    for key, value in fields.items():
        if key == "detail":
            shown[key] = fault_text(fields.get("fault"), value, locale)
        elif key == "missing" and isinstance(value, str):
            shown[key] = words.get(f"missing_{value}", value)
        elif value is None:
            shown[key] = words["unknown"]
        elif isinstance(value, float):
            shown[key] = number(value, locale)
        elif key in ("direction", "media", "band") and isinstance(value, str):
            shown[key] = words.get(value if key == "direction" else f"{key}_{value}", value)
        elif isinstance(value, str):
            shown[key] = value.rstrip(". ")  # probe details end without a full stop; the sentence adds one
        else:
            shown[key] = value
    return shown


class _Fields(dict[str, object]):
    def __missing__(self, key: str) -> str:
        return "?"  # a field a rule did not measure must not break the message


def ack_command(alert_id: str, options: Sequence[str] = ()) -> str:
    """The shell command that acknowledges the alert, quoted to paste: ``options`` say where its database is."""
    return shlex.join(["giaoban", "alerts", "ack", alert_id, *options])


def render_alert(
    config: Config, view: AlertView, *, event: str, now: float, ack_options: Sequence[str] = ()
) -> Rendered:
    """The message for one transition of one alert (``event``: firing, reminder or resolved).

    ``ack_options`` (the service's ``-c INVENTORY``) go into the ack command, so that it finds the database.
    """
    locale: Locale = config.organisation.locale
    words = WORDS[locale]
    texts = RULE_TEXTS[view.rule][locale]
    fields = _Fields(_shown(view.fields, locale))
    fields["site"] = view.site_name
    if view.rule == "site_not_ready":
        fields["state"] = words.get(f"state_{view.fields.get('verdict_code')}", words["state_unknown"])
    title = texts.title.format_map(fields)
    count = len(view.affected)
    site_line = [f"{words['site']}: {view.site_name}"] if view.site_name else []  # none: about giaoban itself
    if event == "resolved":
        subject = f"{words['resolved']} {texts.resolved.format_map(fields)}"
        lines = [texts.resolved.format_map(fields), *site_line]
        lines.append(words["lasted"].format(duration=span(now - view.started_at, locale)))
        if count:
            lines.append(words["affected_back"].format(count=count))
        return _finish(subject, lines, None)
    prefix = words["reminder"] if event == "reminder" else words.get(view.severity, words["warning"])
    subject = f"{prefix} {title}"
    if count:
        subject += f" ({words['affected_short'].format(count=count)})"
    lines = [title, *site_line, texts.detail.format_map(fields)]
    if count:
        lines.append(words["affected"].format(count=count, names=", ".join(view.affected)))
    if view.reasons:
        lines.append(words["reasons"])
        for reason in view.reasons:
            message, action = reason.in_locale(locale)
            lines += [f"- {message}", f"  {words['action']}: {action}"]  # what to do right after what is wrong
    lines.append(f"{words['action']}: {texts.action.format_map(fields)}")
    lines.append(f"{words['since']}: {local_time(view.started_at, config)} ({words['zone']})")
    if event == "reminder" and view.rule != "site_not_ready":
        lines.append(words["still"].format(duration=span(now - view.started_at, locale)))
    lines.append(words["ack"].format(command=ack_command(view.id, ack_options)))
    url = alert_url(config, view.id)
    if url:
        lines.append(words["board"].format(url=url))
    return _finish(subject, lines, url)


def render_summary(config: Config, event: ReadinessEvent, site_names: Sequence[str]) -> Rendered:
    """The T-0 summary for the admins: ready/total, the sites not ready and the degraded ones, by name.

    ``site_names`` are the names of ``event.not_ready``, in its order.
    """
    locale: Locale = config.organisation.locale
    words = WORDS[locale]
    title = words["summary_title"].format(
        meeting=event.meeting_title,
        start=local_time(event.occurrence_start.timestamp(), config),
        ready=event.ready,
        total=event.total,
    )
    lines = [title]
    names = dict(zip(event.not_ready, site_names, strict=False))
    missing = [name for site, name in names.items() if site not in event.degraded]
    degraded = [name for site, name in names.items() if site in event.degraded]
    if missing:
        lines.append(words["summary_not_ready"].format(names=", ".join(missing)))
    if degraded:
        lines.append(words["summary_degraded"].format(names=", ".join(degraded)))
    if not names:
        lines.append(words["summary_all"])
    return _finish(f"{words['info']} {title}", lines, None)


def render_database_fault(
    config: Config, faults: Sequence[Fault], *, event: str, since: float, now: float, host: str
) -> Rendered:
    """The admins' notice: what cannot use the database since when (``event`` firing), or that it works again."""
    locale: Locale = config.organisation.locale
    words, texts = WORDS[locale], DATABASE_TEXTS[locale]
    if event == "resolved":
        lines = [texts["resolved"], texts["host"].format(host=host)]
        lines.append(words["lasted"].format(duration=span(now - since, locale)))
        lines.append(texts["back"])
        return _finish(f"{words['resolved']} {texts['resolved']}", lines, None)
    lines = [texts["title"], texts["host"].format(host=host)]
    lines += [
        texts["fault"].format(area=texts.get(f.area, f.area), since=local_time(f.since, config), error=f.error)
        for f in faults
    ]
    lines += [texts["effect"], f"{words['action']}: {texts['action']}"]
    prefix = words["reminder"] if event == "reminder" else words["critical"]
    return _finish(f"{prefix} {texts['title']}", lines, config.alerts.external_url)


def _finish(subject: str, lines: list[str], url: str | None) -> Rendered:
    text = nfc("\n".join(lines))
    escaped = [html.escape(line) for line in lines]
    body = f"<p><b>{escaped[0]}</b></p>\n<p>" + "<br>\n".join(escaped[1:]) + "</p>"
    if url:
        href = html.escape(url, quote=True)
        body += f'\n<p><a href="{href}">{href}</a></p>'
    return Rendered(nfc(subject.replace("\n", " ")), text, nfc(body))
