"""cisco-xapi driver against a local server replaying RoomOS /Status documents: each device state, each fault."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from probes import ProbeKind
from probes.core.context import ProbeContext
from probes.core.result import ProbeResult, Reason
from probes.runner import run_probe
from probes.vc import cisco_xapi
from tests.fake_codecs import BILLION_LAUGHS, DOCTYPE_ONLY, EXTERNAL_ENTITY, Codec, cisco_app, serve

KIND = ProbeKind(cisco_xapi.KIND, cisco_xapi.CiscoXapiSettings, cisco_xapi.probe)
IDLE = {
    "up": 1.0,
    "registered": 1.0,
    "in_call": 0.0,
    "standby": 0.0,
    "uptime": 356_400.0,
    "peripheral_camera": 1.0,
    "peripheral_microphone": 1.0,
    "microphone_muted": 0.0,
}


@pytest.fixture
def secret_file(tmp_path: Path) -> Path:
    path = tmp_path / "vcs.secret"
    path.write_text(f"{Codec().user}:{Codec().password}\n")  # written by `echo`: trailing newline
    return path


async def check(codec: Codec, secret: Path, ctx: ProbeContext, timeout: float = 5.0, **extra: Any) -> ProbeResult:
    settings = cisco_xapi.CiscoXapiSettings.model_validate(
        {"scheme": "http", "credentials": {"file": str(secret)}, **extra}
    )
    async with serve(cisco_app(codec)) as port:
        return await run_probe(KIND, f"127.0.0.1:{port}", settings, ctx=ctx, timeout=timeout)


STATES: list[tuple[str, dict[str, Any], tuple[bool, Reason], dict[str, float]]] = [
    # (id, codec state, (success, reason), values that differ from IDLE)
    ("registered-idle", {}, (True, Reason.OK), {}),
    ("unregistered", {"registered": False}, (False, Reason.NOT_REGISTERED), {"registered": 0.0}),
    ("in-a-call", {"in_call": True}, (False, Reason.ENDPOINT_BUSY), {"in_call": 1.0}),
    ("camera-disconnected", {"camera": False}, (False, Reason.PERIPHERAL_MISSING), {"peripheral_camera": 0.0}),
    ("microphone-missing", {"microphone": False}, (False, Reason.PERIPHERAL_MISSING), {"peripheral_microphone": 0.0}),
    ("microphone-muted", {"muted": True}, (True, Reason.MICROPHONE_MUTED), {"microphone_muted": 1.0}),
    ("in-standby", {"standby": "Standby"}, (True, Reason.OK), {"standby": 1.0}),
    ("halfwake-is-awake", {"standby": "Halfwake"}, (True, Reason.OK), {}),
    ("old-tc-layout", {"old_tc_layout": True}, (True, Reason.OK), {}),
    (
        "unregistered-and-busy",
        {"registered": False, "in_call": True},
        (False, Reason.NOT_REGISTERED),
        {"registered": 0.0, "in_call": 1.0},
    ),
]


@pytest.mark.parametrize(("state", "verdict", "changed"), [s[1:] for s in STATES], ids=[s[0] for s in STATES])
async def test_device_states(
    state: dict[str, Any], verdict: tuple[bool, Reason], changed: dict[str, float], secret_file: Path, ctx: ProbeContext
) -> None:
    """Each state the codec reports becomes its value and the readiness verdict, with the first fix as reason."""
    result = await check(Codec(**state), secret_file, ctx)
    assert (result.success, result.reason) == verdict, result.detail
    values = dict(result.values)
    assert values.pop("response_seconds") > 0
    assert values == IDLE | changed
    assert result.info["software"] == "ce9.15.3.17"
    assert result.info["product"] == "Cisco Webex Room Kit"


async def test_detail_lists_every_problem(secret_file: Path, ctx: ProbeContext) -> None:
    """The technician sees all that is wrong at once, not one problem per probe interval."""
    result = await check(Codec(registered=False, in_call=True, camera=False), secret_file, ctx)
    assert "not registered (SIP Failed; H.323 Inactive)" in result.detail
    assert "already in a call" in result.detail
    assert "no camera connected" in result.detail


async def test_unreported_fields_are_absent(secret_file: Path, ctx: ProbeContext) -> None:
    """A codec that reports only its uptime gives no registered/in_call/peripheral values: unknown, never ok."""
    codec = Codec(body=b"<Status><SystemUnit><Uptime>42</Uptime></SystemUnit></Status>")
    result = await check(codec, secret_file, ctx)
    assert result.success, result.detail
    assert set(result.values) == {"up", "response_seconds", "uptime"}
    assert result.values["uptime"] == 42


async def test_require_registration_false(secret_file: Path, ctx: ProbeContext) -> None:
    """A codec dialled by IP only: unregistered is reported but does not make it unready."""
    result = await check(Codec(registered=False), secret_file, ctx, require_registration=False)
    assert result.success, result.detail
    assert result.values["registered"] == 0.0


FAULTS = [
    # (id, codec, reason, words in the detail)
    ("wrong-password", Codec(password="other"), Reason.AUTH_FAILED, "check the user and password"),
    ("malformed-xml", Codec(body=b"<Status><SystemUnit>"), Reason.PROTOCOL_ERROR, "malformed XML"),
    ("html-login-page", Codec(body=b"<html><body>Login</body></html>"), Reason.PROTOCOL_ERROR, "<Status>"),
    ("billion-laughs", Codec(body=BILLION_LAUGHS), Reason.PROTOCOL_ERROR, "DTD or entities"),
    ("external-entity", Codec(body=EXTERNAL_ENTITY), Reason.PROTOCOL_ERROR, "DTD or entities"),
    ("doctype", Codec(body=DOCTYPE_ONLY), Reason.PROTOCOL_ERROR, "DTD or entities"),
    ("oversized", Codec(body=b"<Status>" + b" " * (3 << 20) + b"</Status>"), Reason.BODY_TOO_LARGE, "max_body_size"),
    (
        "oversized-chunked",
        Codec(body=b"<Status>" + b" " * (3 << 20) + b"</Status>", chunked=True),
        Reason.BODY_TOO_LARGE,
        "max_body_size",
    ),
]


@pytest.mark.parametrize(("codec", "reason", "words"), [f[1:] for f in FAULTS], ids=[f[0] for f in FAULTS])
async def test_faults(codec: Codec, reason: Reason, words: str, secret_file: Path, ctx: ProbeContext) -> None:
    """A device that answers wrongly is up (it answered) but not ready, with a reason that says why; no expansion."""
    result = await check(codec, secret_file, ctx)
    assert (result.success, result.reason) == (False, reason), result.detail
    assert words in result.detail
    assert result.values["up"] == 1.0
    assert "registered" not in result.values


async def test_basic_auth_and_location(secret_file: Path, ctx: ProbeContext) -> None:
    """One request for the whole /Status tree, the password read from the file without its newline."""
    codec = Codec()
    result = await check(codec, secret_file, ctx)
    assert result.success, result.detail
    assert codec.requests == ["/getxml?location=/Status"]


# Diagnostics/Message entries in the shape recorded codecs answer (tests/conformance/SOURCES.md).
MIC_GONE = ("MicrophoneDisconnected", "Error", "Microphone 1 is disconnected")
DIAGNOSTICS: list[tuple[str, dict[str, Any], tuple[bool, Reason], dict[str, float], str]] = [
    # (id, codec state, (success, reason), values that differ from IDLE, words in the detail)
    ("microphone", {"diagnostics": [MIC_GONE]}, (False, Reason.PERIPHERAL_MISSING),
     {"peripheral_microphone": 0.0}, "microphone: Microphone 1 is disconnected (MicrophoneDisconnected, Error)"),
    ("microphone-under-systemunit", {"diagnostics": [MIC_GONE], "diagnostics_in_system_unit": True},
     (False, Reason.PERIPHERAL_MISSING), {"peripheral_microphone": 0.0}, "MicrophoneDisconnected"),
    ("camera", {"diagnostics": [("CameraDetected", "Critical", "No camera detected")]},
     (False, Reason.PERIPHERAL_MISSING), {"peripheral_camera": 0.0}, "camera: No camera detected"),
    ("network", {"diagnostics": [("NetLinkStatus", "Error", "Ethernet link is down or half duplex")]},
     (False, Reason.NETWORK_FAULT), {}, "network: Ethernet link is down or half duplex (NetLinkStatus, Error)"),
    ("temperature", {"diagnostics": [("TemperatureCheck", "Error", "The system temperature is too high")]},
     (False, Reason.OVERHEATING), {}, "temperature: The system temperature is too high"),
    ("warning-is-no-fault", {"diagnostics": [("NetworkQuality", "Warning", "Packet loss detected")]},
     (True, Reason.OK), {}, "ready"),
    ("other-types-are-no-fault", {"diagnostics": [("ValidPasswords", "Critical", "A user has no passphrase"),
                                                  ("ProvisioningStatus", "Error", "Provisioning failed.")]},
     (True, Reason.OK), {}, "ready"),
    ("peripherals-before-device-faults",
     {"diagnostics": [("TemperatureCheck", "Error", "Too hot"), MIC_GONE]},
     (False, Reason.PERIPHERAL_MISSING), {"peripheral_microphone": 0.0}, "temperature: Too hot"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("state", "verdict", "changed", "words"), [d[1:] for d in DIAGNOSTICS], ids=[d[0] for d in DIAGNOSTICS]
)
async def test_diagnostics(
    state: dict[str, Any],
    verdict: tuple[bool, Reason],
    changed: dict[str, float],
    words: str,
    *,
    secret_file: Path,
    ctx: ProbeContext,
) -> None:
    """The codec's own diagnostics name faults its other branches do not show (issue 15: a disconnected microphone
    reported only there); severe microphone, camera, network and temperature messages each get their reason."""
    result = await check(Codec(**state), secret_file, ctx)
    assert (result.success, result.reason) == verdict, result.detail
    values = dict(result.values)
    values.pop("response_seconds")
    assert values == IDLE | changed
    assert words in result.detail
    for kind, level, _ in state["diagnostics"]:
        assert f"{level} {kind}" in result.info["diagnostics"]
