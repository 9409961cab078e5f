"""What giaoban could not measure because of its own set-up, and what to change, in Vietnamese and English.

A result that is ``unmeasured`` (probes/core/result.py: no ICMP permission, a bad target, an unreadable secret,
a bug) says nothing of the site probed. So the site's technician hears nothing of it; the admins get one alert
per probe kind (alerts/rules.py, rule ``probe_setup``) and the board shows the fix once, at the top (issue 14)::

    setup_faults(state)
    → (SetupFault(kind="icmp", keys=("tan-thinh/link", ...), sites=("tan-thinh", ...), example="192.0.2.21",
                  detail="no way to send ICMP echo: ...",
                  info={"setup": "icmp_permission", "gid": "65534", "ping_group_range": "1 0", "covered": "no"}),)
    fault.fix("vi")   "giaoban không được phép gửi ping (ICMP) ... ping_group_range=\"65534 65534\" ..."

Without ICMP permission the fix gives ICMP to giaoban alone: ``net.ipv4.ping_group_range`` for its own group,
or ``AmbientCapabilities=CAP_NET_RAW`` in its systemd unit (probes/icmp/mode.py says the same in the log).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from monitor.engine.state import TargetState
from monitor.i18n import Locale, fault_text
from probes.icmp.mode import SETUP_ICMP, UNIT_FILE

_EMPTY: Mapping[str, str] = MappingProxyType({})

# (fix when the sysctl would help, fix when ping_group_range already covers the group, any other own fault)
TEXTS: dict[Locale, dict[str, str]] = {
    "vi": {
        "icmp": (
            "giaoban không được phép gửi ping (ICMP) nên không đo được đường truyền nào. Chỉ cấp quyền cho nhóm "
            "của giaoban: chạy `sysctl -w net.ipv4.ping_group_range=\"{gid} {gid}\"` (hiện là '{range}') và ghi "
            "vào /etc/sysctl.d/ để giữ sau khi khởi động lại máy, hoặc chạy giaoban bằng unit systemd có "
            "AmbientCapabilities=CAP_NET_RAW ({unit}); sau đó khởi động lại giaoban."
        ),
        "icmp_covered": (
            "giaoban không được phép gửi ping (ICMP) nên không đo được đường truyền nào. "
            "net.ipv4.ping_group_range ('{range}') đã gồm nhóm {gid} của giaoban, vậy một cơ chế khác đang chặn; "
            "chạy giaoban bằng unit systemd có AmbientCapabilities=CAP_NET_RAW ({unit}), rồi khởi động lại giaoban."
        ),
        "other": (
            "giaoban không đo được {count} mục kiểm tra {kind} do cấu hình của chính giaoban, ví dụ {example}: "
            "{detail}. Sửa danh mục (kiểm tra bằng giaoban check-config) hoặc máy chạy giaoban, rồi nạp lại."
        ),
    },
    "en": {
        "icmp": (
            "giaoban may not send ping (ICMP), so it measures no link. Allow it for giaoban's group only: run "
            "`sysctl -w net.ipv4.ping_group_range=\"{gid} {gid}\"` (now '{range}') and persist it in "
            "/etc/sysctl.d/, or run giaoban from its systemd unit with AmbientCapabilities=CAP_NET_RAW ({unit}); "
            "then restart giaoban."
        ),
        "icmp_covered": (
            "giaoban may not send ping (ICMP), so it measures no link. net.ipv4.ping_group_range ('{range}') "
            "already covers giaoban's group {gid}, so something else refuses it; run giaoban from its systemd "
            "unit with AmbientCapabilities=CAP_NET_RAW ({unit}), then restart giaoban."
        ),
        "other": (
            "giaoban could not probe {count} {kind} checks because of its own configuration, for example "
            "{example}: {detail}. Correct the inventory (see giaoban check-config) or giaoban's host, then reload."
        ),
    },
}


@dataclass(frozen=True, slots=True)
class SetupFault:
    """The targets of one probe kind whose latest result giaoban could not measure, and why."""

    kind: str
    keys: tuple[str, ...]  # State keys ("SITE/link", "SITE/ENDPOINT"), in the state's order
    sites: tuple[str, ...]  # site ids, each once
    example: str  # the first target's address, for the message
    detail: str  # the first target's probe detail (the probe's own English words)
    info: Mapping[str, str] = field(default_factory=lambda: _EMPTY)  # the first result's info
    observed_at: float = 0.0  # the newest of those results

    @property
    def count(self) -> int:
        return len(self.keys)

    @property
    def icmp_permission(self) -> bool:
        """No ICMP socket at all (probes/icmp/mode.py): restarting with the permission is the fix."""
        return self.info.get("setup") == SETUP_ICMP

    def fix(self, locale: Locale) -> str:
        """What the admins must change, as one sentence (or two) in ``locale``."""
        if self.icmp_permission:
            return icmp_fix(self.info, locale)
        # The probe's own English words: quoted and labelled in Vietnamese (monitor/i18n.py).
        detail = fault_text(None, self.detail, locale)
        return TEXTS[locale]["other"].format(count=self.count, kind=self.kind, example=self.example, detail=detail)


def icmp_fix(info: Mapping[str, str], locale: Locale) -> str:
    """The fix for no ICMP permission, from probes/icmp/mode.py's ``setup_info()``, in ``locale``."""
    key = "icmp_covered" if info.get("covered") == "yes" else "icmp"
    gid, group_range = info.get("gid", "?"), info.get("ping_group_range", "?")
    return TEXTS[locale][key].format(gid=gid, range=group_range, unit=UNIT_FILE)


def setup_faults(entries: Iterable[TargetState]) -> tuple[SetupFault, ...]:
    """One SetupFault per probe kind with unmeasured latest results, in the order kinds first appear.

    ``entries``: the state, or those of its entries the caller already picked (the alert pass: the unmeasured)."""
    found: dict[str, list[tuple[str, str, str, str, Mapping[str, str], float]]] = {}
    for entry in entries:
        result = entry.latest
        if result is None or not result.unmeasured:
            continue
        target = entry.target
        found.setdefault(target.kind.name, []).append(
            (target.key, target.site, target.address, result.detail, result.info, result.timestamp)
        )
    faults = []
    for kind, rows in found.items():
        # The ICMP permission (a whole-process fault) speaks for the kind when any result carries it.
        first = next((row for row in rows if row[4].get("setup") == SETUP_ICMP), rows[0])
        faults.append(
            SetupFault(
                kind=kind,
                keys=tuple(row[0] for row in rows),
                sites=tuple(dict.fromkeys(row[1] for row in rows)),
                example=first[2],
                detail=first[3],
                info=first[4],
                observed_at=max(row[5] for row in rows),
            )
        )
    return tuple(faults)
