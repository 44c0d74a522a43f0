#!/usr/bin/env bash
# Set up smartschool in ./.venv with every extra (gate, classroom, hub, dashboard, demo, face, dev).
#   bash deploy/setup.sh            # then: .venv/bin/smartschool demo
#   bash deploy/setup.sh --blas     # also build dlib against OpenBLAS (a face gate, a hub
#                                   # that enrolls many faces); same as SMARTSCHOOL_DLIB_BLAS=1
# Safe to re-run; it only installs what is missing or changed.
set -euo pipefail
cd "$(dirname "$0")/.."

blas=${SMARTSCHOOL_DLIB_BLAS:-0}
for arg in "$@"; do
    case "$arg" in
        --blas) blas=1 ;;
        --no-blas) blas=0 ;;
        -h|--help) sed -n '2,6p' "$0"; exit 0 ;;
        *) echo "setup.sh: unknown option $arg (try --help)" >&2; exit 2 ;;
    esac
done

PYTHON=${PYTHON:-python3}
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
    echo "smartschool needs Python 3.11 or newer ($PYTHON is $("$PYTHON" -V 2>&1))" >&2
    exit 1
fi
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
PIP=(.venv/bin/python -m pip --disable-pip-version-check --quiet)
# A venv that already runs the BLAS build keeps it: the install below puts dlib-bin back,
# and the build script then reinstalls the cached wheel in a few seconds.
if .venv/bin/python -c 'import importlib.metadata as m; m.version("dlib")' 2>/dev/null; then
    blas=1
fi
"${PIP[@]}" install --upgrade pip
"${PIP[@]}" install -e '.[all]'
# face_recognition's metadata asks for dlib, a 10-minute source build; dlib-bin
# (installed by the `face` extra) provides the same module prebuilt.
"${PIP[@]}" install --no-deps 'face_recognition>=1.3'
# The face encoder is about 4x faster on dlib built against OpenBLAS, but the build costs
# about 8 minutes the first time, and the demo and the tests do not need the speed: opt in.
if [ "$blas" != 0 ]; then
    bash deploy/build-dlib-blas.sh || echo "continuing with dlib-bin (no BLAS build here)"
fi
echo "smartschool is installed in .venv: run .venv/bin/smartschool --help"
