"""jitsi driver against a local server answering like jitsi-videobridge 2.3: health, stats, drain, faults."""

from __future__ import annotations

from typing import Any

import pytest

from probes import ProbeKind
from probes.core.context import ProbeContext
from probes.core.result import ProbeResult, Reason
from probes.runner import run_probe
from probes.vc import jitsi
from tests.fake_codecs import Codec, jitsi_app, serve

KIND = ProbeKind(jitsi.KIND, jitsi.JitsiSettings, jitsi.probe)


async def _check(codec: Codec, timeout: float = 5.0, **settings: Any) -> ProbeResult:
    async with serve(jitsi_app(codec)) as port:
        # No shared session: the CLI's way; the probe makes and closes its own (warnings are errors here).
        return await run_probe(
            KIND, f"127.0.0.1:{port}", jitsi.JitsiSettings.model_validate(settings), ctx=ProbeContext(), timeout=timeout
        )


IDLE: dict[str, float] = {"up": 1, "conferences": 0, "participants": 0, "stress_level": 0}
CASES: list[tuple[str, Codec, dict[str, Any], tuple[bool, Reason], dict[str, float]]] = [
    # (id, bridge, settings, (success, reason), values)
    ("idle", Codec(), {}, (True, Reason.OK), IDLE),
    (
        "hosting-a-conference",  # a bridge's normal work, not "busy"
        Codec(in_call=True),
        {},
        (True, Reason.OK),
        {"up": 1, "conferences": 1, "participants": 3, "stress_level": 0.04},
    ),
    ("unhealthy", Codec(healthy=False), {}, (False, Reason.NOT_READY), IDLE),
    ("draining", Codec(draining=True), {}, (False, Reason.NOT_READY), IDLE),
    ("stats-disabled", Codec(stats_enabled=False), {}, (True, Reason.OK), {"up": 1}),
    ("stats-required", Codec(stats_enabled=False), {"require_stats": True}, (False, Reason.BAD_STATUS), {"up": 1}),
    ("malformed-json", Codec(body=b"{conferences: 1}"), {}, (False, Reason.PROTOCOL_ERROR), {"up": 1}),
    ("not-an-object", Codec(body=b"[1, 2]"), {}, (False, Reason.PROTOCOL_ERROR), {"up": 1}),
    ("oversized", Codec(body=b"[" + b"0," * (2 << 20) + b"0]"), {}, (False, Reason.BODY_TOO_LARGE), {"up": 1}),
]


@pytest.mark.parametrize(("codec", "settings", "verdict", "values"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
async def test_bridge_states(
    codec: Codec, settings: dict[str, Any], verdict: tuple[bool, Reason], values: dict[str, float]
) -> None:
    """Health and drain decide readiness; conferences are reported, never read as "in a call"."""
    result = await _check(codec, **settings)
    assert (result.success, result.reason) == verdict, result.detail
    got = {k: v for k, v in result.values.items() if k != "response_seconds"}
    assert got == pytest.approx(values)
    assert "in_call" not in result.values
    if verdict[0]:
        assert result.values["response_seconds"] > 0


async def test_version_is_reported() -> None:
    """The bridge's version goes to info, for the board and the logs."""
    result = await _check(Codec())
    assert result.info["software"] == "2.3.105-ge155b81e"


async def test_slow_bridge_times_out() -> None:
    """A bridge that does not answer in time is TIMEOUT from the runner, not a hang."""
    result = await _check(Codec(slow=30), timeout=0.5)
    assert (result.success, result.reason) == (False, Reason.TIMEOUT)
