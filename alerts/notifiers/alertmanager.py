"""Alertmanager channel: push the alert to ``{url}/api/v2/alerts`` and let Alertmanager route, group and inhibit.

The body is a JSON array of one alert (Alertmanager API v2, ``postableAlert``)::

    [{"labels": {"alertname": "GiaobanLinkDown", "severity": "critical", "site": "tan-thinh", "parent": "hub",
                 "target": "link", "rule": "link_down"},
      "annotations": {"summary": SUBJECT, "description": TEXT, "url": URL},
      "startsAt": "2024-05-06T01:02:03Z",
      "endsAt": "2024-05-06T01:12:03Z",          # only on "resolved"
      "generatorURL": URL}                        # only when the notification has a url

An alert that stands for a whole subtree (a site's link or router down: label ``inhibits_children="true"``) is
pushed together with a marker, ``GiaobanParentDown{site=S, parent=S, severity="none"}``, that lives and ends with
it: deploy/alertmanager.yml inhibits every alert whose ``parent`` is S while the marker is active (Alertmanager's
``equal`` compares one label name on both sides, hence parent=S on the marker). giaoban's own engine already
folds the children into one message; the marker lets Alertmanager do the same for alerts from other agents and
from the Prometheus rules (alerts/prometheus/rules.yml, which produce the same marker).

Labels are the alert's identity in Alertmanager: they carry site/parent/meeting so its routes and inhibit rules
work, and never the idempotency key (that would make every transition a new alert). A firing alert has no
``endsAt``: Alertmanager then keeps it active for its ``resolve_timeout`` after the last push, and its client
guide asks clients to re-send active alerts periodically — hence ``resend_while_firing`` in the registry
(https://prometheus.io/docs/alerting/latest/clients/). A resolve sends ``endsAt``; Alertmanager answers 200, or
400 for an alert it cannot accept.

A cluster (issue 17): Alertmanagers gossip silences and the notification log, not alerts, so a client pushes
every alert to every member (``urls: [...]``, or ``url`` for one; both may be given, each address once), as
Prometheus does. The members are pushed at once; the notification is delivered when at least one member accepted
it, as in Prometheus' notifier (the members de-duplicate their notifications through the gossiped log), and the
members that failed are named in the detail and the log. Waiting for every member would let one dead member hold
back every later notification of the alert, its resolve included; the re-sends of a firing alert
(``resend_while_firing``) reach a member that comes back. Nobody accepted: RETRY if any member may accept later,
else REJECTED.
"""

from __future__ import annotations

import asyncio
import json
import logging

from pydantic import Field, model_validator

from alerts.notifiers import _http
from alerts.notifiers.base import (
    Delivery,
    HttpUrl,
    Notification,
    NotifierContext,
    NotifierSettings,
    Outcome,
    reveal,
    rfc3339,
)
from probes.core.secrets import Secret

log = logging.getLogger(__name__)

KIND = "alertmanager"
MARKER = "GiaobanParentDown"  # an inhibition source only: deploy/alertmanager.yml routes it to no receiver
MAX_MEMBERS = 16


class AlertmanagerSettings(NotifierSettings):
    url: HttpUrl | None = None  # Alertmanager's base URL, with its --web.route-prefix if it has one
    urls: list[HttpUrl] = Field(default_factory=list, max_length=MAX_MEMBERS)  # every member of a cluster
    bearer_token: Secret | None = None  # sent as Authorization: Bearer (a proxy in front of Alertmanager)

    @model_validator(mode="after")
    def _some_member(self) -> AlertmanagerSettings:
        if self.url is None and not self.urls:
            raise ValueError("give url (one Alertmanager) or urls (every member of a cluster)")
        if len(self.members) != len(self.urls) + (self.url is not None):
            raise ValueError("list each Alertmanager once (url and urls together)")
        return self

    @property
    def members(self) -> tuple[str, ...]:
        """Every Alertmanager to push to, ``url`` first, each base URL once."""
        found = [self.url] if self.url is not None else []
        found += self.urls
        return tuple(dict.fromkeys(u.rstrip("/") for u in found))


def alert_body(notification: Notification) -> list[dict[str, object]]:
    """The postable alert; empty label values are dropped (in Prometheus an empty label is an absent one)."""
    labels = {name: value for name, value in notification.labels.items() if value}
    labels["alertname"] = notification.alertname
    labels["severity"] = notification.severity
    annotations = {"summary": notification.subject, "description": notification.text}
    alert: dict[str, object] = {
        "labels": labels,
        "annotations": annotations,
        "startsAt": rfc3339(notification.starts_at),
    }
    if notification.url:
        annotations["url"] = notification.url
        alert["generatorURL"] = notification.url
    if notification.event == "resolved":
        # Alertmanager refuses an end before the start (400); a resolve is never earlier than its alert.
        ends_at = max(notification.ends_at or notification.starts_at, notification.starts_at)
        alert["endsAt"] = rfc3339(ends_at)
    if labels.pop("inhibits_children", None) == "true":
        marker = {"alertname": MARKER, "site": labels["site"], "parent": labels["site"], "severity": "none"}
        alerts: list[dict[str, object]] = [alert, {**alert, "labels": marker, "annotations": {}}]
        return alerts
    return [alert]


async def send(notification: Notification, settings: AlertmanagerSettings, *, ctx: NotifierContext) -> Delivery:
    headers = {"Content-Type": "application/json"}
    hide: tuple[str, ...] = ()
    if settings.bearer_token is not None:
        token = await reveal(settings.bearer_token, "the Alertmanager bearer token")
        if isinstance(token, Delivery):
            return token
        headers["Authorization"] = f"Bearer {token}"
        hide = (token,)
    body = json.dumps(alert_body(notification), ensure_ascii=False).encode()
    members = settings.members

    async def push(base: str) -> Delivery:
        reply = await _http.post(ctx, base + "/api/v2/alerts", body, headers, hide=hide)
        return reply if isinstance(reply, Delivery) else _http.by_status(reply, "Alertmanager", hide=hide)

    if len(members) == 1:
        return await push(members[0])
    results = await asyncio.gather(*(push(base) for base in members))
    return cluster_outcome(members, results, key=notification.key)


def cluster_outcome(members: tuple[str, ...], results: list[Delivery], *, key: str) -> Delivery:
    """One outcome for a push to every member: delivered if one accepted (the failing ones named)."""
    failed = [(base, r) for base, r in zip(members, results, strict=True) if r.outcome is not Outcome.DELIVERED]
    accepted = len(members) - len(failed)
    said = "; ".join(f"{base}: {r.detail}" for base, r in failed)
    if accepted:
        if failed:
            log.warning("alertmanager: %s reached %d of %d members; not: %s", key, accepted, len(members), said)
            return Delivery(Outcome.DELIVERED, f"{accepted} of {len(members)} Alertmanagers accepted; not {said}")
        return Delivery(Outcome.DELIVERED, f"all {len(members)} Alertmanagers accepted")
    retry = [r for _, r in failed if r.outcome is Outcome.RETRY]
    if retry:
        waits = [r.retry_after for r in retry if r.retry_after is not None]
        return Delivery(Outcome.RETRY, f"no Alertmanager accepted: {said}", min(waits) if waits else None)
    return Delivery(Outcome.REJECTED, f"no Alertmanager accepted: {said}")
