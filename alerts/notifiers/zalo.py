"""Zalo channel: one Official Account (OA) consultation message per follower (the recipients' zalo_user_id plus
``user_ids``), with the OA access token refreshed and its rotating refresh token kept on disk.

Send (Zalo OA API v3, "tin tư vấn")::

    POST {api_url}/v3.0/oa/message/cs
    access_token: ACCESS_TOKEN                      (a header, not the query: v3 takes it there)
    Content-Type: application/json
    {"recipient": {"user_id": "USER_ID"}, "message": {"text": "TEXT"}}

    → {"error": 0, "message": "Success", "data": {"message_id": "...", "user_id": "..."}}
    → {"error": -216, "message": "Access token is invalid"}      (any non-zero ``error`` is a refusal)

Refresh (Zalo OAuth v4; the refresh token is single-use: every refresh returns a new one)::

    POST {oauth_url}/v4/oa/access_token
    secret_key: APP_SECRET
    Content-Type: application/x-www-form-urlencoded
    refresh_token=RT&app_id=APP_ID&grant_type=refresh_token

    → {"access_token": "...", "refresh_token": "...", "expires_in": "90000"}   (expires_in is a string)
    → {"error": -14014, "error_name": "...", "error_reason": "...", "error_description": "..."}

Sources: the endpoint, header and body of message/cs as Zalo's own Java SDK sends them
(github.com/zaloplatform/zalo-java-sdk, src/test/java/v3/SendTextCSMessage.java); the refresh request as
public OA clients send it (oauth.zaloapp.com/v4/oa/access_token with a ``secret_key`` header and a form body:
github.com/n-v-nam/integration-caldav-socket, server/src/controllers/python/zalo.token.py;
github.com/Kai-D13/Kajo_rehab, refresh-zalo-token.ps1, whose answer carries the new refresh_token and
expires_in); Zalo's OA documentation those clients follow (developers.zalo.me/docs/official-account:
"Gửi tin Tư vấn", "Official Account Access Token", "Phụ lục: mã lỗi"), which is not among the stored copies
here. That -216 comes with HTTP 200 on message/cs when the token is invalid or expired, and -124 for an
expired token, is how those clients see and handle it; the text limit of 2,000 characters is as OA tools
state it. A code not listed below is REJECTED with Zalo's own message in the detail, so a code we do not
know degrades to a clear refusal, never to a silent success.

Outcomes per follower:

    error 0                       → delivered
    -216, -124 (token invalid / expired), HTTP 401
                                  → refresh the access token once, send again; still refused → retry later
    -32 (requests per minute exceeded), HTTP 429
                                  → retry after Retry-After, else 60 s (Zalo counts per minute)
    -218 (the OA reached its quota of messages to this user)
                                  → retry after an hour
    -213, -230, -232 (not a follower / no interaction in the window Zalo allows for consultation messages)
                                  → rejected: the technician must follow the OA and message it (README: Zalo)
    5xx, timeouts, refused connections
                                  → retry
    any other error code          → rejected (wrong user id, OA not verified, permission missing, ...)

A refresh that Zalo refuses (invalid app id, secret key or refresh token) REJECTS the notification with what
to fix; a refresh that fails in transit is a RETRY.

State, in ``state_file`` (JSON, mode 0600, replaced atomically: write a temporary file, fsync, rename, fsync
the directory): the current access token with its expiry and the current refresh token. The rotated refresh
token is written there *before* the new access token is used, so a restart never falls back to a refresh
token Zalo has already retired (should that write fail, the pair is kept in memory, the failure logged at
ERROR and the write tried again at each send). ``refresh_token`` in the inventory seeds the state: it is used
while the file has none, or when it differs from the one the file was seeded with (an operator pasted a new
one).

No duplicates: Zalo has no idempotency key, so the channel keeps one of its own. Each follower that got a
notification is appended to ``{state_file}.sent`` (one JSON line: key, user id, time; fsync'd) before send()
returns; a retry of the same notification, in this process or after a restart (the outbox re-sends a row
whose process died before marking it delivered), skips those followers. The journal keeps three days (the
outbox gives up after two) and at most 20,000 lines, compacted atomically. What remains is the instant
between Zalo accepting a message and the journal line reaching the disk: a SIGKILL exactly there sends that
follower the message again (at least once beats never).

Several followers are sent to concurrently within one timeout. The notification is RETRY when any follower
needs a retry, else REJECTED when any refused it, else DELIVERED. Tokens and the secret key are redacted from
every detail. Metrics: none of its own; deliveries count in the outbox's (monitor/metrics/outbox.py).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import os
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

from pydantic import Field, field_validator

from alerts.notifiers import _http
from alerts.notifiers.base import (
    Delivery,
    HttpUrl,
    Notification,
    NotifierContext,
    NotifierSettings,
    Outcome,
    body_within,
    ids_as_text,
    redact,
    reveal,
)
from probes.core.secrets import Secret

log = logging.getLogger(__name__)

KIND = "zalo"
MESSAGE_LIMIT = 2000  # characters of one OA text message
TOKEN_INVALID = frozenset({-216, -124})
RATE_LIMITED = -32
USER_QUOTA = -218
NOT_REACHABLE = frozenset({-213, -230, -232})
RATE_LIMIT_WAIT = 60.0
USER_QUOTA_WAIT = 3600.0
EXPIRY_MARGIN = 300.0  # refresh this long before Zalo's expiry: a token must not lapse in flight
JOURNAL_KEEP = 3 * 86400.0
JOURNAL_LINES = 20_000
_JOURNAL_READ_LIMIT = 8 * 1024 * 1024  # a journal grown beyond this is read from its tail


class ZaloSettings(NotifierSettings):
    app_id: str = Field(pattern=r"^[0-9]{1,32}$")  # the Zalo app's ID (digits), from developers.zalo.me
    secret_key: Secret  # the app's secret key ("Khóa bí mật của ứng dụng")
    refresh_token: Secret  # the OA refresh token first obtained by hand; rotated ones live in state_file
    state_file: str = Field(min_length=1)  # where the rotated tokens and the sent-journal are kept
    user_ids: list[str] = Field(default_factory=list)  # fixed followers on top of the technicians' own
    # Zalo's own hosts; another address is for a test server or a proxy.
    api_url: HttpUrl = "https://openapi.zalo.me"
    oauth_url: HttpUrl = "https://oauth.zaloapp.com"

    _ids = field_validator("user_ids", mode="before")(classmethod(lambda cls, v: ids_as_text(v)))


def message_text(notification: Notification) -> str:
    """Subject, body and link as plain text (Zalo shows no markup), shortened to Zalo's limit."""
    url = notification.url
    text = body_within(notification, MESSAGE_LIMIT, framing=2)
    return "\n\n".join(part for part in (notification.subject, text, url) if part)


