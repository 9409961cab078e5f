"""E-mail channel: one multipart (text + HTML) message to the recipients' addresses and ``to``, over SMTP.

Headers of the message::

    From: FROM              To: every recipient          Subject: SUBJECT (RFC 2047 encoded when not ASCII)
    Message-ID: <KEY@giaoban>                            # the same for every retry: mail clients de-duplicate
    Auto-Submitted: auto-generated                       # RFC 3834: no vacation replies to the robot
    X-Giaoban-Alert: ALERT_ID    X-Giaoban-Event: firing | reminder | resolved

SMTP outcomes (aiosmtplib): refused connection, timeout, disconnect, TLS failure, 4xx replies → RETRY;
wrong user/password (535), 5xx replies, a server without STARTTLS or AUTH when the settings ask for them
→ REJECTED (never a silent fall-back to plain text). When the
server takes the message but refuses some recipients, the notification is RETRY if any refusal was temporary
(4xx; the retry resends to all, the Message-ID lets clients drop the copy), else REJECTED naming them.
"""

from __future__ import annotations

import asyncio
import functools
import ssl
import unicodedata
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import formatdate, parseaddr
from typing import Annotated, Any

import aiosmtplib
from pydantic import AfterValidator, ConfigDict, Field, field_validator, model_validator

from alerts.notifiers.base import Delivery, Notification, NotifierContext, NotifierSettings, Outcome, reveal
from probes.core.secrets import Secret

KIND = "email"
# 7bit: non-ASCII bodies go out quoted-printable or base64, so a server without 8BITMIME still takes them.
_POLICY = SMTP.clone(cte_type="7bit")
# RFC 5322 atext without "%": a key is percent-encoded into a valid msg-id (no dots, so never an empty atom).
_ATEXT = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789!#$&'*+-/=?^_`{|}~")


def _check_address(value: str) -> str:
    _, address = parseaddr(value)
    if not address or "@" not in address or address != address.strip() or " " in address:
        raise ValueError(f"{value!r} is not an e-mail address; write giaoban@example.org or 'Giao ban <giaoban@...>'")
    return value


MailAddress = Annotated[str, AfterValidator(_check_address)]


class SmtpSettings(NotifierSettings):
    host: str = Field(min_length=1)
    port: int | None = Field(None, ge=1, le=65535)  # 587 (submission), or 465 with tls: true
    starttls: bool = True  # upgrade the plain connection; the server must offer STARTTLS
    tls: bool = False  # implicit TLS from the first byte (port 465)
    user: str | None = None
    password: Secret | None = None
    timeout: float | None = Field(None, gt=0)  # seconds per SMTP command; the attempt's bound applies anyway
    ca_file: str | None = None  # PEM bundle to trust instead of the system's (a district's own mail server)

    @model_validator(mode="after")
    def _one_tls_mode(self) -> SmtpSettings:
        if self.tls and self.starttls and "starttls" in self.model_fields_set:
            raise ValueError("tls: true (implicit TLS) and starttls: true exclude each other; set starttls: false")
        if self.password is not None and self.user is None:
            raise ValueError("password: needs user:")
        return self

    @property
    def uses_starttls(self) -> bool:
        return self.starttls and not self.tls

    @property
    def effective_port(self) -> int:
        return self.port or (465 if self.tls else 587)


class EmailSettings(NotifierSettings):
    # `from` is the inventory's key; Python code says `sender` (from is a keyword).
    model_config = ConfigDict(populate_by_name=True)

    smtp: SmtpSettings
    sender: str = Field(alias="from")
    to: list[MailAddress] = Field(default_factory=list)  # fixed addresses on top of the technicians' own (the admin)

    _sender = field_validator("sender")(classmethod(lambda cls, v: _check_address(v)))


@functools.lru_cache(maxsize=8)
def _tls_context(ca_file: str | None) -> ssl.SSLContext:
    """A verifying client context, made once per CA bundle: loading the system store takes ~40 ms of disk reads,
    so it is built off the event loop and kept (ssl contexts are safe to share between connections)."""
    return ssl.create_default_context(cafile=ca_file)


def message_id(key: str) -> str:
    local = "".join(c if c in _ATEXT else "".join(f"%{b:02X}" for b in c.encode()) for c in key)
    return f"<{local}@giaoban>"


