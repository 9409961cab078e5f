"""Generic webhook channel: POST one JSON document per notification.

Headers::

    Content-Type: application/json
    Idempotency-Key: KEY                      # the same for every retry of one transition: de-duplicate on it
    X-Giaoban-Event: firing | reminder | resolved
    X-Giaoban-Signature: sha256=HEX           # only with `secret:`; HMAC-SHA256 of the raw body, key = the secret

Body (UTF-8 JSON; times RFC 3339 in UTC, ``ends_at`` null until resolved, ``url`` null when none)::

    {"version": 1,
     "key": "link_down/tan-thinh/tan-thinh/link#3:firing",
     "alert_id": "link_down/tan-thinh/tan-thinh/link",
     "event": "firing",
     "alertname": "GiaobanLinkDown",
     "severity": "critical",
     "labels": {"alertname": "GiaobanLinkDown", "severity": "critical", "site": "tan-thinh", ...},
     "subject": "Xã Tân Thịnh: mất kết nối",
     "text": "...",
     "starts_at": "2024-05-06T01:02:03Z",
     "ends_at": null,
     "recipients": [{"id": "tuan", "name": "Nguyễn Văn Tuấn"}],
     "url": "https://giaoban.example/alerts/..."}

A receiver verifies the signature over the bytes it received, before parsing them, with a constant-time
comparison (``hmac.compare_digest``). Any 2xx is success; 408, 429 and 5xx are retried (honouring Retry-After);
other 4xx, such as 410 Gone, stop the retries.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from urllib.parse import quote

from alerts.notifiers import _http
from alerts.notifiers.base import Delivery, HttpUrl, Notification, NotifierContext, NotifierSettings, reveal, rfc3339
from probes.core.secrets import Secret

KIND = "webhook"
SIGNATURE_HEADER = "X-Giaoban-Signature"


class WebhookSettings(NotifierSettings):
    url: HttpUrl
    secret: Secret | None = None  # signs each body (X-Giaoban-Signature)


def webhook_body(notification: Notification) -> dict[str, object]:
    """The documented JSON document; recipients carry ids and names only, no addresses."""
    return {
        "version": 1,
        "key": notification.key,
        "alert_id": notification.alert_id,
        "event": notification.event,
        "alertname": notification.alertname,
        "severity": notification.severity,
        "labels": dict(notification.labels),
        "subject": notification.subject,
        "text": notification.text,
        "starts_at": rfc3339(notification.starts_at),
        "ends_at": rfc3339(notification.ends_at) if notification.ends_at else None,
        "recipients": [{"id": r.id, "name": r.name} for r in notification.recipients],
        "url": notification.url,
    }


# Header values are visible ASCII; anything else in a key is percent-encoded (the same key gives the same value).
_HEADER_SAFE = "".join(chr(code) for code in range(0x21, 0x7F) if chr(code) != "%")


def signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


async def send(notification: Notification, settings: WebhookSettings, *, ctx: NotifierContext) -> Delivery:
    body = json.dumps(webhook_body(notification), ensure_ascii=False).encode()
    headers = {
        "Content-Type": "application/json",
        "Idempotency-Key": quote(notification.key, safe=_HEADER_SAFE),
        "X-Giaoban-Event": notification.event,
    }
    hide: tuple[str, ...] = ()
    if settings.secret is not None:
        secret = await reveal(settings.secret, "the webhook secret")
        if isinstance(secret, Delivery):
            return secret
        headers[SIGNATURE_HEADER] = signature(secret, body)
        hide = (secret,)
    reply = await _http.post(ctx, settings.url, body, headers, hide=hide)
    if isinstance(reply, Delivery):
        return reply
    return _http.by_status(reply, "the webhook", hide=hide)
