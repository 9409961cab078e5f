"""The /metrics collector: names and labels of the README's table, valid exposition, no stale or secret series."""

from __future__ import annotations

import subprocess

import pytest
from prometheus_client.parser import text_string_to_metric_families

from monitor.config.models import Config
from monitor.engine.ownership import OwnershipSpec
from monitor.engine.scheduler import Scheduler
from monitor.engine.state import State
from monitor.engine.targets import targets_from_config
from monitor.metrics.collector import Exposition, ReloadStatus
from probes.core.context import ProbeContext
from probes.core.result import ProbeResult, Reason
from tests.peers import require_program

CONFIG = Config.model_validate(
    {
        "district": {"name": "Huyện Thử"},
        "sites": [
            {"id": "hub", "name": "Hub", "role": "district", "link": {"address": "127.0.0.1"}},
            {
                "id": "tan-thinh",
                "name": "Xã Tân Thịnh",
                "parent": "hub",
                "link": {"address": "127.0.0.2"},
                "endpoints": [{"id": "vcs-web", "kind": "http", "address": "https://127.0.0.1:8443/"}],
            },
        ],
    }
)

UP = ProbeResult(
    success=True,
    duration=1.85,
    phases={"resolve": 0.0, "rtt": 1.85},
    values={
        "rtt_min": 0.010,
        "rtt_avg": 0.012,
        "rtt_median": 0.011,
        "rtt_max": 0.020,
        "jitter": 0.002,
        "loss_ratio": 0.1,
        "mos": 4.2,
        "sent": 10,
        "received": 9,
    },
    samples=(0.010, 0.011, 0.011, 0.012, 0.012, 0.011, 0.010, 0.020, 0.011),
    timestamp=1_800_000_000.0,
)
DOWN = ProbeResult.failure(
    Reason.NO_REPLY, "no reply", duration=3.4, values={"loss_ratio": 1.0, "mos": 1.0, "sent": 10, "received": 0}
)
HTTP = ProbeResult(
    success=False,
    duration=0.05,
    reason=Reason.BAD_STATUS,
    detail="status 503, expected 2xx",
    phases={"connect": 0.001, "tls": 0.01, "processing": 0.03, "transfer": 0.001},
    values={"status_code": 503, "tls_cert_expiry": 1_900_000_000.0},
)


class Scrape:
    """Renders like /metrics and reads samples back through prometheus_client's own parser."""

    def __init__(self, exposition: Exposition) -> None:
        self.exposition = exposition

    def text(self) -> str:
        return self.exposition.render().decode()

    def get_sample_value(self, name: str, labels: dict[str, str] | None = None) -> float | None:
        for family in text_string_to_metric_families(self.text()):
            for sample in family.samples:
                if sample.name == name and sample.labels == (labels or {}):
                    return float(sample.value)
        return None

    def collect(self) -> list[object]:
        return list(text_string_to_metric_families(self.text()))


@pytest.fixture
def registry() -> tuple[Scrape, State]:
    state = State()
    targets = {t.key: t for t in targets_from_config(CONFIG)}
    for target in targets.values():
        state.track(target)
    state.record(targets["hub/link"], UP)
    state.record(targets["tan-thinh/link"], DOWN)
    state.record(targets["tan-thinh/vcs-web"], HTTP)
    scheduler = Scheduler(ctx=ProbeContext(), state=state, concurrency={})
    scheduler.lag.observe(0.003)
    return Scrape(Exposition.for_state(state, scheduler, ReloadStatus(successful=False, last_success=1.0))), state


def test_link_series(registry: tuple[Scrape, State]) -> None:
    """A link round becomes the giaoban_link_* series labelled by site and target."""
    reg, _ = registry
    hub = {"site": "hub", "target": "127.0.0.1"}
    assert reg.get_sample_value("giaoban_link_up", hub) == 1
    assert reg.get_sample_value("giaoban_link_loss_ratio", hub) == 0.1
    assert reg.get_sample_value("giaoban_link_rtt_seconds", {**hub, "stat": "median"}) == 0.011
    assert reg.get_sample_value("giaoban_link_jitter_seconds", hub) == 0.002
    assert reg.get_sample_value("giaoban_link_mos", hub) == 4.2
    assert reg.get_sample_value("giaoban_link_echo_rtt_seconds_count", hub) == 9
    assert reg.get_sample_value("giaoban_link_echo_rtt_seconds_bucket", {**hub, "le": "0.01"}) == 2
    assert reg.get_sample_value("giaoban_link_echo_rtt_seconds_bucket", {**hub, "le": "0.015"}) == 8


