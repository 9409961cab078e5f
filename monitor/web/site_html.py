"""What the site page (monitor/web/site_page.py) and the HTML report (monitor/web/report_render.py) both write.

Escaping of every value filled into their markup, their texts (monitor/web/site_texts.py) with the fields escaped,
and a reason as the report store keeps it (a mapping of code, message, action, severity, fields) read back as a
``ReasonText`` so both show it in the reader's language. No metrics here.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import Any

from monitor.i18n import Locale
from monitor.readiness.events import ReasonText
from monitor.web.site_texts import text


def escape(value: object) -> str:
    return html.escape(str(value), quote=True)


def escaped_text(lang: Locale, key: str, **fields: object) -> str:
    """The sentence ``key`` in ``lang`` with each field escaped (the template itself is ours, trusted markup)."""
    return text(lang, key, **{name: escape(value) for name, value in fields.items()})


def stored_reason(stored: Mapping[str, Any]) -> ReasonText:
    """A reason as stored with a briefing's verdict; missing parts are empty, the severity hard unless stored."""
    return ReasonText(
        str(stored.get("code", "")),
        str(stored.get("message", "")),
        str(stored.get("action", "")),
        stored.get("severity", "hard"),
        stored.get("fields"),
    )