def build_message(notification: Notification, settings: EmailSettings, recipients: list[str]) -> EmailMessage:
    message = EmailMessage(policy=_POLICY)
    message["From"] = settings.sender
    message["To"] = ", ".join(recipients)
    message["Subject"] = _nfc(" ".join(notification.subject.split()))  # one line, whatever the renderer gave
    message["Date"] = formatdate(localtime=False, usegmt=True)
    message["Message-ID"] = message_id(notification.key)
    message["Auto-Submitted"] = "auto-generated"
    message["X-Giaoban-Alert"] = notification.alert_id
    message["X-Giaoban-Event"] = notification.event
    message.set_content(_nfc(notification.text), subtype="plain", charset="utf-8")
    message.add_alternative(_nfc(notification.html), subtype="html", charset="utf-8")
    return message


def addresses(notification: Notification, settings: EmailSettings) -> list[str]:
    """Every address once, the technicians' first."""
    return notification.destinations(lambda recipient: recipient.email, settings.to)


async def send(notification: Notification, settings: EmailSettings, *, ctx: NotifierContext) -> Delivery:
    recipients = addresses(notification, settings)
    if not recipients:
        return Delivery(Outcome.REJECTED, "no e-mail recipient: no technician has an email and to: is empty")
    smtp = settings.smtp
    password: str | None = None
    if smtp.password is not None:
        revealed = await reveal(smtp.password, "the SMTP password")
        if isinstance(revealed, Delivery):
            return revealed
        password = revealed
    message = build_message(notification, settings, recipients)
    server = f"{smtp.host}:{smtp.effective_port}"
    tls_context = None
    if smtp.tls or smtp.uses_starttls:
        try:
            tls_context = await asyncio.to_thread(_tls_context, smtp.ca_file)
        except (OSError, ssl.SSLError) as exc:
            return Delivery(Outcome.REJECTED, f"ca_file {smtp.ca_file}: {exc}")
    bound = min(smtp.timeout or ctx.timeout, ctx.timeout)
    try:
        async with asyncio.timeout(ctx.timeout):
            refused, _ = await aiosmtplib.send(
                message,
                sender=parseaddr(settings.sender)[1],
                recipients=recipients,
                hostname=smtp.host,
                port=smtp.effective_port,
                username=smtp.user,
                password=password,
                use_tls=smtp.tls,
                start_tls=smtp.uses_starttls,
                timeout=bound,
                tls_context=tls_context,
            )
    except TimeoutError:  # also aiosmtplib's own SMTPTimeoutError
        return Delivery(Outcome.RETRY, f"no answer from the SMTP server {server} within {bound:g} s")
    except aiosmtplib.SMTPAuthenticationError as exc:
        return Delivery(Outcome.REJECTED, f"{server} refused user {smtp.user!r}: {exc.code} {exc.message}")
    except aiosmtplib.SMTPRecipientsRefused as exc:
        return _refused(server, {r.recipient: r for r in exc.recipients}, delivered=False)
    except aiosmtplib.SMTPResponseException as exc:
        outcome = Outcome.RETRY if 400 <= exc.code < 500 else Outcome.REJECTED
        return Delivery(outcome, f"{server} answered {exc.code} {exc.message}")
    except (aiosmtplib.SMTPServerDisconnected, aiosmtplib.SMTPConnectError, OSError) as exc:
        # refused or reset connections, TLS failures (ssl.SSLError is an OSError), disconnects
        return Delivery(Outcome.RETRY, f"SMTP with {server} failed: {_reason(exc)}")
    except aiosmtplib.SMTPException as exc:
        # aiosmtplib raises the base class for a server lacking what the settings ask for (STARTTLS, AUTH, SMTPUTF8)
        return Delivery(Outcome.REJECTED, f"{server}: {exc} Check smtp starttls/tls/user for this server.")
    if refused:
        return _refused(server, refused, delivered=True)
    return Delivery(Outcome.DELIVERED, f"{server} accepted it for {len(recipients)} recipient(s)")


def _refused(server: str, refused: dict[str, Any], *, delivered: bool) -> Delivery:
    """Some or all recipients refused: retry when any refusal was temporary (4xx)."""
    parts = [f"{address}: {reply.code} {reply.message}" for address, reply in refused.items()]
    head = f"{server} refused " + ("some recipients" if delivered else "every recipient")
    temporary = any(400 <= reply.code < 500 for reply in refused.values())
    return Delivery(Outcome.RETRY if temporary else Outcome.REJECTED, f"{head}: " + "; ".join(parts))


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or type(exc).__name__


def _nfc(text: str) -> str:
    # Vietnamese typed on some keyboards arrives decomposed (NFD); mail clients render NFC most reliably.
    return unicodedata.normalize("NFC", text)