def followers(notification: Notification, settings: ZaloSettings) -> list[str]:
    """Every follower once, the technicians' first."""
    return notification.destinations(lambda recipient: recipient.zalo_user_id, settings.user_ids)


# --- durable state: tokens and the sent-journal ------------------------------------------------------------


def _write_atomically(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` so that a crash leaves the old file or the new one, never a torn one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        os.fchmod(fd, 0o600)  # it holds tokens
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    try:
        os.replace(temporary, path)
    except OSError:
        os.unlink(temporary)
        raise
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)  # the rename itself must survive a power cut
    finally:
        os.close(directory)


def _fingerprint(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(slots=True)
class _Tokens:
    access_token: str | None = None
    expires_at: float = 0.0
    refresh_token: str | None = None
    seed: str | None = None  # fingerprint of the inventory's refresh token the state started from


@dataclass(slots=True)
class ZaloState:
    """One state file's tokens and journal, shared by every send of this process that names it."""

    path: Path
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    tokens: _Tokens | None = None
    sent: dict[tuple[str, str], float] | None = None  # (key, user id) → when Zalo accepted it
    journal_lines: int = 0
    refreshes: int = 0
    unsaved: bool = False  # the tokens in memory are newer than the file (a write failed)

    @property
    def journal(self) -> Path:
        return self.path.with_name(self.path.name + ".sent")

    # Tokens ---------------------------------------------------------------------------------------------

    def load_tokens(self) -> _Tokens:
        try:
            data = json.loads(self.path.read_bytes())
        except FileNotFoundError:
            return _Tokens()
        except (OSError, ValueError) as exc:
            raise ValueError(f"the Zalo state file {self.path} cannot be read: {exc}") from None
        if not isinstance(data, dict):
            raise ValueError(f"the Zalo state file {self.path} is not a JSON object")
        expires = data.get("expires_at")
        return _Tokens(
            access_token=data.get("access_token") if isinstance(data.get("access_token"), str) else None,
            expires_at=float(expires) if isinstance(expires, int | float) else 0.0,
            refresh_token=data.get("refresh_token") if isinstance(data.get("refresh_token"), str) else None,
            seed=data.get("seed") if isinstance(data.get("seed"), str) else None,
        )

    def save_tokens(self, tokens: _Tokens) -> None:
        body = {
            "access_token": tokens.access_token,
            "expires_at": tokens.expires_at,
            "refresh_token": tokens.refresh_token,
            "seed": tokens.seed,
            "saved_at": time.time(),
        }
        _write_atomically(self.path, json.dumps(body, indent=1).encode())

    # Journal --------------------------------------------------------------------------------------------

    def load_journal(self, now: float) -> dict[tuple[str, str], float]:
        sent: dict[tuple[str, str], float] = {}
        try:
            with self.journal.open("rb") as handle:
                size = handle.seek(0, os.SEEK_END)
                handle.seek(max(0, size - _JOURNAL_READ_LIMIT))
                raw = handle.read(_JOURNAL_READ_LIMIT)
        except FileNotFoundError:
            return sent
        lines = raw.splitlines()
        self.journal_lines = len(lines)
        for line in lines:
            try:
                entry = json.loads(line)
                key, user, moment = str(entry["k"]), str(entry["u"]), float(entry["t"])
            except (ValueError, KeyError, TypeError):
                continue  # a line torn by a crash mid-append, or the cut at the tail
            if now - moment <= JOURNAL_KEEP:
                sent[(key, user)] = moment
        return sent

    def append_journal(self, key: str, user: str, moment: float) -> None:
        line = json.dumps({"k": key, "u": user, "t": moment}, ensure_ascii=False).encode() + b"\n"
        self.journal.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.journal, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, line)
            os.fsync(fd)
        finally:
            os.close(fd)
        self.journal_lines += 1

    def compact_journal(self, sent: dict[tuple[str, str], float], now: float) -> None:
        kept = sorted(((m, k, u) for (k, u), m in sent.items() if now - m <= JOURNAL_KEEP), reverse=True)
        kept = kept[: JOURNAL_LINES // 2]
        sent.clear()
        sent.update({(k, u): m for m, k, u in kept})
        body = b"".join(
            json.dumps({"k": k, "u": u, "t": m}, ensure_ascii=False).encode() + b"\n" for m, k, u in reversed(kept)
        )
        _write_atomically(self.journal, body)
        self.journal_lines = len(kept)


_STATES: dict[Path, ZaloState] = {}


def state_for(settings: ZaloSettings) -> ZaloState:
    """The process's one ZaloState per state file: refreshes and journal appends are serialised on it."""
    path = Path(settings.state_file).absolute()
    state = _STATES.get(path)
    if state is None:
        state = _STATES[path] = ZaloState(path)
    return state


# --- the channel ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Attempt:
    """One send(): the shared session, the settings, the revealed secrets and the state file's state."""

    ctx: NotifierContext
    settings: ZaloSettings
    secret_key: str
    configured_refresh: str
    state: ZaloState

    def hide(self, *more: str | None) -> tuple[str, ...]:
        """Every secret value a detail must not show."""
        known = (self.secret_key, self.configured_refresh, *more)
        tokens = self.state.tokens
        if tokens is not None:
            known += (tokens.access_token, tokens.refresh_token)
        return tuple(value for value in known if value)


async def send(notification: Notification, settings: ZaloSettings, *, ctx: NotifierContext) -> Delivery:
    targets = followers(notification, settings)
    if not targets:
        return Delivery(Outcome.REJECTED, "no Zalo follower: no recipient has a zalo_user_id and user_ids is empty")
    secret_key = await reveal(settings.secret_key, "the Zalo app secret key")
    if isinstance(secret_key, Delivery):
        return secret_key
    refresh = await reveal(settings.refresh_token, "the Zalo refresh token")
    if isinstance(refresh, Delivery):
        return refresh
    attempt = _Attempt(ctx, settings, secret_key, refresh, state_for(settings))
    try:
        sent = await _sent(attempt.state)
    except OSError as exc:
        return Delivery(Outcome.RETRY, f"the Zalo sent-journal {attempt.state.journal} cannot be read: {exc.strerror}")
    pending = [user for user in targets if (notification.key, user) not in sent]
    if not pending:
        return Delivery(Outcome.DELIVERED, f"all {len(targets)} follower(s) already have it")
    token = await _access_token(attempt, failed=None)
    if isinstance(token, Delivery):
        return token
    text = message_text(notification)
    results = await asyncio.gather(*(_send_to(attempt, token, notification.key, user, text) for user in pending))
    return _overall(len(targets), dict(zip(pending, results, strict=True)))


async def _sent(state: ZaloState) -> dict[tuple[str, str], float]:
    if state.sent is None:
        async with state.lock:
            if state.sent is None:
                state.sent = await asyncio.to_thread(state.load_journal, time.time())
    return state.sent


def _overall(total: int, results: dict[str, Delivery]) -> Delivery:
    failed = {user: d for user, d in results.items() if d.outcome is not Outcome.DELIVERED}
    notes = [f"user {user}: {d.detail}" for user, d in results.items() if d.detail and d not in failed.values()]
    if not failed:
        return Delivery(Outcome.DELIVERED, "; ".join([f"delivered to {len(results)} of {total} follower(s)", *notes]))
    summary = f"{total - len(failed)} of {total} follower(s) have it"
    detail = "; ".join([summary, *(f"user {user}: {d.detail}" for user, d in failed.items()), *notes])
    retries = [d for d in failed.values() if d.outcome is Outcome.RETRY]
    if retries:
        waits = [d.retry_after for d in retries if d.retry_after is not None]
        return Delivery(Outcome.RETRY, detail, max(waits) if waits else None)
    return Delivery(Outcome.REJECTED, detail)


async def _send_to(attempt: _Attempt, token: str, key: str, user: str, text: str) -> Delivery:
    delivery, invalid_token = await _call(attempt, token, user, text)
    if invalid_token:
        # Zalo says the token is invalid or expired before we thought: refresh once (unless a concurrent send
        # already did) and try again with the new one.
        fresh = await _access_token(attempt, failed=token)
        if isinstance(fresh, Delivery):
            return fresh
        delivery, invalid_token = await _call(attempt, fresh, user, text)
        if invalid_token:
            return Delivery(Outcome.RETRY, f"{delivery.detail} (even after a refresh)")
    if delivery.outcome is not Outcome.DELIVERED:
        return delivery
    state, moment = attempt.state, time.time()
    try:
        async with state.lock:
            await asyncio.to_thread(state.append_journal, key, user, moment)
            assert state.sent is not None
            state.sent[(key, user)] = moment
            if state.journal_lines > JOURNAL_LINES:
                await asyncio.to_thread(state.compact_journal, state.sent, moment)
    except OSError as exc:
        # Zalo has it; without the journal line a retry after a restart could send it twice, but it is there.
        log.error("zalo: the sent-journal %s cannot be written (%s)", state.journal, exc.strerror)
        return Delivery(Outcome.DELIVERED, f"sent, but the journal {state.journal} failed: {exc.strerror}")
    return delivery


async def _call(attempt: _Attempt, token: str, user: str, text: str) -> tuple[Delivery, bool]:
    """One message/cs; the flag says Zalo refused the access token (refresh and try again)."""
    hide = attempt.hide(token)
    body = json.dumps({"recipient": {"user_id": user}, "message": {"text": text}}, ensure_ascii=False).encode()
    url = f"{attempt.settings.api_url.rstrip('/')}/v3.0/oa/message/cs"
    headers = {"Content-Type": "application/json", "access_token": token}
    reply = await _http.post(attempt.ctx, url, body, headers, hide=hide)
    if isinstance(reply, Delivery):
        return reply, False
    answer = reply.json()
    answer = answer if isinstance(answer, dict) else {}
    code = answer.get("error")
    said = f"Zalo answered {code if code is not None else reply.status}: "
    said = redact(said + str(answer.get("message") or reply.excerpt() or reply.reason), *hide)
    if reply.status == 401 or code in TOKEN_INVALID:
        return Delivery(Outcome.RETRY, said), True
    if reply.status == 429 or code == RATE_LIMITED:
        wait = reply.retry_after or RATE_LIMIT_WAIT
        return Delivery(Outcome.RETRY, f"{said} (retry after {wait:g} s)", wait), False
    if reply.status >= 500 or reply.status == 408:
        return Delivery(Outcome.RETRY, said), False
    if 200 <= reply.status < 300 and code == 0:
        return Delivery(Outcome.DELIVERED), False
    if code == USER_QUOTA:
        return Delivery(Outcome.RETRY, f"{said} (retry after {USER_QUOTA_WAIT:g} s)", USER_QUOTA_WAIT), False
    if code in NOT_REACHABLE:
        fix = "the technician must follow the OA and send it a message, then Zalo lets the OA reply"
        return Delivery(Outcome.REJECTED, f"{said}; {fix}"), False
    if not isinstance(code, int):
        if reply.status >= 300:
            return _http.by_status(reply, "Zalo", hide=hide), False
        # A 2xx without Zalo's answer (a proxy's page?): not known to be delivered, so try again.
        return Delivery(Outcome.RETRY, f"Zalo answered {reply.status} without an error code: {said}"), False
    return Delivery(Outcome.REJECTED, said), False


async def _access_token(attempt: _Attempt, *, failed: str | None) -> str | Delivery:
    """A usable access token: the stored one while it lasts, else (or when ``failed`` was refused) a new one."""
    state = attempt.state
    async with state.lock:
        if state.tokens is None:
            try:
                state.tokens = await asyncio.to_thread(state.load_tokens)
            except ValueError as exc:
                return Delivery(Outcome.REJECTED, f"{exc}; remove it and put a fresh refresh_token in the inventory")
        seed = _fingerprint(attempt.configured_refresh)
        if state.tokens.seed != seed:
            # First start, or an operator put a new refresh token into the inventory: it supersedes the file's.
            state.tokens = _Tokens(refresh_token=attempt.configured_refresh, seed=seed)
        if state.unsaved:
            await _save(state)
        tokens = state.tokens
        if tokens.access_token is not None and time.time() < tokens.expires_at and tokens.access_token != failed:
            return tokens.access_token
        return await _refresh(attempt, tokens)


async def _refresh(attempt: _Attempt, tokens: _Tokens) -> str | Delivery:
    """Trade the refresh token for a new pair; the new refresh token is on disk before anything uses it."""
    assert tokens.refresh_token is not None
    hide = attempt.hide()
    form = {"refresh_token": tokens.refresh_token, "app_id": attempt.settings.app_id, "grant_type": "refresh_token"}
    url = f"{attempt.settings.oauth_url.rstrip('/')}/v4/oa/access_token"
    headers = {"Content-Type": "application/x-www-form-urlencoded", "secret_key": attempt.secret_key}
    reply = await _http.post(attempt.ctx, url, urlencode(form).encode(), headers, hide=hide)
    if isinstance(reply, Delivery):
        return Delivery(reply.outcome, f"refreshing the Zalo access token: {reply.detail}", reply.retry_after)
    answer = reply.json()
    answer = answer if isinstance(answer, dict) else {}
    access, rotated = answer.get("access_token"), answer.get("refresh_token")
    if reply.status == 429 or reply.status >= 500 or reply.status == 408:
        shown = redact(reply.excerpt(), *hide)
        return Delivery(Outcome.RETRY, f"Zalo's OAuth server answered {reply.status}: {shown}", reply.retry_after)
    if not (isinstance(access, str) and access and isinstance(rotated, str) and rotated):
        reason = answer.get("error_description") or answer.get("error_name") or answer.get("message")
        said = redact(f"Zalo refused the token refresh ({answer.get('error', reply.status)}: {reason})", *hide)
        fix = "check app_id and secret_key, or obtain a new refresh token for the OA (README: Zalo)"
        return Delivery(Outcome.REJECTED, f"{said}; {fix}")
    try:
        lifetime = float(answer.get("expires_in", 0))
    except (TypeError, ValueError):
        lifetime = 0.0
    state = attempt.state
    state.tokens = _Tokens(
        access_token=access,
        expires_at=time.time() + max(0.0, lifetime - EXPIRY_MARGIN),
        refresh_token=rotated,
        seed=tokens.seed,
    )
    state.refreshes += 1
    state.unsaved = True
    await _save(state)
    return access


async def _save(state: ZaloState) -> None:
    """Write the tokens; on failure keep them in memory, try again at the next send and say what is at risk."""
    assert state.tokens is not None
    try:
        await asyncio.to_thread(state.save_tokens, state.tokens)
    except OSError as exc:
        # Zalo retired the old refresh token already: the new one lives only in this process until this works.
        log.error(
            "zalo: the rotated refresh token cannot be saved to %s (%s); fix it now, a restart loses the token",
            state.path,
            exc.strerror,
        )
    else:
        state.unsaved = False
