"""Series declarations (probes/core/series.py): each family declared once, and a clash refused at start-up."""

from __future__ import annotations

from typing import Any

import pytest

from monitor.engine.state import State
from monitor.metrics.alerts import alerts_source
from monitor.metrics.collector import Exposition, ReloadStatus
from monitor.metrics.exposition import Family, TextSource
from monitor.metrics.probe import probe_families, result_registry
from probes import KINDS, ProbeKind
from probes.core.context import ProbeContext
from probes.core.result import ProbeResult, Reason
from probes.core.series import INFO, SAMPLES, Series, SeriesConflict
from probes.core.settings import Settings

pytestmark = pytest.mark.timeout(30)


async def _never(target: str, settings: Settings, *, ctx: ProbeContext) -> ProbeResult:
    raise AssertionError("the writers never run a probe")


def _kind(name: str, *series: Series) -> ProbeKind:
    return ProbeKind(name, Settings, _never, series=series)


def _exposition(*kinds: ProbeKind) -> Exposition:
    return Exposition.for_state(State(), None, ReloadStatus(), kinds=[*KINDS.values(), *kinds])


def test_the_registry_declares_each_family_once() -> None:
    """Kinds that share a family (TLS expiry, endpoint up) share one declaration: the registry starts."""
    names = [family.name for family in _exposition().families()]
    assert len(names) == len(set(names))
    assert {"giaoban_tls_cert_expiry_timestamp_seconds", "giaoban_endpoint_up", "giaoban_link_up"} <= set(names)
    assert not [name for name in names if name.startswith("probe_")], "/probe's series are not /metrics families"


@pytest.mark.parametrize(
    ("kind", "message"),
    [
        pytest.param(
            _kind("loss", Series("loss", "giaoban_link_mos", "Another meaning.")),
            "giaoban_link_mos is declared by kind icmp and by kind loss differently: one family has one "
            "declaration (share the Series objects)",
            id="another-kind-redeclares-a-family",
        ),
        pytest.param(
            _kind("probe", Series("jitter", "probe_icmp_jitter_seconds", "Another jitter.")),
            "probe_icmp_jitter_seconds is declared by kind icmp and by kind probe differently: one family has one "
            "declaration (share the Series objects)",
            id="another-kind-redeclares-a-probe-name",
        ),
        pytest.param(
            _kind("general", Series("ok", "giaoban_probe_success", "1 if the last probe succeeded.")),
            "giaoban_probe_success is written for every target: no kind may declare it",
            id="a-kind-declares-a-general-series",
        ),
        pytest.param(
            _kind("mixed", Series("a", "giaoban_mixed", "One."), Series("b", "giaoban_mixed", "Two.")),
            "giaoban_mixed: kind mixed declares it with different help or type texts",
            id="one-family-two-helps",
        ),
        pytest.param(
            _kind("twice", Series("a", "giaoban_twice", "One."), Series("b", "giaoban_twice", "One.")),
            "giaoban_twice: kind twice declares the same labels twice",
            id="one-family-same-labels-twice",
        ),
    ],
)
def test_a_clashing_kind_is_refused(kind: ProbeKind, message: str) -> None:
    """Two declarations of one name would write two HELP/TYPE pairs, and Prometheus rejects the whole scrape."""
    with pytest.raises(SeriesConflict) as raised:
        _exposition(kind)
    assert str(raised.value) == message


@pytest.mark.parametrize(
    ("sources", "message"),
    [
        pytest.param(
            [TextSource("extra", (Family("giaoban_link_mos", "gauge", "Another meaning."),), lambda: "")],
            "giaoban_link_mos is declared by the per-target series (probe kinds) and by extra: a family has one source",
            id="a-source-takes-a-kinds-name",
        ),
        pytest.param(
            [TextSource("extra", (Family("giaoban_build_info", "gauge", "Mine."),), lambda: "")],
            "giaoban_build_info is declared by the service's own series and by extra: a family has one source",
            id="a-source-takes-the-services-name",
        ),
        pytest.param(
            [alerts_source(dict), alerts_source(dict)],
            "giaoban_alerts_firing is declared twice by alerts: a family has one source",
            id="one-source-added-twice",
        ),
    ],
)
def test_a_clashing_source_is_refused(sources: list[TextSource], message: str) -> None:
    """The service adds its sources once at start: a name two of them declare stops it there."""
    exposition = _exposition()
    with pytest.raises(SeriesConflict) as raised:
        for source in sources:
            exposition.add_source(source)
    assert str(raised.value) == message


def test_a_refused_source_leaves_the_exposition_as_it_was() -> None:
    """A source refused for one clashing name claims none of its other names."""
    exposition = _exposition()
    clash = (Family("giaoban_new", "gauge", "New."), Family("giaoban_link_up", "gauge", "Clash."))
    with pytest.raises(SeriesConflict):
        exposition.add_source(TextSource("half", clash, lambda: ""))
    exposition.add_source(TextSource("new", (Family("giaoban_new", "gauge", "New."),), lambda: "giaoban_new 1.0\n"))
    assert exposition.render().decode().endswith("giaoban_new 1.0\n")


@pytest.mark.parametrize("name", ["probe_success", "probe_duration_seconds"])
def test_a_kind_cannot_take_a_general_probe_name(name: str) -> None:
    """/probe writes these for every run; a kind declaring one would write it twice."""
    kind = _kind("fake", Series("x", name, "Mine."))
    with pytest.raises(SeriesConflict, match=f"^{name} is written for every /probe run: kind fake may not declare it$"):
        probe_families(kind)