def test_down_link_has_no_rtt_but_has_loss(registry: tuple[Scrape, State]) -> None:
    """A dead link reports up 0 and loss 1; RTT and jitter are absent, not a misleading zero."""
    reg, _ = registry
    commune = {"site": "tan-thinh", "target": "127.0.0.2"}
    assert reg.get_sample_value("giaoban_link_up", commune) == 0
    assert reg.get_sample_value("giaoban_link_loss_ratio", commune) == 1.0
    assert reg.get_sample_value("giaoban_link_rtt_seconds", {**commune, "stat": "avg"}) is None
    assert reg.get_sample_value("giaoban_link_jitter_seconds", commune) is None
    assert reg.get_sample_value("giaoban_probe_success", {**commune, "kind": "icmp"}) == 0


def test_probe_and_http_series(registry: tuple[Scrape, State]) -> None:
    """General probe series carry kind and phase; HTTP status and certificate expiry are exported."""
    reg, _ = registry
    web = {"site": "tan-thinh", "target": "vcs-web", "kind": "http"}
    assert reg.get_sample_value("giaoban_probe_success", web) == 0
    assert reg.get_sample_value("giaoban_probe_duration_seconds", {**web, "phase": "tls"}) == 0.01
    assert reg.get_sample_value("giaoban_probe_duration_seconds", {**web, "phase": "total"}) == 0.05
    assert reg.get_sample_value("giaoban_http_status_code", {"site": "tan-thinh", "target": "vcs-web"}) == 503
    assert reg.get_sample_value("giaoban_tls_cert_expiry_timestamp_seconds", web) == 1_900_000_000.0
    assert reg.get_sample_value("giaoban_probes_total", {**web, "result": "failure"}) == 1
    assert reg.get_sample_value("giaoban_link_up", {"site": "tan-thinh", "target": "vcs-web"}) is None


def test_self_series(registry: tuple[Scrape, State]) -> None:
    """Build info, reload status, target counts and scheduler lag are always there."""
    reg, _ = registry
    assert reg.get_sample_value("giaoban_config_last_reload_successful") == 0
    assert reg.get_sample_value("giaoban_targets", {"kind": "icmp"}) == 2
    assert reg.get_sample_value("giaoban_targets", {"kind": "http"}) == 1
    assert reg.get_sample_value("giaoban_scheduler_lag_seconds_count") == 1
    assert reg.get_sample_value("giaoban_scheduler_lag_seconds_bucket", {"le": "0.005"}) == 1
    families = {m.name for m in reg.collect()}  # type: ignore[attr-defined]
    assert "giaoban_build_info" in families


def test_removed_target_disappears(registry: tuple[Scrape, State]) -> None:
    """A site removed from the inventory stops being exported instead of going stale."""
    reg, state = registry
    state.forget("tan-thinh/link")
    assert reg.get_sample_value("giaoban_link_up", {"site": "tan-thinh", "target": "127.0.0.2"}) is None
    assert reg.get_sample_value("giaoban_link_up", {"site": "hub", "target": "127.0.0.1"}) == 1


def test_reason_text_never_becomes_a_label(registry: tuple[Scrape, State]) -> None:
    """Free text (failure details) stays out of the label space."""
    reg, _ = registry
    text = reg.text()
    assert "status 503" not in text and "no reply" not in text


def test_exposition_passes_promtool(registry: tuple[Scrape, State]) -> None:
    """`promtool check metrics` accepts the whole exposition (names, units, help, types)."""
    promtool = require_program("promtool")
    reg, _ = registry
    text = reg.exposition.render()
    checked = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True, timeout=30)
    assert checked.returncode == 0, checked.stdout.decode() + checked.stderr.decode()


def test_cached_lines_follow_new_results(registry: tuple[Scrape, State]) -> None:
    """Per-target caching never serves an old round: a new result shows at the next scrape."""
    reg, state = registry
    hub = {"site": "hub", "target": "127.0.0.1"}
    assert reg.get_sample_value("giaoban_link_loss_ratio", hub) == 0.1
    entry = state.get("hub/link")
    assert entry is not None
    state.record(entry.target, DOWN)
    assert reg.get_sample_value("giaoban_link_loss_ratio", hub) == 1.0
    assert reg.get_sample_value("giaoban_link_up", hub) == 0
    assert reg.get_sample_value("giaoban_probes_total", {**hub, "kind": "icmp", "result": "failure"}) == 1


def test_label_values_are_escaped() -> None:
    """A quote, backslash or newline in an id or address cannot break the exposition."""
    from monitor.metrics.exposition import escape

    assert escape('a"b\\c\nd') == 'a\\"b\\\\c\\nd'


