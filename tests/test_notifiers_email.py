"""The e-mail channel against a real SMTP server (aiosmtpd): plain, STARTTLS with AUTH, refusals, a dead server."""

from __future__ import annotations

import unicodedata
from email.message import EmailMessage
from typing import Any

import pytest

from alerts.notifiers import email as email_channel
from alerts.notifiers.base import Outcome, Recipient
from tests.notifier_samples import HOA, SUBJECT_VI, TEXT_VI, TUAN, notifier_context, sample
from tests.peers import free_port
from tests.smtp_lab import SmtpLab
from tests.tls_certs import Certs


def settings(port: int, **smtp: Any) -> email_channel.EmailSettings:
    base: dict[str, Any] = {"host": "127.0.0.1", "port": port, "starttls": False}
    return email_channel.EmailSettings.model_validate(
        {"from": "Giao ban <giaoban@example.org>", "to": ["admin@example.org"], "smtp": base | smtp}
    )


def submission_settings(port: int, certs: Certs) -> email_channel.EmailSettings:
    """STARTTLS with our test CA, then AUTH as giaoban with the password in $GIAOBAN_TEST_SMTP_PASS."""
    return settings(
        port, starttls=True, user="giaoban", password={"env": "GIAOBAN_TEST_SMTP_PASS"}, ca_file=str(certs.ca_file)
    )


def _content(part: EmailMessage) -> str:
    """A text part's content with line breaks as Python writes them (mail carries canonical CRLF, RFC 2046 §4.1.1)."""
    content: str = part.get_content()
    return content.replace("\r\n", "\n")


async def test_plain_delivery_keeps_vietnamese_intact() -> None:
    """Technicians read Vietnamese: the subject (RFC 2047) and both bodies must arrive exactly as rendered, NFC."""
    decomposed = unicodedata.normalize("NFD", SUBJECT_VI)  # some keyboards type NFD; the mail must still be NFC
    notification = sample(subject=decomposed, recipients=(TUAN, HOA))
    async with SmtpLab() as smtp, notifier_context() as ctx:
        delivery = await email_channel.send(notification, settings(smtp.port), ctx=ctx)
    assert delivery.outcome is Outcome.DELIVERED, delivery.detail
    (received,) = smtp.received
    message = received.message
    assert message["Subject"] == SUBJECT_VI
    assert unicodedata.is_normalized("NFC", message["Subject"])
    assert not any(ord(c) > 127 for c in received.raw.decode("ascii")), "headers and bodies must be 7-bit encoded"
    assert b"=?utf-8?" in received.raw  # the subject is RFC 2047 encoded, not raw UTF-8
    assert message["Message-ID"] == "<link_down/tan-thinh/tan-thinh/link#1:firing@giaoban>".replace(":", "%3A")
    assert message["Auto-Submitted"] == "auto-generated"
    assert sorted(received.recipients) == ["admin@example.org", "hoa@example.org", "tuan@example.org"]
    assert received.sender == "giaoban@example.org"
    text = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert text is not None and html is not None
    assert _content(text).rstrip("\n") == TEXT_VI
    assert TEXT_VI in _content(html)


async def test_starttls_with_auth(certs: Certs) -> None:
    """The usual submission setup: STARTTLS on 587, then AUTH; the password is only ever sent encrypted."""
    users = {"giaoban": "đúng-mật-khẩu"}
    async with SmtpLab(tls_context=certs.valid, users=users) as smtp, notifier_context() as ctx:
        with pytest.MonkeyPatch.context() as env:
            env.setenv("GIAOBAN_TEST_SMTP_PASS", "đúng-mật-khẩu")
            config = submission_settings(smtp.port, certs)
            delivery = await email_channel.send(sample(), config, ctx=ctx)
    assert delivery.outcome is Outcome.DELIVERED, delivery.detail
    (received,) = smtp.received
    assert received.message["Subject"] == SUBJECT_VI


async def test_wrong_password_is_rejected(certs: Certs, monkeypatch: pytest.MonkeyPatch) -> None:
    """A wrong password will not fix itself: REJECTED (no retry storm); the detail names the user, not the secret."""
    monkeypatch.setenv("GIAOBAN_TEST_SMTP_PASS", "sai-mật-khẩu")
    async with SmtpLab(tls_context=certs.valid, users={"giaoban": "đúng"}) as smtp, notifier_context() as ctx:
        config = submission_settings(smtp.port, certs)
        delivery = await email_channel.send(sample(), config, ctx=ctx)
    assert delivery.outcome is Outcome.REJECTED, delivery.detail
    assert "535" in delivery.detail and "giaoban" in delivery.detail
    assert "sai-mật-khẩu" not in delivery.detail
    assert not smtp.received


async def test_unset_password_is_rejected_naming_the_source(monkeypatch: pytest.MonkeyPatch) -> None:
    """A missing secret is a config problem: REJECTED, saying which variable to set, without connecting."""
    monkeypatch.delenv("GIAOBAN_TEST_UNSET", raising=False)
    config = settings(free_port(), user="giaoban", password={"env": "GIAOBAN_TEST_UNSET"})
    async with notifier_context() as ctx:
        delivery = await email_channel.send(sample(), config, ctx=ctx)
    assert delivery.outcome is Outcome.REJECTED
    assert "GIAOBAN_TEST_UNSET" in delivery.detail


async def test_server_down_is_retried() -> None:
    """A mail server restarting must not lose the alert: refused connection → RETRY."""
    async with notifier_context() as ctx:
        delivery = await email_channel.send(sample(), settings(free_port()), ctx=ctx)
    assert delivery.outcome is Outcome.RETRY
    assert "127.0.0.1" in delivery.detail


async def test_starttls_required_but_not_offered_is_rejected() -> None:
    """starttls: true against a server without it must not fall back to plain text: REJECTED with a hint."""
    async with SmtpLab() as smtp, notifier_context() as ctx:
        delivery = await email_channel.send(sample(), settings(smtp.port, starttls=True), ctx=ctx)
    assert delivery.outcome is Outcome.REJECTED
    assert "starttls" in delivery.detail
    assert not smtp.received


async def test_no_recipient_is_rejected() -> None:
    """Nobody to write to is a config problem (no technician e-mail, no to:), not something to retry."""
    config = email_channel.EmailSettings.model_validate({"from": "giaoban@example.org", "smtp": {"host": "127.0.0.1"}})
    async with notifier_context() as ctx:
        delivery = await email_channel.send(sample(recipients=(Recipient(id="x", name="X"),)), config, ctx=ctx)
    assert delivery.outcome is Outcome.REJECTED
    assert "recipient" in delivery.detail


def test_message_id_is_valid_and_stable_for_any_key() -> None:
    """Receivers de-duplicate retries on Message-ID: it must be the same for a key and valid RFC 5322 for any key."""
    assert email_channel.message_id("a b@c:đ") == email_channel.message_id("a b@c:đ")
    assert email_channel.message_id("a b@c:đ") == "<a%20b%40c%3A%C4%91@giaoban>"
    assert email_channel.message_id("a.b") == "<a%2Eb@giaoban>"  # no dot: an id-left can never have an empty atom
