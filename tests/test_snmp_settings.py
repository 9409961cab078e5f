"""SnmpSettings keeps the inventory's `snmp:` validation (monitor/config/models.py), adds interfaces/bandwidth/ups."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from probes.snmp.probe import SnmpSettings, deadline

COMMUNITY = {"env": "C"}
V3 = {"version": 3, "user": "mon", "auth": "SHA", "auth_key": {"env": "A"}, "priv": "AES", "priv_key": {"env": "P"}}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        pytest.param({"version": "2c"}, "SNMP v2c needs community: {env: NAME} or {file: PATH}", id="v2c-no-community"),
        pytest.param({"version": 1}, "SNMP v1 needs community: {env: NAME} or {file: PATH}", id="v1-no-community"),
        pytest.param(
            {"community": COMMUNITY, "user": "mon"},
            "user/auth/priv are SNMPv3 settings; remove them or set version: 3",
            id="v2c-with-user",
        ),
        pytest.param({"version": 3}, "SNMPv3 needs user:", id="v3-no-user"),
        pytest.param(
            {**V3, "community": COMMUNITY},
            "community is for v1/v2c; SNMPv3 uses user, auth_key and priv_key",
            id="v3-with-community",
        ),
        pytest.param(
            {"version": 3, "user": "mon", "auth": "SHA"},
            "auth and auth_key go together: give both or neither",
            id="auth",
        ),
        pytest.param(
            {"version": 3, "user": "mon", "auth": "SHA", "auth_key": {"env": "A"}, "priv": "AES"},
            "priv and priv_key go together: give both or neither",
            id="priv",
        ),
        pytest.param(
            {"version": 3, "user": "mon", "priv": "AES", "priv_key": {"env": "P"}},
            "privacy (priv) needs authentication: add auth and auth_key",
            id="priv-without-auth",
        ),
        pytest.param(
            {"community": COMMUNITY, "interfaces": ["eth0", "eth0"]}, "interface 'eth0' is listed twice", id="dup"
        ),
        pytest.param({"community": COMMUNITY, "interfaces": [" "]}, "an interface name cannot be empty", id="empty"),
        pytest.param(
            {"community": COMMUNITY, "interfaces": ["eth0"], "bandwidth": {"eth1": "100Mbit"}},
            "bandwidth names interface 'eth1', which is not in interfaces",
            id="bandwidth-unknown-interface",
        ),
        pytest.param({"community": COMMUNITY, "community_string": "x"}, "Extra inputs are not permitted", id="extra"),
        pytest.param(
            {**V3, "priv": "3DES"}, "Input should be 'DES', 'AES', 'AES128', 'AES192' or 'AES256'", id="priv-3des"
        ),
    ],
)
def test_invalid_settings_say_what_to_write(data: dict[str, Any], message: str) -> None:
    """Each wrong combination is refused with the inventory's own message (check-config prints it)."""
    with pytest.raises(ValidationError) as caught:
        SnmpSettings.model_validate(data)
    assert message in str(caught.value)


def test_valid_settings_and_defaults() -> None:
    """YAML's `version: 3` is accepted; defaults match the inventory's (port 161, 2 s, 1 retry, 25 rows)."""
    settings = SnmpSettings.model_validate(
        {**V3, "interfaces": ["Gi0/0/1", "Uplink"], "bandwidth": {"Gi0/0/1": "100Mbit"}, "ups": True}
    )
    assert settings.version == "3"
    assert (settings.port, settings.timeout, settings.retries, settings.max_repetitions) == (161, 2.0, 1, 25)
    assert settings.bandwidth == {"Gi0/0/1": 100_000_000}
    assert settings.ups is True
    assert deadline(settings) > settings.timeout * (settings.retries + 1) * 2
