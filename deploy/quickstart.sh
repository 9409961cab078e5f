#!/usr/bin/env bash
# Install giaoban into .venv and run it: the demo district on loopback (no argument), or the service on the
# inventory given as $1. The demo writes its config, database and notification log to ./giaoban-demo/.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -c 'import ensurepip, venv' 2>/dev/null || {
  [ "$(id -u)" = 0 ] && apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q python3-venv python3-pip
}
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install -q --disable-pip-version-check -e .
if [ $# -eq 0 ]; then
  # GIAOBAN_LISTEN: the demo's HOST:PORT, where 9876 is taken (tests/test_quickstart.py uses a free port).
  exec .venv/bin/giaoban demo --listen "${GIAOBAN_LISTEN:-127.0.0.1:9876}"
fi
exec .venv/bin/giaoban run -c "$1"
