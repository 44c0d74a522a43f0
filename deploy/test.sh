#!/usr/bin/env bash
# The test command: installs what is missing, starts the services, then runs the
# linters and every test (unit, integration on real Mosquitto + PostgreSQL, e2e).
#   bash deploy/test.sh [pytest args...]
set -euo pipefail
cd "$(dirname "$0")/.."

bash deploy/services.sh
bash deploy/setup.sh
export PATH="$PWD/.venv/bin:$PATH:/usr/sbin"

echo "== ruff"
ruff check .
echo "== mypy"
mypy core protocol faces edge hub dashboard smartschool
echo "== pytest"
exec pytest "$@"