def test_a_declared_phase_family_must_be_by_phase() -> None:
    """A kind may write its own probe_KIND_duration_seconds (ICMP's rtt is one echo), but only by phase."""
    kind = _kind("fake", Series("x", "probe_fake_duration_seconds", "Mine."))
    with pytest.raises(SeriesConflict, match=r"^probe_fake_duration_seconds: kind fake declares it, but not by phase$"):
        probe_families(kind)


def _exposed(kind: ProbeKind, result: ProbeResult) -> dict[str, dict[tuple[tuple[str, str], ...], float]]:
    out: dict[str, dict[tuple[tuple[str, str], ...], float]] = {}
    for family in result_registry(kind, result).collect():
        for sample in family.samples:
            out.setdefault(sample.name, {})[tuple(sorted(sample.labels.items()))] = sample.value
    return out


def test_a_declared_phase_family_replaces_the_result_phases() -> None:
    """ICMP's declaration is what /probe writes: resolve from the phases, rtt one echo's, the round by its own name."""
    result = ProbeResult(
        success=True, duration=0.5, phases={"resolve": 0.01, "rtt": 0.45}, values={"echo_rtt": 0.002, "sent": 10.0}
    )
    exposed = _exposed(KINDS["icmp"], result)
    assert exposed["probe_icmp_duration_seconds"] == {(("phase", "resolve"),): 0.01, (("phase", "rtt"),): 0.002}
    assert exposed["probe_icmp_round_duration_seconds"] == {(): 0.45}


def test_defaults_and_info_labels_on_probe() -> None:
    """A failed http run still has blackbox's pre-created series (0); info series appear with their labels only."""
    failed = ProbeResult.failure(Reason.REFUSED, "refused", duration=0.1)
    exposed = _exposed(KINDS["http"], failed)
    assert exposed["probe_http_status_code"] == {(): 0.0}
    assert exposed["probe_http_ssl"] == {(): 0.0}
    assert exposed["probe_failed_due_to_regex"] == {(): 0.0}
    assert "probe_tls_version_info" not in exposed and "probe_ip_protocol" not in exposed
    tls = ProbeResult(success=True, duration=0.1, values={"ssl": 1.0}, info={"tls_version_name": "TLS 1.3"})
    assert _exposed(KINDS["http"], tls)["probe_tls_version_info"] == {(("version", "TLS 1.3"),): 1.0}


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        pytest.param(
            ("x", "link_up", "No prefix."),
            "link_up: a series is named giaoban_* (/metrics) or probe_* (/probe)",
            id="no-prefix",
        ),
        pytest.param(
            ("rtt", "giaoban_rtt_seconds", "Not samples.", "histogram"),
            "giaoban_rtt_seconds: the one histogram a target has is its RTT samples (key SAMPLES)",
            id="histogram-of-a-value",
        ),
        pytest.param(
            (SAMPLES, "giaoban_rtt_seconds", "Samples as a gauge."),
            "giaoban_rtt_seconds: the one histogram a target has is its RTT samples (key SAMPLES)",
            id="samples-as-a-gauge",
        ),
        pytest.param(
            ("sent", "probe_icmp_sent_total", "A counter.", "counter"),
            "probe_icmp_sent_total: /probe writes gauges of the run's values only",
            id="probe-counter",
        ),
    ],
)
def test_a_malformed_series_is_refused(arguments: tuple[str, ...], message: str) -> None:
    """A declaration the writers cannot honour fails where it is written, at import."""
    with pytest.raises(ValueError) as raised:
        Series(*arguments)  # type: ignore[arg-type]
    assert str(raised.value) == message


@pytest.mark.parametrize(
    ("options", "message"),
    [
        pytest.param(
            {"key": "rtt", "name": "giaoban_rtt", "source": "phases"},
            "giaoban_rtt: only /probe series read phases or take labels from the result's info",
            id="metrics-reads-a-phase",
        ),
        pytest.param(
            {"key": INFO, "name": "giaoban_tls_info", "info_labels": (("version", "tls_version_name"),)},
            "giaoban_tls_info: only /probe series read phases or take labels from the result's info",
            id="metrics-takes-info-labels",
        ),
        pytest.param(
            {"key": INFO, "name": "probe_tls_info"},
            "probe_tls_info: an info series (key INFO) has info_labels, and only it",
            id="info-without-labels",
        ),
        pytest.param(
            {"key": "x", "name": "probe_x", "info_labels": (("version", "tls_version_name"),)},
            "probe_x: an info series (key INFO) has info_labels, and only it",
            id="labels-without-info",
        ),
    ],
)
def test_a_malformed_probe_series_is_refused(options: dict[str, Any], message: str) -> None:
    """Phases and info labels are /probe's (blackbox's info series); /metrics keeps to values and fixed labels."""
    with pytest.raises(ValueError) as raised:
        Series(help="Help.", **options)
    assert str(raised.value) == message


def test_one_family_has_one_set_of_label_names() -> None:
    """Members of a family told apart by different label names could not be one exposition family."""
    kind = _kind("odd", Series("a", "probe_odd", "Odd.", labels=(("stat", "a"),)), Series("b", "probe_odd", "Odd."))
    with pytest.raises(SeriesConflict, match=r"^probe_odd: kind odd declares it with different label names$"):
        _exposition(kind)
