#!/usr/bin/env bash
# Set up smartschool in ./.venv with every extra (edge, hub, dashboard, face, dev).
#   bash deploy/setup.sh            # then: .venv/bin/smartschool demo
# Safe to re-run; it only installs what is missing or changed.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
    echo "smartschool needs Python 3.11 or newer ($PYTHON is $("$PYTHON" -V 2>&1))" >&2
    exit 1
fi
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
PIP=(.venv/bin/python -m pip --disable-pip-version-check --quiet)
"${PIP[@]}" install --upgrade pip
"${PIP[@]}" install -e '.[all]'
# face_recognition's metadata asks for dlib, a 10-minute source build; dlib-bin
# (installed by the `face` extra) provides the same module prebuilt.
"${PIP[@]}" install --no-deps 'face_recognition>=1.3'
echo "smartschool is installed in .venv: run .venv/bin/smartschool --help"
