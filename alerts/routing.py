"""Who receives an alert, and through which channels.

    recipients(config, "tan-thinh")        the site's technicians (else the nearest ancestor's) + alerts.admins
    channels(config, "critical")           ids of the notifiers whose severities include it; ["log"] when none

With no notifier configured, or none that carries a severity, notifications go to the built-in ``log``
pseudo-channel (LOG_CHANNEL): the outbox's dispatcher delivers it as one WARNING log line, so nothing is
dropped silently. Alertmanager-like channels (``resend_while_firing``) get firing and resolved pushes and
periodic refreshes; person-facing channels get firing, reminders and resolved.
"""

from __future__ import annotations

from alerts.notifiers import NOTIFIERS
from alerts.notifiers.base import Recipient
from alerts.topology import SiteTree
from monitor.config.models import Config, Technician

LOG_CHANNEL = "log"


def _recipient(tech: Technician) -> Recipient:
    return Recipient(
        id=tech.id,
        name=tech.name,
        telegram_chat_id=tech.telegram_chat_id,
        email=tech.email,
        zalo_user_id=tech.zalo_user_id,
    )


def site_technicians(config: Config, site_id: str | None, tree: SiteTree | None = None) -> list[str]:
    """The site's technician ids; a site without any is looked after by its nearest ancestor's."""
    if site_id is None:
        return []
    tree = tree or SiteTree.of(config)
    for candidate in (site_id, *tree.ancestors(site_id)):
        site = tree.sites.get(candidate)
        if site is not None and site.technicians:
            return list(site.technicians)
    return []


def recipients(
    config: Config, site_id: str | None, *, technicians: bool = True, tree: SiteTree | None = None
) -> tuple[Recipient, ...]:
    """Technicians of the site (or the nearest ancestor with some), then the admins; each person once."""
    index = config.index
    ids = site_technicians(config, site_id, tree) if technicians else []
    people = (index.technician(i) for i in dict.fromkeys([*ids, *config.alerts.admins]))
    return tuple(_recipient(tech) for tech in people if tech is not None)


def channels(config: Config, severity: str, *, event: str = "firing") -> list[str]:
    """Notifier ids that carry ``severity`` and this kind of event; the log channel when none carries it.

    ``event`` "refresh" (re-push of a firing alert) goes only to channels that want it (Alertmanager);
    "reminder" and "summary" only to the others (a person reads them; Alertmanager has its own repeat).
    """
    carrying = [n for n in config.notifiers if severity in n.severities]
    if not carrying:
        return [] if event == "refresh" else [LOG_CHANNEL]
    out: list[str] = []
    for notifier in carrying:
        kind = NOTIFIERS.get(notifier.kind)
        pushes = kind is not None and kind.resend_while_firing
        if event == "refresh" and not pushes:
            continue
        if event in ("reminder", "summary") and pushes:
            continue
        out.append(notifier.id)
    if not out and event in ("reminder", "summary"):
        out.append(LOG_CHANNEL)  # only Alertmanager carries it: a person would otherwise never hear of it
    return out
