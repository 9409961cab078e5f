"""The config's endpoint kinds and defaults are built from probes.KINDS: prove the two agree."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel, TypeAdapter, ValidationError

from monitor.config.loader import ConfigError, load_config_text
from monitor.config.models import Config, Defaults, Endpoint, nests_settings
from probes import KINDS
from probes.core.settings import Settings

ENDPOINTS: TypeAdapter[Any] = TypeAdapter(Endpoint)
NAMES = sorted(name for name, kind in KINDS.items() if not kind.device_only)  # endpoint kinds
DEVICE_KINDS = sorted(name for name, kind in KINDS.items() if kind.device_only)


def _minimal(kind: str) -> dict[str, Any]:
    """The smallest valid endpoint of a kind: the address shape and port it needs."""
    spec = KINDS[kind]
    endpoint: dict[str, Any] = {"id": "e", "kind": kind}
    if spec.target_is_url:
        endpoint["address"] = "http://127.0.0.1:9876/"
    else:
        endpoint["address"] = "127.0.0.1"
        if kind != "icmp" and spec.default_port is None:
            endpoint["port"] = 9876
    return endpoint


@pytest.mark.parametrize("kind", NAMES)
def test_every_kind_is_an_endpoint_kind(kind: str) -> None:
    """A kind in the registry validates as an endpoint carrying that kind's settings."""
    endpoint: Any = ENDPOINTS.validate_python(_minimal(kind))
    assert endpoint.kind == kind
    assert isinstance(endpoint.settings(KINDS[kind].settings()), KINDS[kind].settings)
    if nests_settings(KINDS[kind]):  # e.g. icmp: its echo `interval` is not the endpoint's probe interval
        assert kind in type(endpoint).model_fields
    else:
        assert isinstance(endpoint, KINDS[kind].settings)


def test_no_other_kind_validates() -> None:
    """The union's tags are exactly the registry's: an unregistered kind is refused, naming the known ones."""
    with pytest.raises(ValidationError) as caught:
        ENDPOINTS.validate_python({"id": "e", "kind": "not-a-kind", "address": "127.0.0.1", "port": 1})
    (error,) = caught.value.errors()
    assert error["type"] == "union_tag_invalid"
    tags = {tag.strip().strip("'") for tag in str(error["ctx"]["expected_tags"]).split(",")}
    assert tags == set(NAMES)


@pytest.mark.parametrize("kind", NAMES)
def test_defaults_has_a_block_per_kind(kind: str) -> None:
    """defaults.<kind> exists for every kind, holds that kind's settings, and defaults without input."""
    defaults = Config.model_validate({"district": {"name": "x"}, "sites": [{"id": "a", "name": "A"}]}).defaults
    assert isinstance(getattr(defaults, kind), KINDS[kind].settings)


def test_defaults_has_no_stray_kind() -> None:
    """Every settings block in defaults belongs to a registered kind (no forgotten, removed kinds)."""
    blocks = {
        name
        for name, field in Defaults.model_fields.items()
        if isinstance(field.annotation, type) and issubclass(field.annotation, Settings)
    }
    assert blocks == set(NAMES)


@pytest.mark.parametrize("kind", NAMES)
def test_kind_settings_forbid_unknown_keys(kind: str) -> None:
    """A kind's settings reject typos, and the loader lists that kind's own keys in the message."""
    settings: type[BaseModel] = KINDS[kind].settings
    assert settings.model_config.get("extra") == "forbid"
    endpoint = _minimal(kind)
    line = "      - {" + ", ".join(f"{k}: {v!r}" if k == "address" else f"{k}: {v}" for k, v in endpoint.items())
    text = f"district: {{name: x}}\nsites:\n  - id: a\n    name: A\n    endpoints:\n{line}, bogus: 1}}\n"
    with pytest.raises(ConfigError) as caught:
        load_config_text(text, "r.yml")
    (problem,) = caught.value.problems
    assert problem.path == "sites[0].endpoints[0].bogus"
    allowed = problem.message.split("allowed keys here: ")[1].split(", ")
    own = {kind} if nests_settings(KINDS[kind]) else set(settings.model_fields)  # nested under its kind's name
    assert own <= set(allowed)


def test_scheduler_concurrency_kinds_are_registered() -> None:
    """Default concurrency limits name registered kinds only."""
    config = Config.model_validate({"district": {"name": "x"}, "sites": [{"id": "a", "name": "A"}]})
    assert set(config.scheduler.concurrency) <= set(KINDS)


def test_device_kinds_are_devices_not_endpoints() -> None:
    """snmp is polled per device (devices[].snmp): refused as an endpoint kind, accepted on a device."""
    assert DEVICE_KINDS == ["snmp"]
    with pytest.raises(ValidationError):
        ENDPOINTS.validate_python({"id": "e", "kind": "snmp", "address": "127.0.0.1"})
    config = Config.model_validate(
        {
            "district": {"name": "x"},
            "sites": [
                {
                    "id": "a",
                    "name": "A",
                    "devices": [{"id": "r", "address": "127.0.0.1", "snmp": {"community": {"env": "C"}}}],
                }
            ],
        }
    )
    assert isinstance(config.sites[0].devices[0].snmp, KINDS["snmp"].settings)
