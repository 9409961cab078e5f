"""Large made-up inventories and probe results, shared by tests/test_linear.py and the benchmarks in bench/.

    loopback_address(i)                   127.x.y.z for site i (never probed by the tests that use it)
    cluster_sites(n, cluster=..., ...)    n sites: a hub, cluster heads under it, communes under the heads;
                                          each with a link, a router (SNMP) that carries it and a codec (tcp)
    LOOPBACK_ICMP_UP                      a healthy 10-echo ICMP round on loopback, with its RTT samples

One generator, so that what the scale tests check and what the benchmarks measure is the same shape of tree.
"""

from __future__ import annotations

from typing import Any

from probes.core.result import ProbeResult


def loopback_address(i: int) -> str:
    """Distinct for i below 62,500 × 254: 250 per /24, 250 /24s per /16."""
    return f"127.{1 + i // 62500}.{(i // 250) % 250 + 1}.{1 + i % 250}"


def cluster_sites(n: int, *, cluster: int, technicians: int, hub_name: str = "Hub") -> list[dict[str, Any]]:
    """The hub, n // cluster cluster heads (role district), and communes spread over the heads: n sites in all.

    Sites name technicians t0 .. t{technicians - 1} (the hub t0), which the caller's inventory must list.
    """
    heads = max(1, n // cluster)
    sites: list[dict[str, Any]] = [{"id": "hub", "name": hub_name, "role": "district", "technicians": ["t0"]}]
    for i in range(1, n):
        address = loopback_address(i)
        sites.append(
            {
                "id": f"s{i:05d}",
                "name": f"Xã {i}",
                "role": "district" if i <= heads else "commune",
                "parent": "hub" if i <= heads else f"s{(i % heads) + 1:05d}",
                "technicians": [f"t{i % technicians}"],
                "link": {"address": address, "device": f"r{i:05d}", "interface": "Gi0/0/1"},
                "devices": [
                    {"id": f"r{i:05d}", "address": address, "snmp": {"version": "2c", "community": {"env": "C"}}}
                ],
                "endpoints": [{"id": f"v{i:05d}", "kind": "tcp", "address": address, "port": 1720}],
            }
        )
    return sites


LOOPBACK_ICMP_UP = ProbeResult(
    success=True,
    duration=1.9,
    phases={"resolve": 0.00001, "rtt": 1.9},
    values={
        "rtt_min": 0.0001,
        "rtt_avg": 0.0004,
        "rtt_median": 0.0004,
        "rtt_max": 0.0007,
        "jitter": 0.0002,
        "loss_ratio": 0.0,
        "mos": 4.4,
        "sent": 10,
        "received": 10,
    },
    samples=tuple(0.0001 * (1 + i % 7) for i in range(10)),
)
