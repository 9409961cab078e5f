"""A codec that names its own network or temperature fault (Cisco diagnostics) gets its own alert and readiness text.

The path end to end: the cisco-xapi driver against a local RoomOS replay (tests/fake_codecs.py) whose diagnostics
report NetLinkStatus or TemperatureCheck → ProbeResult reason network_fault / overheating → the alert rule
endpoint_down with that fault → a message saying what it is and what to do (alerts/texts.py FAULT_TEXTS), not
"does not answer"; and → the readiness reason endpoint_network_fault / endpoint_overheating. In vi and en.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from alerts.catalog import RULES
from alerts.rules import evaluate_rules
from alerts.templates import EVENTS, AlertView, render_alert
from monitor.config.loader import load_config_text
from monitor.config.models import Config
from monitor.engine.state import State
from monitor.engine.targets import targets_from_config
from monitor.readiness.checks import SiteProbes, evaluate_site
from probes.core.context import ProbeContext
from probes.core.result import ProbeResult, Reason
from tests.fake_codecs import Codec
from tests.test_readiness_checks import MEETING, SITE
from tests.test_vc_cisco import check
from tests.test_vi_texts import english_words

INVENTORY = """\
district: {name: "Huyện Định Hoá", locale: LOCALE}
sites:
  - {id: hub, name: "UBND huyện Định Hoá", link: {address: 192.0.2.1}}
  - id: tan-thinh
    name: "Xã Tân Thịnh"
    parent: hub
    link: {address: 198.51.100.21}
    endpoints: [{id: tt-room, kind: cisco-xapi, address: 203.0.113.21, credentials: {env: CISCO}}]
"""
FAULTS: dict[str, tuple[tuple[str, str, str], Reason]] = {
    "network": (("NetLinkStatus", "Error", "Ethernet link is down or half duplex"), Reason.NETWORK_FAULT),
    "temperature": (("TemperatureCheck", "Error", "The system temperature is too high"), Reason.OVERHEATING),
}
# What each message must say, per locale: the fault named and the first thing to check.
EXPECTED = {
    ("network", "vi"): ("báo sự cố mạng", "bộ chuyển mạch (tốc độ, song công)"),
    ("network", "en"): ("reports a network fault", "switch port (speed, duplex)"),
    ("temperature", "vi"): ("bị quá nhiệt", "Kiểm tra quạt và khe thoát gió"),
    ("temperature", "en"): ("is overheating", "Check the device's fans and vents"),
}
READINESS = {"network": "endpoint_network_fault", "temperature": "endpoint_overheating"}


@pytest.fixture
def secret_file(tmp_path: Path) -> Path:
    path = tmp_path / "vcs.secret"
    path.write_text(f"{Codec().user}:{Codec().password}\n")
    return path


async def codec_result(fault: str, secret: Path, ctx: ProbeContext) -> ProbeResult:
    diagnostic, reason = FAULTS[fault]
    result = await check(Codec(diagnostics=[diagnostic]), secret, ctx)
    assert (result.success, result.reason, result.values.get("up")) == (False, reason, 1.0), result.detail
    return result


def config(locale: str) -> Config:
    return load_config_text(INVENTORY.replace("LOCALE", locale), "t.yml")


def alert_texts(cfg: Config, result: ProbeResult) -> dict[str, str]:
    """Subject and text of each event of the alert the rules raise for the codec's result."""
    state = State()
    for target in targets_from_config(cfg):
        state.track(target)
        if target.key == "tan-thinh/tt-room":
            state.record(target, result)
    findings = list(evaluate_rules(cfg, state, result.timestamp).findings.values())
    assert [(f.rule, f.target) for f in findings] == [("endpoint_down", "tt-room")]
    finding = findings[0]
    fields: dict[str, Any] = {"endpoint": "tt-room", **finding.fields}
    view = AlertView(finding.id, finding.rule, RULES[finding.rule].severity, "Xã Tân Thịnh", result.timestamp, fields)
    out = {}
    for event in EVENTS:
        rendered = render_alert(cfg, view, event=event, now=result.timestamp + 600)
        out[event] = f"{rendered.subject}\n{rendered.text}"
    return out


@pytest.mark.parametrize("locale", ["vi", "en"])
@pytest.mark.parametrize("fault", sorted(FAULTS))
async def test_a_codecs_own_fault_has_its_own_alert_message(
    fault: str, locale: str, secret_file: Path, ctx: ProbeContext
) -> None:
    result = await codec_result(fault, secret_file, ctx)
    cfg = config(locale)
    texts = alert_texts(cfg, result)
    title, action = EXPECTED[(fault, locale)]
    assert title in texts["firing"] and action in texts["firing"], texts["firing"]
    assert title in texts["reminder"]
    assert "does not answer" not in texts["firing"] and "không trả lời" not in texts["firing"]
    # The other fault's words are not in it: each code its own message.
    other = next(f for f in FAULTS if f != fault)
    assert EXPECTED[(other, locale)][0] not in texts["firing"]
    assert FAULTS[fault][0][2] in texts["firing"]  # the codec's own words, quoted
    if locale == "vi":
        for event, text in texts.items():
            assert english_words(text) == [], (event, text)


async def test_a_codec_that_does_not_answer_keeps_the_generic_message(secret_file: Path, ctx: ProbeContext) -> None:
    """The texts are chosen by the fault: a refused connection still says the endpoint does not answer."""
    down = ProbeResult.failure(Reason.REFUSED, "cannot connect: Connection refused", duration=0.1)
    assert "does not answer" in alert_texts(config("en"), down)["firing"]
    assert "không trả lời" in alert_texts(config("vi"), down)["firing"]


@pytest.mark.parametrize("locale", ["vi", "en"])
@pytest.mark.parametrize("fault", sorted(FAULTS))
async def test_a_codecs_own_fault_has_its_own_readiness_reason(
    fault: str, locale: str, secret_file: Path, ctx: ProbeContext
) -> None:
    result = await codec_result(fault, secret_file, ctx)
    probes = SiteProbes(SITE, endpoints=[("tt-room", result)])
    thresholds = config(locale).thresholds_for(SITE)
    readiness = evaluate_site(probes, thresholds=thresholds, meeting=MEETING, locale=locale)  # type: ignore[arg-type]
    assert readiness.verdict == "NOT_READY"
    assert [reason.code for reason in readiness.reasons] == [READINESS[fault]]
    message, action = readiness.reasons[0].message, readiness.reasons[0].action
    other = next(f for f in FAULTS if f != fault)
    words = {
        "network": {"vi": "sự cố mạng", "en": "network fault"},
        "temperature": {"vi": "quá nhiệt", "en": "overheating"},
    }
    assert words[fault][locale] in message and words[other][locale] not in message
    assert FAULTS[fault][0][2] in message and action
    if locale == "vi":
        assert english_words(f"{message} {action}") == []
