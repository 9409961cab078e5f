"""Text made safe for both databases (monitor/storage/safe_text.py): what becomes of NUL, surrogates and length."""

from __future__ import annotations

import pytest

from monitor.storage.safe_text import clean_json, clean_text


@pytest.mark.parametrize(
    ("given", "length", "expected"),
    [
        ("Xã Tân Thịnh", None, "Xã Tân Thịnh"),
        ("SIP/2.0 486 Busy\x00Here", None, "SIP/2.0 486 Busy\ufffdHere"),
        ("\x00\x00", None, "\ufffd\ufffd"),
        ("a\ud800b", None, "a\ufffdb"),
        ("a\udfffb", None, "a\ufffdb"),
        ("\ud83d\ude00 ok", None, "😀 ok"),
        ("\ude00\ud83d", None, "\ufffd\ufffd"),
        ("x" * 300, 200, "x" * 200),
        ("ấp" * 150, 200, "ấp" * 100),
    ],
    ids=["vietnamese-unchanged", "nul", "only-nul", "lone-high", "lone-low", "pair-joined", "pair-reversed",
         "cut-to-length", "cut-counts-characters"],
)  # fmt: skip
def test_clean_text(given: str, length: int | None, expected: str) -> None:
    """What PostgreSQL or the drivers refuse becomes U+FFFD; valid text, Vietnamese included, passes unchanged."""
    cleaned = clean_text(given, length)
    assert cleaned == expected
    cleaned.encode("utf-8")  # every driver can send it


def test_clean_json_cleans_keys_and_nested_values() -> None:
    """Readiness reasons are JSON with device answers inside: every string in them, keys too, is cleaned."""
    given = {"a\x00": [{"message": "x\ud800"}, 1, None, 2.5, True], "ok": "Chưa sẵn sàng"}
    assert clean_json(given) == {"a\ufffd": [{"message": "x\ufffd"}, 1, None, 2.5, True], "ok": "Chưa sẵn sàng"}
