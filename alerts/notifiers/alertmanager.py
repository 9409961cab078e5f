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
"""

from __future__ import annotations

import json

from alerts.notifiers import _http
from alerts.notifiers.base import (
    Delivery,
    HttpUrl,
    Notification,
    NotifierContext,
    NotifierSettings,
    reveal,
    rfc3339,
)
from probes.core.secrets import Secret

KIND = "alertmanager"
MARKER = "GiaobanParentDown"  # an inhibition source only: deploy/alertmanager.yml routes it to no receiver


class AlertmanagerSettings(NotifierSettings):
    url: HttpUrl  # Alertmanager's base URL, with its --web.route-prefix if it has one
    bearer_token: Secret | None = None  # sent as Authorization: Bearer (a proxy in front of Alertmanager)


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
    url = settings.url.rstrip("/") + "/api/v2/alerts"
    reply = await _http.post(ctx, url, body, headers, hide=hide)
    if isinstance(reply, Delivery):
        return reply
    return _http.by_status(reply, "Alertmanager", hide=hide)
