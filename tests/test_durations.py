"""Durations written out (Config.model_dump, messages) in the form the inventory loader reads back, to the same value.

`:g` wrote 365 days as '3.1536e+07s', which parse_duration refuses, and kept only 6 digits (1234567s became
'1.23457e+06s'): a dumped inventory could not be loaded again.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest
import yaml

from monitor.config.loader import ConfigError, load_config, load_config_text
from probes.core.units import format_duration, parse_duration

EXAMPLES = sorted((Path(__file__).resolve().parent.parent / "examples").glob("*.yml"))


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (365 * 86400.0, "365d"),
        (14 * 86400.0, "14d"),
        (7200.0, "2h"),
        (120.0, "2m"),
        (90.0, "90s"),
        (1.0, "1s"),
        (1.5, "1.5s"),
        (0.2, "200ms"),
        (0.001, "1ms"),
        (0.0001, "0.0001s"),
        (1.5e-8, "0.000000015s"),
        (1234567.0, "1234567s"),
        (86399.999, "86399.999s"),
        (0.0, "0s"),
    ],
)
def test_a_duration_is_written_in_the_largest_whole_unit_or_in_decimal_seconds(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text
    assert parse_duration(text) == seconds


def test_any_duration_reads_back_to_the_same_float() -> None:
    rng = random.Random(2026)
    values = [rng.uniform(0, 2) for _ in range(5000)] + [rng.uniform(0, 1e9) for _ in range(5000)]
    values += [round(v, 3) for v in values[:5000]] + [float(rng.randrange(1, 10**7)) for _ in range(5000)]
    assert [v for v in values if parse_duration(format_duration(v)) != v] == []


def test_a_duration_too_long_for_a_float_is_refused() -> None:
    with pytest.raises(ValueError, match="too long a duration"):
        parse_duration("9" * 400 + "s")


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_an_example_loads_dumps_and_loads_to_the_same_config(path: Path) -> None:
    config = load_config(path)
    dumped = config.model_dump(mode="json")
    assert dumped["history"]["hourly_retention"] == "365d"
    text = yaml.safe_dump(dumped, allow_unicode=True, sort_keys=False)
    try:
        again = load_config_text(text, f"dumped-{path.name}", base_dir=path.parent.absolute())
    except ConfigError as exc:
        pytest.fail(f"the dump of {path.name} does not load:\n{exc}")
    assert again == config
