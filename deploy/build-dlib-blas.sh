#!/usr/bin/env bash
# Build dlib from source against OpenBLAS and install it in .venv in place of dlib-bin.
#
#   bash deploy/build-dlib-blas.sh                    # build (or reuse the cached wheel), install
#   DLIB_TARGET=/tmp/dlib-blas bash deploy/build-dlib-blas.sh
#                                                     # install beside the venv instead, for an A/B
#                                                     # run: PYTHONPATH=/tmp/dlib-blas python ...
#
# Why: dlib-bin has no BLAS, so the face encoder's matrix products run on dlib's own
# loops; against OpenBLAS one encoding drops from about 115 ms to about 14 ms. The
# build takes about 8 minutes on 2 cores; the wheel is kept in $DLIB_WHEEL_DIR, so a
# second run (or a second Pi of the same architecture and OS) skips it.
#
# Whatever fails, the venv is left with a working dlib (dlib-bin is put back), and
# the last line says which build is active. Exit status: 0 when the BLAS build is
# active, 1 when the fallback is.
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PYTHON:-.venv/bin/python}
PIP=("$PY" -m pip --disable-pip-version-check)
# Built for this processor (-march=native: twice as fast at HOG detection as a generic
# build), so the cache is keyed by the CPU's model and flags: another machine never
# loads a wheel with instructions it lacks.
CPU_KEY=$( (grep -m1 "model name" /proc/cpuinfo; grep -m1 -E "^(flags|Features)" /proc/cpuinfo) \
    2>/dev/null | sha256sum | cut -c1-12)
WHEEL_DIR=${DLIB_WHEEL_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/smartschool/dlib-wheels/$(uname -m)-${CPU_KEY:-generic}}
TARGET=${DLIB_TARGET:-}
APT_PACKAGES=(build-essential cmake pkg-config python3-dev libopenblas-dev liblapack-dev)

active_build() {
    local pythonpath=${1:-}
    PYTHONPATH=$pythonpath "$PY" - <<'EOF'
import importlib.metadata as md
from pathlib import Path
import dlib
here = Path(dlib.__file__).resolve()
owner = "unknown"
for dist in ("dlib-bin", "dlib"):
    try:
        files = md.distribution(dist).files or []
    except md.PackageNotFoundError:
        continue
    # the distribution whose files include this module is the build in use
    if any(Path(str(f.locate())).resolve() == here for f in files):
        owner = dist
blas = bool(getattr(dlib, "DLIB_USE_BLAS", False))
print(f"active dlib: {dlib.__version__} [{owner}] DLIB_USE_BLAS={blas} ({here.parent})")
EOF
}

fall_back() {
    echo "build-dlib-blas: $1; keeping dlib-bin" >&2
    if [ -z "$TARGET" ] && ! "$PY" -c 'import dlib' 2>/dev/null; then
        "${PIP[@]}" install --quiet --force-reinstall --no-deps "dlib-bin${BIN_PIN:-}" || true
    fi
    active_build "$TARGET" || true
    exit 1
}

[ -x "$PY" ] || { echo "no $PY: run deploy/setup.sh first" >&2; exit 1; }

# Build the same version as the dlib-bin we replace, so face_recognition sees no change.
BIN_VERSION=$("$PY" -c 'import importlib.metadata as m; print(m.version("dlib-bin"))' \
    2>/dev/null || true)
if [ -n "$BIN_VERSION" ]; then
    BIN_PIN="==$BIN_VERSION"
    DLIB_VERSION=${DLIB_VERSION:-${BIN_VERSION%%.post*}}
fi
DLIB_VERSION=${DLIB_VERSION:-20.0.1}

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" -eq 0 ]; then
        apt-get install -y --no-install-recommends "${missing[@]}" \
            || fall_back "apt-get install ${missing[*]} failed"
    elif command -v sudo >/dev/null; then
        sudo apt-get install -y --no-install-recommends "${missing[@]}" \
            || fall_back "apt-get install ${missing[*]} failed"
    else
        fall_back "missing ${missing[*]} (apt-get install them as root)"
    fi
fi

mkdir -p "$WHEEL_DIR"
wheel=$(ls "$WHEEL_DIR"/dlib-"$DLIB_VERSION"-*.whl 2>/dev/null | head -n1 || true)
if [ -z "$wheel" ]; then
    echo "build-dlib-blas: building dlib $DLIB_VERSION against OpenBLAS (about 8 minutes on 2 cores)"
    # dlib's CMake finds OpenBLAS and LAPACK on its own (dlib/cmake_utils/find_blas.cmake,
    # through pkg-config and the usual library paths) and turns DLIB_USE_BLAS on when
    # it links; nothing needs passing through pip. --no-binary keeps pip from taking a
    # prebuilt wheel that may lack BLAS.
    # --no-cache-dir: pip's own cache may hold a generic build of the same version.
    CFLAGS="${DLIB_CFLAGS:--O3 -march=native}" CXXFLAGS="${DLIB_CFLAGS:--O3 -march=native}" \
    "${PIP[@]}" wheel --no-cache-dir --no-deps --no-binary dlib "dlib==$DLIB_VERSION" \
        -w "$WHEEL_DIR" \
        || fall_back "the source build failed"
    wheel=$(ls "$WHEEL_DIR"/dlib-"$DLIB_VERSION"-*.whl 2>/dev/null | head -n1 || true)
    [ -n "$wheel" ] || fall_back "pip produced no wheel"
fi

# Check the wheel before it replaces anything: a build that silently missed BLAS
# would be a 10-minute way to change nothing.
probe=$(mktemp -d)
trap 'rm -rf "$probe"' EXIT
"$PY" -m zipfile -e "$wheel" "$probe"
PYTHONPATH=$probe "$PY" -c \
    'import dlib, sys; sys.exit(0 if getattr(dlib, "DLIB_USE_BLAS", False) else 1)' \
    || { rm -f "$wheel"; fall_back "the built dlib does not use BLAS (is libopenblas-dev installed?)"; }

if [ -n "$TARGET" ]; then
    "${PIP[@]}" install --quiet --no-deps --upgrade --target "$TARGET" "$wheel" \
        || fall_back "installing into $TARGET failed"
else
    # Both distributions own the `dlib` module: remove dlib-bin first or pip leaves a
    # mix of files from the two.
    "${PIP[@]}" uninstall --quiet -y dlib-bin dlib 2>/dev/null || true
    "${PIP[@]}" install --quiet --no-deps "$wheel" || fall_back "installing the wheel failed"
    "$PY" -c 'import dlib, face_recognition' || {
        "${PIP[@]}" uninstall --quiet -y dlib || true
        fall_back "the installed build does not import"
    }
fi
active_build "$TARGET"
