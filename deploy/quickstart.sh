#!/usr/bin/env bash
# Install giaoban into .venv and run it on the loopback example (or the inventory given as $1).
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -c 'import ensurepip, venv' 2>/dev/null || {
  [ "$(id -u)" = 0 ] && apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q python3-venv python3-pip
}
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install -q --disable-pip-version-check -e .
exec .venv/bin/giaoban run -c "${1:-examples/loopback.yml}"
