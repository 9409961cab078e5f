"""Who is in a running meeting, and with what media: one site's call as its codec and the bridges report it.

    call = site_call(codec_reports, bridge_legs, bridges_answered=1)     what one poll says of one site
    events = attendance.observe(call, now, limits)                       joined / left / rejoined / poor / recovered

Pure functions and small records, no I/O: the meeting watch (monitor/readiness/watch.py) polls and stores.

A site is *connected* when its codec reports a connected call, or a bridge lists a connected participant matched
to it; *not connected* when its codec answered without such a call or a bridge answered without it; *unknown*
when nothing could tell (no reader, every read failed). Only definite answers move attendance: a codec that fails
one poll neither drops a site out nor, when it answers again, counts as a rejoin.

Media quality is *good* only when the call reports loss or jitter and every reported value is within the limits;
*poor* when one is beyond them; *unknown* otherwise (no statistics, or the site is not connected): a site whose
codec does not report media is never shown as good (issue 18). A poll where nothing answered, or a connected
call without statistics this time, leaves the quality as last measured: a failed read neither recovers poor
media nor starts a new episode.
"""

from __future__ import annotations

import unicodedata
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from probes.vc.media import CallReport, MediaStats, Participant

Quality = Literal["good", "poor", "unknown"]
EventKind = Literal["joined", "left", "rejoined", "poor_media", "media_recovered"]
EVENTS_KEPT = 50  # per site and occurrence: a flapping call must not grow the record without bound
_SCHEMES = ("sip:", "sips:", "h323:", "tel:", "h323://")


def match_key(text: str) -> str:
    """An address or a display name as compared: NFC, case folded, a URI scheme and spaces at the ends dropped."""
    key = unicodedata.normalize("NFC", text).strip().casefold()
    for scheme in _SCHEMES:
        if key.startswith(scheme):
            return key[len(scheme) :]
    return key


@dataclass(frozen=True, slots=True)
class Limits:
    loss: float  # ratio
    jitter: float  # seconds
    loss_critical: float


@dataclass(frozen=True, slots=True)
class SiteCall:
    """What one poll says of one site."""

    connected: bool | None  # None: nothing could tell
    remote: str | None = None  # the far end (codec) or the participant's address (bridge)
    media: tuple[MediaStats, ...] = ()
    source: str | None = None  # "codec:ID" or "bridge:ID": who said it


def _connected(participants: Iterable[Participant]) -> Participant | None:
    return next((p for p in participants if p.connected), None)


def site_call(
    codec_reports: Sequence[tuple[str, CallReport | None]],
    bridge_legs: Sequence[tuple[str, Participant]],
    *,
    bridges_answered: int,
) -> SiteCall:
    """One site's call from its codecs' reports (None: that read failed) and the bridge legs matched to it.

    ``bridges_answered``: how many bridges answered this poll (a bridge that answered without the site's leg
    says the site is not in its conference).
    """
    answered = False
    for codec_id, report in codec_reports:
        if report is None:
            continue
        answered = True
        found = _connected(report.participants)
        if found is not None:
            media = found.media
            if not media:  # the codec gives no statistics: the bridge's view of the same call may
                leg = next((p for _, p in bridge_legs if p.connected and p.media), None)
                media = leg.media if leg is not None else ()
            return SiteCall(True, found.remote, media, f"codec:{codec_id}")
    for bridge_id, leg in bridge_legs:
        if leg.connected:
            return SiteCall(True, leg.remote, leg.media, f"bridge:{bridge_id}")
    if answered or bridges_answered:
        return SiteCall(False)
    return SiteCall(None)


def quality(call: SiteCall, limits: Limits) -> tuple[Quality, tuple[MediaStats, ...]]:
    """The call's quality and the channels beyond the limits (worst loss first)."""
    if call.connected is not True:
        return "unknown", ()
    measured = [m for m in call.media if m.loss_ratio is not None or m.jitter_seconds is not None]
    if not measured:
        return "unknown", ()
    poor = [
        m
        for m in measured
        if (m.loss_ratio is not None and m.loss_ratio > limits.loss)
        or (m.jitter_seconds is not None and m.jitter_seconds > limits.jitter)
    ]
    poor.sort(key=lambda m: (-(m.loss_ratio or 0.0), -(m.jitter_seconds or 0.0), m.direction, m.kind))
    return ("poor" if poor else "good"), tuple(poor)


