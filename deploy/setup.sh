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
# The face encoder is about 3-8x faster on dlib built against OpenBLAS. Build it where
# this machine can (a wheel is cached, so only the first run pays the ~10 minutes);
# anything that fails leaves dlib-bin in place. SMARTSCHOOL_DLIB_BLAS=0 skips it.
if [ "${SMARTSCHOOL_DLIB_BLAS:-1}" != 0 ]; then
    bash deploy/build-dlib-blas.sh || echo "continuing with dlib-bin (no BLAS build here)"
fi
echo "smartschool is installed in .venv: run .venv/bin/smartschool --help"
