#!/usr/bin/env bash
# The Python client's tests. Installs the package into a throwaway virtual environment the way a
# user does (pip install ./clients/python), with pandas when it can be had, and runs the named
# test modules (default: every tests/test_*.py) against a real server the tests start
# (npm start on a fresh PostgreSQL database). Usage: run-tests.sh [test_round test_retry …]
set -euo pipefail
cd "$(dirname "$0")"

usable_python() {
  command -v python3 >/dev/null &&
    python3 -c 'import sys, venv, ensurepip; sys.exit(sys.version_info < (3, 9))' 2>/dev/null
}
if ! usable_python; then
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends python3 python3-venv python3-pip python3-setuptools python3-wheel
fi
[ -d ../../node_modules ] || (cd ../.. && npm ci --no-audit --no-fund)

venv="$(mktemp -d)"
trap 'rm -rf "$venv" build stakeweight.egg-info' EXIT  # paths relative to clients/python
python3 -m venv --system-site-packages "$venv"
pip=("$venv/bin/python" -m pip --disable-pip-version-check --quiet --retries 0)
# The build backend is in the standard library (build_backend/): no package index needed.
PIP_NO_INDEX=1 "${pip[@]}" install .
"${pip[@]}" install pandas 2>/dev/null || echo "pandas could not be installed: the DataFrame tests will be skipped" >&2

# From tests/, so `import stakeweight` is the installed package, not the source tree.
(cd tests && "$venv/bin/python" run.py "$@")
