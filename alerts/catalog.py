"""The alert rules giaoban knows: name, Alertmanager alertname, default severity and ``for`` duration.

The conditions themselves live in alerts/rules.py (continuous rules over the live state),
alerts/engine.py (the meeting rule, fed by readiness events) and monitor/readiness/watch.py (the rules of a
running meeting, ``in_meeting``: re-evaluated at every pass like the continuous ones). This module imports
nothing from monitor/, so the config schema (alerts/config.py, loaded by monitor/config/models.py) can check
rule names against it.
"""

from __future__ import annotations

from dataclasses import dataclass

from alerts.model import Severity


@dataclass(frozen=True, slots=True)
class RuleSpec:
    name: str
    alertname: str
    severity: Severity
    for_: float  # seconds the condition must hold before the alert fires
    topology_root: bool = False  # when it fires, the alerts of the site's descendants fold into it
    continuous: bool = True  # False: driven by events (readiness), not re-evaluated over the live state
    # About giaoban itself, not a site: site SERVICE_SITE, no site label, never folded, told to alerts.admins only.
    service: bool = False
    # About a site in a running meeting (monitor/readiness/watch.py): the alert's target is the meeting's id.
    in_meeting: bool = False
    # The critical band of another rule (same alertname, severity critical): while it fires, the alert of the
    # rule named here for the same site and target is folded into it (Alertmanager's critical-inhibits-warning).
    band_of: str | None = None


# The alert ``site`` of a service rule; never a site id (ids start with a letter or digit).
SERVICE_SITE = "-"


RULES: dict[str, RuleSpec] = {
    spec.name: spec
    for spec in (
        RuleSpec("link_down", "GiaobanLinkDown", "critical", 60.0, topology_root=True),
        RuleSpec("link_loss", "GiaobanLinkLoss", "warning", 300.0),
        RuleSpec("link_rtt", "GiaobanLinkLatency", "warning", 300.0),
        RuleSpec("link_jitter", "GiaobanLinkJitter", "warning", 300.0),
        RuleSpec("link_mos", "GiaobanLinkMosLow", "warning", 300.0),
        RuleSpec("device_down", "GiaobanDeviceDown", "critical", 60.0, topology_root=True),
        RuleSpec("device_rebooted", "GiaobanDeviceRebooted", "warning", 0.0),
        RuleSpec("interface_down", "GiaobanInterfaceDown", "critical", 60.0),
        RuleSpec("interface_saturated", "GiaobanInterfaceSaturated", "warning", 300.0),
        RuleSpec("endpoint_down", "GiaobanEndpointDown", "warning", 300.0),
        RuleSpec("endpoint_unregistered", "GiaobanEndpointUnregistered", "warning", 300.0),
        RuleSpec("peripheral_missing", "GiaobanPeripheralMissing", "warning", 300.0),
        RuleSpec("certificate_expiring", "GiaobanCertificateExpiring", "warning", 0.0),
        RuleSpec("ups_on_battery", "GiaobanUpsOnBattery", "warning", 60.0),
        RuleSpec("site_not_ready", "GiaobanSiteNotReady", "critical", 0.0, continuous=False),
        # During a meeting (issue 18): not connected calls.join_grace after the start; dropped out after joining;
        # media loss or jitter beyond calls.loss / calls.jitter for the rule's `for` (the sustained time).
        RuleSpec("not_joined", "GiaobanSiteNotJoined", "critical", 0.0, in_meeting=True),
        RuleSpec("dropped_out", "GiaobanSiteDroppedOut", "critical", 0.0, in_meeting=True),
        RuleSpec("poor_media", "GiaobanCallPoorMedia", "warning", 60.0, in_meeting=True),
        # Loss above calls.loss_critical (Polycom RMX: above 5 % critical). A second alert, not a severity that
        # changes: severity is a label, and a label change makes another alert in Alertmanager (the old one
        # would linger until resolve_timeout). poor_media stays open beside it, folded while this one fires.
        RuleSpec(
            "poor_media_critical", "GiaobanCallPoorMedia", "critical", 60.0, in_meeting=True, band_of="poor_media"
        ),
        # giaoban cannot measure (no ICMP permission, its own misconfiguration): one alert per probe kind for the
        # admins, saying what to change, instead of one per site (issue 14). The `for` lets every target report.
        RuleSpec("probe_setup", "GiaobanProbeSetup", "warning", 60.0, service=True),
    )
}
SUMMARY_ALERTNAME = "GiaobanReadinessSummary"
