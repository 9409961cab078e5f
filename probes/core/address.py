"""What blackbox_exporter reports of the address a probe resolved and used (tcp, http and icmp probes).

Values (keys of ProbeResult.values)::

    dns_lookup     seconds spent resolving the target's name (0 for an IP literal)
                   → probe_dns_lookup_time_seconds
    ip_protocol    4 or 6                                     → probe_ip_protocol
    ip_addr_hash   FNV-1a (32 bits) of the address's bytes    → probe_ip_addr_hash (changes when the address does)

The hash is blackbox's (prober/utils.go ``ipHash``): the 4 bytes of an IPv4 address, the 16 of an IPv6 one,
so a dashboard built on blackbox sees the same number for the same address.
"""

from __future__ import annotations

import ipaddress

from probes.core.series import Series

_FNV_OFFSET = 0x811C9DC5
_FNV_PRIME = 0x01000193

ADDRESS_SERIES = (
    Series("dns_lookup", "probe_dns_lookup_time_seconds", "Seconds spent resolving the target's name."),
    Series("ip_protocol", "probe_ip_protocol", "IP version of the address probed: 4 or 6."),
    Series(
        "ip_addr_hash", "probe_ip_addr_hash", "FNV-1a hash of the address probed; it changes when the address does."
    ),
)


def fnv1a_32(data: bytes) -> int:
    value = _FNV_OFFSET
    for byte in data:
        value = ((value ^ byte) * _FNV_PRIME) & 0xFFFFFFFF
    return value


def address_values(address: str, *, lookup: float) -> dict[str, float]:
    """The values above for the address used (text, an IPv6 zone allowed) and the name lookup's seconds."""
    ip = ipaddress.ip_address(address.partition("%")[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped  # Go's To4() treats ::ffff:a.b.c.d as IPv4 too
    return {"dns_lookup": lookup, "ip_protocol": float(ip.version), "ip_addr_hash": float(fnv1a_32(ip.packed))}
