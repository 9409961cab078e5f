"""Series declarations (probes/core/series.py): each family declared once, and a clash refused at start-up."""

from __future__ import annotations

import pytest

from monitor.engine.state import State
from monitor.metrics.alerts import alerts_source
from monitor.metrics.collector import Exposition, ReloadStatus
from monitor.metrics.exposition import Family, TextSource
from monitor.metrics.probe import probe_families
from probes import KINDS, ProbeKind
from probes.core.context import ProbeContext
from probes.core.result import ProbeResult
from probes.core.series import SAMPLES, Series, SeriesConflict
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


@pytest.mark.parametrize(
    "name",
    ["probe_success", "probe_duration_seconds", "probe_fake_duration_seconds"],
)
def test_a_kind_cannot_take_a_general_probe_name(name: str) -> None:
    """/probe writes these for every run; a kind declaring one would write it twice."""
    kind = _kind("fake", Series("x", name, "Mine."))
    with pytest.raises(SeriesConflict, match=f"^{name} is written for every /probe run: kind fake may not declare it$"):
        probe_families(kind)


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
