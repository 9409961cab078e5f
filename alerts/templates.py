"""Alert messages: subject, plain text and HTML per (rule, event), in the district's locale.

    rendered = render_alert(config, AlertView(...), event="firing", now=now)
    rendered.subject   "[NGHIÊM TRỌNG] Mất kết nối UBND huyện Định Hoá (23 điểm cầu bị ảnh hưởng)"
    rendered.text      the title, the site, what was measured, the affected sites, what to do, since when,
                       how to acknowledge (`giaoban alerts ack ID`) and the board link
    rendered.html      the same, every user string escaped (html.escape)
    render_summary(config, event)   the T-0 readiness summary for the admins

Sentences live in alerts/texts.py. Times are shown in the district's zone; numbers with a decimal comma in
Vietnamese. The ack route is a POST, so messages link to the board (``{external_url}/#alert-ID``) instead.
"""

from __future__ import annotations

import html
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from alerts.texts import RULE_TEXTS, WORDS
from monitor.config.models import Config
from monitor.i18n import Locale, number, span
from monitor.readiness.events import ReadinessEvent, ReasonText

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
    return f"{datetime.fromtimestamp(moment, ZoneInfo(config.district.timezone)):%H:%M %d/%m/%Y}"


def alert_url(config: Config, alert_id: str) -> str | None:
    base = config.alerts.external_url
    return f"{base}/#alert-{alert_id}" if base else None


def _shown(fields: Mapping[str, object], locale: Locale) -> dict[str, object]:
    words = WORDS[locale]
    shown: dict[str, object] = {}
    for key, value in fields.items():
        if value is None:
            shown[key] = words["unknown"]
        elif isinstance(value, float):
            shown[key] = number(value, locale)
        elif key == "direction" and isinstance(value, str):
            shown[key] = words.get(value, value)
        elif isinstance(value, str):
            shown[key] = value.rstrip(". ")  # probe details end without a full stop; the sentence adds one
        else:
            shown[key] = value
    return shown


class _Fields(dict[str, object]):
    def __missing__(self, key: str) -> str:
        return "?"  # a field a rule did not measure must not break the message


def render_alert(config: Config, view: AlertView, *, event: str, now: float) -> Rendered:
    """The message for one transition of one alert (``event``: firing, reminder or resolved)."""
    locale: Locale = config.district.locale
    words = WORDS[locale]
    texts = RULE_TEXTS[view.rule][locale]
    fields = _Fields(_shown(view.fields, locale))
    fields["site"] = view.site_name
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
        lines.extend(f"- {reason.message} {reason.action}" for reason in view.reasons)
    lines.append(f"{words['action']}: {texts.action.format_map(fields)}")
    lines.append(f"{words['since']}: {local_time(view.started_at, config)} ({words['zone']})")
    if event == "reminder" and view.rule != "site_not_ready":
        lines.append(words["still"].format(duration=span(now - view.started_at, locale)))
    lines.append(words["ack"].format(id=view.id))
    url = alert_url(config, view.id)
    if url:
        lines.append(words["board"].format(url=url))
    return _finish(subject, lines, url)


def render_summary(config: Config, event: ReadinessEvent, site_names: Sequence[str]) -> Rendered:
    """The T-0 summary for the admins: ready/total and the sites not ready, by name."""
    locale: Locale = config.district.locale
    words = WORDS[locale]
    title = words["summary_title"].format(
        meeting=event.meeting_title,
        start=local_time(event.occurrence_start.timestamp(), config),
        ready=event.ready,
        total=event.total,
    )
    lines = [title]
    lines.append(words["summary_not_ready"].format(names=", ".join(site_names)) if site_names else words["summary_all"])
    return _finish(f"{words['info']} {title}", lines, None)


def _finish(subject: str, lines: list[str], url: str | None) -> Rendered:
    text = nfc("\n".join(lines))
    escaped = [html.escape(line) for line in lines]
    body = f"<p><b>{escaped[0]}</b></p>\n<p>" + "<br>\n".join(escaped[1:]) + "</p>"
    if url:
        href = html.escape(url, quote=True)
        body += f'\n<p><a href="{href}">{href}</a></p>'
    return Rendered(nfc(subject.replace("\n", " ")), text, nfc(body))