def media_json(media: Iterable[MediaStats]) -> list[dict[str, Any]]:
    return [
        {
            "direction": m.direction,
            "kind": m.kind,
            "loss_ratio": m.loss_ratio,
            "jitter_seconds": m.jitter_seconds,
            "rate_bps": m.rate_bps,
        }
        for m in media
    ]


@dataclass(slots=True)
class Attendance:
    """One expected site in one running occurrence: its attendance, media and events so far."""

    site_id: str
    connected: bool | None = None  # as of the last poll (None: unknown)
    present: bool | None = None  # the last definite answer (moves the events)
    joined_at: float | None = None  # first joined
    last_joined_at: float | None = None
    left_at: float | None = None  # last left (kept after a rejoin: "rời lúc 07:42, vào lại lúc 07:45")
    rejoins: int = 0
    remote: str | None = None
    source: str | None = None
    media: tuple[MediaStats, ...] = ()
    quality: Quality = "unknown"
    poor: tuple[MediaStats, ...] = ()
    poor_since: float | None = None
    worst: dict[str, dict[str, float]] = field(default_factory=dict)  # "rx/audio" → {"loss_ratio", "jitter_seconds"}
    events: deque[tuple[float, EventKind]] = field(default_factory=lambda: deque(maxlen=EVENTS_KEPT))
    observed_at: float = 0.0

    def observe(self, call: SiteCall, now: float, limits: Limits) -> list[EventKind]:
        """Take one poll's answer; the events it makes, in order."""
        happened: list[EventKind] = []
        self.connected, self.observed_at = call.connected, now
        if call.connected is True and self.present is not True:
            if self.joined_at is None:
                self.joined_at = now
                happened.append("joined")
            elif self.present is False:
                self.rejoins += 1
                happened.append("rejoined")
            self.last_joined_at = now
        elif call.connected is False and self.present is True:
            self.left_at = now
            happened.append("left")
        if call.connected is not None:
            self.present = call.connected
        if call.connected is True:
            self.remote, self.source, self.media = call.remote, call.source, call.media
            self._worst(call.media)
        elif call.connected is False:
            self.media = ()
        else:  # nothing answered: the media is as it was (a failed read is no recovery, nor a new problem)
            self.events.extend((now, kind) for kind in happened)
            return happened
        was_poor = self.quality == "poor"
        found, beyond = quality(call, limits)
        if found == "unknown" and call.connected and self.quality != "unknown":
            # Connected, but no statistics this poll (the bridge's read failed, the codec skipped them): the
            # quality is as last measured, not recovered. A codec that never reports media stays unknown.
            found, beyond = self.quality, self.poor
        self.quality, self.poor = found, beyond
        if self.quality == "poor" and not was_poor:
            self.poor_since = now
            happened.append("poor_media")
        elif was_poor and self.quality != "poor":
            self.poor_since = None
            if call.connected:  # a site that left has not recovered; "left" says what happened
                happened.append("media_recovered")
        self.events.extend((now, kind) for kind in happened)
        return happened

    def _worst(self, media: Iterable[MediaStats]) -> None:
        for m in media:
            worst = self.worst.setdefault(f"{m.direction}/{m.kind}", {})
            for name, value in (("loss_ratio", m.loss_ratio), ("jitter_seconds", m.jitter_seconds)):
                if value is not None and value > worst.get(name, -1.0):
                    worst[name] = value

    def to_json(self) -> dict[str, Any]:
        return {
            "site": self.site_id,
            "connected": self.connected,
            "present": self.present,
            "joined_at": self.joined_at,
            "last_joined_at": self.last_joined_at,
            "left_at": self.left_at,
            "rejoins": self.rejoins,
            "remote": self.remote,
            "source": self.source,
            "quality": self.quality,
            "media": media_json(self.media),
            "poor": media_json(self.poor),
            "worst": self.worst,
            "events": [{"at": at, "event": kind} for at, kind in self.events],
            "observed_at": self.observed_at,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Attendance:
        """A stored record (after a restart): attendance and events carry on; media waits for the next poll."""
        found = cls(str(data["site"]))
        found.present = data.get("present")
        found.joined_at = data.get("joined_at")
        found.last_joined_at = data.get("last_joined_at")
        found.left_at = data.get("left_at")
        found.rejoins = int(data.get("rejoins") or 0)
        found.remote = data.get("remote")
        found.worst = {k: dict(v) for k, v in (data.get("worst") or {}).items()}
        found.events.extend((float(e["at"]), e["event"]) for e in data.get("events") or ())
        return found
