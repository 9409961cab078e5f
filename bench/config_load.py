"""Loading the national inventory: libyaml's parser under our composer against the pure-Python loader, same run.

The inventory is what `giaoban init --national --addresses test` writes (the central site, 34 provincial hubs,
3,321 units: ~440 KB). Each repeat loads it once with each loader, interleaved, so both see the same machine
load; the figure per loader is the median and best of the repeats, for the whole load_config (YAML, schema,
cross-references) and for its YAML pass alone (text to data and node marks). Both loaders must give the same
Config, or the run stops. yaml.CSafeLoader alone (composing in C as well, without the alias bound, the node
marks or the duplicate-key check) is timed too, to show what composing in Python costs.

    .venv/bin/python bench/config_load.py [--repeats 5]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import yaml

from monitor.config import loader

ROOT = Path(__file__).resolve().parent.parent


def national_inventory(directory: Path) -> Path:
    path = directory / "national.yml"
    init = ["init", "--national", "--addresses", "test", "-o", str(path)]
    subprocess.run([str(Path(sys.executable).parent / "giaoban"), *init], check=True, cwd=ROOT, capture_output=True)
    return path


def timed(fn: Callable[[], object]) -> tuple[float, object]:
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    fast = loader._FastLoader
    if fast is None:
        sys.exit("PyYAML here is built without libyaml: there is no fast path to compare")
    with tempfile.TemporaryDirectory() as tmp:
        path = national_inventory(Path(tmp))
        text = path.read_text(encoding="utf-8")
        contenders = {"pure-Python loader": None, "libyaml parser (default)": fast}
        whole: dict[str, list[float]] = {name: [] for name in contenders}
        yaml_only: dict[str, list[float]] = {name: [] for name in contenders}
        bare: list[float] = []  # yaml.CSafeLoader alone, composing in C: no alias bound, marks or duplicate keys
        configs = {}
        for _ in range(args.repeats):
            for name, choice in contenders.items():
                loader._FastLoader = choice
                seconds, configs[name] = timed(lambda: loader.load_config(path))
                whole[name].append(seconds)
                yaml_only[name].append(timed(lambda: loader._parse(text, str(path)))[0])
            bare.append(timed(lambda: yaml.load(text, Loader=yaml.CSafeLoader))[0])
        loader._FastLoader = fast
    if len(set(map(repr, configs.values()))) != 1:
        sys.exit("the two loaders gave different configs")
    print(f"{path.name}: {len(text.encode()):,} bytes, {len(next(iter(configs.values())).sites):,} sites")  # type: ignore[attr-defined]
    print("| loader | load_config s (median) | best | YAML pass s (median) | best |")
    print("| --- | --- | --- | --- | --- |")
    for name in contenders:
        row = [
            statistics.median(whole[name]),
            min(whole[name]),
            statistics.median(yaml_only[name]),
            min(yaml_only[name]),
        ]
        print(f"| {name} | " + " | ".join(f"{value:.2f}" for value in row) + " |")
    print(f"| yaml.CSafeLoader alone, for reference | | | {statistics.median(bare):.2f} | {min(bare):.2f} |")
    pure, default = (statistics.median(whole[name]) for name in contenders)
    print(f"load_config: {pure / default:.1f}x faster with libyaml (medians)")


if __name__ == "__main__":
    main()