def test_endpoint_series_only_for_what_the_device_reports() -> None:
    """A codec's states become giaoban_endpoint_*; a field it does not report is absent, never 'ok'."""
    from monitor.engine.targets import Target
    from probes import KINDS
    from probes.core.settings import Settings

    codec = Target(
        key="tan-thinh/vcs",
        site="tan-thinh",
        name="vcs",
        kind=KINDS["cisco-xapi"],
        address="127.0.0.1",
        settings=Settings(),
        interval=60,
        timeout=10,
        role="endpoint",
    )
    state = State()
    state.track(codec)
    state.record(
        codec,
        ProbeResult.failure(
            Reason.PERIPHERAL_MISSING,
            "camera disconnected",
            duration=0.2,
            values={"up": 1, "response_seconds": 0.2, "registered": 1, "peripheral_camera": 0, "microphone_muted": 1},
        ),
    )
    reg = Scrape(Exposition.for_state(state, None, ReloadStatus()))
    base = {"site": "tan-thinh", "target": "vcs"}
    assert reg.get_sample_value("giaoban_endpoint_up", {**base, "protocol": "cisco-xapi"}) == 1
    assert reg.get_sample_value("giaoban_endpoint_response_seconds", {**base, "protocol": "cisco-xapi"}) == 0.2
    assert reg.get_sample_value("giaoban_endpoint_registered", base) == 1
    assert reg.get_sample_value("giaoban_endpoint_peripheral_ok", {**base, "peripheral": "camera"}) == 0
    assert reg.get_sample_value("giaoban_endpoint_microphone_muted", base) == 1
    assert reg.get_sample_value("giaoban_endpoint_in_call", base) is None
    assert reg.get_sample_value("giaoban_endpoint_peripheral_ok", {**base, "peripheral": "microphone"}) is None


def test_site_info_carries_the_official_code() -> None:
    """giaoban_site_info{code} is the unit's official code, empty for a site without one (the hub, older files)."""
    from monitor.metrics.sites import site_info_text

    config = Config.model_validate(
        {
            "organisation": {"name": "Tỉnh Thái Nguyên", "code": "19"},
            "sites": [
                {"id": "tinh-thai-nguyen", "name": "UBND tỉnh Thái Nguyên", "role": "province"},
                {"id": "dinh-hoa", "name": "Xã Định Hóa", "code": "05569", "parent": "tinh-thai-nguyen"},
                {"id": "bac-kan", "name": "Phường Bắc Kạn", "role": "ward", "code": "01843",
                 "parent": "tinh-thai-nguyen", "location": {"lat": 22.15, "lon": 105.83}},
            ],
        }
    )  # fmt: skip
    owned = OwnershipSpec.parse(agent="tn-1").resolve(config)
    (family,) = text_string_to_metric_families(site_info_text(config, owned))
    assert [(s.labels, s.value) for s in family.samples] == [
        ({"site": "tinh-thai-nguyen", "parent": "", "role": "province", "code": "", "lat": "", "lon": "",
          "agent": "tn-1"}, 1.0),
        ({"site": "dinh-hoa", "parent": "tinh-thai-nguyen", "role": "commune", "code": "05569", "lat": "", "lon": "",
          "agent": "tn-1"}, 1.0),
        ({"site": "bac-kan", "parent": "tinh-thai-nguyen", "role": "ward", "code": "01843", "lat": "22.15",
          "lon": "105.83", "agent": "tn-1"}, 1.0),
    ]  # fmt: skip


def test_site_info_lists_the_owned_sites_with_the_agent() -> None:
    """With --shard, giaoban_site_info has only the sites this agent owns, so Prometheus tells who owns what."""
    from monitor.metrics.sites import site_info_text

    config = Config.model_validate(
        {"district": {"name": "Huyện Thử"}, "sites": [{"id": f"xa-{n}", "name": f"Xã {n}"} for n in range(40)]}
    )
    halves = [OwnershipSpec.parse(agent=f"a{k}", shard=f"{k}/2").resolve(config) for k in (0, 1)]
    listed = [
        {
            (s.labels["site"], s.labels["agent"])
            for (f,) in [list(text_string_to_metric_families(site_info_text(config, o)))]
            for s in f.samples
        }
        for o in halves
    ]
    assert {site for site, _ in listed[0]} == set(halves[0].lease_of) and {a for _, a in listed[0]} == {"a0"}
    assert {site for site, _ in listed[1]} == set(halves[1].lease_of) and {a for _, a in listed[1]} == {"a1"}
    assert len(listed[0]) + len(listed[1]) == 40 and listed[0] and listed[1]
