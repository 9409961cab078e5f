"""The one registry of probe kinds.

Each kind is a module with ``KIND``, a settings model (pydantic, ``extra="forbid"``),
``async def probe(target, settings, *, ctx) -> ProbeResult`` (``probes.core.result.Probe``) and, when the
protocol has a well-known port, ``DEFAULT_PORT``. The config's discriminated union of
endpoint kinds and the /probe handler are both built from ``KINDS``, so adding a kind is one entry here
(tests/test_registry.py proves the config and the registry agree).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from probes import h323, http, tcp
from probes.core.context import ProbeContext
from probes.core.result import Probe, ProbeResult, Reason
from probes.core.series import Series
from probes.core.settings import Settings
from probes.icmp import probe as icmp
from probes.sip import probe as sip
from probes.snmp import probe as snmp
from probes.vc import cisco_xapi, cms, huawei, jitsi, poly_rest, rmx


@dataclass(frozen=True, slots=True)
class ProbeKind:
    name: str
    settings: type[Settings]
    probe: Probe
    default_port: int | None = None  # joined to an endpoint's address when it gives none
    target_is_url: bool = False  # the endpoint's address is a URL (http)
    port_optional: bool = False  # no port: the probe picks one (a status API's port follows its scheme)
    # Polled per inventory device (devices[].snmp), not an endpoint kind and without a defaults block.
    device_only: bool = False
    # How long one run may take when its duration follows from its settings (an ICMP round);
    # None: the endpoint's or the defaults' timeout applies.
    deadline: Callable[[Any], float] | None = None
    # What the kind exports on /metrics and /probe (probes/core/series.py), declared in its module.
    series: tuple[Series, ...] = ()
    # Settings shrunk to finish within a shorter deadline (an ICMP round under a scrape timeout); None: as given.
    fit: Callable[[Any, float], Any] | None = None


KINDS: dict[str, ProbeKind] = {
    icmp.KIND: ProbeKind(
        icmp.KIND, icmp.IcmpSettings, icmp.probe, deadline=icmp.deadline, fit=icmp.fit, series=icmp.SERIES
    ),
    tcp.KIND: ProbeKind(tcp.KIND, tcp.TcpSettings, tcp.probe, series=tcp.SERIES),
    http.KIND: ProbeKind(http.KIND, http.HttpSettings, http.probe, target_is_url=True, series=http.SERIES),
    sip.KIND: ProbeKind(sip.KIND, sip.SipSettings, sip.probe, default_port=sip.DEFAULT_PORT, series=sip.SERIES),
    h323.KIND: ProbeKind(
        h323.KIND,
        h323.H323Settings,
        h323.probe,
        default_port=h323.DEFAULT_PORT,
        series=h323.SERIES,
    ),
    cisco_xapi.KIND: ProbeKind(
        cisco_xapi.KIND,
        cisco_xapi.CiscoXapiSettings,
        cisco_xapi.probe,
        port_optional=True,
        series=cisco_xapi.SERIES,
    ),
    poly_rest.KIND: ProbeKind(
        poly_rest.KIND,
        poly_rest.PolyRestSettings,
        poly_rest.probe,
        port_optional=True,
        series=poly_rest.SERIES,
    ),
    jitsi.KIND: ProbeKind(jitsi.KIND, jitsi.JitsiSettings, jitsi.probe, port_optional=True, series=jitsi.SERIES),
    huawei.KIND: ProbeKind(huawei.KIND, huawei.HuaweiSettings, huawei.probe, port_optional=True, series=huawei.SERIES),
    cms.KIND: ProbeKind(cms.KIND, cms.CmsSettings, cms.probe, port_optional=True, series=cms.SERIES),
    rmx.KIND: ProbeKind(rmx.KIND, rmx.RmxSettings, rmx.probe, port_optional=True, series=rmx.SERIES),
    snmp.KIND: ProbeKind(
        snmp.KIND,
        snmp.SnmpSettings,
        snmp.probe,
        default_port=snmp.DEFAULT_PORT,
        deadline=snmp.deadline,
        device_only=True,
        series=snmp.SERIES,
    ),
}

__all__ = ["KINDS", "ProbeContext", "ProbeKind", "ProbeResult", "Reason", "Settings"]
