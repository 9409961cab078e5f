"""A real SMTP server (aiosmtpd) on a free 127.0.0.1 port that keeps every message it accepts.

Plain by default; with ``tls_context`` it offers STARTTLS and requires it, and with ``users`` it requires
AUTH (PLAIN/LOGIN) — only after STARTTLS, as a submission server should (RFC 8314)::

    async with SmtpLab(tls_context=certs.valid, users={"giaoban": "s3cret"}) as smtp:
        ...  # send to 127.0.0.1:smtp.port
        (received,) = smtp.received
        received.message["Subject"]

The server runs on the test's own event loop, so nothing needs a thread.
"""

from __future__ import annotations

import asyncio
import email
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.policy import default
from types import TracebackType
from typing import Any

from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session


@dataclass(frozen=True)
class Received:
    sender: str
    recipients: list[str]
    raw: bytes
    message: EmailMessage  # parsed with the modern policy: headers decoded (RFC 2047), bodies via get_content()


class _Recorder:
    def __init__(self) -> None:
        self.received: list[Received] = []

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        message = email.message_from_bytes(raw, policy=default)
        assert isinstance(message, EmailMessage)
        self.received.append(Received(str(envelope.mail_from), list(envelope.rcpt_tos), raw, message))
        return "250 Message accepted"


class SmtpLab:
    def __init__(self, *, tls_context: ssl.SSLContext | None = None, users: dict[str, str] | None = None) -> None:
        self._tls, self._users = tls_context, users
        self._recorder = _Recorder()
        self._server: asyncio.Server | None = None
        self._sessions: list[SMTP] = []
        self.port = 0

    @property
    def received(self) -> list[Received]:
        return self._recorder.received

    def _authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        assert self._users is not None
        ok = isinstance(data, LoginPassword) and self._users.get(data.login.decode()) == data.password.decode()
        return AuthResult(success=ok, handled=False)

    def _protocol(self) -> SMTP:
        options: dict[str, Any] = {}
        if self._tls is not None:
            options |= {"tls_context": self._tls, "require_starttls": True}
        if self._users is not None:
            options |= {"authenticator": self._authenticate, "auth_required": True, "auth_require_tls": True}
        session = SMTP(self._recorder, hostname="smtp-lab.test", loop=asyncio.get_running_loop(), **options)
        self._sessions.append(session)
        return session

    async def __aenter__(self) -> SmtpLab:
        self._server = await asyncio.get_running_loop().create_server(self._protocol, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()
        for session in self._sessions:  # close sessions a client left open, and wait for their handlers
            if session.transport is not None:
                session.transport.close()
            handler = getattr(session, "_handler_coroutine", None)  # aiosmtpd's per-connection task
            if handler is not None:
                handler.cancel()
        await asyncio.sleep(0)
