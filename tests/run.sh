#!/usr/bin/env bash
# The whole test suite from a fresh Debian machine: install what is missing (Debian packages when run
# as root, the Python packages into .venv), then ruff, mypy, the import contract and pytest. `.ci/run` calls exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."

# command → Debian package that provides it (the real peers the tests start)
peers=(
  "ip:iproute2" "nft:nftables" "iptables:iptables" "tc:iproute2"
  "fping:fping" "prometheus:prometheus" "promtool:prometheus"
  "prometheus-blackbox-exporter:prometheus-blackbox-exporter" "unshare:util-linux" "setpriv:util-linux"
  "kamailio:kamailio" "snmpd:snmpd" "snmpget:snmp" "snmpwalk:snmp" "snmpbulkwalk:snmp" "snmpset:snmp"
  "prometheus-alertmanager:prometheus-alertmanager" "amtool:prometheus-alertmanager"
  "chromium:chromium"
  "victoria-metrics:victoria-metrics"
)
missing=()
for pair in "${peers[@]}"; do
  command -v "${pair%%:*}" >/dev/null 2>&1 || [ -x "/usr/sbin/${pair%%:*}" ] || [ -x "/usr/bin/${pair%%:*}" ] \
    || missing+=("${pair#*:}")
done
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing+=(postgresql)  # storage tests run on it too
python3 -c 'import ensurepip, venv' 2>/dev/null || missing+=(python3-venv python3-pip)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    # Packages such as prometheus would start a daemon on install; a policy-rc.d guard prevents that.
    guard=""
    if [ ! -e /usr/sbin/policy-rc.d ]; then
      printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d && guard=1
    fi
    apt-get update -q
    # shellcheck disable=SC2046
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $(printf '%s\n' "${missing[@]}" | sort -u)
    [ -n "$guard" ] && rm -f /usr/sbin/policy-rc.d
  else
    echo "not root: cannot install ${missing[*]}; tests that need them will be skipped (they fail under CI=true)" >&2
  fi
fi

[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install -q --disable-pip-version-check -e '.[test]'

.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy
.venv/bin/lint-imports --no-cache
status=0
.venv/bin/python -m pytest -q -p no:cacheprovider "$@" || status=$?
# pytest exits 5 when it collected no test: that is a failure of the suite, not a pass.
exit "$status"
