"""One site's attendance in words, in Vietnamese and English: the board, the CLI and the API say the same.

    state, sentence = describe(record, tz, "vi")     ("left", "rời cuộc họp lúc 07:42")

``record`` is an attendance record (monitor/readiness/attendance.py, ``Attendance.to_json()``); ``state`` one of
STATES, worst first: left (dropped out), missing (not joined), poor (connected, media beyond the limits),
unknown (nothing could tell), connected (with good or unknown media; unknown media is said, never "good").
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from monitor.i18n import Locale, number

STATES = ("left", "missing", "poor", "unknown", "connected")

TEXTS: dict[Locale, dict[str, str]] = {
    "vi": {
        "left": "rời cuộc họp lúc {left}",
        "missing": "chưa vào cuộc họp",
        "unknown": "không rõ: thiết bị hội nghị và cầu hội nghị không cho biết",
        "joined": "đã vào lúc {joined}",
        "rejoined": "vào lại lúc {joined} (đã rời lúc {left}, {rejoins} lần)",
        "good": "hình và tiếng tốt",
        "media_unknown": "chất lượng hình và tiếng không rõ (thiết bị không báo)",
        "poor": "hình và tiếng kém: mất gói {loss}% {kind} chiều {direction}, độ dao động trễ {jitter} ms",
        "rx": "vào",
        "tx": "ra",
        "audio": "âm thanh",
        "video": "hình ảnh",
        "no_value": "không rõ",
    },
    "en": {
        "left": "left the meeting at {left}",
        "missing": "has not joined the meeting",
        "unknown": "unknown: neither the room system nor the bridge tells",
        "joined": "joined at {joined}",
        "rejoined": "rejoined at {joined} (left at {left}, {rejoins} times)",
        "good": "good picture and sound",
        "media_unknown": "picture and sound quality unknown (the device does not report it)",
        "poor": "poor picture and sound: {loss}% {kind} packet loss {direction}, jitter {jitter} ms",
        "rx": "in",
        "tx": "out",
        "audio": "audio",
        "video": "video",
        "no_value": "unknown",
    },
}


def _clock(moment: float | None, tz: ZoneInfo) -> str:
    return f"{datetime.fromtimestamp(moment, tz):%H:%M}" if moment is not None else "?"


def state_of(record: Mapping[str, Any]) -> str:
    if record.get("connected") is None and record.get("present") is None:
        return "unknown"
    if record.get("present") is False or record.get("connected") is False:
        return "left" if record.get("joined_at") is not None else "missing"
    if record.get("connected") is None:
        return "unknown"
    return "poor" if record.get("quality") == "poor" else "connected"


def describe(record: Mapping[str, Any], tz: ZoneInfo, locale: Locale) -> tuple[str, str]:
    """(state, sentence) of one site's record."""
    words = TEXTS[locale]
    state = state_of(record)
    times = {"joined": _clock(record.get("last_joined_at"), tz), "left": _clock(record.get("left_at"), tz)}
    if state == "left":
        return state, words["left"].format(**times)
    if state == "missing":
        return state, words["missing"]
    if state == "unknown":
        return state, words["unknown"]
    rejoins = int(record.get("rejoins") or 0)
    joined = words["rejoined"].format(rejoins=rejoins, **times) if rejoins else words["joined"].format(**times)
    if state == "poor":
        worst = record["poor"][0] if record.get("poor") else {}
        loss, jitter = worst.get("loss_ratio"), worst.get("jitter_seconds")
        media = words["poor"].format(
            loss=number(loss * 100, locale) if loss is not None else words["no_value"],
            jitter=number(jitter * 1000, locale) if jitter is not None else words["no_value"],
            kind=words.get(str(worst.get("kind")), "?"),
            direction=words.get(str(worst.get("direction")), "?"),
        )
    else:
        media = words["good"] if record.get("quality") == "good" else words["media_unknown"]
    return state, f"{joined}; {media}"
